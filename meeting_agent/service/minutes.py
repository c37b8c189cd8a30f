"""Reading, regenerating and exporting the minutes artifacts of tasks."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from dataclasses import asdict

from meeting_agent import reasons
from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
    Principal,
    ProviderChoice,
    Task,
    fallbacks_behind,
)
from meeting_agent.errors import AlreadyExists, FailedPrecondition, NotFound
from meeting_agent.exports import minutes as minutes_export
from meeting_agent.ports import Clock, Page, UnitOfWorkFactory
from meeting_agent.service.artifacts import MinutesWriter
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.catalog import ProviderCatalog
from meeting_agent.service.common import fingerprint

GENERATE_ARTIFACT_METHOD = "GenerateArtifact"

MINUTES_FORMATS = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "json": ("application/json", "json"),
}


class MinutesService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        catalog: ProviderCatalog,
        clock: Clock,
        writer: MinutesWriter,
        *,
        on_requested: Callable[[str], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._catalog = catalog
        self._clock = clock
        self._writer = writer
        # Called after commit with the task id: the task's job generates pending artifacts.
        self._on_requested = on_requested

    def list(
        self, principal: Principal, task_id: str, *, limit: int, cursor: str | None
    ) -> Page[Artifact]:
        with self._uow_factory(read_only=True) as uow:
            if uow.tasks.get(principal.tenant_id, task_id) is None:
                raise NotFound(f"tasks/{task_id}")
            return uow.artifacts.list(principal.tenant_id, task_id, limit=limit, cursor=cursor)

    def get(self, principal: Principal, task_id: str, artifact_id: str) -> Artifact:
        with self._uow_factory(read_only=True) as uow:
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
        """Queue a new generation from the stored transcript; transcription is not redone."""
        self._catalog.check_llm_choices(llm_providers, "llm_providers")
        request_print = fingerprint(
            {
                "task": task_id,
                "template": template_id,
                "providers": [asdict(c) for c in llm_providers],
            }
        )
        now = self._clock.now()
        with self._uow_factory() as uow:
            task = uow.tasks.get(principal.tenant_id, task_id)
            if task is None:
                raise NotFound(f"tasks/{task_id}")
            if request_id:
                found = uow.idempotency.get(
                    principal.tenant_id, principal.user_id, GENERATE_ARTIFACT_METHOD, request_id
                )
                if found is not None:
                    return self._replay(principal, task_id, found, request_print, request_id)
            template_id = template_id or task.options.prompt_template_id or "default"
            if template_id not in BUILTIN_TEMPLATES and (
                uow.prompt_templates.get(principal.tenant_id, template_id) is None
            ):
                raise NotFound(f"promptTemplates/{template_id}")
            if uow.transcripts.get(principal.tenant_id, task_id, with_words=False) is None:
                raise FailedPrecondition(
                    f"tasks/{task_id} has no transcript yet; minutes can be generated "
                    "once transcription has finished",
                    reason=reasons.TRANSCRIPT_NOT_READY,
                    metadata={"task": f"tasks/{task_id}"},
                )
            artifact = Artifact(
                id=str(uuid.uuid4()),
                task_id=task_id,
                tenant_id=principal.tenant_id,
                prompt_template_id=template_id,
                state=ArtifactState.GENERATING,
                llm_provider=llm_providers[0].provider if llm_providers else "",
                llm_model=llm_providers[0].model if llm_providers else "",
                extractive=False,
                create_time=now,
                update_time=now,
                requested_providers=list(llm_providers),
            )
            uow.artifacts.add(artifact)
            if request_id:
                uow.idempotency.add(
                    principal.tenant_id,
                    principal.user_id,
                    GENERATE_ARTIFACT_METHOD,
                    request_id,
                    artifact.id,
                    request_print,
                    now,
                )
            uow.commit()
        if self._on_requested is not None:
            self._on_requested(task_id)
        return artifact

    def _replay(
        self,
        principal: Principal,
        task_id: str,
        found: tuple[str, str],
        request_print: str,
        request_id: str,
    ) -> Artifact:
        artifact_id, stored_print = found
        if stored_print != request_print:
            raise AlreadyExists(
                "request_id was already used for a different request",
                reason=reasons.REQUEST_ID_REUSED,
                metadata={"request_id": request_id},
            )
        return self.get(principal, task_id, artifact_id)

    def export(
        self, principal: Principal, task_id: str, artifact_id: str, fmt: str
    ) -> tuple[bytes, str, str]:
        artifact = self.get(principal, task_id, artifact_id)
        if artifact.state is not ArtifactState.SUCCEEDED or artifact.minutes is None:
            raise FailedPrecondition(
                f"tasks/{task_id}/artifacts/{artifact_id} is {artifact.state.value}; only "
                "finished minutes can be exported",
                reason=reasons.ARTIFACT_NOT_READY,
            )
        with self._uow_factory(read_only=True) as uow:
            task = uow.tasks.get(principal.tenant_id, task_id)
        assert task is not None
        content_type, extension = MINUTES_FORMATS[fmt]
        if fmt == "markdown":
            text = minutes_export.to_markdown(
                artifact.minutes,
                title=task.display_name,
                meeting_date=task.create_time.date(),
                language_code=task.options.language_code,
                fallbacks=fallbacks_behind(task, artifact),
            )
        else:
            text = minutes_export.to_json(artifact.minutes)
        return text.encode(), content_type, f"{_file_stem(task)}-minutes.{extension}"


def _file_stem(task: Task) -> str:
    """A safe file name from the meeting's title, or its id."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in task.display_name.strip())
    return cleaned.strip("-")[:80] or task.id
