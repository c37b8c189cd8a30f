"""`AsrProvider` on Azure AI Speech fast transcription (synchronous, one request).

`POST {endpoint}/speechtotext/transcriptions:transcribe?api-version=...` with a
multipart body: the audio (FLAC we encode from the task's audio) and a `definition`
JSON string (locales, diarization, phrase list). The answer holds every phrase with
its speaker, offsets and words; it is checkpointed before it is even parsed, so a job
that dies afterwards never pays Azure twice.

What the documentation leaves open, and what this adapter does there:

- The error body of this endpoint: the swagger says top-level `{code, message,
  innerError}`; Cognitive Services gateways also answer `{"error": {code, message}}`.
  Both are read, and the HTTP status decides the class of failure; the code only
  refines a 400.
- `phraseList` exists from api-version 2025-10-15. With an older version the hotwords
  are not sent (the pipeline's own hotword correction still applies); whether the
  service would ignore or refuse the field is unknown, so we do not find out in
  production.
- Whether zh-CN supports phrase lists: not checked; the service decides.
- The request id header: `apim-request-id` (or `x-requestid`) when present.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from meeting_agent.adapters.audio.encode import CONTENT_TYPES
from meeting_agent.adapters.providers._asr_support import (
    PROVIDER_REJECTED_REQUEST,
    SpeakerLabels,
    TakesAnyAudio,
    check_model,
    encoded_audio,
    finish_segments,
    load_json_checkpoint,
    over_limit,
    save_json_checkpoint,
)
from meeting_agent.adapters.providers._transport import (
    Reply,
    Timeouts,
    quota_bounded_sleep,
    redact,
    retry_after_seconds,
    send,
)
from meeting_agent.adapters.providers.calls import (
    ApiKey,
    CallerError,
    KeyPool,
    KeyRejected,
    QuotaExceeded,
    RetryPolicy,
    Transient,
    answered,
    call_vendor,
)
from meeting_agent.domain.models import Hotword, TranscriptSegment, Word
from meeting_agent.errors import Unavailable
from meeting_agent.ports import (
    AsrRequest,
    AsrResult,
    CancellationCheck,
    Checkpoints,
    NormalizedAudio,
    ProgressReporter,
)

__all__ = ["CHECKPOINT", "AzureFastTranscription", "azure_locale"]

logger = logging.getLogger(__name__)

CHECKPOINT = "azure-result"
AUDIO_UNDECODABLE = "AUDIO_UNDECODABLE"
LANGUAGE_UNSUPPORTED = "LANGUAGE_UNSUPPORTED"

# The first api-version whose `definition` takes `phraseList`.
_PHRASE_LIST_SINCE = "2025-10-15"
# "Up to 500 phrases" is the documented recommendation; more dilutes the bias.
_MAX_PHRASES = 500
# diarization.maxSpeakers must lie in 2..35.
_MIN_SPEAKERS, _MAX_SPEAKERS = 2, 35
# A region for a bare language, as Azure locales always carry one.
_DEFAULT_REGIONS = {
    "ar": "ar-SA",
    "de": "de-DE",
    "en": "en-US",
    "es": "es-ES",
    "fr": "fr-FR",
    "hi": "hi-IN",
    "it": "it-IT",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nl": "nl-NL",
    "pt": "pt-BR",
    "ru": "ru-RU",
    "th": "th-TH",
    "tr": "tr-TR",
    "vi": "vi-VN",
    "yue": "zh-HK",
    "zh": "zh-CN",
}
_SCRIPTS = {"hans": "CN", "hant": "TW"}


class AzureFastTranscription(TakesAnyAudio):
    """Azure AI Speech fast transcription.

    Args:
        base_url: `https://{region}.api.cognitive.microsoft.com` or a custom subdomain
            `https://{resource}.cognitiveservices.azure.com` (or a proxy of either).
        pool: The resource's subscription keys (`Ocp-Apim-Subscription-Key`).
        api_version: 2024-11-15 (GA); 2025-10-15 or later to send phrase lists.
        policy: Retries, backoff and quota waits of one transcription.
        http: A shared client; one is made when None.
        timeout_seconds: The whole exchange, upload to last byte of the answer; Azure
            answers only when the transcription is done.
        max_audio_seconds: Longer audio fails over (2 h in the 2024-11 doc, 5 h since
            2026-01).
        max_upload_bytes: Larger files fail over (200 MB in the 2024-11 doc, 500 MB since).
        default_max_speakers: `maxSpeakers` when the task gives no speaker count.
        audio_format: What we encode the audio to; FLAC is half the upload of WAV.
        profanity_filter: `profanityFilterMode`; "None" keeps what was said.
        name: The provider name in results and logs.
        model: The model name results carry and tasks may ask for.
        work_dir: Where the encoded audio is written (the system temp dir when None).
        sleep: How retries wait (tests pass a recorder).
    """

    def __init__(
        self,
        *,
        base_url: str,
        pool: KeyPool,
        api_version: str = "2024-11-15",
        policy: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        timeout_seconds: float | Timeouts = 900.0,
        max_audio_seconds: float = 2 * 3600.0,
        max_upload_bytes: int = 200 * 1024 * 1024,
        default_max_speakers: int = 10,
        audio_format: Literal["flac", "wav"] = "flac",
        profanity_filter: Literal["None", "Masked", "Removed", "Tags"] = "None",
        name: str = "azure",
        model: str = "fast-transcription",
        work_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = base_url.rstrip("/") + "/speechtotext/transcriptions:transcribe"
        self._pool = pool
        self._api_version = api_version
        self._policy = policy or RetryPolicy()
        self._http = http or httpx.Client()
        self._timeout = timeout_seconds
        self._max_seconds = max_audio_seconds
        self._max_bytes = max_upload_bytes
        self._default_max_speakers = default_max_speakers
        self._format: Literal["flac", "wav"] = audio_format
        self._profanity = profanity_filter
        self._name = name
        self._model = model
        self._work_dir = work_dir
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self._name

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult:
        """Transcribe in one request, or from the checkpointed answer of an earlier try.

        Raises:
            InvalidArgument: `AUDIO_UNDECODABLE` when Azure refuses the audio,
                `UNKNOWN_MODEL` for a model this provider does not have.
            FailedPrecondition: `LANGUAGE_UNSUPPORTED` when Azure refuses the locale.
            Unavailable: keys spent, an outage, a refused request, or audio over the
                limits (`AUDIO_EXCEEDS_PROVIDER_LIMIT`): the pipeline fails over.
            TaskCancelled: from `check_cancelled`.
        """
        model = check_model(request, self._name, (self._model,))
        saved = load_json_checkpoint(checkpoints, CHECKPOINT)
        if saved is not None and isinstance(saved.get("response"), dict):
            logger.info("%s: reusing the checkpointed transcription", self._name)
        else:
            saved = self._call(audio, request, checkpoints, progress, check_cancelled)
        progress(1.0)
        return self._result(saved, audio, request, model)

    # ------------------------------------------------------------ request

    def definition(self, request: AsrRequest) -> dict[str, Any]:
        """The `definition` part for a request (public for tests and diagnostics)."""
        definition: dict[str, Any] = {"profanityFilterMode": self._profanity}
        locale = azure_locale(request.language_code)
        if locale:
            definition["locales"] = [locale]
        max_speakers = self._max_speakers(request)
        if max_speakers:
            definition["diarization"] = {"enabled": True, "maxSpeakers": max_speakers}
        phrases = _phrases(request.hotwords)
        if phrases:
            if azure_takes_phrase_lists(self._api_version):
                definition["phraseList"] = {"phrases": phrases}
            else:
                logger.info(
                    "%s: api-version %s has no phrase lists; %d hotwords not sent",
                    self._name,
                    self._api_version,
                    len(phrases),
                )
        return definition

    def _max_speakers(self, request: AsrRequest) -> int:
        """maxSpeakers, or 0 for no diarization (off, or one speaker known)."""
        if not request.diarization:
            return 0
        count = request.speaker_count
        if count is None:
            return self._default_max_speakers
        if count.maximum <= 1:
            return 0
        return min(max(count.maximum, _MIN_SPEAKERS), _MAX_SPEAKERS)

    def _call(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> dict[str, Any]:
        if audio.duration_seconds >= self._max_seconds:
            raise over_limit(
                self._name,
                f"{audio.duration_seconds:.0f} s of audio, the limit is {self._max_seconds:.0f} s",
            )
        definition = json.dumps(self.definition(request), ensure_ascii=False)
        check_cancelled()
        with encoded_audio(audio, self._format, self._work_dir) as path:
            size = path.stat().st_size
            if size >= self._max_bytes:
                raise over_limit(
                    self._name, f"{size} bytes of {self._format}, the limit is {self._max_bytes}"
                )
            progress(0.05, "uploading")

            def attempt(key: ApiKey) -> dict[str, Any]:
                check_cancelled()
                saved = self._post(key, path, definition)
                # Saved before anything else happens: Azure keeps no copy to fetch again.
                save_json_checkpoint(checkpoints, CHECKPOINT, saved)
                return saved

            return call_vendor(
                self._pool,
                attempt,
                policy=self._policy,
                operation="transcribe",
                sleep=quota_bounded_sleep(self._policy, self._sleep),
            )

    def _post(self, key: ApiKey, path: Path, definition: str) -> dict[str, Any]:
        with path.open("rb") as audio_file:
            reply = send(
                self._http,
                "POST",
                self._url,
                timeout_seconds=self._timeout,
                what=f"{self._name} transcribe",
                params={"api-version": self._api_version},
                headers={"Ocp-Apim-Subscription-Key": key.secret, "Accept": "application/json"},
                data={"definition": definition},
                files={"audio": (path.name, audio_file, CONTENT_TYPES[self._format])},
            )
        if reply.status != 200:
            raise self._error(reply, key)
        body = reply.json()
        if not isinstance(body, dict) or not isinstance(body.get("phrases"), list):
            raise Transient(f"{self._name}: malformed transcription body ({len(reply.body)} bytes)")
        request_id = reply.headers.get("apim-request-id") or reply.headers.get("x-requestid") or ""
        return {"request_id": request_id, "response": body}

    def _error(self, reply: Reply, key: ApiKey) -> Exception:
        return answered(
            self._classify(reply, key),
            http_status=reply.status,
            vendor_code=str(_error_code(reply)[0] or ""),
        )

    def _classify(self, reply: Reply, key: ApiKey) -> Exception:
        """Classify a non-200 answer (see the module docstring for the body shapes)."""
        code, message = _error_code(reply)
        text = redact(f"{self._name} HTTP {reply.status} {code}: {message}", key)[:500]
        status = reply.status
        if status == 429 or code == "TooManyRequests":
            # Azure has per-second and concurrency throttles, nothing per day.
            return QuotaExceeded(
                text, scope="minute", retry_after=retry_after_seconds(reply.headers)
            )
        if status in (401, 403) or code in ("Unauthorized", "Forbidden"):
            return KeyRejected(text)
        if status >= 500 or status == 408:
            return Transient(text, retry_after=retry_after_seconds(reply.headers))
        if code in ("InvalidArgument", "UnsupportedMediaType", "UnprocessableEntity") or status in (
            415,
            422,
        ):
            if "locale" in message.lower():
                return CallerError(text, reason=LANGUAGE_UNSUPPORTED, precondition=True)
            return CallerError(text, reason=AUDIO_UNDECODABLE)
        # InvalidRequest, NotFound (wrong endpoint or api-version), …: our request or our
        # configuration, not the caller's audio. Retrying the same request is pointless;
        # Unavailable passes through call_vendor and the pipeline fails over.
        logger.error("%s refused the request: %s", self._name, text)
        return Unavailable(
            text, reason=PROVIDER_REJECTED_REQUEST, metadata={"provider": self._name}
        )

    # ------------------------------------------------------------ answer

    def _result(
        self, saved: dict[str, Any], audio: NormalizedAudio, request: AsrRequest, model: str
    ) -> AsrResult:
        body: dict[str, Any] = saved["response"]
        labels = SpeakerLabels()
        locales: dict[str, int] = {}
        segments: list[TranscriptSegment] = []
        for phrase in body.get("phrases") or ():
            if not isinstance(phrase, dict):
                continue
            start = _ms(phrase.get("offsetMilliseconds"))
            words = [
                Word(
                    text=str(w.get("text", "")).strip(),
                    start=_ms(w.get("offsetMilliseconds")),
                    end=_ms(w.get("offsetMilliseconds")) + _ms(w.get("durationMilliseconds")),
                )
                for w in phrase.get("words") or ()
                if isinstance(w, dict) and str(w.get("text", "")).strip()
            ]
            segments.append(
                TranscriptSegment(
                    index=0,
                    speaker_label=labels(phrase.get("speaker")),
                    start=start,
                    end=start + _ms(phrase.get("durationMilliseconds")),
                    text=str(phrase.get("text", "")),
                    words=words,
                )
            )
            locale = phrase.get("locale")
            if isinstance(locale, str) and locale:
                locales[locale] = locales.get(locale, 0) + 1
        duration = body.get("durationMilliseconds")
        billed = (
            _ms(duration)
            if isinstance(duration, int | float) and duration > 0
            else audio.duration_seconds
        )
        language = max(locales, key=lambda k: locales[k]) if locales else request.language_code
        sent, note = self.hotwords_sent(request)
        return AsrResult(
            provider=self._name,
            model=model,
            language_code=language,
            segments=finish_segments(segments, audio),
            billed_audio_seconds=billed,
            vendor_request_id=str(saved.get("request_id") or ""),
            hotwords_sent=sent,
            hotwords_note=note,
        )

    def hotwords_sent(self, request: AsrRequest) -> tuple[int, str]:
        """How many hotwords `definition` sends as a phrase list, and why not all."""
        phrases = _phrases(request.hotwords)
        if not azure_takes_phrase_lists(self._api_version):
            return 0, (
                f"api-version {self._api_version} has no phrase lists "
                f"(they need {_PHRASE_LIST_SINCE} or later)"
            )
        return len(phrases), (
            f"a phrase list takes at most {_MAX_PHRASES}" if len(phrases) == _MAX_PHRASES else ""
        )


def azure_takes_phrase_lists(api_version: str) -> bool:
    """Whether fast transcription at this api-version takes `phraseList` (hotwords)."""
    return api_version >= _PHRASE_LIST_SINCE


def azure_locale(language_code: str) -> str:
    """An Azure locale for a BCP-47 code; "" lets Azure detect the language.

    `zh` → `zh-CN`, `zh-Hant` → `zh-TW`, `en-gb` → `en-GB`. A bare language Azure has
    no default region for is left to detection rather than guessed.
    """
    parts = [p for p in language_code.replace("_", "-").split("-") if p]
    if not parts:
        return ""
    primary = parts[0].lower()
    region = next((p.upper() for p in parts[1:] if len(p) == 2 or p.isdigit()), "")
    if not region:
        script = next((p.lower() for p in parts[1:] if len(p) == 4), "")
        region = _SCRIPTS.get(script, "") if primary == "zh" else ""
    if region:
        return f"{primary}-{region}"
    return _DEFAULT_REGIONS.get(primary, "")


def _phrases(hotwords: Sequence[Hotword]) -> list[str]:
    """Distinct phrases, heaviest first (Azure takes no weights), at most 500."""
    ranked = sorted(hotwords, key=lambda h: -h.weight)
    return list(dict.fromkeys(h.phrase.strip() for h in ranked if h.phrase.strip()))[:_MAX_PHRASES]


def _ms(value: object) -> float:
    return float(value) / 1000.0 if isinstance(value, int | float) else 0.0


def _error_code(reply: Reply) -> tuple[str, str]:
    body = reply.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict):
        return "", f"{len(reply.body)} bytes, not JSON"
    code = str(body.get("code") or "")
    message = str(body.get("message") or "")
    inner = body.get("innerError")
    if isinstance(inner, dict) and inner.get("message"):
        message = f"{message} ({inner.get('code', '')}: {inner['message']})"
    return code, message
