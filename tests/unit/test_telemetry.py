"""The JSON log format, redaction, trace propagation and the quiet default."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from meeting_agent.telemetry import configure_telemetry
from meeting_agent.telemetry.logs import REDACTED, JsonFormatter, RedactingFormatter, redact
from meeting_agent.telemetry.propagation import context_from_traceparent, current_traceparent
from meeting_agent.telemetry.setup import TelemetryConfigurationError

# A provider of our own, never installed globally: the SDK is process-wide.
TRACER = TracerProvider().get_tracer("tests")


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("meeting_agent.test", logging.INFO, __file__, 1, message, args, None)
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def _json(record: logging.LogRecord) -> dict[str, object]:
    entry: dict[str, object] = json.loads(JsonFormatter().format(record))
    return entry


def test_json_lines_carry_the_active_trace_and_span_ids() -> None:
    with TRACER.start_as_current_span("rpc") as span:
        entry = _json(_record("created %s", "tasks/1", rpc_code="OK", duration_ms=1.5))
    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
    assert entry["message"] == "created tasks/1"
    assert entry["level"] == "INFO" and entry["logger"] == "meeting_agent.test"
    assert entry["rpc_code"] == "OK" and entry["duration_ms"] == 1.5


def test_json_lines_outside_a_span_have_no_trace_ids() -> None:
    entry = _json(_record("quiet"))
    assert "trace_id" not in entry and "span_id" not in entry


@pytest.mark.parametrize(
    "secret, kept",
    [
        ("authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "Bearer"),
        ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl expired", "expired"),
        ("calling with key sk-proj-abcdefghijklmnop123", "calling with key"),
        ("gemini key AIzaSyA1234567890abcdefghijklmnopq", "gemini key"),
        ("api_key=abc123secret&model=x", "model=x"),
        (
            "GET https://bucket.tos.example.com/a/b.flac?X-Tos-Signature=abc&X-Tos-Expires=60 200",
            "https://bucket.tos.example.com/a/b.flac?",
        ),
        ("PUT http://s3.local/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff", "http://s3.local/k?"),
    ],
)
def test_secrets_are_redacted(secret: str, kept: str) -> None:
    cleaned = redact(secret)
    assert REDACTED in cleaned
    assert kept in cleaned
    for leaked in (
        "eyJzdWIiOiJhIn0",
        "abcdefghijklmnop123",
        "1234567890abcdefghij",
        "abc123secret",
        "Signature=abc",
        "Signature=ff",
    ):
        assert leaked not in cleaned


def test_plain_urls_and_messages_are_left_alone() -> None:
    text = "fetched https://example.com/docs?page=2 for tasks/abc in 3 ms"
    assert redact(text) == text


def test_transcript_text_fields_are_dropped_and_messages_redacted() -> None:
    entry = _json(
        _record(
            "sent Bearer abc.def.ghi",
            transcript="ask not what your country",
            text="secret words",
            segment_count=3,
        )
    )
    assert entry["transcript"] == REDACTED and entry["text"] == REDACTED
    assert entry["segment_count"] == 3
    assert "abc.def.ghi" not in str(entry["message"])


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise RuntimeError("upstream said: api_key=hunter2")
    except RuntimeError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    entry = _json(record)
    assert "hunter2" not in str(entry["exception"])
    assert "hunter2" not in RedactingFormatter().format(record)


def test_traceparent_round_trips_into_a_remote_parent() -> None:
    assert current_traceparent() == ""
    with TRACER.start_as_current_span("rpc") as span:
        traceparent = current_traceparent()
    parent = trace.get_current_span(context_from_traceparent(traceparent)).get_span_context()
    assert parent.is_remote
    assert parent.trace_id == span.get_span_context().trace_id
    assert parent.span_id == span.get_span_context().span_id
    child = TRACER.start_span("job", context=context_from_traceparent(traceparent))
    assert isinstance(child, ReadableSpan)  # the SDK's span, which shows its parent
    assert child.parent is not None and child.parent.span_id == span.get_span_context().span_id


@pytest.mark.parametrize("value", ["", "garbage", "00-zz-yy-01"])
def test_a_missing_or_bad_traceparent_starts_a_new_trace(value: str) -> None:
    span = TRACER.start_span("job", context=context_from_traceparent(value))
    assert isinstance(span, ReadableSpan)
    assert span.parent is None


def test_telemetry_is_off_without_an_otel_exporter() -> None:
    assert configure_telemetry("server", {}) is None
    assert configure_telemetry("server", {"OTEL_SERVICE_NAME": "x"}) is None
    assert (
        configure_telemetry(
            "server", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317", "OTEL_SDK_DISABLED": "true"}
        )
        is None
    )
    assert (
        configure_telemetry(
            "server",
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317",
                "OTEL_TRACES_EXPORTER": "none",
                "OTEL_METRICS_EXPORTER": "none",
            },
        )
        is None
    )
    # The API stays the no-op one.
    assert not trace.get_current_span().get_span_context().is_valid


@pytest.mark.parametrize(
    "environ",
    [
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        },
        {"OTEL_TRACES_EXPORTER": "zipkin"},
    ],
)
def test_unsupported_exporters_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(TelemetryConfigurationError):
        configure_telemetry("server", environ)
