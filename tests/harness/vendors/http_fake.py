"""What every fake vendor shares: a threaded HTTP server on 127.0.0.1, a record of the
requests it received, and faults to answer with instead of the real thing.

A fake answers from the vendor's documentation, never from our adapter's code: each
subclass implements `handle` for its vendor, and may name the credential a request
carries (`key_of`) and the endpoint it calls (`endpoint_of`), which faults can be
limited to. Faults are used up in the order they were injected; `Fault.delay` sleeps
before answering normally, which is how a timeout is simulated (sleep longer than the
client waits). Vendors dress the other faults in their own error shapes
(`fault_reply`), and add knobs that inject their own error answers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    key: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, name: str) -> str | None:
        """A query parameter; None when absent or empty."""
        return self.query.get(name) or None


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
    """Something to answer with instead of the documented behaviour.

    kind:
        "http": HTTP `status` with `headers` and an empty body;
        "code": the vendor's own error `code` in an otherwise normal answer;
        "delay": sleep `seconds`, then answer normally (a timeout when long enough);
        "malformed": a success status with a body that is not the documented JSON;
        "reply": `reply` as it is (a vendor's knob builds it in the vendor's shape).
    """

    kind: Literal["http", "code", "delay", "malformed", "reply"]
    status: int = 0
    code: str = ""
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reply: Reply | None = None

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

    @classmethod
    def answer(cls, reply: Reply) -> Fault:
        return cls("reply", reply=reply)


@dataclass
class _Armed:
    """An injected fault and the requests it is for."""

    fault: Fault
    endpoint: str | None
    key: str | None
    times: int | None

    def matches(self, endpoint: str | None, key: str | None) -> bool:
        return (self.endpoint is None or self.endpoint == endpoint) and (
            self.key is None or self.key == key
        )


class FakeVendor:
    """Base of the fakes: a context manager serving `handle` on a free local port."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: list[_Armed] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        self._server = _Server(self)
        # A short poll interval: shutdown() waits up to one interval, at every test's end.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
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
        self._closing.set()  # wakes handlers held by a delay
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ------------------------------------------------------------ faults

    def inject(
        self,
        endpoint: str | None,
        *faults: Fault,
        key: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next requests to `endpoint` (None: to any) with `faults`, in order.

        Each fault is used `times` times (None: for ever); `key` limits them to the
        requests of one credential.
        """
        with self._lock:
            self._faults.extend(_Armed(fault, endpoint, key, times) for fault in faults)

    def delay(self, seconds: float, *, times: int | None = 1) -> None:
        """Hold the answer (the real one) for `seconds`: the client should time out."""
        self.inject(None, Fault.delay(seconds), times=times)

    def malformed(self, *, times: int | None = 1) -> None:
        """A body that is not what the documentation describes (a proxy's HTML page)."""
        self.inject(None, Fault.malformed(), times=times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pause(self, seconds: float) -> None:
        """Sleep in a handler thread; cut short when the fake closes."""
        self._closing.wait(seconds)

    # ------------------------------------------------------------ records

    def calls(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and path_contains in r.path
            ]

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # ------------------------------------------------------------ for subclasses

    def handle(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def key_of(self, request: Recorded) -> str | None:
        """The credential the request carries, for per-key faults and the record."""
        return None

    def endpoint_of(self, request: Recorded) -> str | None:
        """The name of the endpoint the request calls, for per-endpoint faults."""
        return None

    def fault_reply(self, fault: Fault, endpoint: str | None) -> Reply:
        """The answer to an injected fault other than a delay, in the vendor's shape."""
        if fault.kind == "reply" and fault.reply is not None:
            return fault.reply
        if fault.kind == "http":
            return Reply(fault.status, dict(fault.headers))
        if fault.kind == "malformed":
            return Reply(
                200, {"Content-Type": "text/html"}, b"<html><body>Bad gateway</body></html>"
            )
        raise ValueError(f"{type(self).__name__} cannot answer a {fault.kind!r} fault")

    # ------------------------------------------------------------ serving

    def _respond(self, request: Recorded) -> Reply:
        request = replace(request, key=self.key_of(request))
        endpoint = self.endpoint_of(request)
        with self._lock:
            self.requests.append(request)
            fault = self._take_fault(endpoint, request.key)
        try:
            if fault is not None and fault.kind == "delay":
                self.pause(fault.seconds)
            elif fault is not None:
                return self.fault_reply(fault, endpoint)
            return self.handle(request)
        except Exception as exc:  # a bug in the fake: say so loudly, as a 500
            return Reply.json({"fake_error": repr(exc)}, status=500)

    def _take_fault(self, endpoint: str | None, key: str | None) -> Fault | None:
        for armed in self._faults:
            if not armed.matches(endpoint, key):
                continue
            if armed.times is not None:
                armed.times -= 1
                if armed.times <= 0:
                    self._faults.remove(armed)
            return armed.fault
        return None


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close; a delayed answer wakes up at once then.
    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeVendor) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives a test.
    protocol_version = "HTTP/1.0"
    timeout = 10

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `requests`, not stderr

    def _serve(self) -> None:
        url = urlsplit(self.path)
        request = Recorded(
            method=self.command,
            path=unquote(url.path),
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._body(),
        )
        assert isinstance(self.server, _Server)
        reply = self.server.fake._respond(request)
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
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""
