"""The entities the service works with. Plain dataclasses: no I/O, no gRPC, no ORM."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from meeting_agent.errors import FailedPrecondition
from meeting_agent.reasons import TASK_ALREADY_FINISHED, TASK_STATE_CONFLICT


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user within a tenant."""

    tenant_id: str
    user_id: str
    email: str | None = None
    display_name: str | None = None


class TaskState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


class TaskStage(enum.StrEnum):
    UNSPECIFIED = "unspecified"
    FETCH_AUDIO = "fetch_audio"
    DECODE = "decode"
    TRANSCRIBE = "transcribe"
    DIARIZE = "diarize"
    APPLY_SPEAKER_MAPPINGS = "apply_speaker_mappings"
    GENERATE_MINUTES = "generate_minutes"
    DONE = "done"


class TaskEventType(enum.StrEnum):
    STATE_CHANGED = "state_changed"
    STAGE_CHANGED = "stage_changed"
    PROGRESS = "progress"
    HEARTBEAT = "heartbeat"
    # Something the caller should know that did not stop the task (a fallback, hotwords
    # a provider did not take); the event's `reason` says which.
    WARNING = "warning"


@dataclass(frozen=True)
class Transition:
    """One kind of change to a task: the states it may leave and the one it enters."""

    name: str
    sources: frozenset[TaskState]
    target: TaskState


# The task state machine, whole. The SQL claim guards its UPDATE with these same
# source states, so the rule is written once.
#
# A RUNNING task is claimed again only once its lease is stale: its worker died.
CLAIM = Transition("claim", frozenset({TaskState.QUEUED, TaskState.RUNNING}), TaskState.RUNNING)
PROGRESS = Transition("progress", frozenset({TaskState.RUNNING}), TaskState.RUNNING)
REQUEUE = Transition("requeue", frozenset({TaskState.RUNNING}), TaskState.QUEUED)
SUCCEED = Transition("succeed", frozenset({TaskState.RUNNING}), TaskState.SUCCEEDED)
FAIL = Transition("fail", frozenset({TaskState.RUNNING}), TaskState.FAILED)
# A caller cancels a queued task at once; a running one's job is asked to stop, and
# stops at its next safe point.
CANCEL = Transition("cancel", frozenset({TaskState.QUEUED}), TaskState.CANCELLED)
REQUEST_CANCEL = Transition(
    "request cancellation", frozenset({TaskState.RUNNING}), TaskState.RUNNING
)
STOP = Transition("stop", frozenset({TaskState.RUNNING}), TaskState.CANCELLED)
TRANSITIONS = (CLAIM, PROGRESS, REQUEUE, SUCCEED, FAIL, CANCEL, REQUEST_CANCEL, STOP)
# States held under a job's lease: a claim may take one over only once the lease is stale.
LEASED_STATES = frozenset({TaskState.RUNNING})


class UploadState(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"


@dataclass(frozen=True)
class ProviderChoice:
    provider: str
    model: str = ""


@dataclass(frozen=True)
class SpeakerCount:
    """A speaker-count hint: exact when `minimum == maximum`."""

    minimum: int
    maximum: int


@dataclass
class TaskOptions:
    language_code: str = ""
    asr_providers: list[ProviderChoice] = field(default_factory=list)
    hotword_set_id: str = ""
    prompt_template_id: str = ""
    llm_providers: list[ProviderChoice] = field(default_factory=list)
    speaker_count: SpeakerCount | None = None
    disable_diarization: bool = False
    # Try only the first provider of each failover order: its failure fails the task.
    no_fallback: bool = False


@dataclass(frozen=True)
class AudioSource:
    """One audio file of a task: either an upload of ours or an object URI."""

    upload_id: str | None = None
    uri: str | None = None
    # The object store key the bytes live under, resolved when the task is created.
    object_key: str = ""


@dataclass(frozen=True)
class TaskError:
    """Why a task failed: a gRPC code number, a stable reason and a message."""

    code: int
    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SkippedProvider:
    """A provider of a failover order that was tried and did not produce the output."""

    provider: str
    reason: str
    message: str


@dataclass(frozen=True)
class ProviderFallback:
    """An output made by a provider later in its failover order than the first."""

    output: str  # "transcript" or "minutes"
    provider: str
    skipped: tuple[SkippedProvider, ...]

    def describe(self) -> str:
        """ "minutes from extractive: openai unavailable (PROVIDER_UNREACHABLE: …)"."""
        causes = "; ".join(
            f"{s.provider} unavailable ({s.reason}: {s.message})" for s in self.skipped
        )
        return f"{self.output} from {self.provider}: {causes}"


@dataclass
class Task:
    id: str
    tenant_id: str
    creator_id: str
    display_name: str
    audio_sources: list[AudioSource]
    options: TaskOptions
    labels: dict[str, str]
    state: TaskState
    stage: TaskStage
    progress_percent: int
    create_time: datetime
    update_time: datetime
    error: TaskError | None = None
    cancel_requested: bool = False
    audio_duration_seconds: float | None = None
    last_event_sequence: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    has_transcript: bool = False
    cost_amount: Decimal = Decimal(0)
    cost_currency: str = ""
    # The lease of the job running the task: refreshed while it runs, so a stale one
    # means the worker died. Set by `claim`; stored only by the repository's `claim`
    # and `heartbeat`, never by `save`.
    heartbeat_time: datetime | None = None
    # How many times a job has claimed the task (1 on the first run).
    attempts: int = 0
    # The W3C traceparent of the request that created the task ("" when untraced): jobs
    # continue that trace, whichever process runs them and however late.
    trace_parent: str = ""
    # Outputs made by a fallback provider, and why the providers before it failed.
    fallbacks: list[ProviderFallback] = field(default_factory=list)

    @classmethod
    def queued(
        cls,
        *,
        id: str,
        tenant_id: str,
        creator_id: str,
        display_name: str,
        options: TaskOptions,
        labels: dict[str, str],
        now: datetime,
        trace_parent: str = "",
    ) -> Task:
        """A new task, waiting for its first job; its audio sources are added after."""
        return cls(
            id=id,
            tenant_id=tenant_id,
            creator_id=creator_id,
            display_name=display_name,
            audio_sources=[],
            options=options,
            labels=labels,
            state=TaskState.QUEUED,
            stage=TaskStage.UNSPECIFIED,
            progress_percent=0,
            create_time=now,
            update_time=now,
            trace_parent=trace_parent,
        )

    # -- the state machine: each change checks its `Transition` and returns the event
    # that records it; the caller stores the event and saves the task.

    def event(
        self, type: TaskEventType, message: str, now: datetime, *, reason: str = ""
    ) -> TaskEvent:
        """The task's next event, as of `now`: it takes the next sequence number."""
        self.last_event_sequence += 1
        self.update_time = now
        return TaskEvent(
            task_id=self.id,
            sequence=self.last_event_sequence,
            type=type,
            state=self.state,
            stage=self.stage,
            progress_percent=self.progress_percent,
            message=message,
            event_time=now,
            error=self.error,
            reason=reason,
        )

    def lease_is_stale(self, stale_before: datetime) -> bool:
        """Whether the job holding the task stopped renewing its lease (its worker died)."""
        return self.state in LEASED_STATES and (
            self.heartbeat_time is None or self.heartbeat_time < stale_before
        )

    def claimable(self, stale_before: datetime) -> bool:
        return self.state in CLAIM.sources and (
            self.state not in LEASED_STATES or self.lease_is_stale(stale_before)
        )

    def claim(self, now: datetime, *, stale_before: datetime) -> None:
        """Take the task for one job run, under a lease that starts `now`."""
        if not self.claimable(stale_before):
            raise self._refusal(CLAIM)
        self._enter(CLAIM, now)
        self.heartbeat_time = now
        self.attempts += 1
        if self.start_time is None:
            self.start_time = now

    def progress(
        self, percent: int, message: str, now: datetime, *, stage: TaskStage | None = None
    ) -> TaskEvent:
        """Move the percent on, and into `stage` when given; the percent never goes back."""
        self._enter(PROGRESS, now)
        self.progress_percent = max(self.progress_percent, percent)
        if stage is None:
            return self.event(TaskEventType.PROGRESS, message, now)
        self.stage = stage
        return self.event(TaskEventType.STAGE_CHANGED, message, now)

    def succeed(self, message: str, now: datetime) -> TaskEvent:
        self._enter(SUCCEED, now)
        self.stage = TaskStage.DONE
        self.progress_percent = 100
        return self._end(None, message, now)

    def fail(self, error: TaskError, message: str, now: datetime) -> TaskEvent:
        self._enter(FAIL, now)
        return self._end(error, message, now)

    def stop(self, message: str, now: datetime) -> TaskEvent:
        """End a running task as cancelled: its job stopped on a cancellation request."""
        self._enter(STOP, now)
        return self._end(None, message, now)

    def requeue(self, message: str, now: datetime) -> TaskEvent:
        """Hand a running task back to the queue; the next claim resumes its work."""
        self._enter(REQUEUE, now)
        return self.event(TaskEventType.STATE_CHANGED, message, now)

    def cancel(self, now: datetime) -> TaskEvent | None:
        """Cancel a queued task, or ask a running one's job to stop.

        None when there is nothing to do: the task is cancelled, or its job was asked.
        """
        if self.state.is_terminal and self.state is not TaskState.CANCELLED:
            raise self._refusal(CANCEL)
        if self.state is TaskState.CANCELLED or self.cancel_requested:
            return None
        if self.state in REQUEST_CANCEL.sources:
            self._enter(REQUEST_CANCEL, now)
            # The job checks this flag at its next safe point.
            self.cancel_requested = True
            return self.event(TaskEventType.PROGRESS, "cancellation requested", now)
        self._enter(CANCEL, now)
        self.end_time = now
        return self.event(TaskEventType.STATE_CHANGED, "task cancelled", now)

    def keep_fallback(self, fallback: ProviderFallback) -> None:
        """Record an output made by a fallback provider; one per output, the latest."""
        self.fallbacks = [*(f for f in self.fallbacks if f.output != fallback.output), fallback]

    def add_cost(self, amount: Decimal, currency: str) -> bool:
        """Add a provider call's cost; False (and no change) for a second currency,
        whose costs only the audit log keeps."""
        if self.cost_currency not in ("", currency):
            return False
        self.cost_amount += amount
        self.cost_currency = self.cost_currency or currency
        return True

    def _enter(self, transition: Transition, now: datetime) -> None:
        if self.state not in transition.sources:
            raise self._refusal(transition)
        self.state = transition.target
        self.update_time = now

    def _end(self, error: TaskError | None, message: str, now: datetime) -> TaskEvent:
        self.error = error
        self.end_time = now
        return self.event(TaskEventType.STATE_CHANGED, message, now)

    def _refusal(self, transition: Transition) -> FailedPrecondition:
        name = f"tasks/{self.id}"
        if self.state.is_terminal:
            ended = "was" if self.state is TaskState.CANCELLED else "has already"
            return FailedPrecondition(
                f"{name} {ended} {self.state.value}",
                reason=TASK_ALREADY_FINISHED,
                metadata={"state": self.state.value},
            )
        return FailedPrecondition(
            f"{name} is {self.state.value}: it cannot {transition.name}",
            reason=TASK_STATE_CONFLICT,
            metadata={"state": self.state.value},
        )


@dataclass(frozen=True)
class TaskEvent:
    task_id: str
    sequence: int
    type: TaskEventType
    state: TaskState
    stage: TaskStage
    progress_percent: int
    message: str
    event_time: datetime
    error: TaskError | None = None
    # The stable reason of a WARNING event ("PROVIDER_FALLBACK", "HOTWORDS_NOT_SENT").
    reason: str = ""


@dataclass
class Upload:
    id: str
    tenant_id: str
    creator_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    object_key: str
    state: UploadState
    create_time: datetime
    # The task that owns the bytes; deleting that task deletes them.
    task_id: str | None = None


@dataclass(frozen=True)
class Hotword:
    phrase: str
    weight: int = 0


def distinct_phrases(hotwords: Sequence[Hotword]) -> list[str]:
    """The hotwords' phrases, stripped, each once, in order: what an engine could be sent."""
    return list(dict.fromkeys(h.phrase.strip() for h in hotwords if h.phrase.strip()))


@dataclass
class HotwordSet:
    id: str
    tenant_id: str
    display_name: str
    hotwords: list[Hotword]
    language_code: str
    etag: str
    create_time: datetime
    update_time: datetime


@dataclass
class PromptTemplate:
    id: str
    tenant_id: str | None  # None for built-in templates every tenant sees
    display_name: str
    description: str
    system_prompt: str
    body: str
    language_code: str
    etag: str
    create_time: datetime
    update_time: datetime

    @property
    def built_in(self) -> bool:
        return self.tenant_id is None


@dataclass(frozen=True)
class SpeakerIdentity:
    display_name: str
    user_id: str = ""


@dataclass
class SpeakerMappings:
    task_id: str
    mappings: dict[str, SpeakerIdentity]
    etag: str
    update_time: datetime | None


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    confidence: float = 0.0


@dataclass
class TranscriptSegment:
    index: int
    speaker_label: str
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    source_index: int = 0


@dataclass
class Transcript:
    task_id: str
    tenant_id: str
    language_code: str
    segments: list[TranscriptSegment]
    duration_seconds: float
    asr_provider: str
    asr_model: str
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class CallContext:
    """Who a provider call is made for: the audit row's tenant, user, task and labels."""

    tenant_id: str
    user_id: str
    task_id: str | None
    labels: dict[str, str] = field(default_factory=dict)
    # Distinguishes calls of one task that are billed separately (e.g. an artifact id).
    scope: str = ""


@dataclass(frozen=True)
class UsageRecord:
    """One attempt of a provider call, as written to the audit log.

    A logical call (one transcription, one completion) is one row when its first
    attempt succeeds; each failed attempt before it is a row of its own. `final` marks
    the row that ended the logical call: its success, or its last failed attempt.
    """

    tenant_id: str
    user_id: str
    task_id: str | None
    provider: str
    model: str
    operation: str
    labels: dict[str, str]
    audio_seconds: float
    input_tokens: int
    output_tokens: int
    cost_amount: Decimal
    currency: str
    succeeded: bool
    create_time: datetime
    # Of `input_tokens`, those billed as audio; of `output_tokens`, those spent thinking.
    audio_input_tokens: int = 0
    thinking_tokens: int = 0
    # How the attempt failed ("quota", "transient", "timeout", ...); "" for a success.
    failure: str = ""
    http_status: int | None = None
    vendor_code: str = ""
    key_fingerprint: str = ""
    final: bool = True


@dataclass
class UsageGroup:
    """Aggregated usage for one combination of the grouped dimensions."""

    provider: str = ""
    user_id: str = ""
    label_value: str = ""
    day: str = ""
    call_count: int = 0
    failed_call_count: int = 0
    # Every attempt, retries included, and those of them that failed.
    attempt_count: int = 0
    failed_attempt_count: int = 0
    audio_seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    costs: dict[str, Decimal] = field(default_factory=dict)


class ArtifactState(enum.StrEnum):
    GENERATING = "generating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class Artifact:
    """Minutes generated from a transcript with one template. `minutes` is the JSON document."""

    id: str
    task_id: str
    tenant_id: str
    prompt_template_id: str
    state: ArtifactState
    llm_provider: str
    llm_model: str
    extractive: bool
    create_time: datetime
    update_time: datetime
    minutes: dict[str, object] | None = None
    json_object_key: str = ""
    markdown_object_key: str = ""
    error: TaskError | None = None
    # The failover order asked for when the artifact was requested; empty uses the task's.
    requested_providers: list[ProviderChoice] = field(default_factory=list)
    # Set when `llm_provider` was not the first of the order: who failed before it, why.
    fallback: ProviderFallback | None = None


def fallbacks_behind(task: Task, artifact: Artifact) -> list[ProviderFallback]:
    """The fallbacks that shaped an artifact: its transcript's, then its own."""
    found = [f for f in task.fallbacks if f.output == "transcript"]
    return found + ([artifact.fallback] if artifact.fallback is not None else [])
