"""The one way a submit-and-poll recogniser runs a vendor job, across attempts.

A saved answer is reused without a call. Otherwise a saved job (its vendor id and the
fingerprint of the key that owns it) is polled again; only when there is none is the
audio submitted, and the job checkpointed the moment it exists, so a retried task
never pays twice. Polls back off inside a `PollBudget`, and the answer is checkpointed
as soon as it arrives, since vendors purge results within days.

Each vendor supplies an `AsyncJob`: how to read its checkpoints, submit, query one
poll, and space the polls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import httpx

from meeting_agent.adapters.providers._transport import Reply
from meeting_agent.adapters.providers.asr_jobs import (
    SUBMITTED,
    KeyRing,
    PollBudget,
    http_failure,
)
from meeting_agent.adapters.providers.calls import (
    ApiKey,
    KeyPool,
    RetryPolicy,
    Transient,
    call_vendor,
)
from meeting_agent.errors import Unavailable
from meeting_agent.ports import CancellationCheck, Checkpoints, ProgressReporter

__all__ = ["AsyncJob", "AsyncJobFlow", "JobGone", "JobRecogniser", "Pending", "Submitted"]

logger = logging.getLogger(__name__)

# Vendors' slowest tiers promise a day; no job is worth waiting for longer than that.
MAX_WAIT_LIMIT_SECONDS = 24 * 3600


class Checkpointed(Protocol):
    def to_bytes(self) -> bytes: ...


class VendorJob(Checkpointed, Protocol):
    @property
    def vendor_id(self) -> str:
        """The vendor's id of the job, for logs and support tickets."""
        ...

    @property
    def key(self) -> str:
        """The fingerprint of the key that owns the job; only it may poll."""
        ...


J = TypeVar("J", bound=VendorJob)
A = TypeVar("A", bound=Checkpointed)


class JobGone(Exception):
    """The vendor can no longer give the job's result: the audio is submitted again.

    Not a `VendorError`: `call_vendor` must not retry it.
    """


@dataclass(frozen=True)
class Pending:
    """The vendor is still working: what progress says, and the seconds it says remain."""

    message: str
    seconds_left: float = 0.0


@dataclass(frozen=True)
class Submitted(Generic[J]):
    """A job the vendor accepted, and a guess of its processing time, for progress."""

    job: J
    expected_seconds: float
    message: str = "submitted"


class AsyncJob(Protocol[J, A]):
    """What one vendor supplies for one transcription.

    `read_job` and `read_answer` raise `ValueError`, `KeyError`, `TypeError` (or
    `Transient` for an answer that does not parse) when a checkpoint is unreadable; it
    is then ignored, as if it were not there.
    """

    @property
    def poll_operation(self) -> str:
        """The name one poll goes by in logs and the audit log."""
        ...

    @property
    def expected_seconds(self) -> float:
        """A guess of the processing time of a resumed job, for progress."""
        ...

    def read_job(self, data: bytes) -> J | None:
        """The saved job, or None when it can no longer give a result."""
        ...

    def read_answer(self, data: bytes) -> A: ...

    def submit(self) -> Submitted[J] | A:
        """Send the audio; an answer when the vendor gave one at once."""
        ...

    def query(self, job: J, key: ApiKey) -> A | Pending:
        """One poll with the job's key; raises `JobGone` when the job is lost."""
        ...

    def interval(self, job: J, seconds_left: float) -> float:
        """Seconds to wait before the next poll."""
        ...

    def answered(self, answer: A) -> None:
        """Called once a new answer is checkpointed, polled or given at submit."""
        ...


class AsyncJobFlow:
    """Runs `AsyncJob`s of one provider: its keys, retry policy, clock and wait limit."""

    def __init__(
        self,
        provider: str,
        keys: KeyRing,
        *,
        job_checkpoint: str,
        answer_checkpoint: str,
        max_wait_seconds: float,
        policy: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if not 0 < max_wait_seconds <= MAX_WAIT_LIMIT_SECONDS:
            raise ValueError("max_wait_seconds must be positive and at most 24 h")
        self._provider = provider
        self._keys = keys
        self._job_checkpoint = job_checkpoint
        self._answer_checkpoint = answer_checkpoint
        self._max_wait = max_wait_seconds
        self._policy = policy
        self._clock = clock
        self._sleep = sleep

    def run(
        self,
        vendor: AsyncJob[J, A],
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> A:
        """The job's answer: saved, from the saved job, or from a new submit.

        A saved job that turns out gone is replaced by one submit; a job that goes
        right after its submit raises `Unavailable`: another provider, or a later
        retry, does better than paying for a third submit now.
        """
        answer = self._saved_answer(vendor, checkpoints)
        if answer is not None:
            logger.info("%s: reusing the saved result", self._provider)
            return answer
        job = self._saved_job(vendor, checkpoints)
        expected = vendor.expected_seconds
        fresh = False
        while True:
            if job is None:
                check_cancelled()
                submitted = vendor.submit()
                if not isinstance(submitted, Submitted):
                    checkpoints.save(self._answer_checkpoint, submitted.to_bytes())
                    vendor.answered(submitted)
                    return submitted
                job, expected, fresh = submitted.job, submitted.expected_seconds, True
                checkpoints.save(self._job_checkpoint, job.to_bytes())
                progress(SUBMITTED, submitted.message)
            try:
                return self._poll(
                    vendor, job, expected, checkpoints, progress, check_cancelled, fresh=fresh
                )
            except JobGone as exc:
                logger.warning("%s: job %s is gone (%s)", self._provider, job.vendor_id, exc)
                if fresh:
                    raise Unavailable(
                        f"{self._provider} lost the job: {exc}",
                        reason="PROVIDER_UNAVAILABLE",
                        metadata={"provider": self._provider},
                    ) from exc
                job = None

    def _poll(
        self,
        vendor: AsyncJob[J, A],
        job: J,
        expected: float,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
        *,
        fresh: bool,
    ) -> A:
        pool = self._keys.pinned(job.key)
        assert pool is not None  # _saved_job and submits give jobs of our keys only
        budget = PollBudget(
            self._provider,
            max_wait_seconds=self._max_wait,
            expected_seconds=expected,
            clock=self._clock,
            sleep=self._sleep,
            progress=progress,
        )
        if fresh:
            budget.wait(vendor.interval(job, expected))
        while True:
            check_cancelled()
            outcome = call_vendor(
                pool,
                lambda key: vendor.query(job, key),
                policy=self._policy,
                operation=vendor.poll_operation,
                sleep=self._sleep,
            )
            if not isinstance(outcome, Pending):
                checkpoints.save(self._answer_checkpoint, outcome.to_bytes())
                vendor.answered(outcome)
                return outcome
            budget.report(outcome.message)
            budget.wait(vendor.interval(job, outcome.seconds_left))

    def _saved_answer(self, vendor: AsyncJob[J, A], checkpoints: Checkpoints) -> A | None:
        data = checkpoints.load(self._answer_checkpoint)
        if data is None:
            return None
        try:
            return vendor.read_answer(data)
        except (ValueError, KeyError, TypeError, Transient):
            logger.warning(
                "%s: the saved result is unreadable; asking the vendor again", self._provider
            )
            return None

    def _saved_job(self, vendor: AsyncJob[J, A], checkpoints: Checkpoints) -> J | None:
        data = checkpoints.load(self._job_checkpoint)
        if data is None:
            return None
        try:
            job = vendor.read_job(data)
        except (ValueError, KeyError, TypeError):
            logger.warning("%s: the saved job is unreadable; submitting again", self._provider)
            return None
        if job is not None and self._keys.pinned(job.key) is None:
            logger.warning(
                "%s: the key of job %s is no longer configured; submitting again",
                self._provider,
                job.vendor_id,
            )
            return None
        return job


class JobRecogniser:
    """What a submit-and-poll recogniser holds: its keys, HTTP client and job flow."""

    def __init__(
        self,
        *,
        pool: KeyPool,
        name: str,
        policy: RetryPolicy | None,
        http: httpx.Client | None,
        max_wait_seconds: float,
        job_checkpoint: str,
        answer_checkpoint: str,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._keys = KeyRing(pool)
        if not len(self._keys):
            raise ValueError("at least one key is needed")
        self._name = name
        self._policy = policy or RetryPolicy()
        self._owns_client = http is None
        self._http = http or httpx.Client()
        self._sleep = sleep
        self._jobs = AsyncJobFlow(
            name,
            self._keys,
            job_checkpoint=job_checkpoint,
            answer_checkpoint=answer_checkpoint,
            max_wait_seconds=max_wait_seconds,
            policy=self._policy,
            clock=clock,
            sleep=sleep,
        )

    @property
    def name(self) -> str:
        return self._name

    def close(self) -> None:
        """Close the HTTP client, unless it was given."""
        if self._owns_client:
            self._http.close()

    def _check_http_status(self, reply: Reply, operation: str) -> None:
        """Raise the failure the HTTP status alone tells (see `http_failure`)."""
        failure = http_failure(
            reply,
            operation=f"{self._name} {operation}",
            max_quota_wait_seconds=self._policy.max_quota_wait_seconds,
        )
        if failure is not None:
            raise failure
