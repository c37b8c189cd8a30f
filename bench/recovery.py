"""How fast the production profile recovers from a worker killed outright, in one run.

    python -m bench.recovery [--tasks 30] [--minutes 3]

PostgreSQL and Redis (started here from Debian's binaries), `server.py` with RQ and two
`worker.py` processes. Prints:

  - the same meeting processed twice: once undisturbed (the baseline), once with the
    worker running it killed with SIGKILL (process and job) mid-transcription, and for
    that run the time from the kill to the task running again on the other worker, and
    to its end;
  - the queue wait (start - creation) p50 and p90 of 30 short tasks over the two
    workers, undisturbed, beside the same with one worker killed with SIGKILL a third
    of the way through and started again (as a supervisor would).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import create_engine, text

from bench.rpc import (
    DATA,
    MeetingAgentServer,
    Process,
    Target,
    create_task,
    env_for,
    long_recording,
    percentile,
    production_services,
    upload,
)


def descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    kids = [int(c) for c in children.read().split()]
                    found.extend(kids)
                    stack.extend(kids)
        except FileNotFoundError:
            continue
    return found


class Workers:
    def __init__(self, profile: dict[str, object], work: Path, count: int) -> None:
        self._profile = profile
        self._work = work
        self.processes = [self._start(i) for i in range(count)]

    def _start(self, index: int) -> Process:
        return Process(
            [sys.executable, "worker.py"],
            env_for(self._profile),
            self._work / f"worker-{index}-{time.monotonic_ns()}.log",
        )

    def running(self, task_name: str) -> int:
        """Index of the worker running the task's job (RQ names workers host.pid.random)."""
        from redis import Redis

        from meeting_agent.adapters.jobs.rq_queue import job_id_for

        redis = Redis.from_url(str(self._profile["jobs"]["redis_url"]))  # type: ignore[index]
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                name = redis.hget(f"rq:job:{job_id_for(task_name.split('/')[1])}", "worker_name")
                if name:
                    pid = int(name.decode().split(".")[-2])  # type: ignore[union-attr]
                    for index, process in enumerate(self.processes):
                        if process.pid == pid:
                            return index
                time.sleep(0.05)
        finally:
            redis.close()
        raise RuntimeError(f"no worker is running {task_name}")

    def kill(self, index: int) -> None:
        process = self.processes[index]
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.popen.wait(10)

    def restart(self, index: int) -> None:
        self.processes[index] = self._start(index)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


async def follow(target: Target, name: str, on_event: Any = None) -> float:
    """Watch to the end; returns the time of the end."""
    from meeting_agent.v1 import task_service_pb2, task_service_pb2_grpc

    stub = target.stub(task_service_pb2_grpc, "TaskService")
    async for message in stub.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name), metadata=target.metadata, timeout=3600
    ):
        if on_event is not None:
            on_event(message.event)
        if message.HasField("task"):
            return time.monotonic()
    raise RuntimeError("the watch ended early")


async def one_meeting(target: Target, content: bytes, workers: Workers | None) -> dict[str, float]:
    from meeting_agent.v1 import task_pb2

    started = time.monotonic()
    name = await create_task(target, await upload(target, content), "recovery")
    killed_at = resumed_at = None
    transcribing = asyncio.Event()

    def on_event(event: Any) -> None:
        nonlocal resumed_at
        if event.stage == task_pb2.TASK_STAGE_TRANSCRIBE and event.progress_percent >= 30:
            transcribing.set()
        if (
            killed_at is not None
            and resumed_at is None
            and event.state == task_pb2.TASK_STATE_RUNNING
            and "attempt" in event.message
        ):
            resumed_at = time.monotonic()

    watching = asyncio.create_task(follow(target, name, on_event))
    if workers is not None:
        await transcribing.wait()
        workers.kill(workers.running(name))
        killed_at = time.monotonic()
    ended = await watching
    result = {"total": ended - started}
    if killed_at is not None:
        result.update(to_running=(resumed_at or ended) - killed_at, to_end=ended - killed_at)
    return result


async def queue_waits(
    target: Target, database_url: str, count: int, workers: Workers | None
) -> list[float]:
    jfk = (DATA / "jfk.flac").read_bytes()
    uploads = [await upload(target, jfk) for _ in range(count)]
    names = [await create_task(target, u, f"short {i}") for i, u in enumerate(uploads)]
    ends = [asyncio.create_task(follow(target, n)) for n in names]
    if workers is not None:
        # A third of the way through, a worker dies and its supervisor starts another.
        for done, finished in enumerate(asyncio.as_completed(ends), start=1):
            await finished
            if done == count // 3:
                # With work queued, both workers are busy: either will do.
                workers.kill(0)
                workers.restart(0)
                break
    await asyncio.gather(*ends)
    engine = create_engine(database_url)
    ids = [n.split("/")[1] for n in names]
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT create_time, start_time FROM tasks WHERE id = ANY(:ids)"), {"ids": ids}
        ).all()
    engine.dispose()
    return [(start - created).total_seconds() for created, start in rows]


async def main_async(args: argparse.Namespace) -> None:
    from meeting_agent.auth import mint_dev_token
    from meeting_agent.config import load_settings

    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as tmp:
        work = Path(tmp)
        with production_services(work) as services:
            profile: dict[str, object] = {
                "data_dir": str(work / "data"),
                **services,
                "asr": {"chunk_seconds": 60},
            }
            server = MeetingAgentServer(profile, work / "server.log")
            workers = Workers(profile, work, 2)
            try:
                token = mint_dev_token(load_settings(data_dir=work / "data"))
                async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                    target = Target(channel, (("authorization", f"Bearer {token}"),))
                    content = long_recording(work / "meeting.wav", args.minutes * 60)
                    print(f"\n== a {args.minutes:.0f}-minute meeting, two workers", flush=True)
                    calm = await one_meeting(target, content, None)
                    print(
                        f"  undisturbed                        {calm['total']:7.1f} s", flush=True
                    )
                    hit = await one_meeting(target, content, workers)
                    print(
                        f"  its worker killed (SIGKILL) at 30 %: {hit['total']:7.1f} s in all;"
                        f" running again {hit['to_running']:5.1f} s after the kill, done "
                        f"{hit['to_end']:5.1f} s after it",
                        flush=True,
                    )
                    # The killed worker comes back, as its supervisor would bring it.
                    for index, process in enumerate(workers.processes):
                        if process.popen.poll() is not None:
                            workers.restart(index)

                    print(
                        f"\n== queue wait of {args.tasks} short tasks over two workers", flush=True
                    )
                    url = str(profile["database_url"])
                    for label, fault in (
                        ("undisturbed", None),
                        ("one worker killed and restarted", workers),
                    ):
                        waits = await queue_waits(target, url, args.tasks, fault)
                        print(
                            f"  {label:34} p50 {statistics.median(waits):6.1f} s  "
                            f"p90 {percentile(waits, 90):6.1f} s  max {max(waits):6.1f} s",
                            flush=True,
                        )
            finally:
                workers.stop()
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    print(f"bench.recovery on {os.cpu_count()} CPUs", flush=True)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
