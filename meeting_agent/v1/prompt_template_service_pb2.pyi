from google.protobuf import field_mask_pb2 as _field_mask_pb2
from meeting_agent.v1 import prompt_template_pb2 as _prompt_template_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreatePromptTemplateRequest(_message.Message):
    __slots__ = ("prompt_template", "prompt_template_id")
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    prompt_template: _prompt_template_pb2.PromptTemplate
    prompt_template_id: str
    def __init__(self, prompt_template: _Optional[_Union[_prompt_template_pb2.PromptTemplate, _Mapping]] = ..., prompt_template_id: _Optional[str] = ...) -> None: ...

class CreatePromptTemplateResponse(_message.Message):
    __slots__ = ("prompt_template",)
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    prompt_template: _prompt_template_pb2.PromptTemplate
    def __init__(self, prompt_template: _Optional[_Union[_prompt_template_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class GetPromptTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPromptTemplateResponse(_message.Message):
    __slots__ = ("prompt_template",)
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    prompt_template: _prompt_template_pb2.PromptTemplate
    def __init__(self, prompt_template: _Optional[_Union[_prompt_template_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class ListPromptTemplatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPromptTemplatesResponse(_message.Message):
    __slots__ = ("prompt_templates", "next_page_token")
    PROMPT_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    prompt_templates: _containers.RepeatedCompositeFieldContainer[_prompt_template_pb2.PromptTemplate]
    next_page_token: str
    def __init__(self, prompt_templates: _Optional[_Iterable[_Union[_prompt_template_pb2.PromptTemplate, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePromptTemplateRequest(_message.Message):
    __slots__ = ("prompt_template", "update_mask")
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    prompt_template: _prompt_template_pb2.PromptTemplate
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, prompt_template: _Optional[_Union[_prompt_template_pb2.PromptTemplate, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePromptTemplateResponse(_message.Message):
    __slots__ = ("prompt_template",)
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    prompt_template: _prompt_template_pb2.PromptTemplate
    def __init__(self, prompt_template: _Optional[_Union[_prompt_template_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class DeletePromptTemplateRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeletePromptTemplateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
