import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TranscriptView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSCRIPT_VIEW_UNSPECIFIED: _ClassVar[TranscriptView]
    TRANSCRIPT_VIEW_BASIC: _ClassVar[TranscriptView]
    TRANSCRIPT_VIEW_FULL: _ClassVar[TranscriptView]

class TranscriptFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSCRIPT_FORMAT_UNSPECIFIED: _ClassVar[TranscriptFormat]
    TRANSCRIPT_FORMAT_SRT: _ClassVar[TranscriptFormat]
    TRANSCRIPT_FORMAT_WEBVTT: _ClassVar[TranscriptFormat]
    TRANSCRIPT_FORMAT_TEXT: _ClassVar[TranscriptFormat]
    TRANSCRIPT_FORMAT_JSON: _ClassVar[TranscriptFormat]
TRANSCRIPT_VIEW_UNSPECIFIED: TranscriptView
TRANSCRIPT_VIEW_BASIC: TranscriptView
TRANSCRIPT_VIEW_FULL: TranscriptView
TRANSCRIPT_FORMAT_UNSPECIFIED: TranscriptFormat
TRANSCRIPT_FORMAT_SRT: TranscriptFormat
TRANSCRIPT_FORMAT_WEBVTT: TranscriptFormat
TRANSCRIPT_FORMAT_TEXT: TranscriptFormat
TRANSCRIPT_FORMAT_JSON: TranscriptFormat

class Transcript(_message.Message):
    __slots__ = ("name", "language_code", "segments", "speakers", "duration", "asr_provider", "asr_model", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    SPEAKERS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    ASR_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ASR_MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    language_code: str
    segments: _containers.RepeatedCompositeFieldContainer[TranscriptSegment]
    speakers: _containers.RepeatedCompositeFieldContainer[Speaker]
    duration: _duration_pb2.Duration
    asr_provider: str
    asr_model: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., language_code: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[TranscriptSegment, _Mapping]]] = ..., speakers: _Optional[_Iterable[_Union[Speaker, _Mapping]]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., asr_provider: _Optional[str] = ..., asr_model: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TranscriptSegment(_message.Message):
    __slots__ = ("index", "speaker_label", "speaker_display_name", "start_offset", "end_offset", "text", "words", "source_index")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_LABEL_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    speaker_label: str
    speaker_display_name: str
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    text: str
    words: _containers.RepeatedCompositeFieldContainer[Word]
    source_index: int
    def __init__(self, index: _Optional[int] = ..., speaker_label: _Optional[str] = ..., speaker_display_name: _Optional[str] = ..., start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., text: _Optional[str] = ..., words: _Optional[_Iterable[_Union[Word, _Mapping]]] = ..., source_index: _Optional[int] = ...) -> None: ...

class Word(_message.Message):
    __slots__ = ("text", "start_offset", "end_offset", "confidence")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    text: str
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    confidence: float
    def __init__(self, text: _Optional[str] = ..., start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., confidence: _Optional[float] = ...) -> None: ...

class Speaker(_message.Message):
    __slots__ = ("label", "display_name", "speaking_duration")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SPEAKING_DURATION_FIELD_NUMBER: _ClassVar[int]
    label: str
    display_name: str
    speaking_duration: _duration_pb2.Duration
    def __init__(self, label: _Optional[str] = ..., display_name: _Optional[str] = ..., speaking_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SpeakerMappings(_message.Message):
    __slots__ = ("name", "mappings", "etag", "update_time")
    class MappingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: SpeakerIdentity
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[SpeakerIdentity, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    mappings: _containers.MessageMap[str, SpeakerIdentity]
    etag: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., mappings: _Optional[_Mapping[str, SpeakerIdentity]] = ..., etag: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SpeakerIdentity(_message.Message):
    __slots__ = ("display_name", "user_id")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    user_id: str
    def __init__(self, display_name: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...
