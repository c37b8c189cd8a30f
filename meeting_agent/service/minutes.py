"""Reading and regenerating the minutes artifacts of tasks."""

from __future__ import annotations

import builtins

from meeting_agent.domain.models import Artifact, Principal, ProviderChoice
from meeting_agent.errors import FailedPrecondition, NotFound
from meeting_agent.ports import Page, UnitOfWorkFactory
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.catalog import ProviderCatalog


class MinutesService:
    def __init__(self, uow_factory: UnitOfWorkFactory, catalog: ProviderCatalog) -> None:
        self._uow_factory = uow_factory
        self._catalog = catalog

    def list(self, principal: Principal, task_id: str, *, limit: int, cursor: str | None
             ) -> Page[Artifact]:
        with self._uow_factory() as uow:
            if uow.tasks.get(principal.tenant_id, task_id) is None:
                raise NotFound(f"tasks/{task_id}")
            return uow.artifacts.list(principal.tenant_id, task_id, limit=limit, cursor=cursor)

    def get(self, principal: Principal, task_id: str, artifact_id: str) -> Artifact:
        with self._uow_factory() as uow:
            artifact = uow.artifacts.get(principal.tenant_id, task_id, artifact_id)
        if artifact is None:
            raise NotFound(f"tasks/{task_id}/artifacts/{artifact_id}")
        return artifact

    def generate(
        self,
        principal: Principal,
        task_id: str,
        template_id: str,
        llm_providers: builtins.list[ProviderChoice],
        request_id: str,
    ) -> Artifact:
        self._catalog.check_llm_choices(llm_providers, "llm_providers")
        with self._uow_factory() as uow:
            task = uow.tasks.get(principal.tenant_id, task_id)
            if task is None:
                raise NotFound(f"tasks/{task_id}")
            if template_id and template_id not in BUILTIN_TEMPLATES and (
                    uow.prompt_templates.get(principal.tenant_id, template_id) is None):
                raise NotFound(f"promptTemplates/{template_id}")
            if uow.transcripts.get(principal.tenant_id, task_id, with_words=False) is None:
                raise FailedPrecondition(
                    f"tasks/{task_id} has no transcript yet; minutes can be generated "
                    "once transcription has finished",
                    reason="TRANSCRIPT_NOT_READY",
                    metadata={"task": f"tasks/{task_id}"},
                )
        raise FailedPrecondition(
            "this deployment has no minutes generator configured",
            reason="MINUTES_GENERATOR_UNAVAILABLE",
        )
