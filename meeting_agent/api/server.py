"""Building, running and stopping the gRPC server."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from meeting_agent.api.interceptors import (
    Authentication,
    LoggingRpcObserver,
    RpcInterceptor,
    RpcObserver,
)
from meeting_agent.api.servicers.audio import AudioServicer
from meeting_agent.api.servicers.library import HotwordSetServicer, PromptTemplateServicer
from meeting_agent.api.servicers.minutes import MinutesServicer
from meeting_agent.api.servicers.reporting import CapabilitiesServicer, UsageServicer
from meeting_agent.api.servicers.tasks import TaskServicer
from meeting_agent.api.servicers.transcripts import TranscriptServicer
from meeting_agent.bootstrap import Container
from meeting_agent.errors import MeetingAgentError
from meeting_agent.ports import Authenticator
from meeting_agent.service.offload import Offload
from meeting_agent.service.watch import TaskWatchHub
from meeting_agent.telemetry.rpc import OtelRpcObserver
from meeting_agent.v1 import (
    audio_service_pb2,
    audio_service_pb2_grpc,
    capabilities_service_pb2,
    capabilities_service_pb2_grpc,
    hotword_set_service_pb2,
    hotword_set_service_pb2_grpc,
    minutes_service_pb2,
    minutes_service_pb2_grpc,
    prompt_template_service_pb2,
    prompt_template_service_pb2_grpc,
    task_service_pb2,
    task_service_pb2_grpc,
    transcript_service_pb2,
    transcript_service_pb2_grpc,
    usage_service_pb2,
    usage_service_pb2_grpc,
)

_LOGGER = logging.getLogger(__name__)

SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (task_service_pb2, "TaskService"),
        (audio_service_pb2, "AudioService"),
        (transcript_service_pb2, "TranscriptService"),
        (minutes_service_pb2, "MinutesService"),
        (prompt_template_service_pb2, "PromptTemplateService"),
        (hotword_set_service_pb2, "HotwordSetService"),
        (usage_service_pb2, "UsageService"),
        (capabilities_service_pb2, "CapabilitiesService"),
    )
)
# Health service names (grpc.health.v1). Readiness, under "", "readiness" and every API
# service's name: the database and the object store answer, so RPCs can be served.
# Liveness: the process serves at all; a database outage must not make Kubernetes
# restart every pod. The queue has its own name and is not part of readiness: while
# Redis is down tasks are still accepted (the reconciler queues them once it is back)
# and watchers read the store, so taking every replica out of service would turn a
# degraded queue into an outage.
OVERALL = ""
READINESS = "readiness"
LIVENESS = "liveness"
QUEUE = "queue"
READINESS_NAMES = (OVERALL, READINESS, *SERVICE_NAMES)


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    watch: TaskWatchHub
    _background: list[asyncio.Task[None]] = field(default_factory=list, repr=False)

    async def stop(self, grace_seconds: float, *, delay_seconds: float = 0.0) -> None:
        """Go NOT_SERVING so balancers drain us, then let in-flight RPCs finish."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.health.enter_graceful_shutdown()
        if delay_seconds:
            await asyncio.sleep(delay_seconds)
        await self.server.stop(grace_seconds)
        await self.watch.close()


def _server_options(container: Container) -> list[tuple[str, int]]:
    s = container.settings.server
    return [
        ("grpc.max_receive_message_length", s.max_receive_message_bytes),
        ("grpc.max_send_message_length", s.max_send_message_bytes),
        ("grpc.keepalive_time_ms", int(s.keepalive_time_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", int(s.keepalive_timeout_seconds * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        (
            "grpc.http2.min_recv_ping_interval_without_data_ms",
            int(s.min_client_ping_interval_seconds * 1000),
        ),
        ("grpc.http2.max_ping_strikes", 2),
    ]


async def _check(label: str, check: Callable[[], None]) -> str | None:
    """Why a dependency is unusable, or None when it answers."""
    try:
        await asyncio.to_thread(check)
    except MeetingAgentError as exc:
        return f"{label}: {exc.message}"
    return None


async def _watch_dependencies(
    container: Container, health_servicer: health.aio.HealthServicer, interval: float
) -> None:
    """Readiness follows the database and the object store; the queue is reported apart."""
    serving, not_serving = (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )
    last: dict[str, int] = {}

    async def report(names: tuple[str, ...], problem: str | None, what: str) -> None:
        status = not_serving if problem else serving
        if last.get(names[0]) == status:
            return
        if problem:
            _LOGGER.warning("%s: NOT_SERVING (%s)", what, problem)
        elif names[0] in last:
            _LOGGER.info("%s: SERVING again", what)
        for name in names:
            await health_servicer.set(name, status)
        last[names[0]] = status

    while True:
        problem = await _check("database", container.database.check) or await _check(
            "object store", container.store.check
        )
        await report(READINESS_NAMES, problem, "readiness")
        if container.queue is not None:
            await report((QUEUE,), await _check("queue", container.queue.check), "queue")
        await asyncio.sleep(interval)


async def _reconcile_forever(container: Container) -> None:
    """Queue tasks that no job holds: accepted while the queue was down, or orphaned."""
    reconciler = container.reconciler
    if reconciler is None:
        return
    interval = container.settings.jobs.reconcile_interval_seconds
    while True:
        try:
            await asyncio.to_thread(reconciler.run_once)
        except Exception:
            _LOGGER.exception("reconciler round failed")
        await asyncio.sleep(interval)


async def _sweep_forever(container: Container) -> None:
    """Delete what tasks left at the vendors and no task needs (see `LeftoverSweeper`)."""
    sweeper = container.leftovers
    interval = container.settings.providers.sweep.interval_seconds
    if sweeper is None or not interval:
        return
    while True:
        # First round at start: a restart is when a killed worker's leftovers exist.
        try:
            await asyncio.to_thread(sweeper.run_once)
        except Exception:
            _LOGGER.exception("leftover sweep failed")
        await asyncio.sleep(interval)


async def start_server(
    container: Container,
    authenticator: Authenticator,
    *,
    observers: list[RpcObserver] | None = None,
) -> RunningServer:
    settings = container.settings
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(
            max_workers=settings.server.worker_threads, thread_name_prefix="meeting-agent"
        )
    )
    server = grpc.aio.server(
        interceptors=[
            RpcInterceptor(
                Authentication(authenticator, container.users),
                observers if observers is not None else [LoggingRpcObserver(), OtelRpcObserver()],
            )
        ],
        options=_server_options(container),
    )
    server_settings = settings.server
    offload = Offload(inline_reads=container.database.reads_never_wait)
    watch = TaskWatchHub(
        container.uow_factory,
        container.events,
        offload,
        poll_seconds=server_settings.watch_poll_seconds,
        heartbeat_seconds=server_settings.watch_heartbeat_seconds,
    )
    await watch.start()
    task_service_pb2_grpc.add_TaskServiceServicer_to_server(
        TaskServicer(
            container.tasks, watch, offload, max_audio_sources=settings.limits.max_audio_sources
        ),
        server,
    )
    audio_service_pb2_grpc.add_AudioServiceServicer_to_server(
        AudioServicer(container.uploads, offload, max_chunk_bytes=settings.limits.max_chunk_bytes),
        server,
    )
    transcript_service_pb2_grpc.add_TranscriptServiceServicer_to_server(
        TranscriptServicer(container.transcripts, offload), server
    )
    minutes_service_pb2_grpc.add_MinutesServiceServicer_to_server(
        MinutesServicer(container.minutes, offload), server
    )
    prompt_template_service_pb2_grpc.add_PromptTemplateServiceServicer_to_server(
        PromptTemplateServicer(container.prompt_templates, offload), server
    )
    hotword_set_service_pb2_grpc.add_HotwordSetServiceServicer_to_server(
        HotwordSetServicer(container.hotword_sets, offload), server
    )
    usage_service_pb2_grpc.add_UsageServiceServicer_to_server(
        UsageServicer(container.usage, offload), server
    )
    capabilities_service_pb2_grpc.add_CapabilitiesServiceServicer_to_server(
        CapabilitiesServicer(
            container.catalog, settings, presigned_upload=container.store.supports_presign
        ),
        server,
    )

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in (*READINESS_NAMES, QUEUE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    # It answers: that is all liveness says, from the first moment to the last.
    await health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    address = server_settings.listen_address
    if server_settings.tls_cert_file and server_settings.tls_key_file:
        credentials = grpc.ssl_server_credentials(
            [
                (
                    server_settings.tls_key_file.read_bytes(),
                    server_settings.tls_cert_file.read_bytes(),
                )
            ]
        )
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    background = [
        asyncio.create_task(
            _watch_dependencies(
                container, health_servicer, server_settings.health_check_interval_seconds
            )
        ),
        asyncio.create_task(_reconcile_forever(container)),
        asyncio.create_task(_sweep_forever(container)),
    ]
    # Let the first dependency check finish so we never report SERVING blindly.
    await asyncio.sleep(0)
    return RunningServer(
        server=server, port=port, health=health_servicer, watch=watch, _background=background
    )


async def serve(container: Container, authenticator: Authenticator) -> bool:
    """Run until SIGTERM or SIGINT, then shut down within the configured time.

    On the signal: jobs running here are told to hand their tasks back at their next
    safe point; health goes NOT_SERVING; after `shutdown_delay_seconds` new RPCs are
    refused and in-flight ones get `shutdown_grace_seconds` to finish; whatever is left
    of that time is the jobs' to stop in. Returns False if some job did not stop in
    time (its task's lease then goes stale and another process takes it over).
    """
    running = await start_server(container, authenticator)
    _LOGGER.info(
        "meeting-agent listening on port %d (%s)",
        running.port,
        container.settings.server.listen_address,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server_settings = container.settings.server
    deadline = (
        loop.time()
        + server_settings.shutdown_delay_seconds
        + server_settings.shutdown_grace_seconds
    )
    _LOGGER.info("shutting down: handing running jobs back, draining in-flight RPCs")
    container.pipeline.interrupt()
    await running.stop(
        server_settings.shutdown_grace_seconds, delay_seconds=server_settings.shutdown_delay_seconds
    )
    stopped = await asyncio.to_thread(container.close, max(0.0, deadline - loop.time()))
    if stopped:
        _LOGGER.info("stopped")
    else:
        _LOGGER.warning(
            "a job did not reach a safe point in time; its task will be taken "
            "over once its lease goes stale"
        )
    return stopped
