"""TaskService: create, read, cancel, delete and watch tasks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import aclosing

from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import (
    LABEL_KEY,
    check_request_id,
    check_timestamp,
    collect_name,
    parse_name,
    provider_choices,
)
from meeting_agent.domain.checks import Violations, check_language, check_text
from meeting_agent.domain.models import SpeakerCount, TaskOptions
from meeting_agent.ports import TaskFilter
from meeting_agent.service.common import next_page_token, page_request
from meeting_agent.service.offload import Offload
from meeting_agent.service.tasks import NewTask, SourceSpec, TaskService
from meeting_agent.service.watch import TaskWatchHub, WatchItem
from meeting_agent.v1 import task_pb2, task_service_pb2, task_service_pb2_grpc

MAX_LABELS = 16
MAX_SPEAKERS = 32
# Watch messages kept for the streams that share them (a few per followed task).
_MESSAGE_CACHE_SIZE = 4096


class TaskServicer(task_service_pb2_grpc.TaskServiceServicer):
    def __init__(
        self, tasks: TaskService, watch: TaskWatchHub, offload: Offload, *, max_audio_sources: int
    ) -> None:
        self._tasks = tasks
        self._watch = watch
        self._offload = offload
        self._max_audio_sources = max_audio_sources
        self._messages: OrderedDict[tuple[str, int], task_service_pb2.WatchTaskResponse] = (
            OrderedDict()
        )

    async def CreateTask(
        self, request: task_service_pb2.CreateTaskRequest, context: Context
    ) -> task_service_pb2.CreateTaskResponse:
        new = self._validate_create(request)
        task = await self._offload.call(
            self._tasks.create, current_principal(), new, request.request_id
        )
        return task_service_pb2.CreateTaskResponse(task=mappers.task(task))

    def _validate_create(self, request: task_service_pb2.CreateTaskRequest) -> NewTask:
        v = Violations()
        t = request.task
        v.check(request.HasField("task"), "task", "is required")
        check_text(v, t.display_name, "task.display_name", max_length=200)
        check_request_id(v, request.request_id)
        sources = []
        if not t.audio_sources:
            v.add("task.audio_sources", "at least one audio source is required")
        elif len(t.audio_sources) > self._max_audio_sources:
            v.add("task.audio_sources", f"at most {self._max_audio_sources} are allowed")
        named: set[str] = set()
        for i, source in enumerate(t.audio_sources):
            field = f"task.audio_sources[{i}]"
            kind = source.WhichOneof("source")
            if kind == "upload":
                upload_id = collect_name(v, source.upload, f"{field}.upload", "uploads")
                if upload_id and upload_id in named:
                    v.add(field, f"{source.upload} is named twice; each file is one source")
                named.add(upload_id)
                sources.append(SourceSpec(upload_id=upload_id))
            elif kind == "uri":
                check_text(v, source.uri, f"{field}.uri", max_length=2048, required=True)
                sources.append(SourceSpec(uri=source.uri))
            else:
                v.add(field, "one of upload or uri is required")
        if len(t.labels) > MAX_LABELS:
            v.add("task.labels", f"at most {MAX_LABELS} labels are allowed")
        for key, value in t.labels.items():
            v.check(
                LABEL_KEY.fullmatch(key) is not None,
                f"task.labels[{key!r}]",
                "key must match [a-z][a-z0-9_-]{0,62}",
            )
            v.check(
                len(value) <= 128, f"task.labels[{key!r}]", "value must be at most 128 characters"
            )
        options = self._validate_options(v, t.options)
        v.raise_if_any()
        return NewTask(
            display_name=t.display_name, sources=sources, options=options, labels=dict(t.labels)
        )

    @staticmethod
    def _validate_options(v: Violations, o: task_pb2.TaskOptions) -> TaskOptions:
        check_language(v, o.language_code, "task.options.language_code")
        asr = provider_choices(v, o.asr_providers, "task.options.asr_providers")
        llm = provider_choices(v, o.llm_providers, "task.options.llm_providers")
        hotword_set_id = template_id = ""
        if o.hotword_set:
            hotword_set_id = collect_name(
                v, o.hotword_set, "task.options.hotword_set", "hotwordSets"
            )
        if o.prompt_template:
            template_id = collect_name(
                v, o.prompt_template, "task.options.prompt_template", "promptTemplates"
            )
        count = None
        hint = o.speaker_count.WhichOneof("hint") if o.HasField("speaker_count") else None
        if hint == "exact":
            n = o.speaker_count.exact
            v.check(
                1 <= n <= MAX_SPEAKERS,
                "task.options.speaker_count.exact",
                f"must be between 1 and {MAX_SPEAKERS}",
            )
            count = SpeakerCount(n, n)
        elif hint == "range":
            lo, hi = o.speaker_count.range.min, o.speaker_count.range.max
            v.check(
                1 <= lo <= MAX_SPEAKERS,
                "task.options.speaker_count.range.min",
                f"must be between 1 and {MAX_SPEAKERS}",
            )
            v.check(
                1 <= hi <= MAX_SPEAKERS and hi >= lo,
                "task.options.speaker_count.range.max",
                f"must be between min and {MAX_SPEAKERS}",
            )
            count = SpeakerCount(lo, hi)
        elif o.HasField("speaker_count"):
            v.add("task.options.speaker_count", "one of exact or range is required")
        return TaskOptions(
            language_code=o.language_code,
            asr_providers=asr,
            hotword_set_id=hotword_set_id,
            prompt_template_id=template_id,
            llm_providers=llm,
            speaker_count=count,
            disable_diarization=o.disable_diarization,
            no_fallback=o.no_fallback,
        )

    async def GetTask(
        self, request: task_service_pb2.GetTaskRequest, context: Context
    ) -> task_service_pb2.GetTaskResponse:
        (task_id,) = parse_name(request.name, "name", "tasks")
        task = await self._offload.read(self._tasks.get, current_principal(), task_id)
        return task_service_pb2.GetTaskResponse(task=mappers.task(task))

    async def ListTasks(
        self, request: task_service_pb2.ListTasksRequest, context: Context
    ) -> task_service_pb2.ListTasksResponse:
        v = Violations()
        states = []
        for i, state in enumerate(request.states):
            if state in mappers.TASK_STATES_FROM_PROTO:
                states.append(mappers.TASK_STATES_FROM_PROTO[state])
            else:
                v.add(f"states[{i}]", f"unknown task state {state}")
        start = (
            check_timestamp(v, request.create_time_start, "create_time_start")
            if request.HasField("create_time_start")
            else None
        )
        end = (
            check_timestamp(v, request.create_time_end, "create_time_end")
            if request.HasField("create_time_end")
            else None
        )
        v.check(
            start is None or end is None or start < end,
            "create_time_end",
            "must be after create_time_start",
        )
        v.raise_if_any()
        flt = TaskFilter(states=states, create_time_start=start, create_time_end=end)
        scope = ("tasks", sorted(s.value for s in states), str(start), str(end))
        page = page_request(request.page_size, request.page_token, scope=scope)
        result = await self._offload.read(
            self._tasks.list, current_principal(), flt, limit=page.size, cursor=page.cursor
        )
        return task_service_pb2.ListTasksResponse(
            tasks=[mappers.task(t) for t in result.items],
            next_page_token=next_page_token(result.next_cursor, scope=scope),
        )

    async def CancelTask(
        self, request: task_service_pb2.CancelTaskRequest, context: Context
    ) -> task_service_pb2.CancelTaskResponse:
        (task_id,) = parse_name(request.name, "name", "tasks")
        task = await self._offload.call(self._tasks.cancel, current_principal(), task_id)
        return task_service_pb2.CancelTaskResponse(task=mappers.task(task))

    async def DeleteTask(
        self, request: task_service_pb2.DeleteTaskRequest, context: Context
    ) -> task_service_pb2.DeleteTaskResponse:
        (task_id,) = parse_name(request.name, "name", "tasks")
        await self._offload.call(self._tasks.delete, current_principal(), task_id)
        return task_service_pb2.DeleteTaskResponse()

    async def WatchTask(
        self, request: task_service_pb2.WatchTaskRequest, context: Context
    ) -> AsyncIterator[task_service_pb2.WatchTaskResponse]:
        (task_id,) = parse_name(request.name, "name", "tasks")
        items = self._tasks.watch(
            current_principal(), task_id, request.after_sequence, hub=self._watch
        )
        async with aclosing(items):
            async for item in items:
                yield self._watch_message(item)

    def _watch_message(self, item: WatchItem) -> task_service_pb2.WatchTaskResponse:
        # A thousand streams of one task receive the same event object: build its
        # message once. Heartbeats are each stream's own.
        if item.heartbeat:
            return task_service_pb2.WatchTaskResponse(event=mappers.task_event(item.event))
        key = (item.event.task_id, item.event.sequence)
        message = self._messages.get(key)
        if message is None:
            message = task_service_pb2.WatchTaskResponse(
                event=mappers.task_event(item.event),
                task=mappers.task(item.task) if item.task is not None else None,
            )
            self._messages[key] = message
            if len(self._messages) > _MESSAGE_CACHE_SIZE:
                self._messages.popitem(last=False)
        return message
