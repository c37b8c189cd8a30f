"""A fake Volcano Engine big-model recorded-audio API (v3), from providers.md §1a.

Standard: `submit` (audio by URL; the fake downloads it at once) and `query` with the
same `X-Api-Request-Id`; flash: one `recognize/flash` with the audio inline. Outcomes
travel in the `X-Api-Status-Code` header (20000000 done, 20000001 processing, 20000002
queued, 20000003 silent, 45000001 bad parameters, 45000002 empty audio, 45000151 bad
format, 550xxxxx server errors) with `X-Api-Message` and an `X-Tt-Logid`; bodies are
empty (submit), minimal (not finished: undocumented, so `{}`) or the documented result.

Authentication is checked exactly: `X-Api-App-Key` + `X-Api-Access-Key`, or the newer
single `X-Api-Key`; a wrong credential is HTTP 401, a resource not granted to it HTTP
401 with 45000010 (a third-party observation). A credential marked `exhaust`ed gets
HTTP 429 with a `Retry-After` until UTC midnight (the docs name no daily-quota code).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tests.harness.vendors.audio import audio_duration_ms, wav_data_bytes
from tests.harness.vendors.http_fake import FakeVendor, Fault, Recorded, Reply
from tests.harness.vendors.script import MEETING, Line

SUBMIT = "/api/v3/auc/bigmodel/submit"
QUERY = "/api/v3/auc/bigmodel/query"
FLASH = "/api/v3/auc/bigmodel/recognize/flash"
_ENDPOINTS = {SUBMIT: "submit", QUERY: "query", FLASH: "flash"}

SUCCESS = "20000000"
PROCESSING = "20000001"
QUEUED = "20000002"
SILENT = "20000003"
INVALID_PARAMS = "45000001"
EMPTY_AUDIO = "45000002"
GRANT_MISSING = "45000010"
BAD_FORMAT = "45000151"
INTERNAL = "55000000"

STANDARD_RESOURCES = ("volc.bigasr.auc", "volc.seedasr.auc")
FLASH_RESOURCES = ("volc.bigasr.auc_turbo",)
FLASH_MAX_BYTES = 100 * 1000 * 1000
MAX_HOTWORDS = 5000
_FORMATS = ("wav", "mp3", "ogg", "raw")
# The audio URL points at 127.0.0.1: never through a proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_FLAGS = (
    "enable_itn",
    "enable_punc",
    "enable_ddc",
    "enable_speaker_info",
    "enable_channel_split",
    "show_utterances",
    "vad_segment",
    "enable_lid",
    "enable_emotion_detection",
    "enable_gender_detection",
    "show_speech_rate",
    "show_volume",
)


@dataclass
class Task:
    credential: str
    resource: str
    body: dict[str, Any]
    audio: bytes
    polls: int = 0


class VolcengineFake(FakeVendor):
    """The fake API. Knobs:

    app_keys / api_keys: the credentials it accepts; `granted` narrows the resources a
        credential may use (every resource by default).
    pending_polls: queries of each task answered "queued" (first half) then
        "processing" before the result.
    outcome: "ok", or "silent" (20000003) for every task.
    speaker_field: where utterances carry the speaker, "additions" (`additions.speaker`)
        or "speaker" (a top-level `speaker`), both seen in the wild.
    """

    def __init__(
        self,
        *,
        app_keys: Mapping[str, str] | None = None,
        api_keys: Sequence[str] = ("api-key-1",),
        granted: Mapping[str, Sequence[str]] | None = None,
        pending_polls: int = 0,
        outcome: Literal["ok", "silent"] = "ok",
        speaker_field: Literal["additions", "speaker"] = "additions",
        script: Sequence[Line] = MEETING,
    ) -> None:
        super().__init__()
        self.app_keys = dict(
            app_keys if app_keys is not None else {"app-1": "access-1", "app-2": "access-2"}
        )
        self.api_keys = set(api_keys)
        self.granted = {k: set(v) for k, v in (granted or {}).items()}
        self.pending_polls = pending_polls
        self.outcome = outcome
        self.speaker_field = speaker_field
        self.script = tuple(script)
        self.tasks: dict[str, Task] = {}
        self.exhausted: set[str] = set()
        self.downloaded: list[str] = []
        self._tasks_lock = threading.Lock()

    def exhaust(self, credential: str) -> None:
        """Out of quota for the day: an app key or an API key."""
        self.exhausted.add(credential)

    # ------------------------------------------------------------------ dispatch

    def endpoint_of(self, request: Recorded) -> str | None:
        return _ENDPOINTS.get(request.path)

    def fault_reply(self, fault: Fault, endpoint: str | None) -> Reply:
        if fault.kind == "http":
            code = INTERNAL if fault.status >= 500 else ""
            return Reply(fault.status, {**_status_headers(code, "injected"), **fault.headers})
        if fault.kind == "code":
            return Reply.json({}, headers=_status_headers(fault.code, "injected"))
        if fault.kind == "malformed" and endpoint != "submit":
            return Reply(
                200,
                {**_status_headers(SUCCESS, "OK"), "Content-Type": "application/json"},
                b'{"audio_info": {"duration": 11000}, "result": {"utterances": [{"te',
            )
        # A submit's malformed answer has no status header at all: a gateway's page.
        return super().fault_reply(fault, endpoint)

    def handle(self, request: Recorded) -> Reply:
        endpoint = self.endpoint_of(request)
        if endpoint is None or request.method != "POST":
            return Reply(404)
        credential = self._credential(request)
        if credential is None:
            return Reply(401, _status_headers("", "invalid credentials"))
        resource = request.headers.get("x-api-resource-id", "")
        allowed = FLASH_RESOURCES if endpoint == "flash" else STANDARD_RESOURCES
        if resource not in allowed or resource not in self.granted.get(credential, {resource}):
            return Reply(
                401, _status_headers(GRANT_MISSING, "requested grant not found in SaaS storage")
            )
        if credential in self.exhausted:
            return Reply(
                429,
                {
                    **_status_headers("", "quota exceeded"),
                    "Retry-After": str(_seconds_to_midnight()),
                },
            )
        request_id = request.headers.get("x-api-request-id", "")
        if not request_id:
            return _status(INVALID_PARAMS, "X-Api-Request-Id is required")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _status(INVALID_PARAMS, "Content-Type must be application/json")
        if endpoint == "submit":
            return self._submit(request, credential, resource, request_id)
        if endpoint == "query":
            return self._query(request, credential)
        return self._flash(request)

    def _credential(self, request: Recorded) -> str | None:
        headers = request.headers
        if "x-api-key" in headers:
            key = headers["x-api-key"]
            return key if key in self.api_keys else None
        app, access = headers.get("x-api-app-key"), headers.get("x-api-access-key")
        if app is not None and access is not None and self.app_keys.get(app) == access:
            return app
        return None

    # ------------------------------------------------------------------ endpoints

    def _submit(self, request: Recorded, credential: str, resource: str, request_id: str) -> Reply:
        if request.headers.get("x-api-sequence") != "-1":
            return _status(INVALID_PARAMS, "X-Api-Sequence must be -1")
        body, problem = _body(request)
        if body is not None and problem is None:
            problem = _problem(body, flash=False)
        if body is None or problem is not None:
            return _status(INVALID_PARAMS, problem or "invalid body")
        with self._tasks_lock:
            if request_id in self.tasks:
                return _status(INVALID_PARAMS, "duplicate request id")
        url = body["audio"]["url"]
        try:
            with _NO_PROXY.open(url, timeout=5) as response:
                audio = response.read()
        except (urllib.error.URLError, OSError):
            return _status(INVALID_PARAMS, f"cannot download {url}")
        with self._tasks_lock:
            self.downloaded.append(url)
            self.tasks[request_id] = Task(credential, resource, body, audio)
        return Reply(200, _status_headers(SUCCESS, "OK"))

    def _query(self, request: Recorded, credential: str) -> Reply:
        body, problem = _body(request)
        if body is None or problem is not None:
            return _status(INVALID_PARAMS, problem or "invalid body")
        request_id = request.headers["x-api-request-id"]
        with self._tasks_lock:
            task = self.tasks.get(request_id)
            if task is None or task.credential != credential:
                return _status(INVALID_PARAMS, "request id not found")
            task.polls += 1
            polls = task.polls
        if polls <= self.pending_polls:
            code = QUEUED if polls <= math.ceil(self.pending_polls / 2) else PROCESSING
            return Reply.json({}, headers=_status_headers(code, "processing"))
        return self._outcome(task.body, task.audio)

    def _flash(self, request: Recorded) -> Reply:
        body, problem = _body(request)
        if body is not None and problem is None:
            problem = _problem(body, flash=True)
        if body is None or problem is not None:
            return _status(INVALID_PARAMS, problem or "invalid body")
        return self._outcome(body, base64.b64decode(body["audio"]["data"]))

    # ------------------------------------------------------------------ results

    def _outcome(self, body: dict[str, Any], audio: bytes) -> Reply:
        if self.outcome == "silent":
            return Reply.json({}, headers=_status_headers(SILENT, "silent audio"))
        if body["audio"]["format"] == "wav":
            samples = wav_data_bytes(audio)
            if samples is None:
                return _status(BAD_FORMAT, "audio format error")
            if samples == 0:
                return _status(EMPTY_AUDIO, "empty audio")
        duration = audio_duration_ms(audio) or 0
        options = body["request"]
        speakers = bool(options.get("enable_speaker_info"))
        result: dict[str, Any] = {
            "text": "".join(line.text for line in self.script),
            "additions": {"duration": str(duration)},
        }
        if options.get("show_utterances"):
            result["utterances"] = [self._utterance(line, speakers) for line in self.script]
        return Reply.json(
            {"audio_info": {"duration": duration}, "result": result},
            headers=_status_headers(SUCCESS, "OK"),
        )

    def _utterance(self, line: Line, speakers: bool) -> dict[str, Any]:
        utterance: dict[str, Any] = {
            "text": line.text,
            "start_time": line.start_ms,
            "end_time": line.end_ms,
            "definite": True,
            "words": [
                {
                    "text": t.text,
                    "start_time": t.start_ms,
                    "end_time": t.end_ms,
                    "blank_duration": 0,
                    "confidence": 0,
                }
                for t in line.tokens
                if not t.punctuation
            ],
        }
        if speakers:
            if self.speaker_field == "additions":
                utterance["additions"] = {"speaker": line.speaker}
            else:
                utterance["speaker"] = line.speaker
        return utterance


def _body(request: Recorded) -> tuple[dict[str, Any] | None, str | None]:
    try:
        body = json.loads(request.body)
    except ValueError:
        return None, "the body is not JSON"
    return (body, None) if isinstance(body, dict) else (None, "the body is not an object")


def _problem(body: dict[str, Any], *, flash: bool) -> str | None:
    """What the documented submit/flash body rules find wrong, or None."""
    audio, options = body.get("audio"), body.get("request")
    if not isinstance(audio, dict):
        return "audio is required"
    if flash:
        data = audio.get("data")
        if not isinstance(data, str):
            return "audio.data is required"
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return "audio.data is not base64"
        if len(decoded) > FLASH_MAX_BYTES:
            return "audio larger than 100 MB"
    else:
        url = audio.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return "audio.url is required"
    if audio.get("format") not in _FORMATS:
        return "audio.format must be one of wav, mp3, ogg, raw"
    if "codec" in audio and audio["codec"] not in ("raw", "opus"):
        return "audio.codec must be raw or opus"
    for field in ("rate", "bits", "channel"):
        if field in audio and not isinstance(audio[field], int):
            return f"audio.{field} must be an integer"
    language = audio.get("language", "")
    if not isinstance(language, str):
        return "audio.language must be a string"
    if not isinstance(options, dict) or options.get("model_name") != "bigmodel":
        return "request.model_name must be bigmodel"
    for flag in _FLAGS:
        if flag in options and not isinstance(options[flag], bool):
            return f"request.{flag} must be a boolean"
    if options.get("enable_speaker_info") and not options.get("show_utterances"):
        return "speaker info needs show_utterances"
    if "ssd_version" in options and not (
        options.get("enable_speaker_info") and language in ("", "zh-CN")
    ):
        return "ssd_version needs enable_speaker_info and zh-CN or empty language"
    return _corpus_problem(options.get("corpus"))


def _corpus_problem(corpus: Any) -> str | None:
    if corpus is None:
        return None
    if not isinstance(corpus, dict):
        return "request.corpus must be an object"
    context = corpus.get("context")
    if context is None:
        return None
    if not isinstance(context, str):
        return "request.corpus.context must be a JSON string"
    try:
        document = json.loads(context)
    except ValueError:
        return "request.corpus.context is not JSON"
    if not isinstance(document, dict):
        return "request.corpus.context must hold an object"
    if document.get("context_type") == "dialog_ctx":
        return None
    hotwords = document.get("hotwords")
    if not isinstance(hotwords, list) or len(hotwords) > MAX_HOTWORDS:
        return "corpus.context.hotwords must be a list of at most 5000"
    for hotword in hotwords:
        if (
            not isinstance(hotword, dict)
            or not isinstance(hotword.get("word"), str)
            or not hotword["word"]
        ):
            return 'each hotword is {"word": "..."}'
    return None


def _status_headers(code: str, message: str) -> dict[str, str]:
    headers = {"X-Tt-Logid": uuid.uuid4().hex[:24].upper(), "X-Api-Message": message}
    if code:
        headers["X-Api-Status-Code"] = code
    return headers


def _status(code: str, message: str) -> Reply:
    """A refusal as the docs describe it: HTTP 200, the code in the header, no body."""
    return Reply(200, _status_headers(code, message))


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))
