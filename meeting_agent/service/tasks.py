"""Creating, reading, cancelling and deleting tasks, and recording their events."""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import asdict, dataclass

from meeting_agent.domain import object_keys
from meeting_agent.domain.models import (
    AudioSource,
    Principal,
    Task,
    TaskEvent,
    TaskEventType,
    TaskOptions,
    UploadState,
)
from meeting_agent.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from meeting_agent.ports import (
    Clock,
    ObjectStore,
    Page,
    TaskFilter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.catalog import ProviderCatalog
from meeting_agent.service.common import fingerprint, new_id
from meeting_agent.service.watch import TaskWatchHub, WatchItem
from meeting_agent.telemetry.jobs import record_state_change
from meeting_agent.telemetry.propagation import current_traceparent

CREATE_TASK_METHOD = "CreateTask"


@dataclass(frozen=True)
class SourceSpec:
    """An audio source as the caller named it, before it is resolved to an object."""

    upload_id: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class NewTask:
    display_name: str
    sources: list[SourceSpec]
    options: TaskOptions
    labels: dict[str, str]


def record_event(uow: UnitOfWork, task: Task, event: TaskEvent) -> TaskEvent:
    """Store an event the task made (see `Task.event`); the caller saves the task."""
    uow.task_events.append(event, task.tenant_id)
    if event.type is TaskEventType.STATE_CHANGED:
        # Counted when recorded, before commit: a rolled-back change may be counted too,
        # which is rare and harmless for a rate.
        record_state_change(event.state.value)
    return event


class TaskService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: ObjectStore,
        clock: Clock,
        catalog: ProviderCatalog,
        *,
        on_queued: Callable[[str], None] | None = None,
        asr_preflight: Callable[[str], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._store = store
        self._clock = clock
        self._catalog = catalog
        # Called after commit with the id of each newly queued task (the job queue).
        self._on_queued = on_queued
        # Raises what the first recogniser would refuse anyway (e.g. a URL-only vendor
        # on a store that cannot presign), so the caller hears it now, not hours later.
        self._asr_preflight = asr_preflight

    def create(self, principal: Principal, new: NewTask, request_id: str) -> Task:
        request_print = fingerprint({"task": asdict(new)})
        if request_id:
            existing = self._find_by_request_id(principal, request_id, request_print)
            if existing is not None:
                return existing
        self._catalog.check_asr_choices(new.options.asr_providers, new.options.language_code)
        self._catalog.check_llm_choices(new.options.llm_providers, "task.options.llm_providers")
        if self._asr_preflight is not None:
            choices = new.options.asr_providers
            self._asr_preflight(choices[0].provider if choices else self._catalog.asr[0].name)
        uri_sources = {
            i: self._resolve_uri(principal, s.uri)
            for i, s in enumerate(new.sources)
            if s.uri is not None
        }
        now = self._clock.now()
        task = Task.queued(
            id=new_id(),
            tenant_id=principal.tenant_id,
            creator_id=principal.user_id,
            display_name=new.display_name,
            options=new.options,
            labels=dict(new.labels),
            now=now,
            trace_parent=current_traceparent(),
        )
        with self._uow_factory() as uow:
            if request_id:
                # Recording the key first makes a concurrent retry lose here, before it
                # could trip over the uploads the winner is claiming.
                try:
                    uow.idempotency.add(
                        principal.tenant_id,
                        principal.user_id,
                        CREATE_TASK_METHOD,
                        request_id,
                        task.id,
                        request_print,
                        now,
                    )
                except AlreadyExists:
                    uow.rollback()
                    existing = self._find_by_request_id(principal, request_id, request_print)
                    if existing is None:
                        raise
                    return existing
            self._check_references(uow, principal, new.options)
            for i, spec in enumerate(new.sources):
                if spec.upload_id is not None:
                    task.audio_sources.append(
                        self._claim_upload(uow, principal, spec.upload_id, task.id)
                    )
                else:
                    task.audio_sources.append(uri_sources[i])
            uow.tasks.add(task)
            record_event(uow, task, task.event(TaskEventType.STATE_CHANGED, "task queued", now))
            uow.tasks.save(task)
            uow.commit()
        if self._on_queued is not None:
            self._on_queued(task.id)
        return task

    def _find_by_request_id(
        self, principal: Principal, request_id: str, request_print: str
    ) -> Task | None:
        with self._uow_factory(read_only=True) as uow:
            found = uow.idempotency.get(
                principal.tenant_id, principal.user_id, CREATE_TASK_METHOD, request_id
            )
            if found is None:
                return None
            task_id, stored_print = found
            if stored_print != request_print:
                raise AlreadyExists(
                    "request_id was already used for a different CreateTask request",
                    reason="REQUEST_ID_REUSED",
                    metadata={"request_id": request_id},
                )
            task = uow.tasks.get(principal.tenant_id, task_id)
        if task is None:
            # The task was deleted since; the key names nothing any more.
            raise FailedPrecondition(
                f"the task created with this request_id (tasks/{task_id}) was deleted",
                reason="REQUEST_ID_TASK_DELETED",
                metadata={"request_id": request_id},
            )
        return task

    def _resolve_uri(self, principal: Principal, uri: str) -> AudioSource:
        key = self._store.key_from_uri(uri)
        object_keys.ensure_in_tenant(key, principal.tenant_id)
        if self._store.head(key) is None:
            raise NotFound(uri, reason="OBJECT_NOT_FOUND")
        return AudioSource(uri=uri, object_key=key)

    def _claim_upload(
        self, uow: UnitOfWork, principal: Principal, upload_id: str, task_id: str
    ) -> AudioSource:
        # The row lock makes two tasks racing for one upload take turns.
        upload = uow.uploads.get(principal.tenant_id, upload_id, for_update=True)
        if upload is None:
            raise NotFound(f"uploads/{upload_id}")
        if upload.task_id is not None:
            raise FailedPrecondition(
                f"uploads/{upload_id} already belongs to tasks/{upload.task_id}; "
                "upload the file again for another task",
                reason="UPLOAD_IN_USE",
                metadata={"upload": f"uploads/{upload_id}", "task": f"tasks/{upload.task_id}"},
            )
        if upload.state is UploadState.PENDING:
            info = self._store.head(upload.object_key)
            if info is None or info.size_bytes != upload.size_bytes:
                raise FailedPrecondition(
                    f"uploads/{upload_id} has not been uploaded completely",
                    reason="UPLOAD_INCOMPLETE",
                    metadata={"upload": f"uploads/{upload_id}"},
                )
        upload.task_id = task_id
        uow.uploads.save(upload)
        return AudioSource(upload_id=upload_id, object_key=upload.object_key)

    def _check_references(
        self, uow: UnitOfWork, principal: Principal, options: TaskOptions
    ) -> None:
        if (
            options.hotword_set_id
            and uow.hotword_sets.get(principal.tenant_id, options.hotword_set_id) is None
        ):
            raise NotFound(f"hotwordSets/{options.hotword_set_id}")
        template_id = options.prompt_template_id
        if (
            template_id
            and template_id not in BUILTIN_TEMPLATES
            and uow.prompt_templates.get(principal.tenant_id, template_id) is None
        ):
            raise NotFound(f"promptTemplates/{template_id}")

    def get(self, principal: Principal, task_id: str) -> Task:
        with self._uow_factory(read_only=True) as uow:
            task = uow.tasks.get(principal.tenant_id, task_id)
        if task is None:
            raise NotFound(f"tasks/{task_id}")
        return task

    def list(
        self, principal: Principal, flt: TaskFilter, *, limit: int, cursor: str | None
    ) -> Page[Task]:
        with self._uow_factory(read_only=True) as uow:
            return uow.tasks.list(principal.tenant_id, flt, limit=limit, cursor=cursor)

    def cancel(self, principal: Principal, task_id: str) -> Task:
        with self._uow_factory() as uow:
            task = uow.tasks.get(principal.tenant_id, task_id, for_update=True)
            if task is None:
                raise NotFound(f"tasks/{task_id}")
            event = task.cancel(self._clock.now())
            if event is None:
                return task
            record_event(uow, task, event)
            uow.tasks.save(task)
            uow.commit()
        return task

    def delete(self, principal: Principal, task_id: str) -> None:
        self.cancel_if_active(principal, task_id)
        with self._uow_factory() as uow:
            task = uow.tasks.get(principal.tenant_id, task_id, for_update=True)
            if task is None:
                raise NotFound(f"tasks/{task_id}")
            owned = [s for s in task.audio_sources if s.upload_id is not None]
            for source in owned:
                uow.uploads.delete(principal.tenant_id, source.upload_id or "")
            uow.tasks.delete(principal.tenant_id, task_id)
            uow.commit()
        # Bytes go after the rows: a crash in between leaves unreachable bytes, never a
        # row that points at nothing.
        for source in owned:
            self._store.delete(source.object_key)
        self._store.delete_prefix(object_keys.task_prefix(principal.tenant_id, task_id))

    def cancel_if_active(self, principal: Principal, task_id: str) -> None:
        task = self.get(principal, task_id)
        if not task.state.is_terminal:
            self.cancel(principal, task_id)

    def events_after(
        self, principal: Principal, task_id: str, after_sequence: int, *, limit: int = 500
    ) -> tuple[Task, builtins.list[TaskEvent]]:
        with self._uow_factory(read_only=True) as uow:
            task = uow.tasks.get(principal.tenant_id, task_id)
            if task is None:
                raise NotFound(f"tasks/{task_id}")
            events = uow.task_events.list_after(task_id, after_sequence, limit=limit)
        return task, events

    async def watch(
        self, principal: Principal, task_id: str, after_sequence: int, *, hub: TaskWatchHub
    ) -> AsyncGenerator[WatchItem, None]:
        """The task's events after `after_sequence`, then live ones until it ends.

        The event that ends the task carries the task; a stream with nothing to send gets
        heartbeats. Raises `NotFound` when the caller's tenant has no such task, or it is
        deleted while watched. `hub` follows tasks for every stream of this server.
        """
        if after_sequence < 0:
            raise InvalidArgument.field("after_sequence", "must not be negative")
        async with aclosing(hub.watch(principal, task_id, after_sequence)) as items:
            async for item in items:
                yield item
