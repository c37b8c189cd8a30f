"""The serving side against a bare grpc.aio server, driven by one load generator, in one run.

    python -m bench.rpc [--profile embedded|production|both] [--seconds 10] [--quick]

The baseline (`bench.bare_grpc`) and meeting-agent each run in their own processes; this
process is the load generator for both. Figures, each beside its baseline:

  P2  GetTask and ListTasks(page_size=50), authenticated: a closed loop with 32 calls in
      flight (calls/s, p50, p99), then an open loop at half the measured rate (p99);
      baseline: a unary echo.
  P3  one 200 MB UploadAudio in 1 MiB chunks: MB/s and the server's RSS growth;
      baseline: a client-streaming sink.
  P4  1,000 WatchTask streams on one running task, then 100 tasks x 10 watchers: time to
      open them all, server memory per open stream, and the delay from an event's
      `event_time` to its receipt (p50, p99, max); baseline: a server-streaming fan-out.

`embedded` is `python server.py` with no configuration (SQLite, in-process jobs and
events). `production` is PostgreSQL and Redis (started here from Debian's binaries, as the
test harness does) with RQ and a `worker.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from bench.bare_grpc import ECHO, FOLLOW, SINK, STORE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
IN_FLIGHT = 32
CHUNK = 1024 * 1024


# ------------------------------------------------------------------ measurements


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Rate:
    calls: int
    seconds: float
    latencies: list[float]
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds

    def describe(self) -> str:
        ms = [x * 1000 for x in self.latencies]
        errors = f", {self.errors} errors" if self.errors else ""
        return (
            f"{self.per_second:8.0f} calls/s  p50 {percentile(ms, 50):7.2f} ms"
            f"  p99 {percentile(ms, 99):7.2f} ms{errors}"
        )


async def closed_loop(
    call: Callable[[], Awaitable[Any]],
    seconds: float,
    in_flight: int = IN_FLIGHT,
    warmup: float = 1.0,
) -> Rate:
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def worker() -> None:
        nonlocal errors
        while (now := time.perf_counter()) < stop_at:
            try:
                await call()
            except grpc.RpcError:
                errors += 1
            if measuring:
                latencies.append(time.perf_counter() - now)

    workers = [asyncio.create_task(worker()) for _ in range(in_flight)]
    await asyncio.sleep(warmup)
    measuring = True
    started = time.perf_counter()
    await asyncio.gather(*workers)
    return Rate(len(latencies), time.perf_counter() - started, latencies, errors)


async def open_loop(call: Callable[[], Awaitable[Any]], rate: float, seconds: float) -> Rate:
    """Calls sent on a fixed schedule whatever the answers; latency counts from the
    scheduled time, so a server that falls behind shows it (no coordinated omission)."""
    latencies: list[float] = []
    errors = 0
    pending: set[asyncio.Task[None]] = set()

    async def one(scheduled: float) -> None:
        nonlocal errors
        try:
            await call()
        except grpc.RpcError:
            errors += 1
        latencies.append(time.perf_counter() - scheduled)

    count = max(1, int(rate * seconds))
    started = time.perf_counter()
    for i in range(count):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return Rate(len(latencies), time.perf_counter() - started, latencies, errors)


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def settled_rss(pid: int, samples: int = 5) -> int:
    values = []
    for _ in range(samples):
        values.append(tree_rss_bytes(pid))
        time.sleep(0.1)
    return int(statistics.median(values))


# ------------------------------------------------------------------ processes


class Process:
    def __init__(
        self, args: list[str], env: dict[str, str], log: Path, ready: str | None = None
    ) -> None:
        self.log = log
        self._out = log.open("w")
        self.popen = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._out, text=True
        )
        self.port = 0
        if ready is not None:
            assert self.popen.stdout is not None
            for line in self.popen.stdout:
                if line.startswith(ready):
                    self.port = int(line.split()[1])
                    break
            else:
                raise RuntimeError(f"{args} exited: see {log}")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _flatten(prefix: str, value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}__{key.upper()}" if prefix else key.upper(), inner)
    else:
        yield prefix, json.dumps(value) if isinstance(value, list | bool) else str(value)


def env_for(profile: dict[str, object]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETING_AGENT_")}
    env.update({f"MEETING_AGENT_{k}": v for k, v in _flatten("", profile)})
    env["MEETING_AGENT_LOG_LEVEL"] = "WARNING"
    return env


class MeetingAgentServer(Process):
    def __init__(self, profile: dict[str, object], log: Path) -> None:
        env = env_for(profile)
        port = _free_port()
        env["MEETING_AGENT_SERVER__LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
        super().__init__([sys.executable, "server.py"], env, log)
        self.port = port
        self._wait_serving()

    def _wait_serving(self) -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + 120
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                with contextlib.suppress(grpc.RpcError):
                    if (
                        stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                        == health_pb2.HealthCheckResponse.SERVING
                    ):
                        return
                time.sleep(0.1)
        raise RuntimeError(f"server never became SERVING: see {self.log}")


# ------------------------------------------------------------------ clients


def _identity(data: bytes) -> bytes:
    return data


@dataclass
class Target:
    channel: grpc.aio.Channel
    metadata: tuple[tuple[str, str], ...] = ()
    address: str = ""
    stubs: dict[str, Any] = field(default_factory=dict)

    def stub(self, module: Any, name: str) -> Any:
        if name not in self.stubs:
            self.stubs[name] = getattr(module, f"{name}Stub")(self.channel)
        return self.stubs[name]


def _silence_wav(path: Path, seconds: float) -> bytes:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * int(16000 * seconds))
    return path.read_bytes()


def long_recording(path: Path, seconds: float) -> bytes:
    with wave.open(str(DATA / "sample.wav"), "rb") as src:
        params = src.getparams()
        frames = src.readframes(src.getnframes())
    repeats = max(1, int(seconds // (params.nframes / params.framerate)) + 1)
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        for _ in range(repeats):
            out.writeframes(frames)
    return path.read_bytes()


async def upload(target: Target, content: bytes, filename: str = "meeting.wav") -> str:
    from meeting_agent.v1 import audio_pb2, audio_service_pb2, audio_service_pb2_grpc

    async def requests() -> AsyncIterator[audio_service_pb2.UploadAudioRequest]:
        yield audio_service_pb2.UploadAudioRequest(
            metadata=audio_pb2.UploadMetadata(
                filename=filename,
                content_type="audio/wav",
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
        for i in range(0, len(content), CHUNK):
            yield audio_service_pb2.UploadAudioRequest(chunk=content[i : i + CHUNK])

    stub = target.stub(audio_service_pb2_grpc, "AudioService")
    response = await stub.UploadAudio(requests(), metadata=target.metadata)
    return str(response.upload.name)


async def create_task(target: Target, upload_name: str, title: str) -> str:
    from meeting_agent.v1 import task_pb2, task_service_pb2, task_service_pb2_grpc

    stub = target.stub(task_service_pb2_grpc, "TaskService")
    response = await stub.CreateTask(
        task_service_pb2.CreateTaskRequest(
            task=task_pb2.Task(
                display_name=title, audio_sources=[task_pb2.AudioSource(upload=upload_name)]
            )
        ),
        metadata=target.metadata,
    )
    return str(response.task.name)


async def wait_terminal(target: Target, name: str, timeout: float = 600) -> None:
    from meeting_agent.v1 import task_service_pb2, task_service_pb2_grpc

    stub = target.stub(task_service_pb2_grpc, "TaskService")
    async for message in stub.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name), metadata=target.metadata, timeout=timeout
    ):
        if message.HasField("task") and message.task.state >= 3:
            return


async def wait_progress(target: Target, name: str, percent: int, timeout: float = 600) -> None:
    """Until the task is past `percent` (its model loaded, so memory has settled)."""
    from meeting_agent.v1 import task_service_pb2, task_service_pb2_grpc

    stub = target.stub(task_service_pb2_grpc, "TaskService")
    async for message in stub.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name), metadata=target.metadata, timeout=timeout
    ):
        if message.event.progress_percent >= percent:
            return


# ------------------------------------------------------------------ P2: unary


async def p2(
    bare: Target,
    ours: Target,
    seconds: float,
    tasks: list[str],
    report: Callable[[str, str], None],
    *,
    connections: int = 1,
) -> dict[str, Any]:
    """With `connections` above 1 both sides are called over that many connections,
    round robin (many callers, as a Service in front of a pod sees them)."""
    from meeting_agent.v1 import task_service_pb2, task_service_pb2_grpc

    opened: list[grpc.aio.Channel] = []

    def channels(target: Target) -> list[grpc.aio.Channel]:
        if connections <= 1:
            return [target.channel]
        made = [
            grpc.aio.insecure_channel(
                target.address, options=[("grpc.use_local_subchannel_pool", 1)]
            )
            for _ in range(connections)
        ]
        opened.extend(made)
        return made

    echoes = itertools.cycle(
        [
            c.unary_unary(ECHO, request_serializer=_identity, response_deserializer=_identity)
            for c in channels(bare)
        ]
    )
    stubs = itertools.cycle([task_service_pb2_grpc.TaskServiceStub(c) for c in channels(ours)])
    payload = b"x" * 200
    get_request = task_service_pb2.GetTaskRequest(name=tasks[0])
    list_request = task_service_pb2.ListTasksRequest(page_size=50)

    async def call_echo() -> None:
        await next(echoes)(payload)

    async def call_get() -> None:
        await next(stubs).GetTask(get_request, metadata=ours.metadata)

    async def call_list() -> None:
        response = await next(stubs).ListTasks(list_request, metadata=ours.metadata)
        assert len(response.tasks) == 50, len(response.tasks)

    try:
        return await _p2_loops(call_echo, call_get, call_list, seconds, report)
    finally:
        for channel in opened:
            await channel.close()


async def _p2_loops(
    call_echo: Callable[[], Awaitable[None]],
    call_get: Callable[[], Awaitable[None]],
    call_list: Callable[[], Awaitable[None]],
    seconds: float,
    report: Callable[[str, str], None],
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    base = await closed_loop(call_echo, seconds)
    report("bare unary echo, 32 in flight", base.describe())
    results["echo"] = base.per_second
    for label, call in (("GetTask", call_get), ("ListTasks page_size=50", call_list)):
        closed = await closed_loop(call, seconds)
        report(
            f"{label}, 32 in flight",
            closed.describe() + f"  ratio {closed.per_second / base.per_second:.2f} (goal >= 0.5)",
        )
        opened = await open_loop(call, closed.per_second / 2, seconds)
        base_open = await open_loop(call_echo, closed.per_second / 2, seconds)
        report(
            f"{label}, open loop at {closed.per_second / 2:.0f}/s",
            f"p99 {percentile(opened.latencies, 99) * 1000:7.2f} ms  (bare echo at the "
            f"same rate: p99 {percentile(base_open.latencies, 99) * 1000:.2f} ms; "
            "goal <= 10 ms)",
        )
        results[label] = {
            "rate": closed.per_second,
            "ratio": closed.per_second / base.per_second,
            "p50_ms": percentile(closed.latencies, 50) * 1000,
            "p99_ms": percentile(closed.latencies, 99) * 1000,
            "open_p99_ms": percentile(opened.latencies, 99) * 1000,
            "open_errors": opened.errors,
        }
    return results


# ------------------------------------------------------------------ P3: upload


async def p3(
    bare: Target,
    ours: Target,
    bare_pid: int,
    server_pid: int,
    megabytes: int,
    report: Callable[[str, str], None],
) -> dict[str, Any]:
    from meeting_agent.v1 import audio_pb2, audio_service_pb2, audio_service_pb2_grpc

    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    for _ in range(megabytes):
        digest.update(block)
    sha = digest.hexdigest()
    size = megabytes * CHUNK

    sink = bare.channel.stream_unary(
        SINK, request_serializer=_identity, response_deserializer=_identity
    )
    durable = bare.channel.stream_unary(
        STORE, request_serializer=_identity, response_deserializer=_identity
    )

    async def bare_chunks() -> AsyncIterator[bytes]:
        # Each chunk serialized as our service's request would be, so both carry the same
        # bytes on the wire.
        for _ in range(megabytes):
            yield audio_service_pb2.UploadAudioRequest(chunk=block).SerializeToString()

    async def our_requests() -> AsyncIterator[audio_service_pb2.UploadAudioRequest]:
        yield audio_service_pb2.UploadAudioRequest(
            metadata=audio_pb2.UploadMetadata(
                filename="big.wav", content_type="audio/wav", size_bytes=size, sha256=sha
            )
        )
        for _ in range(megabytes):
            yield audio_service_pb2.UploadAudioRequest(chunk=block)

    stub = ours.stub(audio_service_pb2_grpc, "AudioService")

    async def measure(pid: int, send: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
        before = settled_rss(pid)
        peak = before
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_bytes(pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        await send()
        elapsed = time.perf_counter() - started
        done.set()
        await sampler
        return size / elapsed / 1e6, (peak - before) / 1e6

    base_rate, base_rss = await measure(bare_pid, lambda: sink(bare_chunks()))
    disk_rate, _ = await measure(bare_pid, lambda: durable(bare_chunks()))
    rate, rss = await measure(
        server_pid, lambda: stub.UploadAudio(our_requests(), metadata=ours.metadata)
    )
    report(
        f"bare client-streaming sink, {megabytes} MB",
        f"{base_rate:8.0f} MB/s  RSS growth {base_rss:6.1f} MB",
    )
    report(
        f"bare sink that stores durably, {megabytes} MB",
        f"{disk_rate:8.0f} MB/s  (hash, write, fsync: this disk's bound on any upload)",
    )
    report(
        f"UploadAudio, {megabytes} MB in 1 MiB chunks",
        f"{rate:8.0f} MB/s  RSS growth {rss:6.1f} MB  ratio {rate / base_rate:.2f} "
        f"to the sink, {rate / disk_rate:.2f} to the durable sink "
        "(goals: ratio >= 0.7, RSS growth <= 64 MB)",
    )
    return {
        "sink_mb_s": base_rate,
        "durable_sink_mb_s": disk_rate,
        "upload_mb_s": rate,
        "ratio": rate / base_rate,
        "ratio_to_durable": rate / disk_rate,
        "rss_growth_mb": rss,
    }


# ------------------------------------------------------------------ P4: watchers


@dataclass
class WatchStats:
    open_seconds: float
    bytes_per_stream: float
    delays: list[float]
    completed: int
    streams: int

    def describe(self) -> str:
        ms = [d * 1000 for d in self.delays]
        return (
            f"open {self.open_seconds:5.1f} s  {self.bytes_per_stream / 1024:5.1f} KB/stream"
            f"  delay p50 {percentile(ms, 50):6.1f} ms  p99 {percentile(ms, 99):7.1f} ms"
            f"  max {max(ms, default=float('nan')):7.1f} ms  ({len(ms)} deliveries,"
            f" {self.completed}/{self.streams} completed)"
        )


async def watch_many(
    ours: Target,
    server_pid: int,
    tasks_to_watch: Sequence[str] | Sequence[Callable[[], Awaitable[str]]],
    per_task: int,
    start_events: Callable[[], Awaitable[None]] | None = None,
    timeout: float = 900,
) -> WatchStats:
    """Open `per_task` streams on each task (a name, or a call that creates the task
    and returns its name, so streams follow it from its start) and follow them to the
    end."""
    from meeting_agent.v1 import task_pb2, task_service_pb2, task_service_pb2_grpc

    stub = ours.stub(task_service_pb2_grpc, "TaskService")
    delays: list[float] = []
    opened = 0
    all_open = asyncio.Event()
    streams = len(tasks_to_watch) * per_task
    completed = 0

    async def follow(name: str) -> None:
        nonlocal opened, completed
        first = True
        # Replayed history is not a live delivery: only events recorded after the stream
        # was opened count.
        since = time.time()
        call = stub.WatchTask(
            task_service_pb2.WatchTaskRequest(name=name), metadata=ours.metadata, timeout=timeout
        )
        async for message in call:
            received = time.time()
            if first:
                first = False
                opened += 1
                if opened == streams:
                    all_open.set()
            event = message.event
            recorded = event.event_time.ToNanoseconds() / 1e9
            if event.type != task_pb2.TASK_EVENT_TYPE_HEARTBEAT and recorded >= since:
                delays.append(received - recorded)
        completed += 1

    streams = len(tasks_to_watch) * per_task
    before = settled_rss(server_pid)
    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for entry in tasks_to_watch:
        name = entry if isinstance(entry, str) else await entry()
        tasks.extend(asyncio.create_task(follow(name)) for _ in range(per_task))
    await asyncio.wait_for(all_open.wait(), timeout)
    open_seconds = time.perf_counter() - started
    after = settled_rss(server_pid)
    if start_events is not None:
        await start_events()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"  ({len(failures)} streams failed: {failures[0]!r})", flush=True)
    return WatchStats(open_seconds, max(0, after - before) / streams, delays, completed, streams)


async def bare_watchers(bare: Target, bare_pid: int, streams: int, seconds: float) -> WatchStats:
    follow = bare.channel.unary_stream(
        FOLLOW, request_serializer=_identity, response_deserializer=_identity
    )
    delays: list[float] = []
    opened = 0
    all_open = asyncio.Event()
    counting = False

    async def one() -> None:
        nonlocal opened
        first = True
        call = follow(b"")
        try:
            async for message in call:
                received = time.time_ns()
                if first:
                    first = False
                    opened += 1
                    if opened == streams:
                        all_open.set()
                    continue
                if counting:
                    delays.append((received - struct.unpack("!q", message)[0]) / 1e9)
        except asyncio.CancelledError:
            call.cancel()
            raise

    before = settled_rss(bare_pid)
    started = time.perf_counter()
    tasks = [asyncio.create_task(one()) for _ in range(streams)]
    await all_open.wait()
    open_seconds = time.perf_counter() - started
    after = settled_rss(bare_pid)
    counting = True
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return WatchStats(open_seconds, max(0, after - before) / streams, delays, streams, streams)


async def p4(
    bare: Target,
    ours: Target,
    bare_pid: int,
    server_pid: int,
    work: Path,
    args: argparse.Namespace,
    start_worker: Callable[[], None] | None,
    report: Callable[[str, str], None],
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    base = await bare_watchers(bare, bare_pid, args.watchers, args.seconds)
    report(f"bare fan-out, {args.watchers} streams at 2 Hz", base.describe())
    results["bare"] = _watch_figures(base)

    # One long meeting that many people follow.
    content = long_recording(work / "long.wav", args.watch_minutes * 60)
    name = await create_task(ours, await upload(ours, content), "watched by many")
    if start_worker is None:
        # In-process jobs start at once: follow from the transcription on.
        await wait_progress(ours, name, 12)
    one = await watch_many(
        ours, server_pid, [name], args.watchers, start_events=_as_async(start_worker)
    )
    report(
        f"{args.watchers} WatchTask streams on one task",
        one.describe() + "  (goals: p99 <= 200 ms, <= 50 KB/stream)",
    )
    results["one_task"] = _watch_figures(one)

    # Many small meetings, each followed by a few from the moment it is created.
    short = _clip(work / "short.wav", DATA / "sample.wav", args.short_seconds)
    uploads = [await upload(ours, short) for _ in range(args.tasks)]
    many = await watch_many(
        ours,
        server_pid,
        [lambda u=u, i=i: create_task(ours, u, f"small {i}") for i, u in enumerate(uploads)],
        args.watchers // args.tasks,
    )
    report(f"{args.tasks} tasks x {args.watchers // args.tasks} watchers", many.describe())
    results["many_tasks"] = _watch_figures(many)
    return results


def _as_async(fn: Callable[[], None] | None) -> Callable[[], Awaitable[None]] | None:
    if fn is None:
        return None

    async def run() -> None:
        fn()

    return run


def _watch_figures(stats: WatchStats) -> dict[str, float]:
    ms = [d * 1000 for d in stats.delays]
    return {
        "open_seconds": stats.open_seconds,
        "kb_per_stream": stats.bytes_per_stream / 1024,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms, default=float("nan")),
        "deliveries": len(ms),
        "completed": stats.completed,
        "streams": stats.streams,
    }


def _clip(path: Path, source: Path, seconds: float) -> bytes:
    with wave.open(str(source), "rb") as src:
        params = src.getparams()
        frames = src.readframes(int(params.framerate * seconds))
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
    return path.read_bytes()


# ------------------------------------------------------------------ profiles


@contextlib.contextmanager
def production_services(work: Path) -> Iterator[dict[str, object]]:
    from tests.harness.postgres import postgres_server, temporary_database
    from tests.harness.redis import redis_server

    with postgres_server() as admin, temporary_database(admin) as url, redis_server() as redis_url:
        yield {
            "database_url": url.render_as_string(hide_password=False),
            "jobs": {"backend": "rq", "redis_url": redis_url},
        }


async def run_profile(
    name: str, profile: dict[str, object], work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    from meeting_agent.auth import mint_dev_token
    from meeting_agent.config import load_settings

    print(f"\n== {name}", flush=True)

    def report(label: str, figures: str) -> None:
        print(f"  {label:44} {figures}", flush=True)

    bare_process = Process(
        [sys.executable, "-m", "bench.bare_grpc", "--store-dir", str(work)],
        dict(os.environ),
        work / "bare.log",
        ready="port ",
    )
    server = MeetingAgentServer(profile, work / f"server-{name.split()[0]}.log")
    worker: Process | None = None
    results: dict[str, Any] = {"profile": name}
    try:
        token = mint_dev_token(
            load_settings(data_dir=Path(str(profile["data_dir"]))),
            user_id="bench",
            tenant_id="bench",
        )
        options = [("grpc.max_send_message_length", 8 << 20)]
        async with (
            grpc.aio.insecure_channel(
                f"127.0.0.1:{bare_process.port}", options=options
            ) as bare_channel,
            grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=options) as our_channel,
        ):
            bare = Target(bare_channel, address=f"127.0.0.1:{bare_process.port}")
            ours = Target(
                our_channel,
                (("authorization", f"Bearer {token}"),),
                address=f"127.0.0.1:{server.port}",
            )
            # Tasks to read: short silent recordings, processed (or left queued) before
            # anything is measured.
            silence = _silence_wav(work / "silence.wav", 1.0)
            tasks = [
                await create_task(ours, await upload(ours, silence), f"read me {i}")
                for i in range(60)
            ]
            if "jobs" not in profile:
                for task in tasks:
                    await wait_terminal(ours, task)
            if "p2" in args.only:
                results["p2"] = await p2(bare, ours, args.seconds, tasks, report)
            if "p2" in args.only and args.connections > 1:
                report(f"-- the same over {args.connections} connections", "")
                results["p2_connections"] = await p2(
                    bare, ours, args.seconds, tasks, report, connections=args.connections
                )
            if "p3" in args.only:
                results["p3"] = await p3(
                    bare, ours, bare_process.pid, server.pid, args.upload_mb, report
                )

            start_worker = None
            if "jobs" in profile:

                def start_worker() -> None:
                    nonlocal worker
                    worker = Process(
                        [sys.executable, "worker.py"], env_for(profile), work / "worker.log"
                    )

                # The 60 queued reads would run first; clear them away.
                from meeting_agent.v1 import task_service_pb2, task_service_pb2_grpc

                stub = ours.stub(task_service_pb2_grpc, "TaskService")
                for task in tasks:
                    await stub.CancelTask(
                        task_service_pb2.CancelTaskRequest(name=task), metadata=ours.metadata
                    )
            if "p4" in args.only:
                results["p4"] = await p4(
                    bare, ours, bare_process.pid, server.pid, work, args, start_worker, report
                )
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        bare_process.stop()
    return results


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-rpc-") as tmp:
        work = Path(tmp)
        if args.profile in ("embedded", "both"):
            data = work / "embedded"
            results.append(await run_profile("embedded", {"data_dir": str(data)}, work, args))
        if args.profile in ("production", "both"):
            with production_services(work) as services:
                data = work / "production"
                profile = {
                    "data_dir": str(data),
                    **services,
                    "server": {"processes": args.processes},
                }
                results.append(
                    await run_profile(
                        f"production ({args.processes} server processes)", profile, work, args
                    )
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("embedded", "production", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measured loop")
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument(
        "--watch-minutes",
        type=float,
        default=10.0,
        help="length of the recording the watchers follow",
    )
    parser.add_argument(
        "--short-seconds",
        type=float,
        default=3.0,
        help="length of each of the many small recordings",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small figures, to check that the bench runs"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=4,
        help="P2 is measured again over this many connections per side",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes of the production profile (server.processes)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("p2", "p3", "p4"),
        default=["p2", "p3", "p4"],
        help="run some of the figures only",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.upload_mb, args.watchers, args.tasks = 2.0, 20, 50, 5
        args.watch_minutes = 1.0
    print(
        f"bench.rpc on {os.cpu_count()} CPUs; one Python load generator for both sides", flush=True
    )
    results = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
