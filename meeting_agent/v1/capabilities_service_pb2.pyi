import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCapabilitiesResponse(_message.Message):
    __slots__ = ("asr_providers", "llm_providers", "limits", "presigned_upload", "diarization", "server_version")
    ASR_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    LLM_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PRESIGNED_UPLOAD_FIELD_NUMBER: _ClassVar[int]
    DIARIZATION_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    asr_providers: _containers.RepeatedCompositeFieldContainer[AsrProviderInfo]
    llm_providers: _containers.RepeatedCompositeFieldContainer[LlmProviderInfo]
    limits: Limits
    presigned_upload: bool
    diarization: bool
    server_version: str
    def __init__(self, asr_providers: _Optional[_Iterable[_Union[AsrProviderInfo, _Mapping]]] = ..., llm_providers: _Optional[_Iterable[_Union[LlmProviderInfo, _Mapping]]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., presigned_upload: _Optional[bool] = ..., diarization: _Optional[bool] = ..., server_version: _Optional[str] = ...) -> None: ...

class AsrProviderInfo(_message.Message):
    __slots__ = ("name", "models", "language_codes", "diarization", "hotwords", "word_timestamps", "native_hotwords")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODES_FIELD_NUMBER: _ClassVar[int]
    DIARIZATION_FIELD_NUMBER: _ClassVar[int]
    HOTWORDS_FIELD_NUMBER: _ClassVar[int]
    WORD_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    NATIVE_HOTWORDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    models: _containers.RepeatedScalarFieldContainer[str]
    language_codes: _containers.RepeatedScalarFieldContainer[str]
    diarization: bool
    hotwords: bool
    word_timestamps: bool
    native_hotwords: bool
    def __init__(self, name: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., language_codes: _Optional[_Iterable[str]] = ..., diarization: _Optional[bool] = ..., hotwords: _Optional[bool] = ..., word_timestamps: _Optional[bool] = ..., native_hotwords: _Optional[bool] = ...) -> None: ...

class LlmProviderInfo(_message.Message):
    __slots__ = ("name", "models", "extractive")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    models: _containers.RepeatedScalarFieldContainer[str]
    extractive: bool
    def __init__(self, name: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., extractive: _Optional[bool] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_upload_bytes", "max_audio_duration", "max_audio_sources", "max_chunk_bytes")
    MAX_UPLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_DURATION_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_SOURCES_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_upload_bytes: int
    max_audio_duration: _duration_pb2.Duration
    max_audio_sources: int
    max_chunk_bytes: int
    def __init__(self, max_upload_bytes: _Optional[int] = ..., max_audio_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_audio_sources: _Optional[int] = ..., max_chunk_bytes: _Optional[int] = ...) -> None: ...
