from google.protobuf import field_mask_pb2 as _field_mask_pb2
from meeting_agent.v1 import transcript_pb2 as _transcript_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetTranscriptRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _transcript_pb2.TranscriptView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_transcript_pb2.TranscriptView, str]] = ...) -> None: ...

class GetTranscriptResponse(_message.Message):
    __slots__ = ("transcript",)
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    transcript: _transcript_pb2.Transcript
    def __init__(self, transcript: _Optional[_Union[_transcript_pb2.Transcript, _Mapping]] = ...) -> None: ...

class ExportTranscriptRequest(_message.Message):
    __slots__ = ("name", "format")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    name: str
    format: _transcript_pb2.TranscriptFormat
    def __init__(self, name: _Optional[str] = ..., format: _Optional[_Union[_transcript_pb2.TranscriptFormat, str]] = ...) -> None: ...

class ExportTranscriptResponse(_message.Message):
    __slots__ = ("content", "content_type", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    content_type: str
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., content_type: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...

class GetSpeakerMappingsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetSpeakerMappingsResponse(_message.Message):
    __slots__ = ("speaker_mappings",)
    SPEAKER_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    speaker_mappings: _transcript_pb2.SpeakerMappings
    def __init__(self, speaker_mappings: _Optional[_Union[_transcript_pb2.SpeakerMappings, _Mapping]] = ...) -> None: ...

class UpdateSpeakerMappingsRequest(_message.Message):
    __slots__ = ("speaker_mappings", "update_mask")
    SPEAKER_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    speaker_mappings: _transcript_pb2.SpeakerMappings
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, speaker_mappings: _Optional[_Union[_transcript_pb2.SpeakerMappings, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSpeakerMappingsResponse(_message.Message):
    __slots__ = ("speaker_mappings",)
    SPEAKER_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    speaker_mappings: _transcript_pb2.SpeakerMappings
    def __init__(self, speaker_mappings: _Optional[_Union[_transcript_pb2.SpeakerMappings, _Mapping]] = ...) -> None: ...
