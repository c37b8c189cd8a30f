"""A fake Azure AI Speech fast-transcription endpoint, from the documentation.

Protocol (providers.md §3, the 2024-11-15 swagger and fast-transcription-create.md):
`POST /speechtotext/transcriptions:transcribe?api-version=2024-11-15|2025-10-15`,
header `Ocp-Apim-Subscription-Key`, `multipart/form-data` with an `audio` part (the
file) and a `definition` part (a JSON string: locales, diarization {enabled,
maxSpeakers 2..35}, channels, profanityFilterMode, phraseList {phrases} from
2025-10-15). The answer is `{durationMilliseconds, combinedPhrases, phrases[]}`;
errors are top-level `{code, message, innerError}`; throttling is 429.

The fake is strict where the documentation is silent: unknown `definition` fields
(including `phraseList` under 2024-11-15) are refused with 400 InvalidRequest.
`durationMilliseconds` is read from the uploaded FLAC/WAV, so tests know it exactly.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.harness.vendors.audio import audio_seconds
from tests.harness.vendors.http_fake import FakeVendor, Fault, Recorded, Reply

PATH = "/speechtotext/transcriptions:transcribe"
_FIELDS = {"locales", "diarization", "channels", "profanityFilterMode", "models"}
API_VERSIONS: dict[str, set[str]] = {
    "2024-11-15": _FIELDS,
    "2025-10-15": _FIELDS | {"phraseList", "audioUrl"},
}
_LOCALE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")


@dataclass(frozen=True)
class Phrase:
    """One phrase of the scripted answer; words are the text split evenly when None."""

    speaker: int
    offset_ms: int
    duration_ms: int
    text: str
    locale: str = ""
    confidence: float = 0.9


# jfk.flac, as two speakers would say it (speaker ids are not ordered, as in the doc).
DEFAULT_SCRIPT: tuple[Phrase, ...] = (
    Phrase(1, 320, 3120, "And so, my fellow Americans,"),
    Phrase(0, 3900, 4100, "ask not what your country can do for you,"),
    Phrase(1, 8300, 2500, "ask what you can do for your country."),
)


@dataclass
class Transcription:
    """What one accepted request asked for."""

    key: str
    api_version: str
    definition: dict[str, Any]
    audio_bytes: int
    audio_content_type: str


class FakeAzureSpeech(FakeVendor):
    """Fast transcription for the given subscription keys.

    Args:
        keys: Accepted `Ocp-Apim-Subscription-Key` values.
        script: The phrases every transcription answers with.
        max_bytes: Larger audio is refused (400 InvalidArgument).
    """

    def __init__(
        self,
        *,
        keys: Sequence[str],
        script: Sequence[Phrase] = DEFAULT_SCRIPT,
        max_bytes: int = 200 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.keys = set(keys)
        self.script = list(script)
        self.max_bytes = max_bytes
        self.transcriptions: list[Transcription] = []

    # ------------------------------------------------------------ knobs

    def throttle(
        self, *, retry_after: float = 1, key: str | None = None, times: int | None = 1
    ) -> None:
        """429 TooManyRequests with `Retry-After`."""
        self.inject(
            None,
            Fault.answer(
                _error(
                    429,
                    "TooManyRequests",
                    "Too many requests.",
                    {"Retry-After": f"{retry_after:g}"},
                )
            ),
            key=key,
            times=times,
        )

    def server_error(
        self, *, status: int = 503, times: int | None = 1, retry_after: float | None = None
    ) -> None:
        code = "ServiceUnavailable" if status == 503 else "InternalServerError"
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self.inject(
            None, Fault.answer(_error(status, code, "The service is busy.", headers)), times=times
        )

    def refuse_audio(self, *, code: str = "InvalidArgument", times: int | None = 1) -> None:
        status = 415 if code == "UnsupportedMediaType" else 400
        self.inject(
            None,
            Fault.answer(
                _error(
                    status,
                    code,
                    "The audio could not be decoded.",
                    inner=("InvalidAudioFormat", "Audio format not supported."),
                )
            ),
            times=times,
        )

    def fail(
        self, status: int, body: dict[str, Any], *, times: int | None = 1, key: str | None = None
    ) -> None:
        self.inject(None, Fault.answer(Reply.json(body, status=status)), times=times, key=key)

    # ------------------------------------------------------------ protocol

    def key_of(self, request: Recorded) -> str | None:
        return request.headers.get("ocp-apim-subscription-key")

    def handle(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != PATH:
            return _error(404, "NotFound", f"No route for {request.method} {request.path}.")
        version = request.param("api-version") or ""
        if version not in API_VERSIONS:
            return _error(400, "InvalidRequest", f"Unsupported api-version {version!r}.")
        if request.key not in self.keys:
            return _error(401, "Unauthorized", "Access denied due to invalid subscription key.")
        parts = _multipart(request)
        if parts is None:
            return _error(400, "InvalidRequest", "Expected multipart/form-data.")
        unknown = set(parts) - {"audio", "definition"}
        if unknown or "definition" not in parts:
            return _error(
                400,
                "InvalidRequest",
                f"Expected parts 'audio' and 'definition', got {sorted(parts)}.",
            )
        try:
            definition = json.loads(parts["definition"][0])
        except ValueError:
            return _error(400, "InvalidRequest", "definition is not JSON.")
        problem = _check_definition(definition, API_VERSIONS[version])
        if problem:
            return _error(400, "InvalidRequest", problem)
        if "audio" not in parts:
            if "audioUrl" in definition:
                return _error(400, "InvalidRequest", "The fake cannot fetch audioUrl.")
            return _error(400, "InvalidRequest", "No audio part.")
        audio, content_type = parts["audio"]
        if len(audio) > self.max_bytes:
            return _error(400, "InvalidArgument", "The audio file is too large.")
        seconds = audio_seconds(audio)
        if seconds is None:
            return _error(
                400,
                "InvalidArgument",
                "The audio format is not supported.",
                inner=("InvalidAudioFormat", "Audio format not supported."),
            )
        assert request.key is not None
        self.transcriptions.append(
            Transcription(request.key, version, definition, len(audio), content_type)
        )
        return Reply.json(
            self._answer(definition, seconds), headers={"apim-request-id": str(uuid.uuid4())}
        )

    def _answer(self, definition: dict[str, Any], seconds: float) -> dict[str, Any]:
        diarized = bool(definition.get("diarization", {}).get("enabled"))
        locales = definition.get("locales") or ["en-US"]
        phrases = []
        for phrase in self.script:
            item: dict[str, Any] = {
                "offsetMilliseconds": phrase.offset_ms,
                "durationMilliseconds": phrase.duration_ms,
                "text": phrase.text,
                "locale": phrase.locale or locales[0],
                "confidence": phrase.confidence,
                "words": _words(phrase),
            }
            if diarized:
                item["speaker"] = phrase.speaker
            phrases.append(item)
        return {
            "durationMilliseconds": round(seconds * 1000),
            "combinedPhrases": [{"text": " ".join(p.text for p in self.script)}],
            "phrases": phrases,
        }


def _words(phrase: Phrase) -> list[dict[str, Any]]:
    texts = phrase.text.split()
    step = phrase.duration_ms // max(len(texts), 1)
    return [
        {
            "text": text,
            "offsetMilliseconds": phrase.offset_ms + k * step,
            "durationMilliseconds": step,
        }
        for k, text in enumerate(texts)
    ]


def _check_definition(definition: Any, fields: set[str]) -> str:
    if not isinstance(definition, dict):
        return "definition must be a JSON object."
    unknown = set(definition) - fields
    if unknown:
        return f"Unknown definition properties {sorted(unknown)} for this api-version."
    locales = definition.get("locales", [])
    if not isinstance(locales, list) or not all(
        isinstance(x, str) and _LOCALE.match(x) for x in locales
    ):
        return f"Invalid locales {locales!r}."
    diarization = definition.get("diarization")
    if diarization is not None:
        if (
            not isinstance(diarization, dict)
            or set(diarization) - {"enabled", "maxSpeakers"}
            or not isinstance(diarization.get("enabled"), bool)
        ):
            return f"Invalid diarization {diarization!r}."
        speakers = diarization.get("maxSpeakers")
        if speakers is not None and (not isinstance(speakers, int) or not 2 <= speakers <= 35):
            return "diarization.maxSpeakers must be between 2 and 35."
        if diarization.get("enabled") and len(definition.get("channels") or []) > 1:
            return "Diarization cannot be combined with several channels."
    mode = definition.get("profanityFilterMode", "Masked")
    if mode not in ("None", "Masked", "Removed", "Tags"):
        return f"Invalid profanityFilterMode {mode!r}."
    phrase_list = definition.get("phraseList")
    if phrase_list is not None:
        phrases = phrase_list.get("phrases") if isinstance(phrase_list, dict) else None
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
            return "phraseList.phrases must be a list of non-empty strings."
    return ""


def _multipart(request: Recorded) -> dict[str, tuple[bytes, str]] | None:
    """Parts of a multipart/form-data body by name: (bytes, content type)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
    )
    if not message.is_multipart():
        return None
    parts: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (payload, part.get_content_type())
    return parts


def _error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    inner: tuple[str, str] | None = None,
) -> Reply:
    body: dict[str, Any] = {"code": code, "message": message}
    if inner:
        body["innerError"] = {"code": inner[0], "message": inner[1]}
    return Reply.json(body, status=status, headers=headers)
