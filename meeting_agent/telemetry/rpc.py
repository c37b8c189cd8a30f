"""RPC spans and the RPC duration metric, for the server's interceptors."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from meeting_agent.telemetry import instruments
from meeting_agent.telemetry.propagation import context_from_metadata

_TRACER = trace.get_tracer("meeting_agent.api")


def _split(method: str) -> tuple[str, str]:
    """`/pkg.Service/Method` → (`pkg.Service`, `Method`)."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


def start_rpc_span(method: str, metadata: Any) -> trace.Span:
    """A SERVER span for the RPC, continuing the caller's trace if it sent one."""
    service, name = _split(method)
    return _TRACER.start_span(
        method.lstrip("/"),
        context=context_from_metadata(metadata),
        kind=trace.SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
    )


def end_rpc_span(span: trace.Span, code_name: str, code_value: int) -> None:
    span.set_attribute("rpc.grpc.status_code", code_value)
    # Semantic conventions: for servers, only codes that mean a server fault are errors.
    if code_name in (
        "UNKNOWN",
        "DEADLINE_EXCEEDED",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
    ):
        span.set_status(trace.StatusCode.ERROR, code_name)
    span.end()


class OtelRpcObserver:
    """An `RpcObserver` recording `rpc.server.call.duration` by method and status code."""

    def rpc_finished(self, method: str, code: Any, seconds: float) -> None:
        service, name = _split(method)
        instruments.rpc_duration.record(
            seconds,
            {
                "rpc.system": "grpc",
                "rpc.service": service,
                "rpc.method": name,
                "rpc.grpc.status_code": code.value[0],
            },
        )
