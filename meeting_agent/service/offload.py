"""Where async callers (servicers, the watch hub) run the blocking service layer.

The services are synchronous (jobs call them from threads too), so an RPC hands each
call to a worker thread. That hop costs more than a small read itself: two cross-thread
wake-ups and a contended GIL, which halved GetTask's throughput. A database that answers
small reads from local memory without ever waiting (SQLite in WAL mode: readers never
queue behind the writer) therefore serves them on the event loop; anything that may wait
on a network, a lock or a large result still goes to a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Offload:
    """`read` for small bounded reads (one task, one page); `call` for everything else."""

    def __init__(self, *, inline_reads: bool) -> None:
        self._inline_reads = inline_reads

    @property
    def inline_reads(self) -> bool:
        return self._inline_reads

    async def read(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._inline_reads:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)
