from google.protobuf import field_mask_pb2 as _field_mask_pb2
from meeting_agent.v1 import hotword_set_pb2 as _hotword_set_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateHotwordSetRequest(_message.Message):
    __slots__ = ("hotword_set", "hotword_set_id")
    HOTWORD_SET_FIELD_NUMBER: _ClassVar[int]
    HOTWORD_SET_ID_FIELD_NUMBER: _ClassVar[int]
    hotword_set: _hotword_set_pb2.HotwordSet
    hotword_set_id: str
    def __init__(self, hotword_set: _Optional[_Union[_hotword_set_pb2.HotwordSet, _Mapping]] = ..., hotword_set_id: _Optional[str] = ...) -> None: ...

class CreateHotwordSetResponse(_message.Message):
    __slots__ = ("hotword_set",)
    HOTWORD_SET_FIELD_NUMBER: _ClassVar[int]
    hotword_set: _hotword_set_pb2.HotwordSet
    def __init__(self, hotword_set: _Optional[_Union[_hotword_set_pb2.HotwordSet, _Mapping]] = ...) -> None: ...

class GetHotwordSetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetHotwordSetResponse(_message.Message):
    __slots__ = ("hotword_set",)
    HOTWORD_SET_FIELD_NUMBER: _ClassVar[int]
    hotword_set: _hotword_set_pb2.HotwordSet
    def __init__(self, hotword_set: _Optional[_Union[_hotword_set_pb2.HotwordSet, _Mapping]] = ...) -> None: ...

class ListHotwordSetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHotwordSetsResponse(_message.Message):
    __slots__ = ("hotword_sets", "next_page_token")
    HOTWORD_SETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    hotword_sets: _containers.RepeatedCompositeFieldContainer[_hotword_set_pb2.HotwordSet]
    next_page_token: str
    def __init__(self, hotword_sets: _Optional[_Iterable[_Union[_hotword_set_pb2.HotwordSet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateHotwordSetRequest(_message.Message):
    __slots__ = ("hotword_set", "update_mask")
    HOTWORD_SET_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    hotword_set: _hotword_set_pb2.HotwordSet
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, hotword_set: _Optional[_Union[_hotword_set_pb2.HotwordSet, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateHotwordSetResponse(_message.Message):
    __slots__ = ("hotword_set",)
    HOTWORD_SET_FIELD_NUMBER: _ClassVar[int]
    hotword_set: _hotword_set_pb2.HotwordSet
    def __init__(self, hotword_set: _Optional[_Union[_hotword_set_pb2.HotwordSet, _Mapping]] = ...) -> None: ...

class DeleteHotwordSetRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteHotwordSetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
