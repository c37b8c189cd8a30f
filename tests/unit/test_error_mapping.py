"""Domain errors become `google.rpc.Status` with the code and details Go callers branch on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from meeting_agent import errors
from meeting_agent.api.errors import (
    ERROR_DOMAIN,
    code_of,
    internal_status_proto,
    to_status_proto,
)
from meeting_agent.api.interceptors import abort_for
from meeting_agent.errors import FieldViolation

# One instance of every concrete domain error, with its expected code.
CASES: list[tuple[errors.MeetingAgentError, int]] = [
    (
        errors.InvalidArgument("bad", violations=[FieldViolation("task.labels", "too many")]),
        code_pb2.INVALID_ARGUMENT,
    ),
    (errors.Unauthenticated("no token", reason="TOKEN_MISSING"), code_pb2.UNAUTHENTICATED),
    (errors.NotFound("tasks/t1"), code_pb2.NOT_FOUND),
    (
        errors.AlreadyExists("taken", reason="REQUEST_ID_REUSED", metadata={"request_id": "r"}),
        code_pb2.ALREADY_EXISTS,
    ),
    (errors.FailedPrecondition("busy", reason="UPLOAD_IN_USE"), code_pb2.FAILED_PRECONDITION),
    (errors.Aborted("stale", reason="ETAG_MISMATCH", metadata={"etag": "e"}), code_pb2.ABORTED),
    (errors.ResourceExhausted("big", reason="UPLOAD_TOO_LARGE"), code_pb2.RESOURCE_EXHAUSTED),
    (errors.Unavailable("down", reason="DATABASE_UNAVAILABLE"), code_pb2.UNAVAILABLE),
]
IDS = [type(error).__name__ for error, _ in CASES]


def details_of(status: status_pb2.Status) -> dict[str, Any]:
    """Unpack every detail, keyed by message name; each kind at most once."""
    unpacked: dict[str, Any] = {}
    kinds = (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo)
    for detail in status.details:
        for kind in kinds:
            if detail.TypeName() == kind.DESCRIPTOR.full_name:
                message = kind()
                detail.Unpack(message)
                assert kind.__name__ not in unpacked, f"{kind.__name__} appears twice"
                unpacked[kind.__name__] = message
                break
        else:
            pytest.fail(f"unexpected detail {detail.type_url}")
    return unpacked


def test_every_domain_error_class_is_covered() -> None:
    concrete = {getattr(errors, name) for name in errors.__all__}
    concrete = {
        cls
        for cls in concrete
        if isinstance(cls, type)
        and issubclass(cls, errors.MeetingAgentError)
        and cls is not errors.MeetingAgentError
    }
    assert concrete == {type(error) for error, _ in CASES}


@pytest.mark.parametrize(("error", "code"), CASES, ids=IDS)
def test_code_and_error_info(error: errors.MeetingAgentError, code: int) -> None:
    status = to_status_proto(error)

    assert status.code == code == code_of(error)
    info = details_of(status)["ErrorInfo"]
    assert info.reason == error.reason
    assert info.domain == ERROR_DOMAIN
    assert dict(info.metadata) == error.metadata


@pytest.mark.parametrize(("error", "code"), CASES, ids=IDS)
def test_status_converts_to_a_grpc_status(error: errors.MeetingAgentError, code: int) -> None:
    converted = rpc_status.to_status(to_status_proto(error))

    assert converted.code.value[0] == code
    [(key, value)] = converted.trailing_metadata
    assert key == "grpc-status-details-bin"
    assert status_pb2.Status.FromString(value).code == code


@pytest.mark.parametrize(("error", "code"), CASES, ids=IDS)
def test_reasons_are_stable_upper_snake_case(error: errors.MeetingAgentError, code: int) -> None:
    reason = details_of(to_status_proto(error))["ErrorInfo"].reason
    assert reason.replace("_", "").isalnum()
    assert reason == reason.upper()
    assert len(reason) <= 63


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidArgument("x"),
        errors.NotFound("x"),
        errors.AlreadyExists("x"),
        errors.FailedPrecondition("x"),
        errors.ResourceExhausted("x"),
        errors.Aborted("x"),
        errors.Unavailable("x"),
        errors.Unauthenticated("x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_default_reason_when_none_is_given(error: errors.MeetingAgentError) -> None:
    info = details_of(to_status_proto(error))["ErrorInfo"]
    assert info.reason == type(error).default_reason
    assert info.reason


def test_not_found_names_the_resource_in_metadata() -> None:
    info = details_of(to_status_proto(errors.NotFound("tasks/t1")))["ErrorInfo"]
    assert info.metadata["resource"] == "tasks/t1"


def test_invalid_argument_carries_every_field_violation() -> None:
    error = errors.InvalidArgument(
        "bad",
        violations=[
            FieldViolation("task.display_name", "is required"),
            FieldViolation("task.labels", "at most 64 labels"),
        ],
    )

    bad_request = details_of(to_status_proto(error))["BadRequest"]

    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("task.display_name", "is required"),
        ("task.labels", "at most 64 labels"),
    ]


def test_invalid_argument_field_helper() -> None:
    error = errors.InvalidArgument.field("page_token", "is bad", reason="INVALID_PAGE_TOKEN")

    details = details_of(to_status_proto(error))

    assert details["ErrorInfo"].reason == "INVALID_PAGE_TOKEN"
    assert [v.field for v in details["BadRequest"].field_violations] == ["page_token"]


@pytest.mark.parametrize(("error", "code"), CASES, ids=IDS)
def test_retry_info_only_where_a_retry_helps(error: errors.MeetingAgentError, code: int) -> None:
    details = details_of(to_status_proto(error))

    retryable = isinstance(error, errors.Unavailable | errors.Aborted)
    assert ("RetryInfo" in details) == retryable
    if retryable:
        delay = details["RetryInfo"].retry_delay
        assert delay.seconds > 0 or delay.nanos > 0


def test_unavailable_uses_its_own_retry_delay() -> None:
    error = errors.Unavailable("quota", retry_after_seconds=7.25)

    delay = details_of(to_status_proto(error))["RetryInfo"].retry_delay

    assert delay.ToNanoseconds() == 7_250_000_000


def test_bad_request_only_for_invalid_argument_with_violations() -> None:
    for error, _ in CASES:
        has_violations = isinstance(error, errors.InvalidArgument) and bool(error.violations)
        assert ("BadRequest" in details_of(to_status_proto(error))) == has_violations


def test_internal_status_is_generic() -> None:
    status = internal_status_proto()

    assert status.code == code_pb2.INTERNAL
    info = details_of(status)["ErrorInfo"]
    assert (info.reason, info.domain) == ("INTERNAL", ERROR_DOMAIN)
    assert "Traceback" not in status.message


# ---------------------------------------------------------------- the interceptor


class FakeContext:
    """Just enough of `grpc.aio.ServicerContext` for the error-mapping interceptor."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str, Any] | None = None

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()
    ) -> None:
        self.aborted = (code, details, trailing_metadata)
        raise grpc.aio.AbortError()

    def status(self) -> status_pb2.Status:
        assert self.aborted is not None, "the call was not aborted"
        _, _, trailing = self.aborted
        [value] = [v for k, v in trailing if k == "grpc-status-details-bin"]
        return status_pb2.Status.FromString(value)


async def test_interceptor_maps_domain_errors_to_rich_status() -> None:
    context = FakeContext()

    with pytest.raises(grpc.aio.AbortError):
        await abort_for(
            "/meeting_agent.v1.TaskService/GetTask", context, errors.NotFound("tasks/t1")
        )

    assert context.aborted is not None
    assert context.aborted[0] is grpc.StatusCode.NOT_FOUND
    status = context.status()
    assert status.code == code_pb2.NOT_FOUND
    assert details_of(status)["ErrorInfo"].reason == "NOT_FOUND"


async def test_unexpected_errors_become_internal_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = FakeContext()
    secret = "password=hunter2 at /srv/meeting-agent/secret.py"

    with caplog.at_level(logging.ERROR), pytest.raises(grpc.aio.AbortError):
        try:
            raise RuntimeError(secret)
        except RuntimeError as exc:
            await abort_for("/meeting_agent.v1.TaskService/GetTask", context, exc)

    assert context.aborted is not None
    code, message, trailing = context.aborted
    assert code is grpc.StatusCode.INTERNAL
    wire = message + repr(trailing)
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret.py"):
        assert leak not in wire, f"{leak!r} reached the client"
    status = context.status()
    assert status.code == code_pb2.INTERNAL
    assert details_of(status)["ErrorInfo"].reason == "INTERNAL"
    # The traceback goes to our logs instead.
    assert any(record.exc_info for record in caplog.records)


async def test_cancellation_is_not_an_error() -> None:
    context = FakeContext()

    with pytest.raises(asyncio.CancelledError):
        await abort_for("/x.Y/Z", context, asyncio.CancelledError())

    assert context.aborted is None


def test_any_type_urls_name_google_rpc_messages() -> None:
    status = to_status_proto(errors.Aborted("stale"))
    urls = {detail.type_url for detail in status.details}
    assert urls == {
        "type.googleapis.com/google.rpc.ErrorInfo",
        "type.googleapis.com/google.rpc.RetryInfo",
    }
    assert all(isinstance(detail, any_pb2.Any) for detail in status.details)
