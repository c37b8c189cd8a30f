"""Ports: what the service layer needs from the outside world.

Each port is a Protocol with one or more adapters in `meeting_agent.adapters` and a
fake in `tests/fakes.py`. Every method that reads by id takes the tenant, so no
adapter can serve a row across tenants.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Generic, Protocol, Self, TypeVar, runtime_checkable

from meeting_agent.domain.models import (
    Artifact,
    CallContext,
    Hotword,
    HotwordSet,
    Principal,
    PromptTemplate,
    SpeakerCount,
    SpeakerMappings,
    Task,
    TaskEvent,
    TaskState,
    Transcript,
    TranscriptSegment,
    Upload,
    UsageGroup,
    UsageRecord,
)

# ---------------------------------------------------------------- object storage


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    sha256: str | None = None
    # When the object was last written; set by `list_objects`, None where unknown.
    modify_time: datetime | None = None


@dataclass(frozen=True)
class PresignedRequest:
    url: str
    method: str
    headers: dict[str, str]
    expire_time: datetime


class ObjectWriter(Protocol):
    """A streaming write. Nothing is visible under the key until `commit`."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> ObjectInfo:
        """Publish the object atomically and return its size and SHA-256."""
        ...

    def abort(self) -> None:
        """Discard what was written; safe to call after a failed `commit` or twice."""
        ...


class ObjectStore(Protocol):
    """Bytes by key. Keys are relative paths such as `tenants/acme/uploads/abc`.

    Adapters reject keys that are absolute or contain `..` with `InvalidArgument`.
    """

    @property
    def scheme(self) -> str:
        """URI scheme of this store's objects, for example "local" or "tos"."""
        ...

    @property
    def supports_presign(self) -> bool: ...

    def open_writer(self, key: str, *, content_type: str = "") -> ObjectWriter: ...

    def open_reader(self, key: str) -> BinaryIO:
        """A file-like reader; raises `NotFound` when the key is absent."""
        ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def delete(self, key: str) -> None:
        """Delete one object; absent keys are ignored."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under a prefix; returns how many were deleted."""
        ...

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under a prefix (`a/b` and `a/b/` never list `a/bc`), with its
        size and `modify_time`, a page at a time."""
        ...

    def presign_put(
        self, key: str, *, content_type: str, expires_in_seconds: int
    ) -> PresignedRequest:
        """A URL to upload directly; raises `FailedPrecondition` where unsupported."""
        ...

    def presign_get(self, key: str, *, expires_in_seconds: int) -> str:
        """A URL to download the object, for vendors that fetch audio themselves;
        raises `FailedPrecondition` where unsupported."""
        ...

    def uri(self, key: str) -> str:
        """The URI callers use to name an object, `<scheme>://<bucket>/<key>`."""
        ...

    def key_from_uri(self, uri: str) -> str:
        """The key named by a URI of this store; raises `InvalidArgument` otherwise."""
        ...

    def check(self) -> None:
        """Raise `Unavailable` when the store cannot serve requests."""
        ...


# ---------------------------------------------------------------- persistence

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class TaskFilter:
    states: Sequence[TaskState] = ()
    create_time_start: datetime | None = None
    create_time_end: datetime | None = None


class UserRepository(Protocol):
    def upsert(self, principal: Principal, now: datetime) -> None:
        """Create the user on first sight; refresh `last_seen_time` and profile otherwise."""
        ...


class TaskRepository(Protocol):
    def add(self, task: Task) -> None: ...

    def get(self, tenant_id: str, task_id: str, *, for_update: bool = False) -> Task | None: ...

    def list(
        self, tenant_id: str, flt: TaskFilter, *, limit: int, cursor: str | None
    ) -> Page[Task]:
        """Newest first; `cursor` is an opaque string from a previous page."""
        ...

    def save(self, task: Task) -> None:
        """Write back every mutable field of a task loaded from this repository.

        Except the lease (`heartbeat_time`, `attempts`), which only `claim` and
        `heartbeat` write.
        """
        ...

    def delete(self, tenant_id: str, task_id: str) -> None:
        """Delete the task and every row that belongs to it."""
        ...

    # Leases. Jobs act for the system, not for a caller: these methods take no tenant
    # (a job knows only the task id), and no RPC may reach them.

    def claim(self, task_id: str, *, now: datetime, stale_before: datetime) -> Task | None:
        """Atomically take the task for one job run.

        A QUEUED task, or a RUNNING one whose lease is older than `stale_before` (its
        worker died), becomes RUNNING with `heartbeat_time=now`, `attempts + 1` and
        `start_time` set if unset. Returns the claimed task, or None when it is anything
        else: running under a live lease elsewhere, finished, cancelled or missing. Of two
        concurrent claims, exactly one wins once both commit.
        """
        ...

    def heartbeat(self, task_id: str, now: datetime, *, attempt: int | None = None) -> bool:
        """Refresh a RUNNING task's lease; False when the task is no longer RUNNING.

        With `attempt` (the claimed task's `attempts`), also False when a later claim
        took the task over, so a worker that stalled past its lease learns to stop.
        """
        ...

    def find_orphans(
        self, *, stale_before: datetime, queued_before: datetime, limit: int
    ) -> builtins.list[Task]:
        """Tasks that may have no live job, oldest first.

        QUEUED tasks created before `queued_before` (their enqueue may have failed), and
        RUNNING tasks whose lease is older than `stale_before` or missing (their worker died).
        """
        ...


class TaskEventRepository(Protocol):
    def append(self, event: TaskEvent, tenant_id: str) -> None: ...

    def list_after(self, task_id: str, after_sequence: int, *, limit: int) -> list[TaskEvent]: ...


class UploadRepository(Protocol):
    def add(self, upload: Upload) -> None: ...

    def get(self, tenant_id: str, upload_id: str, *, for_update: bool = False) -> Upload | None: ...

    def save(self, upload: Upload) -> None: ...

    def delete(self, tenant_id: str, upload_id: str) -> None:
        """Delete the row; absent ids are ignored."""
        ...


class HotwordSetRepository(Protocol):
    def add(self, hotword_set: HotwordSet) -> None:
        """Raises `AlreadyExists` when the id is taken in the tenant."""
        ...

    def get(self, tenant_id: str, set_id: str) -> HotwordSet | None: ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[HotwordSet]: ...

    def save(self, hotword_set: HotwordSet) -> None: ...

    def delete(self, tenant_id: str, set_id: str) -> None: ...


class PromptTemplateRepository(Protocol):
    def add(self, template: PromptTemplate) -> None:
        """Raises `AlreadyExists` when the id is taken in the tenant."""
        ...

    def get(self, tenant_id: str, template_id: str) -> PromptTemplate | None:
        """The tenant's template of that id (built-in ones are not stored here)."""
        ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[PromptTemplate]: ...

    def save(self, template: PromptTemplate) -> None: ...

    def delete(self, tenant_id: str, template_id: str) -> None: ...


class SpeakerMappingRepository(Protocol):
    def get(self, tenant_id: str, task_id: str) -> SpeakerMappings:
        """The task's mappings; empty (etag of no mappings) when none were stored."""
        ...

    def replace(self, tenant_id: str, mappings: SpeakerMappings) -> None: ...


class TranscriptRepository(Protocol):
    def get(self, tenant_id: str, task_id: str, *, with_words: bool) -> Transcript | None: ...

    def put(self, transcript: Transcript) -> None:
        """Store the task's transcript, replacing an earlier one."""
        ...


class ArtifactRepository(Protocol):
    def add(self, artifact: Artifact) -> None: ...

    def get(self, tenant_id: str, task_id: str, artifact_id: str) -> Artifact | None: ...

    def list(
        self, tenant_id: str, task_id: str, *, limit: int, cursor: str | None
    ) -> Page[Artifact]: ...

    def save(self, artifact: Artifact) -> None: ...

    def pending(self, task_id: str) -> Sequence[Artifact]:
        """Artifacts of the task still GENERATING, oldest first.

        Not scoped to a tenant: jobs act for the system, knowing only the task id.
        """
        ...


class AuditLogRepository(Protocol):
    def add(
        self,
        record: UsageRecord,
        *,
        call_key: str,
        latency_ms: int | None = None,
        unit_prices: Mapping[str, Decimal] | None = None,
    ) -> bool:
        """Record a paid call once; a second call with the same key is ignored (False)."""
        ...

    def aggregate(
        self,
        tenant_id: str,
        *,
        start: datetime,
        end: datetime,
        group_by: Sequence[str],
        label_key: str = "",
        provider: str = "",
        user_id: str = "",
    ) -> list[UsageGroup]:
        """Sum usage per combination of `group_by` ("provider", "user", "label", "day")."""
        ...


class IdempotencyRepository(Protocol):
    def get(
        self, tenant_id: str, user_id: str, method: str, request_id: str
    ) -> tuple[str, str] | None:
        """The (resource id, request fingerprint) recorded for this key, if any."""
        ...

    def add(
        self,
        tenant_id: str,
        user_id: str,
        method: str,
        request_id: str,
        resource_id: str,
        fingerprint: str,
        now: datetime,
    ) -> None:
        """Raises `AlreadyExists` when a concurrent call recorded the key first."""
        ...


class UnitOfWork(Protocol):
    """One database transaction with the repositories bound to it.

    `with uow:` begins; leaving the block without `commit()` rolls back.
    """

    users: UserRepository
    tasks: TaskRepository
    task_events: TaskEventRepository
    uploads: UploadRepository
    hotword_sets: HotwordSetRepository
    prompt_templates: PromptTemplateRepository
    speaker_mappings: SpeakerMappingRepository
    transcripts: TranscriptRepository
    artifacts: ArtifactRepository
    audit_logs: AuditLogRepository
    idempotency: IdempotencyRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, snapshot: bool = False) -> UnitOfWork:
        """A unit of work.

        `read_only` promises it will not write, so an adapter may skip the write lock
        and the transaction: each statement then sees what was committed when it ran.
        `snapshot` (with `read_only`) asks that all its statements see one moment, for
        reads whose parts must agree (a task and its events, a transcript and its
        segments); it may cost a round trip or two more.
        """
        ...


class Database(Protocol):
    """The database as a whole, for health checks."""

    def check(self) -> None:
        """Raise `Unavailable` when the database cannot serve queries."""
        ...


# ---------------------------------------------------------------- auth


class Authenticator(Protocol):
    """Turns call metadata into a principal."""

    def authenticate(self, metadata: Sequence[tuple[str, str | bytes]]) -> Principal:
        """Raises `Unauthenticated` with a stable reason when the call is not acceptable.

        May block (fetching a JWKS document): call it off the event loop.
        """
        ...

    def recall(self, metadata: Sequence[tuple[str, str | bytes]]) -> Principal | None:
        """The principal when it is known without I/O (a token verified before and still
        valid), else None and the caller must `authenticate`. Never blocks."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


def iter_chunks(reader: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    """Read a file-like object in chunks, so no caller holds a whole file in memory."""
    while chunk := reader.read(size):
        yield chunk


# ---------------------------------------------------------------- pipeline


class TaskCancelled(Exception):
    """Raised at a safe point when the task's cancellation was requested."""


class JobInterrupted(TaskCancelled):
    """Raised at a safe point when the process running the job is shutting down: the
    job stops and hands its task back, to be resumed from its checkpoints elsewhere.

    A `TaskCancelled`, so that every stage that stops for a cancellation stops for this.
    """


@dataclass(frozen=True)
class SourceSpan:
    """Where one of the task's files sits in the concatenated meeting audio."""

    index: int
    offset_seconds: float
    duration_seconds: float


@dataclass(frozen=True)
class NormalizedAudio:
    """A task's audio decoded to 16 kHz mono float32 (little-endian, raw) in one file.

    Kept on disk rather than in memory so that hours of audio cost no more RAM than
    minutes; readers map or stream it.
    """

    path: Path
    duration_seconds: float
    sources: tuple[SourceSpan, ...]
    sample_rate: int = 16_000


@dataclass(frozen=True)
class AsrRequest:
    language_code: str
    model: str
    hotwords: tuple[Hotword, ...]
    speaker_count: SpeakerCount | None
    diarization: bool
    # For the audit log; None outside a task (benchmarks, tests).
    context: CallContext | None = None


@dataclass
class AsrResult:
    """Segments in meeting time; `speaker_label` is empty when the provider has none."""

    provider: str
    model: str
    language_code: str
    segments: list[TranscriptSegment]
    # Audio the vendor bills for (its own measure where it reports one); None when free.
    billed_audio_seconds: float | None = None
    # The vendor's id for the job, kept in the audit log to reconcile invoices.
    vendor_request_id: str = ""
    # Token-billed recognisers (an LLM listening to audio) bill these instead.
    input_tokens: int = 0
    audio_input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0  # of `output_tokens`
    # How many of the request's distinct hotwords the engine itself was sent, and when
    # not all, why not: the pipeline warns on the task about the rest.
    hotwords_sent: int = 0
    hotwords_note: str = ""


class AudioPublisher(Protocol):
    """Makes a local audio file reachable by a vendor that only takes URLs."""

    def publish(self, path: Path, *, content_type: str, name: str, owner: str) -> str:
        """Upload the file for `owner` (a task id) and return a presigned GET URL.

        What one owner publishes is never shared with another, so `withdraw` cannot
        take audio from under a task that still needs it. Raises
        `FailedPrecondition(reason="PRESIGN_UNSUPPORTED")` where the object store
        cannot presign.
        """
        ...

    def withdraw(self, owner: str) -> int:
        """Delete everything published for `owner`; returns how many objects went."""
        ...


class Checkpoints(Protocol):
    """Durable scratch space of one task's stage, so a retried job resumes, not restarts.

    A provider saves what it paid for (a chunk's text, a vendor's job id) as soon as it
    has it, and loads it first on the next attempt.
    """

    def load(self, name: str) -> bytes | None: ...

    def save(self, name: str, data: bytes) -> None: ...


class ProgressReporter(Protocol):
    def __call__(self, fraction: float, message: str = "") -> None:
        """Report progress within the current stage, 0.0 to 1.0."""
        ...


class CancellationCheck(Protocol):
    def __call__(self) -> None:
        """Raise `TaskCancelled` if the task was cancelled; call it at safe points."""
        ...


class AsrProvider(Protocol):
    """Speech recognition. Errors the caller can fix raise `FailedPrecondition` or
    `InvalidArgument`; outages raise `Unavailable`."""

    @property
    def name(self) -> str: ...

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult: ...

    def check_supported(
        self, duration_seconds: float | None, size_estimate: int | None, can_presign: bool
    ) -> None:
        """Raise now what `transcribe` would refuse for audio of this length and size
        (None: not known yet) on a store that can or cannot presign URLs; pure, so task
        creation calls it before any work. Most recognisers take everything."""
        ...


@runtime_checkable
class VendorFiles(Protocol):
    """A provider that may leave files at its vendor (an upload, a published URL).

    The pipeline calls `release` once a task no longer needs them: when its transcript
    is stored, and when it ends (succeeded, failed or cancelled), but not when a job is
    handed back or retried, since the next attempt may reuse them.
    """

    def release(self, checkpoints: Checkpoints) -> None:
        """Delete what the task's checkpoints say is still at the vendor; best effort
        (what fails is left to the periodic sweep), idempotent."""
        ...


class LeftoverSweep(Protocol):
    """Finds and deletes what this service left at a vendor and no task needs any more."""

    @property
    def name(self) -> str: ...

    def sweep(self, now: datetime) -> int:
        """Delete leftovers older than the sweep's limit; returns how many went."""
        ...


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of one voice, in meeting time; `speaker` is the diarizer's label."""

    start: float
    end: float
    speaker: str


class Diarizer(Protocol):
    """Who spoke when, for ASR providers that do not label speakers themselves."""

    def diarize(
        self,
        audio: NormalizedAudio,
        *,
        speaker_count: SpeakerCount | None,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> list[SpeakerTurn]:
        """Speaker turns sorted by start, disjoint, covering the speech heard.

        `speaker_count` fixes (minimum == maximum) or bounds the number of speakers;
        None lets the diarizer estimate it. Silence yields no turns. Raises
        `TaskCancelled` from `check_cancelled`, and `FailedPrecondition` when its model
        cannot be loaded.
        """
        ...


@dataclass(frozen=True)
class LlmUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    # Of `output_tokens`, those the model spent thinking (reasoning) before answering.
    thinking_tokens: int = 0


class LlmOutputError(ValueError):
    """The model answered, but not with a usable JSON object. The tokens were paid for:
    `usage` says how many, for whoever records costs."""

    def __init__(self, message: str, *, usage: LlmUsage) -> None:
        super().__init__(message)
        self.usage = usage


class LlmProvider(Protocol):
    """A chat model that answers with JSON matching a schema."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def max_input_tokens(self) -> int:
        """How much prompt the model takes; longer transcripts are split (map-reduce)."""
        ...

    def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any]
    ) -> tuple[dict[str, Any], LlmUsage]: ...


@dataclass(frozen=True)
class MinutesRequest:
    transcript: Transcript
    speaker_names: dict[str, str]
    template: PromptTemplate
    language_code: str
    meeting_date: date
    context: CallContext | None = None


@dataclass
class MinutesResult:
    """`minutes` follows `meeting_agent.minutes.schema.MINUTES_SCHEMA`."""

    minutes: dict[str, Any]
    provider: str
    model: str
    extractive: bool
    usage: LlmUsage


class MinutesGenerator(Protocol):
    """Turns a transcript into minutes: the extractive generator, or an LLM behind it."""

    @property
    def name(self) -> str: ...

    def generate(self, request: MinutesRequest) -> MinutesResult: ...


class JobQueue(Protocol):
    """Runs `process_task(task_id)` somewhere. The task row stays the source of truth:
    a failed enqueue loses nothing, because the reconciler enqueues queued tasks again."""

    def enqueue(self, task_id: str) -> bool:
        """Queue the task behind the others, unless a job for it is already queued or
        running; True when a job was queued."""
        ...

    def has_live_job(self, task_id: str) -> bool: ...

    def requeue(self, task_id: str) -> bool:
        """Queue an orphaned task again, ahead of new work, unless a job for it is still
        live (queued, waiting for a retry, or running in a process that is alive);
        True when a job was queued. Idempotent: a waiting job keeps its place."""
        ...

    def check(self) -> None:
        """Raise `Unavailable` when jobs cannot be queued (for health checks)."""
        ...

    def close(self, timeout: float | None = None) -> bool:
        """Take no more jobs and wait up to `timeout` seconds (None: for ever) for the
        ones running in this process; True when none is left running."""
        ...


class EventBus(Protocol):
    """Carries task events from the job that records them to watchers on any replica."""

    def publish(self, event: TaskEvent) -> None:
        """Best effort, after the event is stored: watchers fall back to the store."""
        ...

    def listen(self) -> EventStream:
        """Every task's events from now on, for the running asyncio loop (one per server:
        the watch hub fans them out to its streams)."""
        ...


@dataclass(frozen=True)
class EventGap:
    """Events may have been lost here (a reconnection, a reader that fell behind): a
    listener re-reads the store for every task it follows."""


EVENT_GAP = EventGap()


class EventStream(Protocol):
    """Live events of every task. Async: a server's watchers must not hold threads."""

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        """The next event, `EVENT_GAP`, or None after `timeout` seconds without either.

        Never raises for an outage of the bus: it waits, reconnects and reports a gap.
        """
        ...

    async def close(self) -> None: ...


class AudioNormalizer(Protocol):
    """Decodes a task's files, in order, into one `NormalizedAudio` file."""

    def __call__(
        self,
        inputs: Sequence[Path],
        out_path: Path,
        *,
        max_seconds: float,
        check_cancelled: CancellationCheck | None = None,
        progress: ProgressReporter | None = None,
    ) -> NormalizedAudio: ...
