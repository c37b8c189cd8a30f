"""Random, well-formed requests of every RPC: none may answer INTERNAL or UNKNOWN.

Every message is built from the descriptors, field by field: strings from a palette of
names that exist, names that do not, control characters, Chinese, huge and empty
values; integers at their extremes; enums with values the contract does not define;
timestamps outside protobuf's range; nested messages, repeated fields and maps. The
seed is printed on failure (and fixed by MEETING_AGENT_FUZZ_SEED) to replay a run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any, cast

import grpc
import pytest
from google.protobuf import descriptor
from google.protobuf.message import Message

from meeting_agent.v1 import (
    audio_service_pb2,
    capabilities_service_pb2,
    hotword_set_service_pb2,
    minutes_service_pb2,
    prompt_template_service_pb2,
    task_service_pb2,
    transcript_service_pb2,
    usage_service_pb2,
)
from tests.e2e.conftest import Client, failure

SERVICE_MODULES = (
    task_service_pb2,
    audio_service_pb2,
    transcript_service_pb2,
    minutes_service_pb2,
    prompt_template_service_pb2,
    hotword_set_service_pb2,
    usage_service_pb2,
    capabilities_service_pb2,
)
CALLS_PER_METHOD = int(os.environ.get("MEETING_AGENT_FUZZ_CALLS", "120"))
SEED = int(os.environ.get("MEETING_AGENT_FUZZ_SEED", random.SystemRandom().randrange(2**32)))
# What a server may answer to nonsense; INTERNAL and UNKNOWN mean it broke.
FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}

FD = descriptor.FieldDescriptor


class RandomRequests:
    """Random messages for a descriptor, biased towards values that find bugs."""

    def __init__(self, rng: random.Random, names: list[str]) -> None:
        self.rng = rng
        self.names = names

    def string(self) -> str:
        rng = self.rng
        choice = rng.randrange(12)
        if choice == 0:
            return ""
        if choice <= 3:
            return rng.choice(self.names)
        if choice == 4:
            return rng.choice(self.names) + rng.choice(["/", "/x", "\n", "\0", "..", "%2F"])
        if choice == 5:
            return "".join(rng.choice("\0\r\n\t\x1b\x7f") for _ in range(rng.randrange(1, 5)))
        if choice == 6:
            return "会议纪要：预算、回滚计划 " * rng.randrange(1, 4)
        if choice == 7:
            return "x" * rng.choice([256, 4097, 70_000])
        if choice == 8:
            return rng.choice(["zh-CN", "en", "xx-YY-ZZ-QQ-RR", "EN", "zh", "*", "users/"])
        if choice == 9:
            return rng.choice(["speaker_count", "display_name", "hotwords", "a.b", "*", ""])
        # Any code point a string may hold: surrogates have no UTF-8 and cannot be sent.
        return "".join(
            chr(c)
            for c in (rng.randrange(32, 0x30000) for _ in range(rng.randrange(1, 12)))
            if not 0xD800 <= c <= 0xDFFF
        )

    def integer(self, field: descriptor.FieldDescriptor) -> int:
        rng = self.rng
        unsigned = field.type in (FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64)
        wide = field.type in (
            FD.TYPE_INT64,
            FD.TYPE_UINT64,
            FD.TYPE_SINT64,
            FD.TYPE_FIXED64,
            FD.TYPE_SFIXED64,
        )
        bits = 64 if wide else 32
        low: int
        high: int
        low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        value = rng.choice([0, 1, -1, 2, 50, 1001, low, high, rng.randrange(low, high)])
        return min(max(value, low), high)

    def fill(self, message: Message, depth: int = 0) -> Message:
        rng = self.rng
        # The C (upb) descriptors implement the pure-Python descriptors' interface.
        kind = cast(descriptor.Descriptor, message.DESCRIPTOR)
        for field in kind.fields:
            if rng.random() < 0.4:
                continue
            if field.is_repeated:
                if field.message_type is not None and field.message_type.GetOptions().map_entry:
                    self._fill_map(message, field, depth)
                    continue
                for _ in range(rng.choice([1, 1, 2, 3, 40])):
                    self._append(message, field, depth)
                continue
            self._set(message, field, depth)
        return message

    def _fill_map(self, message: Message, field: descriptor.FieldDescriptor, depth: int) -> None:
        target = getattr(message, field.name)
        entry = field.message_type
        assert entry is not None
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        for _ in range(self.rng.choice([1, 2, 20])):
            key = self._scalar(key_field)
            if value_field.message_type is not None:
                self.fill(target[key], depth + 1)
            else:
                target[key] = self._scalar(value_field)

    def _append(self, message: Message, field: descriptor.FieldDescriptor, depth: int) -> None:
        target = getattr(message, field.name)
        if field.message_type is not None:
            if depth < 4:
                self._message(target.add(), field.message_type, depth + 1)
        else:
            target.append(self._scalar(field))

    def _set(self, message: Message, field: descriptor.FieldDescriptor, depth: int) -> None:
        if field.message_type is not None:
            if depth < 4:
                self._message(getattr(message, field.name), field.message_type, depth + 1)
            return
        setattr(message, field.name, self._scalar(field))

    def _message(self, target: Any, kind: descriptor.Descriptor, depth: int) -> None:
        # `target` is a message of a kind known only at run time: its fields are dynamic.
        name = kind.full_name
        rng = self.rng
        if name == "google.protobuf.Timestamp":
            target.seconds = rng.choice(
                [0, -1, 1_700_000_000, 253_402_300_800, -62_135_596_801, 2**62, -(2**62)]
            )
            target.nanos = rng.choice([0, 999_999_999, 1_000_000_000, -1, 2**31 - 1])
        elif name == "google.protobuf.Duration":
            target.seconds = rng.choice([0, -5, 1, 315_576_000_001, 2**62])
            target.nanos = rng.choice([0, -1, 999_999_999, 1_000_000_000])
        elif name == "google.protobuf.FieldMask":
            target.paths.extend(self.string() for _ in range(rng.randrange(0, 4)))
        else:
            self.fill(target, depth)

    def _scalar(self, field: descriptor.FieldDescriptor) -> Any:
        kind = field.type
        if kind == FD.TYPE_STRING:
            return self.string()
        if kind == FD.TYPE_BYTES:
            return self.rng.randbytes(self.rng.choice([0, 1, 64, 5000]))
        if kind == FD.TYPE_BOOL:
            return self.rng.random() < 0.5
        if kind in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
            return self.rng.choice(
                [
                    0.0,
                    -1.0,
                    1e308 if kind == FD.TYPE_DOUBLE else 3e38,
                    float("nan"),
                    float("inf"),
                    0.5,
                ]
            )
        if kind == FD.TYPE_ENUM:
            assert field.enum_type is not None
            numbers = [v.number for v in field.enum_type.values]
            return self.rng.choice([*numbers, max(numbers) + 1, 99, -1])
        return self.integer(field)


def _methods() -> Iterator[tuple[str, descriptor.MethodDescriptor]]:
    for module in SERVICE_MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                yield f"{service.name}.{method.name}", method


def _message_class(kind: descriptor.Descriptor) -> type[Message]:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(kind)


@pytest.fixture(scope="module")
def names(alice: Client, jfk: bytes) -> list[str]:
    """Names that exist for the caller, so some random calls reach real resources."""
    upload = alice.upload(jfk[:20_000])
    task = alice.create_task(alice.upload(jfk[:20_000]))
    return [
        upload.name,
        task.name,
        f"{task.name}/transcript",
        f"{task.name}/speakerMappings",
        f"{task.name}/artifacts/00000000-0000-0000-0000-000000000000",
        "tasks/00000000-0000-0000-0000-000000000000",
        "uploads/nope",
        "promptTemplates/default",
        "promptTemplates/zh-standard",
        "hotwordSets/missing",
        "users/alice",
        "tasks/",
        "TASKS/X",
        "tasks/a/b/c",
    ]


@pytest.mark.parametrize("method", [name for name, _ in _methods()])
def test_random_requests_never_break_the_server(
    method: str, channel: grpc.Channel, alice: Client, names: list[str]
) -> None:
    descriptor_ = dict(_methods())[method]
    rng = random.Random(f"{SEED}:{method}")
    requests = RandomRequests(rng, names)
    request_class = _message_class(descriptor_.input_type)
    response_class = _message_class(descriptor_.output_type)
    path = f"/{descriptor_.containing_service.full_name}/{descriptor_.name}"
    kind = (descriptor_.client_streaming, descriptor_.server_streaming)
    factory = {
        (False, False): channel.unary_unary,
        (True, False): channel.stream_unary,
        (False, True): channel.unary_stream,
        (True, True): channel.stream_stream,
    }[kind]
    call = factory(
        path,
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    broken = []
    for attempt in range(CALLS_PER_METHOD):
        request = requests.fill(request_class())
        try:
            if descriptor_.client_streaming:
                stream = [
                    request,
                    *(requests.fill(request_class()) for _ in range(rng.randrange(0, 4))),
                ]
                call(iter(stream), metadata=alice.metadata, timeout=20)
            elif descriptor_.server_streaming:
                # A real watch follows for ever: its first messages are enough.
                responses = call(request, metadata=alice.metadata, timeout=1)
                for _ in zip(range(3), responses, strict=False):
                    pass
                responses.cancel()
            else:
                call(request, metadata=alice.metadata, timeout=20)
        except grpc.RpcError as error:
            code = error.code()
            if code in FAULTS:
                broken.append((attempt, code.name, failure(error).reason, request))
    assert not broken, (
        f"{len(broken)} of {CALLS_PER_METHOD} calls broke the server "
        f"(MEETING_AGENT_FUZZ_SEED={SEED}); first: {broken[0]}"
    )
