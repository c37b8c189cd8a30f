import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from meeting_agent.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_QUEUED: _ClassVar[TaskState]
    TASK_STATE_RUNNING: _ClassVar[TaskState]
    TASK_STATE_SUCCEEDED: _ClassVar[TaskState]
    TASK_STATE_FAILED: _ClassVar[TaskState]
    TASK_STATE_CANCELLED: _ClassVar[TaskState]

class TaskStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STAGE_UNSPECIFIED: _ClassVar[TaskStage]
    TASK_STAGE_FETCH_AUDIO: _ClassVar[TaskStage]
    TASK_STAGE_DECODE: _ClassVar[TaskStage]
    TASK_STAGE_TRANSCRIBE: _ClassVar[TaskStage]
    TASK_STAGE_DIARIZE: _ClassVar[TaskStage]
    TASK_STAGE_APPLY_SPEAKER_MAPPINGS: _ClassVar[TaskStage]
    TASK_STAGE_GENERATE_MINUTES: _ClassVar[TaskStage]
    TASK_STAGE_DONE: _ClassVar[TaskStage]

class TaskEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_EVENT_TYPE_UNSPECIFIED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STATE_CHANGED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STAGE_CHANGED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_PROGRESS: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_HEARTBEAT: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_WARNING: _ClassVar[TaskEventType]
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_QUEUED: TaskState
TASK_STATE_RUNNING: TaskState
TASK_STATE_SUCCEEDED: TaskState
TASK_STATE_FAILED: TaskState
TASK_STATE_CANCELLED: TaskState
TASK_STAGE_UNSPECIFIED: TaskStage
TASK_STAGE_FETCH_AUDIO: TaskStage
TASK_STAGE_DECODE: TaskStage
TASK_STAGE_TRANSCRIBE: TaskStage
TASK_STAGE_DIARIZE: TaskStage
TASK_STAGE_APPLY_SPEAKER_MAPPINGS: TaskStage
TASK_STAGE_GENERATE_MINUTES: TaskStage
TASK_STAGE_DONE: TaskStage
TASK_EVENT_TYPE_UNSPECIFIED: TaskEventType
TASK_EVENT_TYPE_STATE_CHANGED: TaskEventType
TASK_EVENT_TYPE_STAGE_CHANGED: TaskEventType
TASK_EVENT_TYPE_PROGRESS: TaskEventType
TASK_EVENT_TYPE_HEARTBEAT: TaskEventType
TASK_EVENT_TYPE_WARNING: TaskEventType

class Task(_message.Message):
    __slots__ = ("name", "display_name", "audio_sources", "options", "labels", "state", "stage", "progress_percent", "error", "cancel_requested", "creator", "audio_duration", "transcript", "last_event_sequence", "cost", "create_time", "update_time", "start_time", "end_time", "fallbacks")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SOURCES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    audio_sources: _containers.RepeatedCompositeFieldContainer[AudioSource]
    options: TaskOptions
    labels: _containers.ScalarMap[str, str]
    state: TaskState
    stage: TaskStage
    progress_percent: int
    error: _status_pb2.Status
    cancel_requested: bool
    creator: str
    audio_duration: _duration_pb2.Duration
    transcript: str
    last_event_sequence: int
    cost: _common_pb2.Cost
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    fallbacks: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProviderFallback]
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., audio_sources: _Optional[_Iterable[_Union[AudioSource, _Mapping]]] = ..., options: _Optional[_Union[TaskOptions, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., state: _Optional[_Union[TaskState, str]] = ..., stage: _Optional[_Union[TaskStage, str]] = ..., progress_percent: _Optional[int] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., cancel_requested: _Optional[bool] = ..., creator: _Optional[str] = ..., audio_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., transcript: _Optional[str] = ..., last_event_sequence: _Optional[int] = ..., cost: _Optional[_Union[_common_pb2.Cost, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fallbacks: _Optional[_Iterable[_Union[_common_pb2.ProviderFallback, _Mapping]]] = ...) -> None: ...

class AudioSource(_message.Message):
    __slots__ = ("upload", "uri")
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    upload: str
    uri: str
    def __init__(self, upload: _Optional[str] = ..., uri: _Optional[str] = ...) -> None: ...

class TaskOptions(_message.Message):
    __slots__ = ("language_code", "asr_providers", "hotword_set", "prompt_template", "llm_providers", "speaker_count", "disable_diarization", "no_fallback")
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    ASR_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    HOTWORD_SET_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LLM_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_COUNT_FIELD_NUMBER: _ClassVar[int]
    DISABLE_DIARIZATION_FIELD_NUMBER: _ClassVar[int]
    NO_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    language_code: str
    asr_providers: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProviderChoice]
    hotword_set: str
    prompt_template: str
    llm_providers: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProviderChoice]
    speaker_count: SpeakerCountHint
    disable_diarization: bool
    no_fallback: bool
    def __init__(self, language_code: _Optional[str] = ..., asr_providers: _Optional[_Iterable[_Union[_common_pb2.ProviderChoice, _Mapping]]] = ..., hotword_set: _Optional[str] = ..., prompt_template: _Optional[str] = ..., llm_providers: _Optional[_Iterable[_Union[_common_pb2.ProviderChoice, _Mapping]]] = ..., speaker_count: _Optional[_Union[SpeakerCountHint, _Mapping]] = ..., disable_diarization: _Optional[bool] = ..., no_fallback: _Optional[bool] = ...) -> None: ...

class SpeakerCountHint(_message.Message):
    __slots__ = ("exact", "range")
    EXACT_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    exact: int
    range: SpeakerCountRange
    def __init__(self, exact: _Optional[int] = ..., range: _Optional[_Union[SpeakerCountRange, _Mapping]] = ...) -> None: ...

class SpeakerCountRange(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: int
    max: int
    def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...

class TaskEvent(_message.Message):
    __slots__ = ("task", "sequence", "type", "state", "stage", "progress_percent", "message", "error", "event_time", "reason")
    TASK_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task: str
    sequence: int
    type: TaskEventType
    state: TaskState
    stage: TaskStage
    progress_percent: int
    message: str
    error: _status_pb2.Status
    event_time: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, task: _Optional[str] = ..., sequence: _Optional[int] = ..., type: _Optional[_Union[TaskEventType, str]] = ..., state: _Optional[_Union[TaskState, str]] = ..., stage: _Optional[_Union[TaskStage, str]] = ..., progress_percent: _Optional[int] = ..., message: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...
