"""A threaded HTTP server on 127.0.0.1 that fakes one vendor, with a request log and
injectable faults (status + body, delays for timeouts, per key, a number of times).

Each vendor module subclasses `FakeVendor`, implements `route` from the vendor's
documentation and `key_of` (which credential a request carries), and adds knobs that
build the vendor's own error bodies on top of `inject`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass
class Recorded:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    key: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(value, ensure_ascii=False).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )


@dataclass
class Fault:
    """Answer `response` instead of the real thing, after `delay` seconds.

    `times` None means every matching request; `key` limits it to one credential;
    `when` to requests it accepts (a path, a kind of call).
    """

    response: Response | None
    delay: float = 0.0
    times: int | None = 1
    key: str | None = None
    when: Callable[[Recorded], bool] | None = None


class FakeVendor:
    """Start with `with FakeX(...) as vendor:`; `vendor.base_url` is where it listens."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ subclass API

    def key_of(self, request: Recorded) -> str | None:
        """The credential the request carries, for per-key faults and the log."""
        raise NotImplementedError

    def route(self, request: Recorded) -> Response:
        raise NotImplementedError

    # ------------------------------------------------------------ knobs

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def delay(self, seconds: float, *, times: int | None = 1) -> None:
        """Hold the answer (the real one) for `seconds`: the client should time out."""
        self.inject(Fault(None, delay=seconds, times=times))

    def malformed(self, *, times: int | None = 1, status: int = 200) -> None:
        """A body that is not what the documentation describes (a proxy's HTML page)."""
        self.inject(
            Fault(
                Response(
                    status, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}
                ),
                times=times,
            )
        )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and path_contains in r.path
            ]

    # ------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                vendor._serve(self)

            def do_POST(self) -> None:
                vendor._serve(self)

            def do_DELETE(self) -> None:
                vendor._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request log is the record; stderr stays quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, at every test's end.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.02,),
            name=f"{type(self).__name__}",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()  # wakes handlers held by a delay fault
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        request = _read(handler)
        request.key = self.key_of(request)
        with self._lock:
            self.requests.append(request)
            fault = self._take_fault(request)
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)
        try:
            response = (
                fault.response if fault is not None and fault.response else self.route(request)
            )
        except Exception as exc:  # a bug in the fake: say so loudly, as a 500
            response = Response.json(500, {"fake_error": repr(exc)})
        try:
            handler.send_response(response.status)
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _take_fault(self, request: Recorded) -> Fault | None:
        for fault in self._faults:
            if fault.key is not None and fault.key != request.key:
                continue
            if fault.when is not None and not fault.when(request):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            return fault
        return None


def _read(handler: BaseHTTPRequestHandler) -> Recorded:
    headers = {k.lower(): v for k, v in handler.headers.items()}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(handler)
    else:
        body = handler.rfile.read(int(headers.get("content-length", "0") or 0))
    parts = urllib.parse.urlsplit(handler.path)
    return Recorded(
        method=handler.command,
        path=urllib.parse.unquote(parts.path),
        query=urllib.parse.parse_qs(parts.query),
        headers=headers,
        body=body,
    )


def _read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            handler.rfile.readline()
            return b"".join(chunks)
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()


def estimate_tokens(text: str) -> int:
    """About four characters a token: what the fakes bill, so tests know exact numbers."""
    return (len(text) + 3) // 4


def audio_seconds(data: bytes) -> float | None:
    """The duration of a FLAC (STREAMINFO) or WAV (fmt + data chunks) file; None otherwise."""
    if data[:4] == b"fLaC" and len(data) >= 42:
        info = data[8:42]
        rate = int.from_bytes(info[10:13], "big") >> 4
        total = ((info[13] & 0x0F) << 32) | int.from_bytes(info[14:18], "big")
        return total / rate if rate and total else None
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        pos, byte_rate, size = 12, 0, 0
        while pos + 8 <= len(data):
            chunk, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
            if chunk == b"fmt ":
                byte_rate = int.from_bytes(data[pos + 16 : pos + 20], "little")
            elif chunk == b"data":
                size = min(length, len(data) - pos - 8)
                break
            pos += 8 + length + (length & 1)
        return size / byte_rate if byte_rate else None
    return None


def instance_of(schema: dict[str, Any]) -> Any:
    """A value matching a responseSchema or a JSON Schema: what a model would answer."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    kind = str(kind or "object").upper()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "OBJECT":
        return {name: instance_of(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "ARRAY":
        return [instance_of(schema.get("items", {"type": "STRING"}))]
    return {"STRING": "text", "NUMBER": 1.5, "INTEGER": 1, "BOOLEAN": True}.get(kind, "text")
