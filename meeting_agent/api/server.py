"""Building, running and stopping the gRPC server."""

from __future__ import annotations

import asyncio
import logging
import signal
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
OVERALL = ""


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
        ("grpc.http2.min_recv_ping_interval_without_data_ms",
         int(s.min_client_ping_interval_seconds * 1000)),
        ("grpc.http2.max_ping_strikes", 2),
    ]


async def _watch_dependencies(container: Container, health_servicer: health.aio.HealthServicer,
                              interval: float) -> None:
    """Report SERVING only while the database, the object store and the queue answer."""
    last: int | None = None
    while True:
        try:
            await asyncio.to_thread(container.database.check)
            await asyncio.to_thread(container.store.check)
            if container.queue is not None:
                await asyncio.to_thread(container.queue.check)
            status = health_pb2.HealthCheckResponse.SERVING
        except MeetingAgentError as exc:
            status = health_pb2.HealthCheckResponse.NOT_SERVING
            if last != status:
                _LOGGER.warning("dependency unavailable: %s", exc.message)
        if status != last:
            for name in (OVERALL, *SERVICE_NAMES):
                await health_servicer.set(name, status)
            last = status
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


async def start_server(
    container: Container,
    authenticator: Authenticator,
    *,
    observers: list[RpcObserver] | None = None,
) -> RunningServer:
    settings = container.settings
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=settings.server.worker_threads,
                           thread_name_prefix="meeting-agent"))
    server = grpc.aio.server(
        interceptors=[RpcInterceptor(
            Authentication(authenticator, container.users),
            observers if observers is not None else [LoggingRpcObserver(), OtelRpcObserver()],
        )],
        options=_server_options(container),
    )
    server_settings = settings.server
    offload = Offload(inline_reads=container.database.reads_never_wait)
    watch = TaskWatchHub(container.uow_factory, container.events, offload,
                         poll_seconds=server_settings.watch_poll_seconds,
                         heartbeat_seconds=server_settings.watch_heartbeat_seconds)
    await watch.start()
    task_service_pb2_grpc.add_TaskServiceServicer_to_server(
        TaskServicer(container.tasks, watch, offload,
                     max_audio_sources=settings.limits.max_audio_sources), server)
    audio_service_pb2_grpc.add_AudioServiceServicer_to_server(
        AudioServicer(container.uploads, offload,
                      max_chunk_bytes=settings.limits.max_chunk_bytes), server)
    transcript_service_pb2_grpc.add_TranscriptServiceServicer_to_server(
        TranscriptServicer(container.transcripts, offload), server)
    minutes_service_pb2_grpc.add_MinutesServiceServicer_to_server(
        MinutesServicer(container.minutes, offload), server)
    prompt_template_service_pb2_grpc.add_PromptTemplateServiceServicer_to_server(
        PromptTemplateServicer(container.prompt_templates, offload), server)
    hotword_set_service_pb2_grpc.add_HotwordSetServiceServicer_to_server(
        HotwordSetServicer(container.hotword_sets, offload), server)
    usage_service_pb2_grpc.add_UsageServiceServicer_to_server(
        UsageServicer(container.usage, offload), server)
    capabilities_service_pb2_grpc.add_CapabilitiesServiceServicer_to_server(
        CapabilitiesServicer(container.catalog, settings,
                             presigned_upload=container.store.supports_presign), server)

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in (OVERALL, *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

    address = server_settings.listen_address
    if server_settings.tls_cert_file and server_settings.tls_key_file:
        credentials = grpc.ssl_server_credentials([(
            server_settings.tls_key_file.read_bytes(), server_settings.tls_cert_file.read_bytes(),
        )])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    background = [
        asyncio.create_task(_watch_dependencies(
            container, health_servicer, server_settings.health_check_interval_seconds)),
        asyncio.create_task(_reconcile_forever(container)),
    ]
    # Let the first dependency check finish so we never report SERVING blindly.
    await asyncio.sleep(0)
    return RunningServer(server=server, port=port, health=health_servicer, watch=watch,
                         _background=background)


async def serve(container: Container, authenticator: Authenticator) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    running = await start_server(container, authenticator)
    _LOGGER.info("meeting-agent listening on port %d (%s)", running.port,
                 container.settings.server.listen_address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _LOGGER.info("shutting down: draining in-flight RPCs")
    server_settings = container.settings.server
    await running.stop(server_settings.shutdown_grace_seconds,
                       delay_seconds=server_settings.shutdown_delay_seconds)
    _LOGGER.info("stopped")
