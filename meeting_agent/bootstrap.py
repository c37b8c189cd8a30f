"""The composition root: builds adapters and services from settings, and nothing else.

Layer: composition, below `api`, `jobs` and `cli`, above every other package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from meeting_agent.adapters.asr.local_whisper import (
    LocalWhisperAsr,
    decoding_for,
    whisper_languages,
)
from meeting_agent.adapters.audio.decode import normalize_audio
from meeting_agent.adapters.db.database import SqlDatabase, upgrade_to_head
from meeting_agent.adapters.diarization import LocalDiarizer, LocalDiarizerSettings
from meeting_agent.adapters.events import build_event_bus
from meeting_agent.adapters.jobs import build_job_queue
from meeting_agent.adapters.providers.factory import build_cloud_providers
from meeting_agent.adapters.storage.local import LocalObjectStore
from meeting_agent.config import AsrSettings, DiarizationSettings, Settings
from meeting_agent.domain.models import CallContext
from meeting_agent.domain.providers import AsrProvider as AsrProviderInfo
from meeting_agent.domain.providers import LlmProvider as LlmProviderInfo
from meeting_agent.errors import MeetingAgentError
from meeting_agent.minutes.extractive import ExtractiveMinutesGenerator
from meeting_agent.minutes.llm import LlmMinutesGenerator
from meeting_agent.ports import (
    AsrProvider,
    Clock,
    Diarizer,
    EventBus,
    JobQueue,
    LlmProvider,
    MinutesGenerator,
    ObjectStore,
    UnitOfWorkFactory,
)
from meeting_agent.service.artifacts import MinutesWriter
from meeting_agent.service.billing import PriceTable, UsageMeter
from meeting_agent.service.catalog import ProviderCatalog, embedded_catalog, with_cloud
from meeting_agent.service.common import SystemClock
from meeting_agent.service.leftovers import LeftoverSweeper
from meeting_agent.service.library import HotwordSetService, PromptTemplateService
from meeting_agent.service.metering import MeteredAsr, MeteredLlm
from meeting_agent.service.minutes import MinutesService
from meeting_agent.service.pipeline.plan import ProviderProfiles
from meeting_agent.service.pipeline.reconciler import Reconciler
from meeting_agent.service.pipeline.runner import PipelineRunner, PipelineSettings
from meeting_agent.service.tasks import TaskService
from meeting_agent.service.transcripts import TranscriptService
from meeting_agent.service.uploads import UploadService
from meeting_agent.service.usage import UsageService
from meeting_agent.service.users import UserDirectory

_LOGGER = logging.getLogger(__name__)

# server: serves RPCs (and runs jobs itself with the inline queue); worker: runs RQ
# jobs; cli: runs one pipeline in the foreground with no queue at all.
Role = Literal["server", "worker", "cli"]
GeneratorFactory = Callable[[CallContext], MinutesGenerator]


@dataclass
class Container:
    settings: Settings
    database: SqlDatabase
    store: ObjectStore
    clock: Clock
    catalog: ProviderCatalog
    events: EventBus
    users: UserDirectory
    uploads: UploadService
    tasks: TaskService
    prompt_templates: PromptTemplateService
    hotword_sets: HotwordSetService
    transcripts: TranscriptService
    minutes: MinutesService
    usage: UsageService
    pipeline: PipelineRunner
    queue: JobQueue | None = None
    reconciler: Reconciler | None = None
    asr: dict[str, AsrProvider] = field(default_factory=dict)
    leftovers: LeftoverSweeper | None = None

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.database.unit_of_work

    def close(self, timeout: float | None = None) -> bool:
        """Release everything; wait up to `timeout` for jobs running in this process.
        False when some are still running (their tasks' leases will go stale)."""
        stopped = self.queue.close(timeout) if self.queue is not None else True
        self.database.dispose()
        return stopped


def build_diarizer(settings: DiarizationSettings) -> Diarizer | None:
    """The local diarizer, or None when diarization is switched off."""
    if not settings.enabled:
        return None
    return LocalDiarizer(
        LocalDiarizerSettings(
            weights_path=settings.embedding_model_path,
            threshold=settings.clustering_threshold,
            window_seconds=settings.window_seconds,
            step_seconds=settings.step_seconds,
            cluster_chunk_seconds=settings.cluster_chunk_seconds,
        )
    )


def build_store(settings: Settings) -> ObjectStore:
    if settings.storage.backend == "tos":
        # Imported here so that the embedded default never loads the TOS SDK.
        from meeting_agent.adapters.storage.tos_store import TosObjectStore

        return TosObjectStore(
            settings.storage.tos, max_object_bytes=settings.storage.max_upload_bytes
        )
    return LocalObjectStore(
        settings.resolved_storage_root, max_object_bytes=settings.storage.max_upload_bytes
    )


class _Enqueue:
    """Hands work to the queue after commit; an outage is logged, never raised.

    The task is already stored, so the reconciler will queue it once the queue is back.
    """

    def __init__(self, queue: JobQueue | None) -> None:
        self.queue = queue

    def __call__(self, task_id: str) -> None:
        if self.queue is None:
            return
        try:
            self.queue.enqueue(task_id)
        except MeetingAgentError as exc:
            _LOGGER.warning(
                "could not enqueue tasks/%s (the reconciler will): %s", task_id, exc.message
            )


def local_asr(settings: AsrSettings) -> LocalWhisperAsr:
    """The local recogniser as configured (benchmarks build it here too, to compare
    against raw faster-whisper at the settings the pipeline really uses)."""
    return LocalWhisperAsr(
        settings.model_path,
        decoding=decoding_for(settings.preset, beam_size=settings.beam_size),
        vad=settings.vad,
        cpu_threads=settings.cpu_threads,
        chunk_seconds=settings.chunk_seconds,
    )


def bootstrap(
    settings: Settings, *, role: Role = "server", events: EventBus | None = None
) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    if settings.resolved_auto_migrate:
        upgrade_to_head(url)
    db = settings.database
    database = SqlDatabase(
        url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        ping_after_idle_seconds=db.ping_after_idle_seconds,
        connect_timeout_seconds=db.connect_timeout_seconds,
    )
    store = build_store(settings)
    clock = SystemClock()
    uow = database.unit_of_work
    events = events or build_event_bus(settings)
    local = local_asr(settings.asr)
    meter = UsageMeter(uow, PriceTable(settings.providers.resolved_prices), clock)
    cloud = build_cloud_providers(settings.providers, store)
    # Every recogniser is metered, the local one too: its audio hours are usage worth
    # reporting even at no cost.
    asr: dict[str, AsrProvider] = {
        name: MeteredAsr(provider, meter)
        for name, provider in {"local": local, **cloud.asr}.items()
    }
    diarizer = build_diarizer(settings.diarization)
    catalog = with_cloud(
        embedded_catalog(
            local_model=local.model_name,
            local_languages=whisper_languages() if local.multilingual else ("en",),
            diarization=diarizer is not None,
        ),
        cloud.asr_info,
        cloud.llm_info,
        asr_order=settings.providers.asr_order,
        llm_order=settings.providers.llm_order,
    )
    extractive = ExtractiveMinutesGenerator()
    writer = MinutesWriter(
        uow,
        store,
        clock,
        {"extractive": lambda _context: extractive, **_metered_generators(cloud.llm, meter)},
        _named(settings.providers.llm_order, catalog.llm),
        budgets=cloud.budgets,
    )
    jobs = settings.jobs
    pipeline = PipelineRunner(
        uow_factory=uow,
        store=store,
        clock=clock,
        events=events,
        normalize=normalize_audio,
        asr=asr,
        asr_order=_named(settings.providers.asr_order, catalog.asr),
        minutes=writer,
        diarizer=diarizer,
        profiles=ProviderProfiles(
            cloud_asr=frozenset(cloud.asr),
            speaker_labelling_asr=frozenset(i.name for i in cloud.asr_info if i.diarization),
            llm_minutes=frozenset(cloud.llm),
        ),
        budgets=cloud.budgets,
        settings=PipelineSettings(
            work_dir=settings.processing.work_dir,
            max_audio_seconds=settings.limits.max_audio_seconds,
            heartbeat_seconds=jobs.heartbeat_seconds,
            lease_timeout_seconds=jobs.heartbeat_timeout_seconds,
            max_attempts=settings.processing.max_attempts,
        ),
    )
    enqueue = _Enqueue(None)
    queue: JobQueue | None = None
    reconciler = None
    if role == "server" or (role == "worker" and jobs.backend == "rq"):
        queue = build_job_queue(settings, pipeline.run)
        enqueue.queue = queue
        reconciler = Reconciler(
            uow,
            queue,
            clock,
            lease_timeout_seconds=jobs.heartbeat_timeout_seconds,
            queued_grace_seconds=jobs.reconcile_interval_seconds,
        )
    return Container(
        settings=settings,
        database=database,
        store=store,
        clock=clock,
        catalog=catalog,
        events=events,
        users=UserDirectory(uow, clock),
        uploads=UploadService(
            uow, store, clock, max_upload_bytes=settings.storage.max_upload_bytes
        ),
        tasks=TaskService(
            uow,
            store,
            clock,
            catalog,
            on_queued=enqueue,
            asr_preflight=_preflight(asr, can_presign=store.supports_presign),
        ),
        prompt_templates=PromptTemplateService(uow, clock),
        hotword_sets=HotwordSetService(uow, clock),
        transcripts=TranscriptService(uow, clock),
        minutes=MinutesService(uow, catalog, clock, writer, on_requested=enqueue),
        usage=UsageService(uow),
        pipeline=pipeline,
        queue=queue,
        reconciler=reconciler,
        asr=asr,
        leftovers=LeftoverSweeper(cloud.sweeps, clock) if cloud.sweeps else None,
    )


def _metered_generators(
    llms: Mapping[str, LlmProvider], meter: UsageMeter
) -> dict[str, GeneratorFactory]:
    """An LLM minutes generator per LLM, metered for the task it writes minutes for."""

    def factory(llm: LlmProvider) -> GeneratorFactory:
        return lambda context: LlmMinutesGenerator(MeteredLlm(llm, meter, context))

    return {name: factory(llm) for name, llm in llms.items()}


def _preflight(asr: Mapping[str, AsrProvider], *, can_presign: bool) -> Callable[[str], None]:
    """The check task creation runs on the first recogniser a task would use."""

    def check(name: str) -> None:
        provider = asr.get(name)
        if provider is not None:
            provider.check_supported(None, None, can_presign)

    return check


def _named(
    order: Iterable[str], providers: Iterable[AsrProviderInfo | LlmProviderInfo]
) -> list[str]:
    """The failover chain: the configured providers the order names, in its order.

    One it does not name (the embedded engines among them) runs only for a task that
    chooses it, so a deployment's chain never ends in a provider nobody picked.
    """
    present = {p.name for p in providers}
    return [name for name in order if name in present]
