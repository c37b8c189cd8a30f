"""The one place where domain errors become gRPC statuses with rich details."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from meeting_agent import errors
from meeting_agent.reasons import INTERNAL

ERROR_DOMAIN = "meeting-agent"

_LOGGER = logging.getLogger(__name__)

# Retrying after a concurrent change or an outage can help; say when.
_DEFAULT_RETRY_SECONDS: dict[type[errors.MeetingAgentError], float] = {
    errors.Aborted: 0.5,
    errors.Unavailable: 2.0,
}


def pack_any(message: Message) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(message)
    return detail


def code_of(error: errors.MeetingAgentError) -> int:
    return int(errors.canonical_code(error))


def to_status_proto(error: errors.MeetingAgentError) -> status_pb2.Status:
    """The `google.rpc.Status` for a domain error: ErrorInfo always, more where it helps."""
    details = [
        pack_any(
            error_details_pb2.ErrorInfo(
                reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
            )
        )
    ]
    if isinstance(error, errors.InvalidArgument) and error.violations:
        details.append(
            pack_any(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after is None:
        retry_after = next(
            (seconds for cls, seconds in _DEFAULT_RETRY_SECONDS.items() if isinstance(error, cls)),
            None,
        )
    if retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(retry_after * 1e9))
        details.append(pack_any(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=code_of(error), message=error.message, details=details)


def internal_status_proto() -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message="internal error",
        details=[pack_any(error_details_pb2.ErrorInfo(reason=INTERNAL, domain=ERROR_DOMAIN))],
    )


async def abort_with(context: Any, status: status_pb2.Status) -> NoReturn:
    """Abort the call with a rich status; never returns."""
    grpc_status = rpc_status.to_status(status)
    await context.abort(grpc_status.code, grpc_status.details, grpc_status.trailing_metadata)
    raise AssertionError("ServicerContext.abort returned")
