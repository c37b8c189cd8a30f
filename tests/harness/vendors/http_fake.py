"""What every fake vendor shares: a threaded HTTP server on 127.0.0.1, a record of the
requests it received, and a queue of faults to answer with instead of the real thing.

A fake answers from the vendor's documentation, never from our adapter's code: each
subclass implements `handle` for its vendor. Faults are injected per endpoint and used
up in order; `Fault.delay` sleeps before answering normally, which is how a timeout is
simulated (sleep longer than the client waits).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(
        cls, document: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Reply:
        return cls(
            status,
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            json.dumps(document, ensure_ascii=False).encode(),
        )


@dataclass(frozen=True)
class Fault:
    """Something to answer with instead of the documented behaviour, once.

    kind:
        "http": HTTP `status` with `headers` and an empty body;
        "code": the vendor's own error `code` in an otherwise normal answer;
        "delay": sleep `seconds`, then answer normally (a timeout when long enough);
        "malformed": a success status with a body that is not the documented JSON.
    """

    kind: str
    status: int = 0
    code: str = ""
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def http(cls, status: int, **headers: str) -> Fault:
        return cls(
            "http", status=status, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )

    @classmethod
    def vendor_code(cls, code: str) -> Fault:
        return cls("code", code=code)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")


class FakeVendor:
    """Base of the fakes: a context manager serving `handle` on a free local port."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        # Handler threads are joined on close; a delayed answer wakes up at once then.
        server.daemon_threads = False
        server.block_on_close = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-server",
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
        self._closing.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ------------------------------------------------------------ faults and records

    def inject(self, endpoint: str, *faults: Fault) -> None:
        """Answer the next requests to `endpoint` with `faults`, one each, in order."""
        with self._lock:
            self._faults.setdefault(endpoint, deque()).extend(faults)

    def take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    def pending_faults(self, endpoint: str) -> int:
        with self._lock:
            return len(self._faults.get(endpoint, ()))

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def pause(self, seconds: float) -> None:
        """Sleep in a handler thread; cut short when the fake closes."""
        self._closing.wait(seconds)

    # ------------------------------------------------------------ for subclasses

    def handle(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def _dispatch(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
        return self.handle(request)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives a test.
    protocol_version = "HTTP/1.0"
    timeout = 10

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `requests`, not stderr

    def _serve(self) -> None:
        url = urlsplit(self.path)
        request = Recorded(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._body(),
        )
        fake: FakeVendor = self.server.fake  # type: ignore[attr-defined]
        reply = fake._dispatch(request)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a simulated timeout)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


def audio_duration_ms(data: bytes) -> int | None:
    """Duration of a WAV or FLAC file from its header, as a vendor measures it."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_duration_ms(data)
    if data[:4] == b"fLaC" and len(data) >= 42 and data[4] & 0x7F == 0:
        streaminfo = int.from_bytes(data[8 + 10 : 8 + 18], "big")
        rate = streaminfo >> 44
        samples = streaminfo & ((1 << 36) - 1)
        return round(samples * 1000 / rate) if rate else None
    return None


def _wav_duration_ms(data: bytes) -> int | None:
    position, byte_rate, size = 12, 0, None
    while position + 8 <= len(data):
        chunk, length = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        if chunk == b"fmt ":
            byte_rate = int.from_bytes(data[position + 16 : position + 20], "little")
        elif chunk == b"data":
            size = min(length, len(data) - position - 8)
            break
        position += 8 + length + (length & 1)
    if size is None or not byte_rate:
        return None
    return round(size * 1000 / byte_rate)


def wav_data_bytes(data: bytes) -> int | None:
    """Bytes of samples in a WAV file's `data` chunk; None when it is not WAV."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(data):
        chunk, length = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        if chunk == b"data":
            return min(length, len(data) - position - 8)
        position += 8 + length + (length & 1)
    return 0
