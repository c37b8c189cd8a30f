import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from meeting_agent.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UsageDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USAGE_DIMENSION_UNSPECIFIED: _ClassVar[UsageDimension]
    USAGE_DIMENSION_PROVIDER: _ClassVar[UsageDimension]
    USAGE_DIMENSION_USER: _ClassVar[UsageDimension]
    USAGE_DIMENSION_LABEL: _ClassVar[UsageDimension]
    USAGE_DIMENSION_DAY: _ClassVar[UsageDimension]
USAGE_DIMENSION_UNSPECIFIED: UsageDimension
USAGE_DIMENSION_PROVIDER: UsageDimension
USAGE_DIMENSION_USER: UsageDimension
USAGE_DIMENSION_LABEL: UsageDimension
USAGE_DIMENSION_DAY: UsageDimension

class GetUsageRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "group_by", "label_key", "provider", "user")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    LABEL_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: _containers.RepeatedScalarFieldContainer[UsageDimension]
    label_key: str
    provider: str
    user: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[UsageDimension, str]]] = ..., label_key: _Optional[str] = ..., provider: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[UsageRow]
    total: UsageRow
    def __init__(self, rows: _Optional[_Iterable[_Union[UsageRow, _Mapping]]] = ..., total: _Optional[_Union[UsageRow, _Mapping]] = ...) -> None: ...

class UsageRow(_message.Message):
    __slots__ = ("provider", "user", "label_value", "day", "call_count", "failed_call_count", "audio_duration", "input_tokens", "output_tokens", "costs", "attempt_count", "failed_attempt_count")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LABEL_VALUE_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    CALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_CALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    provider: str
    user: str
    label_value: str
    day: str
    call_count: int
    failed_call_count: int
    audio_duration: _duration_pb2.Duration
    input_tokens: int
    output_tokens: int
    costs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Cost]
    attempt_count: int
    failed_attempt_count: int
    def __init__(self, provider: _Optional[str] = ..., user: _Optional[str] = ..., label_value: _Optional[str] = ..., day: _Optional[str] = ..., call_count: _Optional[int] = ..., failed_call_count: _Optional[int] = ..., audio_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., costs: _Optional[_Iterable[_Union[_common_pb2.Cost, _Mapping]]] = ..., attempt_count: _Optional[int] = ..., failed_attempt_count: _Optional[int] = ...) -> None: ...
