"""The W3C `traceparent` that carries an RPC's trace into the job that runs its task.

A job may run minutes later, in another process, after a retry or a reconciler's
re-enqueue; only what is stored with the task survives all of those, so the creating RPC
stores its `traceparent` on the task and the job continues that trace from it.
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_HEADER = "traceparent"


def current_traceparent() -> str:
    """The active span as a `traceparent` value; "" when nothing is being traced."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(_HEADER, "")


def context_from_traceparent(traceparent: str) -> otel_context.Context:
    """A context whose parent is the remote span; an empty one for "" or garbage."""
    return _PROPAGATOR.extract({_HEADER: traceparent} if traceparent else {})


def context_from_metadata(metadata: object) -> otel_context.Context:
    """The caller's trace from gRPC invocation metadata (a sequence of key/value pairs)."""
    carrier: dict[str, str] = {}
    for item in metadata or ():  # type: ignore[attr-defined]
        key, value = item
        if key in ("traceparent", "tracestate") and isinstance(value, str):
            carrier[key] = value
    return _PROPAGATOR.extract(carrier)
