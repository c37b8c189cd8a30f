"""Log records as one JSON object per line, with trace ids and secrets redacted.

Redaction happens in the formatter, the last stop before a line leaves the process, so a
secret logged anywhere (our code, httpx, rq) is caught. It is a safety net: code should
still not log secrets or transcript text on purpose.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

REDACTED = "[REDACTED]"

# Attributes every LogRecord has; anything else came from `extra=` and is logged as a field.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# `extra=` fields whose value is transcript or minutes text: dropped whole, whatever it says.
TEXT_FIELDS = frozenset(
    {"transcript", "text", "segment_text", "minutes", "prompt", "completion", "summary"}
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and bearer tokens (JWTs included).
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    # Bare JWTs: three base64url parts, the first a JSON header ("eyJ").
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # Vendor API keys: OpenAI-style `sk-...`, Google `AIza...`.
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), REDACTED),
    # key=value pairs naming a secret, in URLs, headers or prose.
    (
        re.compile(
            r"(?i)\b((?:api[_-]?key|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?key)?|"
            r"token|password|signature|x-api-key)[\"']?\s*[=:]\s*[\"']?)"
            r"[^\s&\"',;]+"
        ),
        rf"\1{REDACTED}",
    ),
    # Presigned URLs: the query string is the credential, so all of it goes.
    (
        re.compile(
            r"(?i)(https?://[^\s?\"']+)\?[^\s\"']*(?:signature|x-amz-|x-tos-|"
            r"sig=|token|expires)[^\s\"']*"
        ),
        rf"\1?{REDACTED}",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _field(name: str, value: Any) -> Any:
    if name in TEXT_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the active trace and span
    ids (hex, as OTLP backends show them), `extra=` fields and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = _field(name, value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """The human-readable text format, with the same redaction as the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
