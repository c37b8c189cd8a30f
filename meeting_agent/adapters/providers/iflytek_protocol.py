"""iFlytek recorded-audio transcription (录音文件转写, `raasr` v2): what goes over the wire.

Pure functions, no I/O (`iflytek.py` does the HTTP): the `signa` signature, upload
parameters, the string `code` table, the order's `status`/`failType`, and the doubly
encoded result. Source: providers.md §2 (xfyun.cn/doc/asr/ifasr_new/API.html).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from meeting_agent.adapters.providers._asr_support import (
    PROVIDER_REJECTED_REQUEST,
    SpeakerLabels,
)
from meeting_agent.adapters.providers.asr_jobs import sanitize
from meeting_agent.adapters.providers.async_job import JobGone
from meeting_agent.adapters.providers.calls import (
    CallerError,
    KeyRejected,
    QuotaExceeded,
    Transient,
)
from meeting_agent.domain.models import Hotword, SpeakerCount, TranscriptSegment, Word
from meeting_agent.errors import Unavailable
from meeting_agent.text import join_tokens

__all__ = [
    "LANGUAGE_CODES",
    "MAX_BYTES",
    "MAX_SECONDS",
    "OrderGone",
    "OrderState",
    "auth_params",
    "check_code",
    "hotword_param",
    "hotwords_sent",
    "order_state",
    "parse_key",
    "parse_result",
    "signa",
    "upload_params",
    "vendor_language",
]

OK = "000000"
# Limits from the doc: "不超过500M", "不超过5小时".
MAX_BYTES = 500 * 1000 * 1000
MAX_SECONDS = 5 * 3600
MAX_HOTWORDS = 200
HOTWORD_MIN_CHARS = 2
HOTWORD_MAX_CHARS = 16
MAX_ROLES = 10

AUDIO_EMPTY = "AUDIO_EMPTY"
AUDIO_UNDECODABLE = "AUDIO_UNDECODABLE"
AUDIO_TOO_LONG = "AUDIO_TOO_LONG"
AUDIO_TOO_LARGE = "AUDIO_TOO_LARGE"
LANGUAGE_UNSUPPORTED = "LANGUAGE_UNSUPPORTED"

# BCP-47 → the doc's `language` values (its language table and its note on the
# multilingual model). Chinese regions that speak Cantonese map to cn_cantonese.
_LANGUAGES: dict[str, str] = {
    "zh": "cn",
    "zh-cn": "cn",
    "zh-sg": "cn",
    "zh-tw": "cn",
    "zh-hk": "cn_cantonese",
    "zh-mo": "cn_cantonese",
    "yue": "cn_cantonese",
    "ug": "cn_uyghur",
    "bo": "cn_tibetan",
    "en": "en",
    "ja": "ja",
    "ko": "ko",
    "ru": "ru",
    "fr": "fr",
    "es": "es",
    "vi": "vi",
    "ar": "ar",
    "de": "de",
    "it": "it",
    "pt": "pt",
    "th": "th",
    "hi": "hi",
}
LANGUAGE_CODES: tuple[str, ...] = tuple(sorted({c for c in _LANGUAGES if "-" not in c}))

# Codes that mean "not yet": 26605 task still processing, 26682 engine order processing.
_PENDING_CODES = frozenset({"26605", "26682"})
_CALLER_CODES: dict[str, str] = {
    "26606": AUDIO_EMPTY,
    "26610": PROVIDER_REJECTED_REQUEST,
    "26621": AUDIO_TOO_LARGE,
    "26631": AUDIO_TOO_LARGE,
    "26622": AUDIO_TOO_LONG,
    "26632": AUDIO_TOO_LONG,
    "26623": AUDIO_UNDECODABLE,
    "26643": AUDIO_UNDECODABLE,
    "26650": AUDIO_UNDECODABLE,
}
# "Out of purchased hours": this app is done until someone buys more; try the next key.
_HOURS_SPENT_CODES = frozenset({"26625", "26633"})
# The order cannot be read any more: unknown id, or the 100 getResult calls are used.
_ORDER_GONE_CODES = frozenset({"26602", "26604"})
# A rate limit carries no Retry-After; a short rest lets another key (or the same one,
# a little later) go on.
RATE_LIMIT_REST_SECONDS = 10.0


class OrderGone(JobGone):
    """The order can no longer give a result (unknown, read too often, failed upstream)."""


class OrderState(enum.Enum):
    DONE = "done"
    PENDING = "pending"
    SILENT = "silent"


def signa(app_id: str, secret_key: str, ts: str) -> str:
    """`Base64(HmacSHA1(secretKey, hex(MD5(appId + ts))))`, the doc's signature."""
    digest = hashlib.md5((app_id + ts).encode()).hexdigest()
    mac = hmac.new(secret_key.encode(), digest.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def parse_key(secret: str) -> tuple[str, str]:
    """`"<appId>:<secretKey>"` → (appId, secretKey); ValueError for anything else."""
    app_id, sep, secret_key = secret.partition(":")
    if not (sep and app_id and secret_key):
        raise ValueError("an iFlytek key is '<appId>:<secretKey>'")
    return app_id, secret_key


def auth_params(secret: str, ts: int) -> dict[str, str]:
    """The `appId`, `ts`, `signa` query parameters of one request."""
    app_id, secret_key = parse_key(secret)
    stamp = str(ts)
    return {"appId": app_id, "ts": stamp, "signa": signa(app_id, secret_key, stamp)}


def vendor_language(language_code: str, provider: str = "iflytek") -> str:
    """The `language` for a BCP-47 code; "" is the vendor's default, Chinese (with English).

    Raises `Unavailable` (`LANGUAGE_UNSUPPORTED`) for a language the doc does not list,
    so the pipeline fails over to a provider that may speak it.
    """
    parts = [p.lower() for p in language_code.replace("_", "-").split("-") if p]
    if not parts:
        return "cn"
    regions = [p for p in parts[1:] if len(p) == 2 and p.isalpha()]
    for key in ([f"{parts[0]}-{regions[0]}"] if regions else []) + [parts[0]]:
        if key in _LANGUAGES:
            return _LANGUAGES[key]
    raise Unavailable(
        f"{provider} does not transcribe {language_code!r}",
        reason=LANGUAGE_UNSUPPORTED,
        metadata={"provider": provider, "language_code": language_code},
    )


def hotword_param(hotwords: Sequence[Hotword]) -> str:
    """`hotWord`: words of 2–16 characters joined by `|`, at most 200; others are dropped."""
    kept: list[str] = []
    for hotword in hotwords:
        phrase = hotword.phrase.strip()
        if (
            HOTWORD_MIN_CHARS <= len(phrase) <= HOTWORD_MAX_CHARS
            and "|" not in phrase
            and phrase not in kept
        ):
            kept.append(phrase)
        if len(kept) == MAX_HOTWORDS:
            break
    return "|".join(kept)


def hotwords_sent(hotwords: Sequence[Hotword]) -> tuple[int, str]:
    """How many hotwords `hotWord` carries, and why not all."""
    words = hotword_param(hotwords)
    return (
        len(words.split("|")) if words else 0,
        f"hotWord takes words of {HOTWORD_MIN_CHARS}-{HOTWORD_MAX_CHARS} characters "
        f"without '|', at most {MAX_HOTWORDS}",
    )


def upload_params(
    *,
    file_name: str,
    file_size: int,
    duration_ms: int,
    language: str,
    diarization: bool,
    speaker_count: SpeakerCount | None,
    hotwords: Sequence[Hotword],
) -> dict[str, str]:
    """The upload's query parameters, authentication aside.

    `duration` is in milliseconds: the doc's example sends `duration=200` and reads it
    back as `originalDuration` (milliseconds).
    """
    params = {
        "fileName": file_name,
        "fileSize": str(file_size),
        "duration": str(duration_ms),
        "language": language,
    }
    if diarization:
        params["roleType"] = "1"
        # 0 asks the vendor to find the number of speakers itself ("盲分").
        exact = (
            speaker_count is not None
            and speaker_count.minimum == speaker_count.maximum
            and 1 <= speaker_count.maximum <= MAX_ROLES
        )
        params["roleNum"] = str(speaker_count.maximum) if exact and speaker_count else "0"
    words = hotword_param(hotwords)
    if words:
        params["hotWord"] = words
    return params


def check_code(
    document: Any, *, operation: str, rate_limit_rest_seconds: float = RATE_LIMIT_REST_SECONDS
) -> bool:
    """True when an answer is a success, False when the order is still processing.

    Raises:
        CallerError: the audio or the request is the problem (see `_CALLER_CODES`);
            `LANGUAGE_UNSUPPORTED` (precondition) when the language is not authorised.
        KeyRejected: 26601, an unknown app or a bad signature.
        QuotaExceeded: 26603 rate limited (minute, resting the key
            `rate_limit_rest_seconds`); 26625/26633 out of purchased hours (day).
        OrderGone: 26602/26604, the order cannot be read.
        Transient: an answer that is not the documented JSON, or any other code.
    """
    if not isinstance(document, Mapping) or "code" not in document:
        raise Transient(f"{operation}: the answer is not the documented JSON")
    code = str(document["code"])
    detail = f"{operation}: code {code} {sanitize(str(document.get('descInfo') or ''))}"
    if code == OK:
        return True
    if code in _PENDING_CODES:
        return False
    if code in _CALLER_CODES:
        raise CallerError(detail.rstrip(), reason=_CALLER_CODES[code])
    if code == "26607":
        raise CallerError(detail.rstrip(), reason=LANGUAGE_UNSUPPORTED, precondition=True)
    if code == "26601":
        raise KeyRejected(detail.rstrip())
    if code == "26603":
        raise QuotaExceeded(detail.rstrip(), scope="minute", retry_after=rate_limit_rest_seconds)
    if code in _HOURS_SPENT_CODES:
        raise QuotaExceeded(detail.rstrip(), scope="day")
    if code in _ORDER_GONE_CODES:
        raise OrderGone(detail.rstrip())
    # 26600 (general), 26634/26635 (download, length check), 2664x (upload), 26660
    # (metering), 2667x (result), 2668x (engine) and codes the doc does not list.
    raise Transient(detail.rstrip())


def order_state(content: Mapping[str, Any], *, operation: str) -> tuple[OrderState, float]:
    """Where an order stands, with the vendor's estimate of the time left (seconds).

    Raises what the order's `failType` means when `status` is -1: `CallerError` for the
    audio's faults, `OrderGone` for failures of the vendor's own pipeline.
    """
    info = content.get("orderInfo")
    if not isinstance(info, Mapping) or "status" not in info:
        raise Transient(f"{operation}: the answer has no orderInfo.status")
    estimate = _number(content.get("taskEstimateTime")) / 1000.0
    status = int(_number(info["status"]))
    if status == 4:
        return OrderState.DONE, 0.0
    if status != -1:
        return OrderState.PENDING, estimate  # 0 created, 3 processing
    fail_type = int(_number(info.get("failType")))
    detail = f"{operation}: the order failed (failType {fail_type})"
    if fail_type == 6:
        return OrderState.SILENT, 0.0
    if fail_type in (2, 3):
        raise CallerError(detail, reason=AUDIO_UNDECODABLE)
    if fail_type == 4:
        raise CallerError(detail, reason=AUDIO_TOO_LONG)
    if fail_type == 5:
        # "duration 对应的值与真实音频时长不符合要求": the `duration` we sent, not the audio.
        raise CallerError(detail, reason=PROVIDER_REJECTED_REQUEST)
    if fail_type in (7, 8, 9, 10, 11):
        # Translation or quality-check features, which we never ask for: the account's
        # configuration must change before this can succeed.
        raise CallerError(detail, reason=PROVIDER_REJECTED_REQUEST, precondition=True)
    # 1 upload failed, 99 other, or unknown: the vendor's side; a new upload may pass.
    raise OrderGone(detail)


def parse_result(content: Mapping[str, Any]) -> tuple[list[TranscriptSegment], float | None]:
    """Segments (unnumbered, unsorted) and the audio duration the vendor measured.

    `orderResult` is a JSON string whose `lattice[].json_1best` are JSON strings again.
    Raises `Transient` when the result does not have that shape.
    """
    info = content.get("orderInfo") or {}
    real_ms = _number(info.get("realDuration")) if isinstance(info, Mapping) else 0.0
    duration = real_ms / 1000.0 if real_ms > 0 else None
    raw = content.get("orderResult") or ""
    speakers = SpeakerLabels()
    try:
        document = json.loads(raw) if isinstance(raw, str) and raw else (raw or {})
        segments = []
        for item in document.get("lattice") or ():
            best = item["json_1best"]
            sentence = (json.loads(best) if isinstance(best, str) else best)["st"]
            segment = _segment(sentence, speakers)
            if segment is not None:
                segments.append(segment)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise Transient(f"the result has an unexpected shape ({type(exc).__name__})") from exc
    return segments, duration


def _segment(sentence: Mapping[str, Any], speakers: SpeakerLabels) -> TranscriptSegment | None:
    begin_ms = int(sentence["bg"])
    end_ms = max(int(sentence["ed"]), begin_ms)
    pieces: list[str] = []
    words: list[Word] = []
    rt = sentence.get("rt") or [{}]
    for token in rt[0].get("ws") or ():
        candidate = token["cw"][0]
        piece = str(candidate.get("w") or "").strip()
        kind = candidate.get("wp", "n")
        if not piece or kind == "g":  # "g" marks a paragraph break and carries no text
            continue
        pieces.append(piece)
        if kind == "p":  # punctuation joins the text, not the timed words
            continue
        # Frames of 10 ms from the sentence's start; zero frames mean "no timing"
        # (the doc gives word times for Chinese and English only).
        first, last = int(token.get("wb") or 0), int(token.get("we") or 0)
        if last > 0:
            start_ms = min(begin_ms + first * 10, end_ms)
            words.append(
                Word(
                    text=piece,
                    start=start_ms / 1000.0,
                    end=min(max(begin_ms + last * 10, start_ms), end_ms) / 1000.0,
                )
            )
    # English often comes a letter per token ("P", "o", …): joined, not spaced out.
    text = join_tokens(pieces)
    if not text:
        return None
    role = str(sentence.get("rl") or "0")
    # "0" is what the vendor says when roles are not separated.
    label = speakers(role) if role != "0" else ""
    return TranscriptSegment(
        index=0,
        speaker_label=label,
        start=begin_ms / 1000.0,
        end=end_ms / 1000.0,
        text=text,
        words=words,
    )


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
