"""The baseline of `bench.rpc`: a bare grpc.aio server with no auth, database or service.

    python -m bench.bare_grpc            # prints "port N" on stdout, serves until SIGTERM

Three generic methods on raw bytes, so no code of ours runs:
  /bench.Bare/Echo       unary: returns the request
  /bench.Bare/Sink       client streaming: counts the bytes, returns their total
  /bench.Bare/Store      client streaming: what any durable upload must do at least:
                         hash the bytes, write them to a file (on a thread, beside the
                         next receive), fsync it; then delete it
  /bench.Bare/Follow     server streaming: every open stream receives each broadcast
                         (a nanosecond timestamp, sent `--fanout-hz` times a second)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import struct
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

ECHO = "/bench.Bare/Echo"
SINK = "/bench.Bare/Sink"
STORE = "/bench.Bare/Store"
FOLLOW = "/bench.Bare/Follow"


def _identity(data: bytes) -> bytes:
    return data


class _Fanout:
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes]] = set()

    def broadcast(self) -> None:
        stamp = struct.pack("!q", time.time_ns())
        for queue in self.queues:
            queue.put_nowait(stamp)


async def _serve(port: int, fanout_hz: float, store_dir: str | None) -> None:
    fanout = _Fanout()

    async def echo(request: bytes, _context: Any) -> bytes:
        return request

    async def sink(requests: AsyncIterator[bytes], _context: Any) -> bytes:
        total = 0
        async for chunk in requests:
            total += len(chunk)
        return struct.pack("!q", total)

    async def store(requests: AsyncIterator[bytes], _context: Any) -> bytes:
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=store_dir) as out:

            def write(chunk: bytes) -> None:
                out.write(chunk)
                digest.update(chunk)

            pending: asyncio.Future[None] | None = None
            total = 0
            async for chunk in requests:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(asyncio.to_thread(write, chunk))
                total += len(chunk)
            if pending is not None:
                await pending
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
        return struct.pack("!q", total)

    async def follow(_request: bytes, _context: Any) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        fanout.queues.add(queue)
        try:
            yield struct.pack("!q", time.time_ns())  # "opened", like a replayed event
            while True:
                yield await queue.get()
        finally:
            fanout.queues.discard(queue)

    handlers = grpc.method_handlers_generic_handler(
        "bench.Bare",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo, request_deserializer=_identity, response_serializer=_identity
            ),
            "Sink": grpc.stream_unary_rpc_method_handler(
                sink, request_deserializer=_identity, response_serializer=_identity
            ),
            "Store": grpc.stream_unary_rpc_method_handler(
                store, request_deserializer=_identity, response_serializer=_identity
            ),
            "Follow": grpc.unary_stream_rpc_method_handler(
                follow, request_deserializer=_identity, response_serializer=_identity
            ),
        },
    )
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 8 << 20)])
    server.add_generic_rpc_handlers((handlers,))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"port {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def tick() -> None:
        while True:
            await asyncio.sleep(1 / fanout_hz)
            fanout.broadcast()

    ticker = asyncio.create_task(tick())
    await stop.wait()
    ticker.cancel()
    await server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fanout-hz", type=float, default=2.0)
    parser.add_argument("--store-dir", help="where Store writes (default: the temp dir)")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.fanout_hz, args.store_dir))


if __name__ == "__main__":
    main()
