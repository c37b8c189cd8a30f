"""`AsrProvider` on iFlytek recorded-audio transcription (录音文件转写, `raasr` v2).

`upload` sends the audio in the request body and returns an order id, which is
checkpointed at once; `getResult` is polled until the order is done or failed. A
retried job polls the checkpointed order instead of uploading (and paying) again, and
the vendor's result, deleted by the vendor 72 h after it exists, is checkpointed the
moment it arrives, so a later attempt makes no call at all.

The vendor allows 100 `getResult` calls per order: polls space out geometrically (the
doc asks for "graded intervals") and are counted in the checkpoint across attempts.
An order that can no longer give a result (unknown, polled out, failed upstream) is
dropped and, once per `transcribe`, replaced by a new upload.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from meeting_agent.adapters.providers import iflytek_protocol as protocol
from meeting_agent.adapters.providers._asr_support import (
    TakesAnyAudio,
    check_model,
    encoded_audio,
    finish_segments,
    over_limit,
)
from meeting_agent.adapters.providers._transport import Reply, send
from meeting_agent.adapters.providers.asr_jobs import utf8_body
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
from meeting_agent.ports import (
    AsrRequest,
    AsrResult,
    CancellationCheck,
    Checkpoints,
    NormalizedAudio,
    ProgressReporter,
)

__all__ = ["DEFAULT_BASE_URL", "MODEL", "ORDER_CHECKPOINT", "RESULT_CHECKPOINT", "IflytekAsr"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://raasr.xfyun.cn"
UPLOAD_PATH = "/v2/api/upload"
RESULT_PATH = "/v2/api/getResult"
ORDER_CHECKPOINT = "iflytek-order"
RESULT_CHECKPOINT = "iflytek-result"
# The API has no model choice; this names it in results and the audit log.
MODEL = "raasr-v2"

_VENDOR_MAX_POLLS = 100
# Each wait is this much longer than the one before, up to `max_poll_interval_seconds`:
# from 10 s it reaches 300 s in 16 polls, so 100 polls span more than the 5 h SLA.
_POLL_GROWTH = 1.25
_UPLOAD_CHUNK = 1024 * 1024


@dataclass
class _Order:
    """An uploaded order: its id, the key it belongs to, and how often it was polled."""

    order_id: str
    key: str  # the key's fingerprint, never the secret
    polls: int = 0
    gone: bool = False

    @property
    def vendor_id(self) -> str:
        return self.order_id

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Order:
        document = json.loads(data)
        return cls(
            str(document["order_id"]),
            str(document["key"]),
            int(document["polls"]),
            bool(document.get("gone", False)),
        )


@dataclass(frozen=True)
class _Answer:
    """The final getResult answer, verbatim; `silent` when the vendor found no speech."""

    order_id: str
    body: str
    silent: bool

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Answer:
        document = json.loads(data)
        return cls(str(document["order_id"]), str(document["body"]), bool(document["silent"]))


class IflytekAsr(JobRecogniser, TakesAnyAudio):
    """iFlytek `raasr` v2 recorded-audio transcription with role separation and hotwords.

    Args:
        pool: Credentials as `"<appId>:<secretKey>"`, rotated on quota.
        base_url: The API host; a private endpoint or proxy works.
        name: The provider name results and checkpoints carry.
        audio_format: The file uploaded, "flac" (half the bytes) or "wav".
        poll_interval_seconds: The first wait between polls; later ones grow.
        max_poll_interval_seconds: The longest wait between two polls.
        max_wait_seconds: How long one `transcribe` waits for an order (at most 24 h)
            before raising `Unavailable`; the order stays checkpointed.
        max_polls: getResult calls allowed per order (the vendor's limit is 100).
        result_method: "POST" with query parameters, as the official demo does, or
            "GET", as the doc's table says.
        rate_limit_rest_seconds: How long a key rests after 26603 (rate limited), which
            comes without a Retry-After.
        timeout_seconds: Bound on one getResult call, answer included.
        upload_timeout_seconds: Bound on one upload, answer included.
        policy: Attempts, backoff and quota waits of each call.
        http: An `httpx.Client` to use (not closed by `close`); one is made when None.
        sleep: Waits between polls and retries (injectable for tests).
        clock: Monotonic seconds, for the polling deadline.
        now: Unix seconds, for the signature's `ts`.
    """

    def __init__(
        self,
        *,
        pool: KeyPool,
        base_url: str = DEFAULT_BASE_URL,
        name: str = "iflytek",
        audio_format: Literal["flac", "wav"] = "flac",
        poll_interval_seconds: float = 10.0,
        max_poll_interval_seconds: float = 300.0,
        max_wait_seconds: float = 5 * 3600,
        max_polls: int = _VENDOR_MAX_POLLS,
        result_method: Literal["POST", "GET"] = "POST",
        rate_limit_rest_seconds: float = protocol.RATE_LIMIT_REST_SECONDS,
        timeout_seconds: float = 60.0,
        upload_timeout_seconds: float = 900.0,
        policy: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        for key in pool.keys:
            protocol.parse_key(key.secret)
        if audio_format not in ("flac", "wav"):
            raise ValueError(f"unknown audio format {audio_format!r}")
        if not 0 < poll_interval_seconds <= max_poll_interval_seconds:
            raise ValueError("poll intervals must be positive, the first not the longest")
        if not 1 <= max_polls <= _VENDOR_MAX_POLLS:
            raise ValueError(f"max_polls must be between 1 and {_VENDOR_MAX_POLLS}")
        if result_method not in ("POST", "GET"):
            raise ValueError(f"unknown method {result_method!r}")
        for timeout in (timeout_seconds, upload_timeout_seconds, rate_limit_rest_seconds):
            if not 0 < timeout < math.inf:
                raise ValueError("timeouts and rests must be positive and finite")
        super().__init__(
            pool=pool,
            name=name,
            policy=policy,
            http=http,
            max_wait_seconds=max_wait_seconds,
            job_checkpoint=ORDER_CHECKPOINT,
            answer_checkpoint=RESULT_CHECKPOINT,
            clock=clock,
            sleep=sleep,
        )
        self._base_url = base_url.rstrip("/")
        self._format: Literal["flac", "wav"] = audio_format
        self._poll_interval = poll_interval_seconds
        self._max_poll_interval = max_poll_interval_seconds
        self._max_polls = max_polls
        self._result_method = result_method
        self._rate_limit_rest = rate_limit_rest_seconds
        self._timeout = timeout_seconds
        self._upload_timeout = upload_timeout_seconds
        self._now = now

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult:
        """Transcribe the meeting, resuming from checkpoints.

        Raises:
            InvalidArgument: the vendor refused the audio (`AUDIO_EMPTY`,
                `AUDIO_UNDECODABLE`, `AUDIO_TOO_LONG`, `AUDIO_TOO_LARGE`) or the
                request (`PROVIDER_REJECTED_REQUEST`), or the model is unknown.
            FailedPrecondition: the account lacks the language or a feature.
            Unavailable: every key is spent (`PROVIDER_QUOTA_EXHAUSTED`), the vendor is
                down (`PROVIDER_UNAVAILABLE`), the order outlasted `max_wait_seconds`
                (`PROVIDER_TIMEOUT`), or this provider cannot take the audio
                (`AUDIO_EXCEEDS_PROVIDER_LIMIT`, `LANGUAGE_UNSUPPORTED`).
            TaskCancelled: from `check_cancelled`.
        """
        check_model(request, self._name, (MODEL,))
        answer = self._jobs.run(
            _OrderJob(self, audio, request, checkpoints), checkpoints, progress, check_cancelled
        )
        segments, duration = _parse(answer)
        progress(1.0, "done")
        sent, note = protocol.hotwords_sent(request.hotwords)
        return AsrResult(
            provider=self._name,
            model=MODEL,
            language_code=request.language_code or "zh",
            segments=finish_segments(segments, audio),
            # A silent file reports no duration; the vendor's bill for it is unknown, so
            # the cost is not understated.
            billed_audio_seconds=duration if duration is not None else audio.duration_seconds,
            vendor_request_id=answer.order_id,
            hotwords_sent=sent,
            hotwords_note=note,
        )

    # ------------------------------------------------------------------ upload

    def _upload(self, audio: NormalizedAudio, request: AsrRequest) -> Submitted[_Order]:
        language = protocol.vendor_language(request.language_code, self._name)
        if audio.duration_seconds > protocol.MAX_SECONDS:
            raise over_limit(self._name, "at most 5 h of audio")
        with encoded_audio(audio, self._format, audio.path.parent) as path:
            size = path.stat().st_size
            if size > protocol.MAX_BYTES:
                raise over_limit(self._name, "files of at most 500 MB")
            params = protocol.upload_params(
                file_name=f"meeting.{self._format}",
                file_size=size,
                duration_ms=round(audio.duration_seconds * 1000),
                language=language,
                diarization=request.diarization,
                speaker_count=request.speaker_count,
                hotwords=request.hotwords,
            )

            def upload(key: ApiKey) -> tuple[_Order, float]:
                reply = self._send(
                    "POST",
                    UPLOAD_PATH,
                    key,
                    params,
                    operation="upload",
                    timeout=self._upload_timeout,
                    content=_file_chunks(path),
                    # The doc's stream mode; an exact length, not chunked encoding.
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(size),
                    },
                )
                try:
                    document = self._checked(reply, "upload")
                except protocol.OrderGone as exc:
                    raise Transient(str(exc)) from exc
                if document is None:
                    raise Transient(f"{self._name} upload: answered 'still processing'")
                content = document.get("content")
                order_id = content.get("orderId") if isinstance(content, dict) else None
                if not isinstance(order_id, str) or not order_id:
                    raise Transient(f"{self._name} upload: the answer has no orderId")
                estimate = _seconds(content.get("taskEstimateTime")) if content else 0.0
                return _Order(order_id, key.fingerprint), estimate

            order, estimate = call_vendor(
                self._keys.pool, upload, policy=self._policy, operation="upload", sleep=self._sleep
            )
        logger.info(
            "%s: uploaded order %s (%s), estimated %.0f s",
            self._name,
            order.order_id,
            order.key,
            estimate,
        )
        return Submitted(order, estimate, "uploaded")

    # ------------------------------------------------------------------ getResult

    def _get_result(
        self, order: _Order, key: ApiKey, checkpoints: Checkpoints
    ) -> _Answer | Pending:
        try:
            if order.polls >= self._max_polls:
                raise protocol.OrderGone(f"{self._name}: {order.polls} getResult calls made")
            order.polls += 1
            # Counted across attempts: the vendor's limit is per order, not per job.
            checkpoints.save(ORDER_CHECKPOINT, order.to_bytes())
            reply = self._send(
                self._result_method,
                RESULT_PATH,
                key,
                {"orderId": order.order_id, "resultType": "transfer"},
                operation="getResult",
                timeout=self._timeout,
                headers={"Content-Type": "application/json"},
            )
            document = self._checked(reply, "getResult")
        except protocol.OrderGone:
            order.gone = True
            checkpoints.save(ORDER_CHECKPOINT, order.to_bytes())
            raise
        if document is None:
            return Pending("processing")
        content = document.get("content")
        if not isinstance(content, dict):
            raise Transient(f"{self._name} getResult: the answer has no content")
        state, left = protocol.order_state(content, operation=f"{self._name} getResult")
        if state is protocol.OrderState.PENDING:
            return Pending("processing", left)
        answer = _Answer(
            order.order_id, utf8_body(reply), silent=state is protocol.OrderState.SILENT
        )
        _parse(answer)  # a garbled result is Transient: ask again before keeping it
        return answer

    def _interval(self, polls: int, vendor_estimate: float) -> float:
        graded = self._poll_interval * _POLL_GROWTH**polls
        return min(max(graded, vendor_estimate), self._max_poll_interval)

    # ------------------------------------------------------------------ HTTP

    def _send(
        self,
        method: str,
        path: str,
        key: ApiKey,
        params: dict[str, str],
        *,
        operation: str,
        timeout: float,
        headers: dict[str, str],
        content: Iterator[bytes] | None = None,
    ) -> Reply:
        # Signed per request: a long wait must not outlive the signature's validity.
        query = {**protocol.auth_params(key.secret, int(self._now())), **params}
        reply = send(
            self._http,
            method,
            self._base_url + path,
            timeout_seconds=timeout,
            what=f"{self._name} {operation}",
            headers=headers,
            params=query,
            content=content,
        )
        logger.log(
            logging.DEBUG if operation == "getResult" else logging.INFO,
            "%s %s (%s): HTTP %d",
            self._name,
            operation,
            key.fingerprint,
            reply.status,
        )
        return reply

    def _checked(self, reply: Reply, operation: str) -> dict[str, Any] | None:
        """The answer's JSON when it is a success, None while the order is processing."""
        document: Any = None
        try:
            self._check_http_status(reply, operation)
            document = reply.json()
            if not protocol.check_code(
                document,
                operation=f"{self._name} {operation}",
                rate_limit_rest_seconds=self._rate_limit_rest,
            ):
                return None
        except VendorError as exc:
            # What the vendor answered, for the task's error: HTTP status and its code.
            exc.http_status = exc.http_status or reply.status
            if not exc.vendor_code and isinstance(document, dict) and "code" in document:
                exc.vendor_code = str(document["code"])
            raise
        assert isinstance(document, dict)  # check_code accepts JSON objects only
        return document


class _OrderJob:
    """One transcription's order, as the shared submit-and-poll flow drives it."""

    poll_operation = "getResult"

    def __init__(
        self,
        asr: IflytekAsr,
        audio: NormalizedAudio,
        request: AsrRequest,
        checkpoints: Checkpoints,
    ) -> None:
        self._asr = asr
        self._audio = audio
        self._request = request
        self._checkpoints = checkpoints

    @property
    def expected_seconds(self) -> float:
        return max(30.0, self._audio.duration_seconds / 5)

    def read_job(self, data: bytes) -> _Order | None:
        order = _Order.from_bytes(data)
        return None if order.gone else order

    def read_answer(self, data: bytes) -> _Answer:
        answer = _Answer.from_bytes(data)
        _parse(answer)
        return answer

    def submit(self) -> Submitted[_Order]:
        return self._asr._upload(self._audio, self._request)

    def query(self, job: _Order, key: ApiKey) -> _Answer | Pending:
        return self._asr._get_result(job, key, self._checkpoints)

    def interval(self, job: _Order, seconds_left: float) -> float:
        return self._asr._interval(job.polls, seconds_left)

    def answered(self, answer: _Answer) -> None:
        pass


def _parse(answer: _Answer) -> tuple[list[TranscriptSegment], float | None]:
    if answer.silent:
        return [], None
    try:
        content = json.loads(answer.body)["content"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Transient("the result is not the documented JSON") from exc
    if not isinstance(content, dict):
        raise Transient("the result has no content")
    return protocol.parse_result(content)


def _seconds(milliseconds: Any) -> float:
    try:
        return max(0.0, float(milliseconds) / 1000.0)
    except (TypeError, ValueError):
        return 0.0


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as audio:
        while chunk := audio.read(_UPLOAD_CHUNK):
            yield chunk
