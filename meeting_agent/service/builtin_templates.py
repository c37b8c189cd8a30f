"""Prompt templates every tenant has, from `meeting_agent/data/prompt_templates.yaml`.

They ship with the service, so they cannot drift per tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

from meeting_agent.domain.models import PromptTemplate
from meeting_agent.service.common import etag_of

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _load() -> tuple[dict[str, PromptTemplate], str]:
    text = (
        resources.files("meeting_agent").joinpath("data/prompt_templates.yaml").read_text("utf-8")
    )
    document: dict[str, Any] = yaml.safe_load(text)
    system_prompt: str = document["system_prompt"]
    templates = {
        entry["id"]: PromptTemplate(
            id=entry["id"],
            tenant_id=None,
            display_name=entry["display_name"],
            description=entry["description"],
            system_prompt=system_prompt,
            body=entry["body"],
            language_code=entry["language_code"],
            etag=etag_of(entry["id"], entry["body"], system_prompt),
            create_time=_EPOCH,
            update_time=_EPOCH,
        )
        for entry in document["templates"]
    }
    return templates, document["default_template_id"]


BUILTIN_TEMPLATES, DEFAULT_TEMPLATE_ID = _load()
