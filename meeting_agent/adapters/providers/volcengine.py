"""`AsrProvider` on Volcano Engine's big-model recorded-audio recognition (豆包, v3).

Two variants of one protocol (see `volcengine_protocol`):

- standard: `submit` a URL the vendor downloads the audio from (our object store
  presigns it through the `AudioPublisher`), then `query` until done. The
  `X-Api-Request-Id` we generate *is* the vendor's task id, so it is checkpointed the
  moment the submit is accepted and a retried job polls it instead of paying again.
- flash: one synchronous request with the audio inline (base64), for ≤2 h and ≤100 MB.

The vendor's answer is checkpointed as soon as it arrives (vendors purge results), and a
retried job that finds it makes no call at all. `X-Tt-Logid` is logged for support
tickets; keys and URLs never are.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import httpx

from meeting_agent.adapters.providers import volcengine_protocol as protocol
from meeting_agent.adapters.providers._asr_support import encoded_audio, finish_segments
from meeting_agent.adapters.providers._transport import Reply, send
from meeting_agent.adapters.providers.asr_jobs import (
    SUBMITTED,
    utf8_body,
)
from meeting_agent.adapters.providers.async_job import JobRecogniser, Pending, Submitted
from meeting_agent.adapters.providers.calls import (
    ApiKey,
    KeyPool,
    RetryPolicy,
    Transient,
    VendorError,
    call_vendor,
)
from meeting_agent.domain.models import TranscriptSegment
from meeting_agent.errors import InvalidArgument, MeetingAgentError
from meeting_agent.ports import (
    AsrRequest,
    AsrResult,
    AudioPublisher,
    CancellationCheck,
    Checkpoints,
    NormalizedAudio,
    ProgressReporter,
)

__all__ = [
    "AUDIO_CHECKPOINT",
    "DEFAULT_BASE_URL",
    "REQUEST_CHECKPOINT",
    "RESULT_CHECKPOINT",
    "VolcengineAsr",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://openspeech.bytedance.com"
SUBMIT_PATH = "/api/v3/auc/bigmodel/submit"
QUERY_PATH = "/api/v3/auc/bigmodel/query"
FLASH_PATH = "/api/v3/auc/bigmodel/recognize/flash"
REQUEST_CHECKPOINT = "volcengine-request"
RESULT_CHECKPOINT = "volcengine-result"
# Whose audio the standard variant published, so it can be withdrawn.
AUDIO_CHECKPOINT = "volcengine-audio"
UNKNOWN_MODEL = "UNKNOWN_MODEL"

# base64 turns each 3 bytes into 4 characters: reading multiples of 3 keeps the pieces
# free of padding, so they concatenate into one valid string.
_BASE64_CHUNK = 3 * 64 * 1024


@dataclass(frozen=True)
class _Job:
    """A submitted standard job: its id, and the key and resource it belongs to."""

    request_id: str
    key: str  # the key's fingerprint, never the secret
    resource_id: str

    @property
    def vendor_id(self) -> str:
        return self.request_id

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Job:
        document = json.loads(data)
        return cls(str(document["request_id"]), str(document["key"]), str(document["resource_id"]))


@dataclass(frozen=True)
class _Answer:
    """The vendor's final answer, kept verbatim: `body` is the raw response text."""

    request_id: str
    resource_id: str
    status_code: str
    log_id: str
    body: str

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Answer:
        document = json.loads(data)
        return cls(
            *(
                str(document[f])
                for f in ("request_id", "resource_id", "status_code", "log_id", "body")
            )
        )


@dataclass(frozen=True)
class _Parsed:
    answer: _Answer
    segments: list[TranscriptSegment]
    duration_seconds: float | None


class VolcengineAsr(JobRecogniser):
    """Volcano Engine v3 recorded-audio recognition, standard and flash.

    Args:
        pool: Credentials, rotated on quota. `"<app key>:<access key>"` is sent as
            `X-Api-App-Key` + `X-Api-Access-Key`; a string without a colon as `X-Api-Key`.
        mode: "standard" (needs `publisher`), "flash", or "auto": flash when the audio
            fits its limits, standard otherwise. A request whose `model` names a
            resource id (`volc.…`) picks the variant itself (`*_turbo` is flash);
            "bigmodel" or "" keeps the configured choice.
        publisher: Makes the WAV file downloadable for the standard variant.
        base_url: The API host; a private endpoint or proxy works.
        resource_id: `X-Api-Resource-Id` of the standard variant.
        flash_resource_id: `X-Api-Resource-Id` of the flash variant.
        name: The provider name results and checkpoints carry.
        uid: `user.uid` sent with every request.
        poll_interval_seconds: Wait between two queries.
        max_wait_seconds: How long one `transcribe` waits for a submitted job (at most
            24 h) before raising `Unavailable`; the job stays checkpointed.
        timeout_seconds: Bound on one submit or query, answer included.
        flash_timeout_seconds: Bound on the synchronous flash call, answer included.
        policy: Attempts, backoff and quota waits of each call.
        http: An `httpx.Client` to use (not closed by `close`); one is made when None.
        sleep: Waits between polls and retries (injectable for tests).
        clock: Monotonic seconds, for the polling deadline.
    """

    def __init__(
        self,
        *,
        pool: KeyPool,
        mode: Literal["auto", "standard", "flash"] = "auto",
        publisher: AudioPublisher | None = None,
        base_url: str = DEFAULT_BASE_URL,
        resource_id: str = "volc.bigasr.auc",
        flash_resource_id: str = "volc.bigasr.auc_turbo",
        name: str = "volcengine",
        uid: str = "meeting-agent",
        poll_interval_seconds: float = 5.0,
        max_wait_seconds: float = 3 * 3600,
        timeout_seconds: float = 60.0,
        flash_timeout_seconds: float = 1800.0,
        policy: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in ("auto", "standard", "flash"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode == "standard" and publisher is None:
            raise ValueError("the standard variant needs an AudioPublisher")
        if poll_interval_seconds <= 0:
            raise ValueError("poll_interval_seconds must be positive")
        for timeout in (timeout_seconds, flash_timeout_seconds):
            if not 0 < timeout < math.inf:
                raise ValueError("timeouts must be positive and finite")
        super().__init__(
            pool=pool,
            name=name,
            policy=policy,
            http=http,
            max_wait_seconds=max_wait_seconds,
            job_checkpoint=REQUEST_CHECKPOINT,
            answer_checkpoint=RESULT_CHECKPOINT,
            clock=clock,
            sleep=sleep,
        )
        self._mode: Literal["auto", "standard", "flash"] = mode
        self._publisher = publisher
        self._base_url = base_url.rstrip("/")
        self._resource_id = resource_id
        self._flash_resource_id = flash_resource_id
        self._uid = uid
        self._poll_interval = poll_interval_seconds
        self._timeout = timeout_seconds
        self._flash_timeout = flash_timeout_seconds

    def check_supported(
        self, duration_seconds: float | None, size_estimate: int | None, can_presign: bool
    ) -> None:
        """Raise now what `transcribe` would raise for audio of this length and size.

        Pure: task creation calls it before any work. `size_estimate` is the size of
        the file sent (16 kHz 16-bit mono WAV); None derives it from the duration.
        `can_presign` says whether the object store presigns (a publisher is needed too).

        Raises:
            FailedPrecondition: `PRESIGN_UNSUPPORTED` when only the standard variant
                fits and no URL can be made for it.
            Unavailable: `AUDIO_EXCEEDS_PROVIDER_LIMIT` past the limits of the variant
                that must take the audio (Unavailable, so the pipeline fails over).
        """
        self._choose_mode(self._mode, duration_seconds, size_estimate, can_presign)

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult:
        """Recognise the meeting, resuming from checkpoints.

        Raises:
            InvalidArgument: the vendor refused the audio (`AUDIO_EMPTY`,
                `AUDIO_UNDECODABLE`) or the request (`PROVIDER_REJECTED_REQUEST`), or the
                model is unknown (`UNKNOWN_MODEL`).
            FailedPrecondition: `PRESIGN_UNSUPPORTED` (see `check_supported`).
            Unavailable: every key is spent (`PROVIDER_QUOTA_EXHAUSTED`), the vendor is
                down (`PROVIDER_UNAVAILABLE`), the job outlasted `max_wait_seconds`
                (`PROVIDER_TIMEOUT`), or the audio passes the variant's limits
                (`AUDIO_EXCEEDS_PROVIDER_LIMIT`).
            TaskCancelled: from `check_cancelled`.
        """
        answer = self._jobs.run(
            _StandardJob(self, audio, request, checkpoints, progress),
            checkpoints,
            progress,
            check_cancelled,
        )
        parsed = _parse(answer)
        progress(1.0, "done")
        billed = parsed.duration_seconds
        sent, note = protocol.hotwords_sent(request.hotwords)
        return AsrResult(
            provider=self._name,
            model=answer.resource_id,
            language_code=request.language_code or "zh",
            segments=finish_segments(parsed.segments, audio),
            # A silent file reports no duration; the vendor's bill for it is unknown, so
            # the cost is not understated.
            billed_audio_seconds=billed if billed is not None else audio.duration_seconds,
            vendor_request_id=answer.request_id,
            hotwords_sent=sent,
            hotwords_note=note,
        )

    def release(self, checkpoints: Checkpoints) -> None:
        """Withdraw the audio published for the standard variant (see `VendorFiles`).

        A failure is logged and left to the sweep, which deletes published audio once
        its URLs have expired.
        """
        data = checkpoints.load(AUDIO_CHECKPOINT)
        try:
            owner = str(json.loads(data).get("owner") or "") if data else ""
        except (ValueError, AttributeError):
            owner = ""
        if not owner or self._publisher is None:
            return
        try:
            removed = self._publisher.withdraw(owner)
        except MeetingAgentError as exc:
            logger.warning("%s: published audio not withdrawn: %s", self._name, exc.message)
            return
        logger.info("%s: withdrew %d published audio object(s)", self._name, removed)
        checkpoints.save(AUDIO_CHECKPOINT, b"{}")

    # ------------------------------------------------------------------ flow

    def _start(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
    ) -> Submitted[_Job] | _Answer:
        """Submit a standard job, or recognise at once with flash, as the audio needs."""
        forced, resource = self._model(request)
        mode = self._choose_mode(
            forced or self._mode,
            audio.duration_seconds,
            protocol.wav_size(audio.duration_seconds),
            self._publisher is not None,
        )
        if mode == "flash":
            return self._flash(audio, request, resource or self._flash_resource_id, progress)
        return self._submit(audio, request, resource or self._resource_id, checkpoints)

    def _choose_mode(
        self,
        configured: Literal["auto", "standard", "flash"],
        duration: float | None,
        size: int | None,
        can_presign: bool,
    ) -> protocol.Mode:
        if size is None and duration is not None:
            size = protocol.wav_size(duration)
        return protocol.choose_mode(
            configured,
            duration_seconds=duration,
            size_bytes=size,
            can_presign=can_presign and self._publisher is not None,
            provider=self._name,
        )

    def _model(self, request: AsrRequest) -> tuple[Literal["standard", "flash"] | None, str]:
        """The variant and resource id a request's `model` names, if it names one.

        "bigmodel" (the protocol's only `model_name`) means the configured defaults.
        """
        if request.model in ("", "bigmodel"):
            return None, ""
        if not request.model.startswith("volc."):
            raise InvalidArgument(
                f"{self._name} models are resource ids such as {self._resource_id!r}, "
                f"not {request.model!r}",
                reason=UNKNOWN_MODEL,
                metadata={"model": request.model},
            )
        return ("flash" if request.model.endswith("_turbo") else "standard"), request.model

    # ------------------------------------------------------------------ standard

    def _submit(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        resource: str,
        checkpoints: Checkpoints,
    ) -> Submitted[_Job] | _Answer:
        assert self._publisher is not None  # _choose_mode picks standard only with one
        owner = (
            request.context.task_id if request.context is not None else None
        ) or uuid.uuid4().hex
        # Recorded before the upload, so that a job that dies right after it still
        # knows what to withdraw.
        checkpoints.save(AUDIO_CHECKPOINT, json.dumps({"owner": owner}).encode())
        with encoded_audio(audio, "wav", audio.path.parent) as wav:
            url = self._publisher.publish(
                wav, content_type="audio/wav", name="volcengine.wav", owner=owner
            )
        payload = json.dumps(self._body(request, {"url": url}), ensure_ascii=False).encode()

        def submit(key: ApiKey) -> tuple[_Job, _Answer | None]:
            # A fresh id per attempt: an id the vendor already saw is refused (45000001),
            # and a retry may go out under another key anyway.
            request_id = str(uuid.uuid4())
            reply = self._post(
                SUBMIT_PATH,
                key,
                resource,
                request_id,
                payload,
                operation="submit",
                timeout=self._timeout,
            )
            status = self._status(reply, "submit")
            job = _Job(request_id, key.fingerprint, resource)
            if status is protocol.Status.SILENT:
                return job, _answer(job, reply)
            return job, None

        job, silent = call_vendor(
            self._keys.pool, submit, policy=self._policy, operation="submit", sleep=self._sleep
        )
        if silent is not None:
            return silent
        return Submitted(job, _expected_seconds(audio))

    def _query(self, job: _Job, key: ApiKey) -> _Answer | Pending:
        reply = self._post(
            QUERY_PATH,
            key,
            job.resource_id,
            job.request_id,
            b"{}",
            operation="query",
            timeout=self._timeout,
        )
        status = self._status(reply, "query")
        if status is protocol.Status.PENDING:
            queued = reply.headers.get("X-Api-Status-Code", "") == protocol.QUEUED
            return Pending("queued" if queued else "processing")
        answer = _answer(job, reply)
        _parse(answer)  # a garbled body is Transient: ask again before keeping it
        return answer

    # ------------------------------------------------------------------ flash

    def _flash(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        resource: str,
        progress: ProgressReporter,
    ) -> _Answer:
        with encoded_audio(audio, "wav", audio.path.parent) as wav:
            size = wav.stat().st_size
            # The body around the audio, split where a one-off marker stands for it.
            marker = uuid.uuid4().hex
            document = json.dumps(self._body(request, {"data": marker}), ensure_ascii=False)
            head, tail = (part.encode() for part in document.split(f'"{marker}"'))
            length = len(head) + 2 + 4 * math.ceil(size / 3) + len(tail)
            progress(SUBMITTED, "recognising")

            def recognize(key: ApiKey) -> _Answer:
                request_id = str(uuid.uuid4())
                # Streamed: the base64 of an hour of audio is never held in memory.
                reply = self._post(
                    FLASH_PATH,
                    key,
                    resource,
                    request_id,
                    _inline_body(head, wav, tail),
                    operation="flash",
                    timeout=self._flash_timeout,
                    length=length,
                )
                status = self._status(reply, "flash")
                if status is protocol.Status.PENDING:
                    raise Transient("flash: the synchronous call answered 'processing'")
                answer = _answer(_Job(request_id, key.fingerprint, resource), reply)
                _parse(answer)
                return answer

            answer = call_vendor(
                self._keys.pool,
                recognize,
                policy=self._policy,
                operation="flash",
                sleep=self._sleep,
            )
        return answer

    # ------------------------------------------------------------------ HTTP

    def _body(self, request: AsrRequest, audio: dict[str, str]) -> dict[str, object]:
        return protocol.request_body(
            uid=self._uid,
            audio=audio,
            language=protocol.vendor_language(request.language_code),
            diarization=request.diarization,
            hotwords=request.hotwords,
        )

    def _post(
        self,
        path: str,
        key: ApiKey,
        resource: str,
        request_id: str,
        content: bytes | Iterator[bytes],
        *,
        operation: str,
        timeout: float,
        length: int | None = None,
    ) -> Reply:
        headers = {
            **protocol.auth_headers(key.secret),
            "X-Api-Resource-Id": resource,
            "X-Api-Request-Id": request_id,
            "Content-Type": "application/json",
        }
        if operation != "query":
            headers["X-Api-Sequence"] = "-1"
        if length is not None:
            # An exact length instead of chunked encoding, which not every gateway takes.
            headers["Content-Length"] = str(length)
        reply = send(
            self._http,
            "POST",
            self._base_url + path,
            timeout_seconds=timeout,
            what=f"{self._name} {operation}",
            headers=headers,
            content=content,
        )
        # Every poll at DEBUG; submits, flash calls and final answers at INFO.
        final = operation != "query" or reply.headers.get("X-Api-Status-Code") not in (
            protocol.PROCESSING,
            protocol.QUEUED,
        )
        logger.log(
            logging.INFO if final else logging.DEBUG,
            "%s %s %s (%s): HTTP %d, status %s, logid %s",
            self._name,
            operation,
            request_id,
            key.fingerprint,
            reply.status,
            reply.headers.get("X-Api-Status-Code", "-"),
            reply.headers.get("X-Tt-Logid", "-"),
        )
        return reply

    def _status(self, reply: Reply, operation: str) -> protocol.Status:
        code = str(reply.headers.get("X-Api-Status-Code", ""))
        try:
            self._check_http_status(reply, operation)
            return protocol.classify_status(
                code,
                str(reply.headers.get("X-Api-Message", "")),
                operation=f"{self._name} {operation}",
            )
        except VendorError as exc:
            # What the vendor answered, for the task's error: HTTP 401, code 45000010.
            exc.http_status = exc.http_status or reply.status
            exc.vendor_code = exc.vendor_code or code
            raise


class _StandardJob:
    """One transcription's request, as the shared submit-and-poll flow drives it."""

    poll_operation = "query"

    def __init__(
        self,
        asr: VolcengineAsr,
        audio: NormalizedAudio,
        request: AsrRequest,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
    ) -> None:
        self._asr = asr
        self._audio = audio
        self._request = request
        self._checkpoints = checkpoints
        self._progress = progress

    @property
    def expected_seconds(self) -> float:
        return _expected_seconds(self._audio)

    def read_job(self, data: bytes) -> _Job:
        return _Job.from_bytes(data)

    def read_answer(self, data: bytes) -> _Answer:
        answer = _Answer.from_bytes(data)
        _parse(answer)
        return answer

    def submit(self) -> Submitted[_Job] | _Answer:
        return self._asr._start(self._audio, self._request, self._checkpoints, self._progress)

    def query(self, job: _Job, key: ApiKey) -> _Answer | Pending:
        return self._asr._query(job, key)

    def interval(self, job: _Job, seconds_left: float) -> float:
        return self._asr._poll_interval

    def answered(self, answer: _Answer) -> None:
        # The vendor has answered (a flash answer needs no URL): the URL served its turn.
        self._asr.release(self._checkpoints)


def _expected_seconds(audio: NormalizedAudio) -> float:
    # No documented processing rate: a tenth of real time is a guess for progress only.
    return max(30.0, audio.duration_seconds / 10)


def _answer(job: _Job, reply: Reply) -> _Answer:
    return _Answer(
        request_id=job.request_id,
        resource_id=job.resource_id,
        status_code=str(reply.headers.get("X-Api-Status-Code", "")),
        log_id=str(reply.headers.get("X-Tt-Logid", "")),
        body=utf8_body(reply),
    )


def _parse(answer: _Answer) -> _Parsed:
    """Segments of an answer; raises `Transient` when its body is not the documented JSON."""
    if answer.status_code == protocol.SILENT:
        return _Parsed(answer, [], None)
    try:
        document = json.loads(answer.body)
    except ValueError as exc:
        raise Transient("the result is not JSON") from exc
    if not isinstance(document, dict):
        raise Transient("the result is not a JSON object")
    segments, duration = protocol.parse_result(document)
    return _Parsed(answer, segments, duration)


def _inline_body(head: bytes, wav: Path, tail: bytes) -> Iterator[bytes]:
    yield head + b'"'
    with wav.open("rb") as audio:
        while chunk := audio.read(_BASE64_CHUNK):
            yield base64.b64encode(chunk)
    yield b'"' + tail
