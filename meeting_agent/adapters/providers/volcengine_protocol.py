"""Volcano Engine big-model recorded-audio recognition (v3): what goes over the wire.

Pure functions, no I/O (`volcengine.py` does the HTTP): credentials to headers, the
request body, the `X-Api-Status-Code` table, the limits of each variant, and the
result JSON to transcript segments. Source: providers.md §1a (doc 6561/1354868 for
submit/query, 6561/1631584 for flash).
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from meeting_agent.adapters.providers._asr_support import (
    PROVIDER_REJECTED_REQUEST,
    SpeakerLabels,
    over_limit,
)
from meeting_agent.adapters.providers.asr_jobs import sanitize
from meeting_agent.adapters.providers.calls import (
    CallerError,
    KeyRejected,
    Transient,
)
from meeting_agent.domain.models import Hotword, TranscriptSegment, Word
from meeting_agent.errors import FailedPrecondition

__all__ = [
    "FLASH_MAX_BYTES",
    "FLASH_MAX_SECONDS",
    "LANGUAGE_CODES",
    "STANDARD_MAX_BYTES",
    "STANDARD_MAX_SECONDS",
    "Mode",
    "Status",
    "auth_headers",
    "choose_mode",
    "classify_status",
    "hotwords_sent",
    "parse_result",
    "request_body",
    "vendor_language",
    "wav_size",
]

Mode = Literal["standard", "flash"]

SUCCESS = "20000000"
PROCESSING = "20000001"
QUEUED = "20000002"
SILENT = "20000003"
INVALID_PARAMS = "45000001"
EMPTY_AUDIO = "45000002"
GRANT_MISSING = "45000010"
BAD_AUDIO_FORMAT = "45000151"

# Limits as the docs state them ("≤2 h, ≤100 MB" flash; "<5 h, <512 MB" standard).
# Whether "MB" means 10^6 or 2^20 bytes is not said: the smaller reading is safe.
FLASH_MAX_SECONDS = 2 * 3600
FLASH_MAX_BYTES = 100 * 1000 * 1000
STANDARD_MAX_SECONDS = 5 * 3600
STANDARD_MAX_BYTES = 512 * 1000 * 1000
# The docs accept wav/mp3/ogg but not FLAC, so the audio goes as 16 kHz 16-bit mono WAV.
_WAV_BYTES_PER_SECOND = 16_000 * 2
_WAV_HEADER_BYTES = 44
# "up to 5000 hotwords" in corpus.context.
MAX_HOTWORDS = 5000

AUDIO_EMPTY = "AUDIO_EMPTY"
AUDIO_UNDECODABLE = "AUDIO_UNDECODABLE"
PRESIGN_UNSUPPORTED = "PRESIGN_UNSUPPORTED"

# BCP-47 primary subtags the docs' `language` codes qualify with a region (the docs
# give "en-US", "ja-JP"; a request naming a region is passed through as it is).
_DEFAULT_REGIONS: dict[str, str] = {
    "zh": "zh-CN",
    "en": "en-US",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "fr": "fr-FR",
    "es": "es-MX",
    "de": "de-DE",
    "ru": "ru-RU",
    "pt": "pt-BR",
    "it": "it-IT",
    "id": "id-ID",
    "th": "th-TH",
    "vi": "vi-VN",
    "ms": "ms-MY",
    "ar": "ar-SA",
}
# For the provider catalog: what a task may ask this provider for.
LANGUAGE_CODES: tuple[str, ...] = tuple(sorted(_DEFAULT_REGIONS))


class Status(enum.Enum):
    DONE = "done"
    PENDING = "pending"
    SILENT = "silent"


def auth_headers(secret: str) -> dict[str, str]:
    """Headers for one credential string.

    `"<app key>:<access key>"` (the console's APP ID and Access Token) selects the
    App-Key/Access-Key pair; a string without a colon is a newer console's single API
    key, sent as `X-Api-Key`.
    """
    app_key, sep, access_key = secret.partition(":")
    if sep:
        return {"X-Api-App-Key": app_key, "X-Api-Access-Key": access_key}
    return {"X-Api-Key": secret}


def wav_size(duration_seconds: float) -> int:
    """Bytes of the WAV file that carries `duration_seconds` of our audio."""
    return _WAV_HEADER_BYTES + math.ceil(duration_seconds * _WAV_BYTES_PER_SECOND)


def choose_mode(
    configured: Literal["auto", "standard", "flash"],
    *,
    duration_seconds: float | None,
    size_bytes: int | None,
    can_presign: bool,
    provider: str = "volcengine",
) -> Mode:
    """The variant that can take this audio, or the error that says why none can.

    Unknown duration or size (None) counts as fitting. Raises `FailedPrecondition`
    (`PRESIGN_UNSUPPORTED`) when only the standard variant fits and no URL can be made,
    and `Unavailable` (`AUDIO_EXCEEDS_PROVIDER_LIMIT`) when the audio passes the limits
    of the variant that must take it: another provider may take it, and the pipeline
    fails over on `Unavailable` only.
    """
    fits_flash = (duration_seconds is None or duration_seconds <= FLASH_MAX_SECONDS) and (
        size_bytes is None or size_bytes <= FLASH_MAX_BYTES
    )
    if configured == "flash" or (configured == "auto" and fits_flash):
        _check_limits(
            provider, "flash", duration_seconds, size_bytes, FLASH_MAX_SECONDS, FLASH_MAX_BYTES
        )
        return "flash"
    if not can_presign:
        raise FailedPrecondition(
            f"{provider} needs a URL it can download the audio from, and the object store "
            "cannot presign one"
            + ("" if configured == "standard" else "; the audio is too long for the flash variant"),
            reason=PRESIGN_UNSUPPORTED,
            metadata={"provider": provider},
        )
    _check_limits(
        provider, "standard", duration_seconds, size_bytes, STANDARD_MAX_SECONDS, STANDARD_MAX_BYTES
    )
    return "standard"


def _check_limits(
    provider: str,
    variant: str,
    duration: float | None,
    size: int | None,
    max_seconds: float,
    max_bytes: int,
) -> None:
    if duration is not None and duration > max_seconds:
        raise over_limit(
            provider, f"the {variant} variant takes at most {max_seconds / 3600:g} h of audio"
        )
    if size is not None and size > max_bytes:
        raise over_limit(
            provider, f"the {variant} variant takes at most {max_bytes // 1_000_000} MB of audio"
        )


def vendor_language(language_code: str) -> str:
    """The `audio.language` for a BCP-47 code; "" keeps the vendor's zh+en+dialects."""
    parts = [p for p in language_code.replace("_", "-").split("-") if p]
    if not parts:
        return ""
    primary = parts[0].lower()
    region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")
    if region:
        return f"{primary}-{region}"
    return _DEFAULT_REGIONS.get(primary, primary)


def request_body(
    *,
    uid: str,
    audio: Mapping[str, Any],
    language: str,
    diarization: bool,
    hotwords: Sequence[Hotword],
) -> dict[str, Any]:
    """The submit (or flash) body; `audio` holds `url` or `data`.

    Every switch is sent explicitly: the doc copies disagree on their defaults.
    """
    request: dict[str, Any] = {
        "model_name": "bigmodel",
        "enable_itn": True,
        "enable_punc": True,
        "enable_ddc": False,
        # Without it the result has the text only: no utterances, words or speakers.
        "show_utterances": True,
        "enable_speaker_info": diarization,
    }
    if diarization and language in ("", "zh-CN"):
        request["ssd_version"] = "200"
    words = _hotword_list(hotwords)
    if words:
        # A JSON document inside a JSON string, as the vendor expects.
        request["corpus"] = {
            "context": json.dumps({"hotwords": [{"word": w} for w in words]}, ensure_ascii=False)
        }
    return {
        "user": {"uid": uid},
        "audio": {
            **audio,
            "format": "wav",
            "codec": "raw",
            "rate": 16_000,
            "bits": 16,
            "channel": 1,
            "language": language,
        },
        "request": request,
    }


def hotwords_sent(hotwords: Sequence[Hotword]) -> tuple[int, str]:
    """How many hotwords a request carries in `corpus.context`, and why not all."""
    sent = len(_hotword_list(hotwords))
    return sent, (f"a request takes at most {MAX_HOTWORDS}" if sent == MAX_HOTWORDS else "")


def _hotword_list(hotwords: Sequence[Hotword]) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    for hotword in hotwords:
        phrase = hotword.phrase.strip()
        if phrase and phrase not in seen:
            seen.add(phrase)
            words.append(phrase)
    return words[:MAX_HOTWORDS]


def classify_status(code: str, message: str, *, operation: str) -> Status:
    """The outcome an `X-Api-Status-Code` means, or the `VendorError` it is.

    Raises:
        CallerError: empty (`AUDIO_EMPTY`) or unreadable (`AUDIO_UNDECODABLE`) audio,
            or parameters the vendor refuses (`PROVIDER_REJECTED_REQUEST`).
        KeyRejected: the key lacks the resource grant (45000010).
        Transient: 55xxxxxx server errors, and anything the table does not know.
    """
    detail = f"{operation}: status {code or '(none)'} {sanitize(message)}".rstrip()
    if code == SUCCESS:
        return Status.DONE
    if code in (PROCESSING, QUEUED):
        return Status.PENDING
    if code == SILENT:
        return Status.SILENT
    if code == EMPTY_AUDIO:
        raise CallerError(detail, reason=AUDIO_EMPTY)
    if code == BAD_AUDIO_FORMAT:
        raise CallerError(detail, reason=AUDIO_UNDECODABLE)
    if code == GRANT_MISSING:
        raise KeyRejected(detail)
    if code.startswith("45"):
        # 45000001 and any other 45xxxxxx: the request as sent cannot succeed.
        raise CallerError(detail, reason=PROVIDER_REJECTED_REQUEST)
    # 550xxxxx (internal), 55000031 (busy), a missing header or an unknown code.
    raise Transient(detail)


def parse_result(document: Mapping[str, Any]) -> tuple[list[TranscriptSegment], float | None]:
    """Segments (unnumbered, unsorted) and the audio duration the vendor measured.

    Raises `Transient` when the document lacks the documented shape: a truncated or
    garbled answer is worth asking for again.
    """
    speakers = SpeakerLabels()
    try:
        result = document["result"]
        utterances = result.get("utterances") or []
        segments = [s for s in (_segment(u, speakers) for u in utterances) if s is not None]
        duration = _duration_seconds(document)
        text = str(result.get("text") or "").strip()
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise Transient(f"the result has an unexpected shape ({type(exc).__name__})") from exc
    if not segments and text:
        # Text without utterances (the vendor ignored `show_utterances`): keep what was
        # paid for as one unlabelled segment over the whole audio.
        segments = [
            TranscriptSegment(
                index=0, speaker_label="", start=0.0, end=round(duration or 0.0, 3), text=text
            )
        ]
    return segments, duration


def _segment(utterance: Mapping[str, Any], speakers: SpeakerLabels) -> TranscriptSegment | None:
    text = str(utterance.get("text") or "").strip()
    if not text:
        return None
    start = _seconds(utterance["start_time"])
    end = max(_seconds(utterance["end_time"]), start)
    words = []
    for word in utterance.get("words") or ():
        word_text = str(word.get("text") or "").strip()
        if not word_text or int(word.get("start_time", -1)) < 0:
            continue
        word_start = _seconds(word["start_time"])
        words.append(
            Word(
                text=word_text,
                start=word_start,
                end=max(_seconds(word.get("end_time", 0)), word_start),
                confidence=float(word.get("confidence") or 0.0),
            )
        )
    return TranscriptSegment(
        index=0,
        speaker_label=speakers(_speaker(utterance)),
        start=start,
        end=end,
        text=text,
        words=words,
    )


def _speaker(utterance: Mapping[str, Any]) -> object:
    # `additions.speaker` is where v1 and the flash example put it; some answers carry a
    # top-level `speaker` instead. Either way an opaque id, renamed SPEAKER_n in order
    # of appearance like every provider's.
    additions = utterance.get("additions") or {}
    speaker = additions.get("speaker") if isinstance(additions, Mapping) else None
    return utterance.get("speaker") if speaker is None else speaker


def _duration_seconds(document: Mapping[str, Any]) -> float | None:
    candidates = [
        (document.get("audio_info") or {}).get("duration"),
        ((document.get("result") or {}).get("additions") or {}).get("duration"),
    ]
    for value in candidates:
        try:
            if value is not None and float(value) > 0:
                return float(value) / 1000.0
        except (TypeError, ValueError):
            continue
    return None


def _seconds(milliseconds: Any) -> float:
    return round(int(milliseconds) / 1000.0, 3)
