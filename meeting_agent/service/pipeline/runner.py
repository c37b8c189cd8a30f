"""Running one task through the pipeline, resumably.

A job may die at any point (a killed worker, a deploy). Every stage therefore
stores what it produced before the next begins, and a new attempt skips what is
stored: the transcript, the ASR chunks already paid for, the artifact.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from meeting_agent.deadlines import PROVIDER_TIMEOUT, provider_budget
from meeting_agent.domain import object_keys
from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
    CallContext,
    HotwordSet,
    Task,
    TaskStage,
    Transcript,
    UploadState,
    distinct_phrases,
)
from meeting_agent.errors import (
    FailedPrecondition,
    InvalidArgument,
    MeetingAgentError,
    NotFound,
    Unavailable,
)
from meeting_agent.ports import (
    AsrProvider,
    AsrRequest,
    AsrResult,
    AudioNormalizer,
    Clock,
    Diarizer,
    EventBus,
    JobInterrupted,
    NormalizedAudio,
    ObjectStore,
    ProgressReporter,
    SpeakerTurn,
    TaskCancelled,
    UnitOfWorkFactory,
    VendorFiles,
    iter_chunks,
)
from meeting_agent.reasons import TASK_ALREADY_FINISHED, TASK_STATE_CONFLICT
from meeting_agent.service.artifacts import MinutesWriter, error_of
from meeting_agent.service.checkpoints import ObjectStoreCheckpoints
from meeting_agent.service.diarization import diarize_once
from meeting_agent.service.failover import (
    ProviderFailure,
    every_provider_failed,
    failover_order,
    fallback_of,
)
from meeting_agent.service.hotword_correction import apply_hotwords
from meeting_agent.service.pipeline.plan import ProviderProfiles, Workload
from meeting_agent.service.pipeline.progress import TaskProgress, record_warning
from meeting_agent.service.speakers import assign_speakers
from meeting_agent.telemetry.jobs import job_span, record_queue_wait

# Refusals of a task write that mean another job or a caller moved the task on.
_TASK_MOVED_ON = frozenset({TASK_ALREADY_FINISHED, TASK_STATE_CONFLICT})
_LOGGER = logging.getLogger(__name__)

DEFAULT_SPEAKER = "SPEAKER_1"


@dataclass(frozen=True)
class PipelineSettings:
    work_dir: Path | None
    max_audio_seconds: float
    heartbeat_seconds: float
    lease_timeout_seconds: float
    max_attempts: int


def initial_artifact_id(task_id: str) -> str:
    """The pipeline's own artifact has a fixed id, so a retried job finds it again."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meeting-agent:tasks/{task_id}/minutes"))


class _Lease:
    """Keeps the task's heartbeat fresh and notices cancellation, in a side thread."""

    def __init__(self, runner: PipelineRunner, task: Task) -> None:
        self._runner = runner
        self._task = task
        self._stop = threading.Event()
        self.cancelled = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{task.id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        runner = self._runner
        while not self._stop.wait(runner.settings.heartbeat_seconds):
            try:
                with runner.uow_factory() as uow:
                    # The attempt number tells us if a newer claim took the task over.
                    alive = uow.tasks.heartbeat(
                        self._task.id, runner.clock.now(), attempt=self._task.attempts
                    )
                    task = uow.tasks.get(self._task.tenant_id, self._task.id)
                    uow.commit()
                if not alive or task is None or task.cancel_requested:
                    self.cancelled.set()
            except MeetingAgentError as exc:
                # A database hiccup must not kill the job; the next beat tries again.
                _LOGGER.warning("heartbeat of tasks/%s failed: %s", self._task.id, exc.message)

    def check(self) -> None:
        # A cancelled task ends now rather than being handed back to end later.
        if self.cancelled.is_set():
            raise TaskCancelled(self._task.id)
        if self._runner.interrupted:
            raise JobInterrupted(self._task.id)


class PipelineRunner:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        store: ObjectStore,
        clock: Clock,
        events: EventBus,
        normalize: AudioNormalizer,
        asr: Mapping[str, AsrProvider],
        asr_order: Sequence[str],
        minutes: MinutesWriter,
        settings: PipelineSettings,
        diarizer: Diarizer | None = None,
        profiles: ProviderProfiles | None = None,
        budgets: Mapping[str, float] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.store = store
        self.clock = clock
        self.events = events
        self._normalize = normalize
        self._asr = asr
        self._asr_order = list(asr_order)
        self._minutes = minutes
        self.settings = settings
        # Labels speakers for providers that return none; None switches that off.
        self._diarizer = diarizer
        # Which providers run elsewhere or label speakers: what shares out the percent.
        self._profiles = profiles or ProviderProfiles()
        # Seconds a task gives each provider across its attempts (see `deadlines`).
        self._budgets = dict(budgets or {})
        self._interrupted = threading.Event()

    # ------------------------------------------------------------------ shutdown

    def interrupt(self) -> None:
        """Make running jobs stop at their next safe point and hand their tasks back
        (QUEUED, their work so far checkpointed), and claim nothing new. For a process
        that is shutting down; there is no undoing it."""
        self._interrupted.set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    # ------------------------------------------------------------------ entry point

    def run(self, task_id: str) -> None:
        """Process a task if it can be claimed; returns quietly if someone else has it.

        Raises only for transient failures, after putting the task back in the queue,
        so that the job system's retry (or the reconciler) runs it again.
        """
        if self.interrupted:
            # Shutting down: the task stays queued for a process that is not.
            return
        now = self.clock.now()
        stale_before = now - timedelta(seconds=self.settings.lease_timeout_seconds)
        with self.uow_factory() as uow:
            task = uow.tasks.claim(task_id, now=now, stale_before=stale_before)
            uow.commit()
        if task is None:
            # Finished (or running elsewhere): there may still be minutes to regenerate.
            self._generate_pending_minutes(task_id)
            return
        if task.attempts == 1:
            record_queue_wait(task.create_time, now)
        with job_span(task.id, traceparent=task.trace_parent, attempt=task.attempts):
            self._run_claimed(task)

    def _run_claimed(self, task: Task) -> None:
        progress = TaskProgress(task, self.uow_factory, self.clock, self.events)
        progress.started(task.attempts)
        # Whether the task reached an end state here: then nothing left at a vendor
        # for a retry (an uploaded file, a published URL) is needed any more.
        ended = False
        with _Lease(self, task) as lease:
            try:
                try:
                    self._process(task, progress, lease)
                    ended = True
                except JobInterrupted:
                    if self._deleted(task):
                        raise
                    progress.handed_back(
                        "this process is shutting down; processing resumes "
                        "where it stopped, here after a restart or elsewhere"
                    )
                    _LOGGER.info("tasks/%s handed back: shutting down", task.id)
                except TaskCancelled:
                    progress.cancelled("task cancelled")
                    ended = True
                except (InvalidArgument, FailedPrecondition, NotFound) as exc:
                    if self._deleted(task):
                        raise
                    if exc.reason in _TASK_MOVED_ON:
                        # A write of this job was refused: another job took the task over
                        # (its lease went stale) or finished it. The task is not this
                        # job's any more, so it stops without touching it.
                        _LOGGER.warning("tasks/%s moved on without this job: %s", task.id, exc)
                        return
                    # The caller has to change something; retrying cannot help.
                    progress.failed(exc.message, error_of(exc))
                    ended = True
                except Exception as exc:
                    if self._deleted(task):
                        raise
                    ended = self._after_transient_failure(task, progress, exc)
                    raise
            except Exception:
                if not self._deleted(task):
                    raise
                # Deleted while running: remove what this job wrote after the deletion,
                # at the vendors first (the checkpoints naming it are about to go).
                self._release_vendor_files(task)
                self.store.delete_prefix(object_keys.task_prefix(task.tenant_id, task.id))
                _LOGGER.info("tasks/%s was deleted while running; stopped", task.id)
            finally:
                if ended:
                    self._release_vendor_files(task)
                # The stage span must end before the job span that is its parent.
                progress.timeline.close("aborted")

    def _deleted(self, task: Task) -> bool:
        with self.uow_factory(read_only=True) as uow:
            return uow.tasks.get(task.tenant_id, task.id) is None

    def _release_vendor_files(self, task: Task) -> None:
        """Have every recogniser delete what the task left at its vendor (`VendorFiles`).

        Never raises: what is not deleted here the periodic sweep deletes later.
        """
        for name, provider in self._asr.items():
            if not isinstance(provider, VendorFiles):
                continue
            try:
                provider.release(self._asr_checkpoints(task, name))
            except Exception:
                _LOGGER.warning(
                    "%s could not release the files of tasks/%s", name, task.id, exc_info=True
                )

    def _asr_checkpoints(self, task: Task, provider: str) -> ObjectStoreCheckpoints:
        return ObjectStoreCheckpoints(
            self.store,
            object_keys.task_prefix(task.tenant_id, task.id) + f"checkpoints/asr/{provider}/",
        )

    def _after_transient_failure(self, task: Task, progress: TaskProgress, exc: Exception) -> bool:
        """Fail the task after its last attempt (True), else queue it again (False)."""
        if isinstance(exc, MeetingAgentError):
            error = error_of(exc)
        else:
            _LOGGER.exception("tasks/%s failed unexpectedly", task.id)
            error = error_of(
                Unavailable("internal error while processing the task", reason="INTERNAL")
            )
        if task.attempts >= self.settings.max_attempts or error.reason == PROVIDER_TIMEOUT:
            # A spent budget is the task's, not this attempt's: another attempt would
            # only wait as long again.
            progress.failed(f"gave up after {task.attempts} attempts: {error.message}", error)
            return True
        progress.requeued(f"attempt {task.attempts} failed ({error.reason}); will retry")
        return False

    # ------------------------------------------------------------------ stages

    def _process(self, task: Task, progress: TaskProgress, lease: _Lease) -> None:
        lease.check()
        transcript = self._stored_transcript(task)
        progress.plan(self._workload(task, transcribe=transcript is None))
        if transcript is None:
            with tempfile.TemporaryDirectory(
                prefix="meeting-agent-", dir=self.settings.work_dir
            ) as work:
                audio = self._fetch_and_decode(task, Path(work), progress, lease)
                transcript = self._transcribe(task, audio, progress, lease)
            # Stored: no attempt will transcribe again, whatever happens to the minutes.
            self._release_vendor_files(task)
        lease.check()
        progress.stage(TaskStage.APPLY_SPEAKER_MAPPINGS, "applying speaker names")
        lease.check()
        progress.stage(TaskStage.GENERATE_MINUTES, "writing the minutes")
        self._write_minutes(task, progress)
        lease.check()
        progress.succeeded("done")
        self._generate_pending_minutes(task.id)

    def _stored_transcript(self, task: Task) -> Transcript | None:
        with self.uow_factory(read_only=True) as uow:
            return uow.transcripts.get(task.tenant_id, task.id, with_words=False)

    def _fetch_and_decode(
        self, task: Task, work: Path, progress: TaskProgress, lease: _Lease
    ) -> NormalizedAudio:
        progress.stage(TaskStage.FETCH_AUDIO, f"fetching {len(task.audio_sources)} file(s)")
        files = []
        for index, source in enumerate(task.audio_sources):
            lease.check()
            path = work / f"source-{index:03d}"
            digest = self._download(source.object_key, path)
            if source.upload_id is not None:
                self._verify_upload(task, source.upload_id, digest)
            files.append(path)
            progress.within(
                TaskStage.FETCH_AUDIO,
                (index + 1) / len(task.audio_sources),
                f"fetched {index + 1} of {len(task.audio_sources)} file(s)",
            )
        progress.stage(TaskStage.DECODE, "decoding audio")
        audio = self._normalize(
            files,
            work / "audio.f32",
            max_seconds=self.settings.max_audio_seconds,
            check_cancelled=lease.check,
            progress=lambda fraction, message="": progress.within(
                TaskStage.DECODE, fraction, message
            ),
        )
        progress.audio_measured(audio.duration_seconds)
        # Fixed costs (model loads, an LLM round trip) weigh less on a longer recording.
        progress.plan(
            self._workload(task, transcribe=True, audio_seconds=audio.duration_seconds),
            first=TaskStage.TRANSCRIBE,
        )
        return audio

    def _download(self, key: str, path: Path) -> str:
        digest = hashlib.sha256()
        try:
            reader = self.store.open_reader(key)
        except NotFound:
            raise FailedPrecondition(
                "an audio file of the task is no longer stored", reason="AUDIO_MISSING"
            ) from None
        with reader, path.open("wb") as out:
            for chunk in iter_chunks(reader):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()

    def _verify_upload(self, task: Task, upload_id: str, digest: str) -> None:
        with self.uow_factory() as uow:
            upload = uow.uploads.get(task.tenant_id, upload_id, for_update=True)
            if upload is None:
                raise FailedPrecondition(
                    f"uploads/{upload_id} no longer exists", reason="AUDIO_MISSING"
                )
            if upload.sha256 != digest:
                # A presigned upload is only checked here, once its bytes are read.
                raise InvalidArgument(
                    f"uploads/{upload_id} does not match its declared SHA-256",
                    reason="UPLOAD_CHECKSUM_MISMATCH",
                    metadata={"upload": f"uploads/{upload_id}"},
                )
            if upload.state is UploadState.PENDING:
                upload.state = UploadState.READY
                uow.uploads.save(upload)
                uow.commit()

    def _transcribe(
        self, task: Task, audio: NormalizedAudio, progress: TaskProgress, lease: _Lease
    ) -> Transcript:
        progress.stage(TaskStage.TRANSCRIBE, "transcribing")
        hotword_set = self._hotword_set(task)
        request = AsrRequest(
            language_code=task.options.language_code,
            model="",
            hotwords=tuple(hotword_set.hotwords) if hotword_set else (),
            speaker_count=task.options.speaker_count,
            diarization=not task.options.disable_diarization,
            context=CallContext(
                tenant_id=task.tenant_id,
                user_id=task.creator_id,
                task_id=task.id,
                labels=dict(task.labels),
            ),
        )
        result = self._run_asr(task, audio, request, progress, lease)
        self._warn_on_hotwords(request, result, progress)
        segments = (
            apply_hotwords(result.segments, request.hotwords)
            if request.hotwords
            else result.segments
        )
        diarizer = self._diarizer
        diarize = (
            diarizer is not None
            and request.diarization
            and bool(segments)
            and not any(segment.speaker_label for segment in segments)
        )
        # Only now is it known whether the recogniser labelled the speakers itself.
        progress.plan(
            replace(
                self._workload(task, transcribe=True, audio_seconds=audio.duration_seconds),
                diarize=diarize,
            ),
            first=TaskStage.DIARIZE,
        )
        if diarizer is not None and diarize:
            turns = self._diarize(diarizer, task, audio, progress, lease)
            segments = assign_speakers(segments, turns)
        for index, segment in enumerate(segments):
            segment.index = index
            segment.speaker_label = segment.speaker_label or DEFAULT_SPEAKER
        now = self.clock.now()
        transcript = Transcript(
            task_id=task.id,
            tenant_id=task.tenant_id,
            language_code=result.language_code or task.options.language_code or "en",
            segments=segments,
            duration_seconds=audio.duration_seconds,
            asr_provider=result.provider,
            asr_model=result.model,
            create_time=now,
            update_time=now,
        )
        with self.uow_factory() as uow:
            uow.transcripts.put(transcript)
            stored = uow.tasks.get(task.tenant_id, task.id, for_update=True)
            if stored is not None:
                stored.has_transcript = True
                uow.tasks.save(stored)
            uow.commit()
        return transcript

    def _diarize(
        self,
        diarizer: Diarizer,
        task: Task,
        audio: NormalizedAudio,
        progress: TaskProgress,
        lease: _Lease,
    ) -> list[SpeakerTurn]:
        progress.stage(TaskStage.DIARIZE, "identifying speakers")
        checkpoints = ObjectStoreCheckpoints(
            self.store,
            object_keys.task_prefix(task.tenant_id, task.id) + "checkpoints/diarization/",
        )
        return diarize_once(
            diarizer,
            audio,
            speaker_count=task.options.speaker_count,
            checkpoints=checkpoints,
            progress=lambda fraction, message="": progress.within(
                TaskStage.DIARIZE, fraction, message
            ),
            check_cancelled=lease.check,
        )

    def _run_asr(
        self,
        task: Task,
        audio: NormalizedAudio,
        request: AsrRequest,
        progress: TaskProgress,
        lease: _Lease,
    ) -> AsrResult:
        choices = task.options.asr_providers
        names = failover_order(
            [c.provider for c in choices] or self._asr_order,
            self._asr,
            no_fallback=task.options.no_fallback,
        )
        models = {c.provider: c.model for c in choices}
        failures: list[ProviderFailure] = []
        for name in names:
            provider = self._asr[name]
            checkpoints = self._asr_checkpoints(task, name)
            try:
                with provider_budget(name, self._budgets.get(name)):
                    result = provider.transcribe(
                        audio,
                        _with_model(request, models.get(name, "")),
                        checkpoints=checkpoints,
                        progress=self._transcription_reporter(name, audio, progress),
                        check_cancelled=lease.check,
                    )
            except Unavailable as exc:
                _LOGGER.warning(
                    "ASR provider %s unavailable for tasks/%s: %s", name, task.id, exc.message
                )
                failures.append((name, exc))
            except FailedPrecondition as exc:
                # A provider chosen beside others that cannot take this language: the
                # next may; alone, it is the reason.
                if exc.reason != "LANGUAGE_UNSUPPORTED":
                    raise
                failures.append((name, exc))
            else:
                fallback = fallback_of("transcript", name, failures)
                if fallback is not None:
                    progress.warning("PROVIDER_FALLBACK", fallback.describe(), fallback=fallback)
                return result
        if not failures:
            raise Unavailable("no ASR provider is configured", reason="ASR_UNAVAILABLE")
        raise every_provider_failed("ASR", failures)

    @staticmethod
    def _warn_on_hotwords(request: AsrRequest, result: AsrResult, progress: TaskProgress) -> None:
        """Say so when the engine was not sent every hotword: only post-correction of
        the transcript applies those, which cannot recover a word misheard as another."""
        wanted = len(distinct_phrases(request.hotwords))
        if result.hotwords_sent >= wanted:
            return
        why = f" ({result.hotwords_note})" if result.hotwords_note else ""
        progress.warning(
            "HOTWORDS_NOT_SENT",
            f"{result.provider} was sent {result.hotwords_sent} of {wanted} hotwords{why}; "
            "the rest apply by post-correction of the transcript only",
        )

    def _transcription_reporter(
        self, provider: str, audio: NormalizedAudio, progress: TaskProgress
    ) -> ProgressReporter:
        # A recogniser on this machine reports how much of the audio it has heard; a
        # vendor's fraction is a guess from the time waited, so it gets no position.
        local = provider not in self._profiles.cloud_asr

        def report(fraction: float, message: str = "") -> None:
            if not message and local:
                message = (
                    f"transcribed {_audio_clock(fraction * audio.duration_seconds)} "
                    f"of {_audio_clock(audio.duration_seconds)}"
                )
            progress.within(TaskStage.TRANSCRIBE, fraction, message)

        return report

    def _workload(
        self, task: Task, *, transcribe: bool, audio_seconds: float | None = None
    ) -> Workload:
        """What this attempt is expected to run, before the providers have answered."""
        return Workload.of(
            self._profiles,
            audio_seconds=audio_seconds or task.audio_duration_seconds,
            transcribe=transcribe,
            asr_provider=self._first_asr(task),
            diarizer=self._diarizer is not None and not task.options.disable_diarization,
            minutes_provider=self._minutes.first_provider(task.options.llm_providers),
        )

    def _first_asr(self, task: Task) -> str:
        names = [c.provider for c in task.options.asr_providers] or self._asr_order
        return next((name for name in names if name in self._asr), "")

    def _hotword_set(self, task: Task) -> HotwordSet | None:
        if not task.options.hotword_set_id:
            return None
        with self.uow_factory(read_only=True) as uow:
            # A set deleted after the task was created no longer applies.
            return uow.hotword_sets.get(task.tenant_id, task.options.hotword_set_id)

    def _write_minutes(self, task: Task, progress: TaskProgress) -> None:
        artifact_id = initial_artifact_id(task.id)
        with self.uow_factory() as uow:
            artifact = uow.artifacts.get(task.tenant_id, task.id, artifact_id)
            if artifact is None:
                now = self.clock.now()
                artifact = Artifact(
                    id=artifact_id,
                    task_id=task.id,
                    tenant_id=task.tenant_id,
                    prompt_template_id=task.options.prompt_template_id or "default",
                    state=ArtifactState.GENERATING,
                    llm_provider="",
                    llm_model="",
                    extractive=False,
                    create_time=now,
                    update_time=now,
                )
                uow.artifacts.add(artifact)
                uow.commit()
        if artifact.state is ArtifactState.SUCCEEDED:
            return
        done = self._minutes.generate(task, artifact, task.options.llm_providers)
        if done.fallback is not None:
            progress.warning("PROVIDER_FALLBACK", done.fallback.describe(), fallback=done.fallback)

    def _generate_pending_minutes(self, task_id: str) -> None:
        """Fill in artifacts requested with `GenerateArtifact`; no transcription again."""
        with self.uow_factory(read_only=True) as uow:
            pending = uow.artifacts.pending(task_id)
            task = uow.tasks.get(pending[0].tenant_id, task_id) if pending else None
        if task is None or not task.has_transcript:
            return
        for artifact in pending:
            try:
                done = self._minutes.generate(
                    task, artifact, artifact.requested_providers or task.options.llm_providers
                )
            except MeetingAgentError as exc:
                # The artifact records the failure; the other requests still run.
                _LOGGER.warning(
                    "minutes for %s/artifacts/%s failed: %s", task_id, artifact.id, exc.message
                )
                continue
            if done.fallback is not None:
                # Only the event: the task's own fallbacks are those of its first minutes.
                record_warning(
                    self.uow_factory,
                    self.clock,
                    self.events,
                    task.tenant_id,
                    task.id,
                    "PROVIDER_FALLBACK",
                    f"artifacts/{artifact.id}: {done.fallback.describe()}",
                )


def _with_model(request: AsrRequest, model: str) -> AsrRequest:
    return replace(request, model=model)


def _audio_clock(seconds: float) -> str:
    """A position in the recording as H:MM:SS (M:SS under an hour)."""
    minutes, secs = divmod(max(int(seconds), 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
