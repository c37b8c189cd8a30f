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

class ArtifactState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_STATE_UNSPECIFIED: _ClassVar[ArtifactState]
    ARTIFACT_STATE_GENERATING: _ClassVar[ArtifactState]
    ARTIFACT_STATE_SUCCEEDED: _ClassVar[ArtifactState]
    ARTIFACT_STATE_FAILED: _ClassVar[ArtifactState]

class MinutesFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MINUTES_FORMAT_UNSPECIFIED: _ClassVar[MinutesFormat]
    MINUTES_FORMAT_MARKDOWN: _ClassVar[MinutesFormat]
    MINUTES_FORMAT_JSON: _ClassVar[MinutesFormat]
ARTIFACT_STATE_UNSPECIFIED: ArtifactState
ARTIFACT_STATE_GENERATING: ArtifactState
ARTIFACT_STATE_SUCCEEDED: ArtifactState
ARTIFACT_STATE_FAILED: ArtifactState
MINUTES_FORMAT_UNSPECIFIED: MinutesFormat
MINUTES_FORMAT_MARKDOWN: MinutesFormat
MINUTES_FORMAT_JSON: MinutesFormat

class Artifact(_message.Message):
    __slots__ = ("name", "prompt_template", "state", "minutes", "llm_provider", "llm_model", "extractive", "error", "create_time", "update_time", "fallback")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    LLM_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    LLM_MODEL_FIELD_NUMBER: _ClassVar[int]
    EXTRACTIVE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    name: str
    prompt_template: str
    state: ArtifactState
    minutes: Minutes
    llm_provider: str
    llm_model: str
    extractive: bool
    error: _status_pb2.Status
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    fallback: _common_pb2.ProviderFallback
    def __init__(self, name: _Optional[str] = ..., prompt_template: _Optional[str] = ..., state: _Optional[_Union[ArtifactState, str]] = ..., minutes: _Optional[_Union[Minutes, _Mapping]] = ..., llm_provider: _Optional[str] = ..., llm_model: _Optional[str] = ..., extractive: _Optional[bool] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fallback: _Optional[_Union[_common_pb2.ProviderFallback, _Mapping]] = ...) -> None: ...

class Minutes(_message.Message):
    __slots__ = ("summary", "decisions", "action_items", "topics")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    ACTION_ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    summary: str
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    action_items: _containers.RepeatedCompositeFieldContainer[ActionItem]
    topics: _containers.RepeatedCompositeFieldContainer[Topic]
    def __init__(self, summary: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., action_items: _Optional[_Iterable[_Union[ActionItem, _Mapping]]] = ..., topics: _Optional[_Iterable[_Union[Topic, _Mapping]]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("text", "source_offset")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    text: str
    source_offset: _duration_pb2.Duration
    def __init__(self, text: _Optional[str] = ..., source_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ActionItem(_message.Message):
    __slots__ = ("owner", "text", "due_date", "due_text", "source_offset")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    DUE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    owner: str
    text: str
    due_date: str
    due_text: str
    source_offset: _duration_pb2.Duration
    def __init__(self, owner: _Optional[str] = ..., text: _Optional[str] = ..., due_date: _Optional[str] = ..., due_text: _Optional[str] = ..., source_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Topic(_message.Message):
    __slots__ = ("title", "summary", "start_offset", "end_offset")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    title: str
    summary: str
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    def __init__(self, title: _Optional[str] = ..., summary: _Optional[str] = ..., start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
