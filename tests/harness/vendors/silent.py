"""Servers that take connections and then do not answer: the worst a vendor can do.

`SilentServer` accepts and reads, never writes. `StallingServer` sends the status line
and headers of a long body, one byte of it, then nothing more. Both hold every
connection open until stopped, as a wedged load balancer or process would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class SilentServer:
    """Accepts on 127.0.0.1 and never answers; counts the connections it took."""

    # What a connection is sent before the server falls silent.
    greeting = b""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        # accept() wakes up now and then, so stopping does not wait on a new client.
        self._socket.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._socket.getsockname()
        return f"http://{host}:{port}"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._socket.close()
        with self._lock:
            for held in self._held:
                held.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(conn)
                self.connections += 1
            if self.greeting:
                with contextlib.suppress(OSError):
                    conn.sendall(self.greeting)


class StallingServer(SilentServer):
    """Answers 200 with the headers of a 1 MB JSON body, sends one byte, then stalls."""

    greeting = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{"
    )
