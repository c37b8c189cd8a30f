"""A fake Gemini Developer API (v1beta): generateContent and the Files API.

Protocol (providers.md §4; ai.google.dev docs on audio, files, structured output and
API errors; googleapis/python-genai `files.py` for the upload headers):

- Auth: `x-goog-api-key` header (or `?key=`). An unknown key is 400 INVALID_ARGUMENT
  with ErrorInfo reason API_KEY_INVALID; no key at all is 403 PERMISSION_DENIED.
- `POST /v1beta/models/{model}:generateContent`: `contents[].parts[]` each holding one
  of text / inlineData {mimeType, data} / fileData {mimeType, fileUri};
  `systemInstruction`; `generationConfig` with `responseMimeType`
  `application/json` and either `responseSchema` (OpenAPI subset, upper-case types)
  or `responseJsonSchema`, not both. Requests over 20 MB are refused.
- Answers `{candidates[{content{role, parts[{text}]}, finishReason}], usageMetadata,
  modelVersion, responseId}`. Usage is computed, so tests know it: text tokens are
  characters / 4 rounded up, audio tokens 32 a second of the audio sent.
- Files: `POST /upload/v1beta/files` with `X-Goog-Upload-Protocol: resumable`,
  `-Command: start`, `-Header-Content-Length`, `-Header-Content-Type` → 200 and
  `X-Goog-Upload-URL`; bytes to that URL with `-Command: upload, finalize` and
  `-Offset: 0` → `{"file": {...}}` and `X-Goog-Upload-Status: final`;
  `GET /v1beta/files/{id}` (PROCESSING → ACTIVE); `DELETE /v1beta/files/{id}`.
  A file belongs to the key that uploaded it (its project); others get 403.
  `GET /v1beta/files?pageSize=&pageToken=` (files.list,
  ai.google.dev/api/rest/v1beta/files/list): the project's files, `pageSize` default
  10 and at most 100, answered as `{files: [...], nextPageToken}` (no token on the
  last page; an empty project answers `{}`).
- Errors `{"error": {code, message, status, details}}`; 429 carries QuotaFailure
  (quotaId …PerMinute… / …PerDay…), Help and RetryInfo {retryDelay: "47s"}.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.harness.vendors.audio import audio_seconds
from tests.harness.vendors.http_fake import FakeVendor, Fault, Recorded, Reply
from tests.harness.vendors.llm import estimate_tokens, instance_of

AUDIO_MIME_TYPES = {"audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac"}
SCHEMA_FIELDS = {
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "propertyOrdering",
}
SCHEMA_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"}
GENERATION_FIELDS = {
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "thinkingConfig",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
}
REQUEST_FIELDS = {
    "contents",
    "systemInstruction",
    "generationConfig",
    "safetySettings",
    "tools",
    "toolConfig",
    "cachedContent",
}
_GENERATE = re.compile(r"^/v1beta/models/([^/:]+):generateContent$")
_FILE = re.compile(r"^/v1beta/(files/[a-z0-9-]+)$")
_QUOTA_IDS = {
    "minute": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
    "day": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
}

# jfk.flac as two speakers would say it: the ASR answer's segments.
DEFAULT_SEGMENTS: tuple[dict[str, Any], ...] = (
    {"speaker": "Speaker 1", "start": 0.3, "end": 3.4, "text": "And so, my fellow Americans,"},
    {
        "speaker": "Speaker 2",
        "start": 3.9,
        "end": 8.0,
        "text": "ask not what your country can do for you,",
    },
    {
        "speaker": "Speaker 1",
        "start": 8.3,
        "end": 10.8,
        "text": "ask what you can do for your country.",
    },
)


class _Refusal(Exception):
    """An answer other than 400 INVALID_ARGUMENT found while checking a request."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


@dataclass
class StoredFile:
    name: str
    key: str
    mime_type: str
    declared_size: int
    display_name: str
    data: bytearray = field(default_factory=bytearray)
    state: str = "PROCESSING"
    finalized: bool = False
    polls_left: int = 0
    deleted: bool = False
    create_time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def resource(self, base_url: str) -> dict[str, Any]:
        created = _rfc3339(self.create_time)
        return {
            "name": self.name,
            "displayName": self.display_name,
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.data)),
            "createTime": created,
            "updateTime": created,
            "expirationTime": _rfc3339(self.create_time + timedelta(hours=48)),
            "sha256Hash": "",
            "uri": f"{base_url}/v1beta/{self.name}",
            "state": self.state,
            "source": "UPLOADED",
        }


@dataclass
class Generation:
    """One accepted generateContent request."""

    key: str
    model: str
    body: dict[str, Any]
    audio_seconds: float
    answer: str


class FakeGemini(FakeVendor):
    """Gemini for the given API keys.

    Args:
        keys: Valid API keys; each is its own project (files are not shared).
        models: Served model ids.
        segments: What an audio request is answered with (`{"segments": [...]}`).
        answers: Texts (or JSON values) text-only requests are answered with, in order;
            once spent, an instance built from the response schema.
        thoughts_tokens: `thoughtsTokenCount` of every answer.
        processing_polls: GETs a new file answers PROCESSING before ACTIVE.
        max_request_bytes: Larger generateContent bodies are refused (20 MB).
    """

    def __init__(
        self,
        *,
        keys: Sequence[str],
        models: Sequence[str] = ("gemini-2.5-flash",),
        segments: Sequence[dict[str, Any]] = DEFAULT_SEGMENTS,
        answers: Sequence[Any] = (),
        thoughts_tokens: int = 0,
        processing_polls: int = 0,
        max_request_bytes: int = 20 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.keys = set(keys)
        self.models = set(models)
        self.segments = list(segments)
        self.answers = list(answers)
        self.thoughts_tokens = thoughts_tokens
        self.processing_polls = processing_polls
        self.max_request_bytes = max_request_bytes
        self.files: dict[str, StoredFile] = {}
        self.generations: list[Generation] = []
        self._sessions: dict[str, str] = {}  # upload id → file name
        self.fail_processing = False
        # Set when a client first polls a file still PROCESSING (a test's cue to act).
        self.polled_processing = threading.Event()

    # ------------------------------------------------------------ knobs

    def quota(
        self,
        scope: str = "minute",
        *,
        retry_delay: str = "1s",
        key: str | None = None,
        times: int | None = 1,
    ) -> None:
        """429 RESOURCE_EXHAUSTED with QuotaFailure (per-minute or per-day), Help and
        RetryInfo, details in the order real answers show them."""
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": _QUOTA_IDS[scope],
                        "quotaDimensions": {"model": "gemini-2.5-flash", "location": "global"},
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
        ]
        self.inject(
            "generateContent",
            Fault.answer(
                _error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    f"You exceeded your current quota. Please retry in {retry_delay}.",
                    details,
                )
            ),
            key=key,
            times=times,
        )

    def credits_exhausted(self, *, key: str | None = None, times: int | None = None) -> None:
        self.inject(
            "generateContent",
            Fault.answer(_error(402, "RESOURCE_EXHAUSTED", "Your prepaid credits are exhausted.")),
            key=key,
            times=times,
        )

    def server_error(self, *, status: int = 503, times: int | None = 1) -> None:
        names = {500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
        self.inject(
            "generateContent",
            Fault.answer(
                _error(
                    status,
                    names.get(status, "INTERNAL"),
                    "The model is overloaded. Please try again later.",
                )
            ),
            times=times,
        )

    def block_prompt(self, *, times: int | None = 1) -> None:
        self.inject(
            "generateContent",
            Fault.answer(
                Reply.json(
                    {
                        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                        "usageMetadata": {"promptTokenCount": 10, "totalTokenCount": 10},
                        "modelVersion": "gemini-2.5-flash",
                        "responseId": "blocked",
                    },
                )
            ),
            times=times,
        )

    def finish(self, reason: str, *, text: str = '{"segments": [', times: int | None = 1) -> None:
        """Answer with `finishReason` `reason` (SAFETY, MAX_TOKENS, …) and a cut text."""
        self.inject(
            "generateContent",
            Fault.answer(
                Reply.json(
                    {
                        "candidates": [
                            {
                                "content": {"role": "model", "parts": [{"text": text}]},
                                "finishReason": reason,
                                "index": 0,
                            }
                        ],
                        "usageMetadata": {
                            "promptTokenCount": 100,
                            "candidatesTokenCount": 8192,
                            "totalTokenCount": 8292,
                        },
                        "modelVersion": "gemini-2.5-flash",
                        "responseId": "cut",
                    },
                )
            ),
            times=times,
        )

    def expire(self, name: str) -> None:
        """The file is gone (48 h passed)."""
        self.files[name].deleted = True

    def plant(
        self, key: str, *, display_name: str, age: timedelta, state: str = "ACTIVE"
    ) -> StoredFile:
        """A file uploaded `age` ago under `key`'s project, as a killed worker leaves it."""
        name = f"files/{uuid.uuid4().hex[:12]}"
        stored = StoredFile(
            name,
            key,
            "audio/flac",
            4,
            display_name,
            bytearray(b"fLaC"),
            state=state,
            finalized=True,
            create_time=datetime.now(UTC) - age,
        )
        self.files[name] = stored
        return stored

    def live_files(self, key: str | None = None) -> list[StoredFile]:
        """Files still at the vendor (uploaded, not deleted), of one project or all."""
        return [
            f
            for f in self.files.values()
            if f.finalized and not f.deleted and (key is None or f.key == key)
        ]

    # ------------------------------------------------------------ protocol

    def key_of(self, request: Recorded) -> str | None:
        return request.headers.get("x-goog-api-key") or request.param("key")

    def endpoint_of(self, request: Recorded) -> str | None:
        return "generateContent" if request.path.endswith(":generateContent") else None

    def handle(self, request: Recorded) -> Reply:
        if request.path == "/upload/v1beta/files" and request.method == "POST":
            if request.param("upload_id"):
                return self._upload(request)
            return self._start_upload(request)
        if request.key is None:
            return _error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without "
                "established identity). Please use API Key or other form of API "
                "consumer identity to call this API.",
            )
        if request.key not in self.keys:
            return _invalid_key()
        match = _GENERATE.match(request.path)
        if match and request.method == "POST":
            return self._generate(request, match.group(1))
        if request.path == "/v1beta/files" and request.method == "GET":
            return self._list_files(request)
        match = _FILE.match(request.path)
        if match and request.method in ("GET", "DELETE"):
            return self._file(request, match.group(1))
        return _error(404, "NOT_FOUND", f"No route for {request.method} {request.path}")

    # ------------------------------------------------------------ generateContent

    def _generate(self, request: Recorded, model: str) -> Reply:
        if model not in self.models:
            return _error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version "
                "v1beta, or is not supported for generateContent.",
            )
        if len(request.body) > self.max_request_bytes:
            return _error(
                400,
                "INVALID_ARGUMENT",
                f"Request payload size exceeds the limit: {self.max_request_bytes} bytes.",
            )
        try:
            body = request.json()
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        assert request.key is not None
        try:
            problem, audio, texts = self._check_request(body, request.key)
        except _Refusal as refusal:
            return refusal.reply
        if problem:
            return _error(400, "INVALID_ARGUMENT", problem)
        config = body.get("generationConfig", {})
        if audio > 0:
            answer = json.dumps({"segments": self.segments}, ensure_ascii=False)
        elif self.answers:
            next_answer = self.answers.pop(0)
            answer = (
                next_answer
                if isinstance(next_answer, str)
                else json.dumps(next_answer, ensure_ascii=False)
            )
        else:
            schema = config.get("responseSchema") or config.get("responseJsonSchema") or {}
            answer = json.dumps(instance_of(schema), ensure_ascii=False)
        self.generations.append(Generation(request.key, model, body, audio, answer))
        text_tokens = sum(estimate_tokens(t) for t in texts)
        audio_tokens = round(audio * 32)
        details = [{"modality": "TEXT", "tokenCount": text_tokens}]
        if audio_tokens:
            details.append({"modality": "AUDIO", "tokenCount": audio_tokens})
        output = estimate_tokens(answer)
        prompt = text_tokens + audio_tokens
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output + self.thoughts_tokens,
            "promptTokensDetails": details,
        }
        if self.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.thoughts_tokens
        return Reply.json(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": answer}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": usage,
                "modelVersion": model,
                "responseId": uuid.uuid4().hex[:22],
            },
        )

    def _check_request(self, body: Any, key: str) -> tuple[str, float, list[str]]:
        """(problem, seconds of audio, texts) of a generateContent body."""
        if not isinstance(body, dict):
            return "Invalid JSON payload received.", 0.0, []
        unknown = set(body) - REQUEST_FIELDS
        if unknown:
            return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}".', 0, []
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified", 0.0, []
        texts: list[str] = []
        audio = 0.0
        parts: list[Any] = []
        for content in contents:
            if (
                not isinstance(content, dict)
                or content.get("role", "user") not in ("user", "model")
                or not isinstance(content.get("parts"), list)
                or not content["parts"]
            ):
                return "* GenerateContentRequest.contents: bad content", 0.0, []
            parts.extend(content["parts"])
        system = body.get("systemInstruction")
        if system is not None:
            if not isinstance(system, dict) or not isinstance(system.get("parts"), list):
                return "* GenerateContentRequest.system_instruction: bad content", 0.0, []
            parts.extend(system["parts"])
        for part in parts:
            problem, seconds, text = self._check_part(part, key)
            if problem:
                return problem, 0.0, []
            audio += seconds
            if text:
                texts.append(text)
        config = body.get("generationConfig", {})
        problem = _check_config(config)
        return problem, audio, texts

    def _check_part(self, part: Any, key: str) -> tuple[str, float, str]:
        kinds = [
            k for k in ("text", "inlineData", "fileData") if isinstance(part, dict) and k in part
        ]
        if len(kinds) != 1 or len(part) != 1:
            return "* GenerateContentRequest.contents.parts: exactly one data field", 0.0, ""
        if kinds == ["text"]:
            text = part["text"]
            return (
                ("", 0.0, text)
                if isinstance(text, str) and text
                else ("* GenerateContentRequest.contents.parts.text: empty", 0.0, "")
            )
        if kinds == ["inlineData"]:
            data = part["inlineData"]
            if not isinstance(data, dict) or data.get("mimeType") not in AUDIO_MIME_TYPES:
                return "Unsupported MIME type in inlineData.", 0.0, ""
            try:
                raw = base64.b64decode(str(data.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                return "Invalid value at 'contents.parts.inline_data.data' (TYPE_BYTES)", 0, ""
            seconds = audio_seconds(raw)
            if seconds is None:
                return "The audio could not be processed.", 0.0, ""
            return "", seconds, ""
        ref = part["fileData"]
        uri = ref.get("fileUri") if isinstance(ref, dict) else None
        name = str(uri).split("/v1beta/", 1)[-1] if uri else ""
        stored = self.files.get(name)
        if stored is None or stored.deleted or stored.key != key:
            raise _Refusal(
                _error(
                    403,
                    "PERMISSION_DENIED",
                    f"You do not have permission to access the File {name} or it may not exist.",
                )
            )
        if stored.state != "ACTIVE":
            raise _Refusal(
                _error(
                    400,
                    "FAILED_PRECONDITION",
                    f"The File {name} is not in an ACTIVE state and usage is not allowed.",
                )
            )
        seconds = audio_seconds(bytes(stored.data)) or 0.0
        return "", seconds, ""

    # ------------------------------------------------------------ Files API

    def _start_upload(self, request: Recorded) -> Reply:
        if request.key not in self.keys:
            return _invalid_key()
        h = request.headers
        if (
            h.get("x-goog-upload-protocol") != "resumable"
            or h.get("x-goog-upload-command") != "start"
        ):
            return _error(400, "INVALID_ARGUMENT", "Expected a resumable upload start.")
        length = h.get("x-goog-upload-header-content-length", "")
        mime = h.get("x-goog-upload-header-content-type", "")
        if not length.isdigit() or int(length) <= 0 or not mime:
            return _error(
                400,
                "INVALID_ARGUMENT",
                "Missing X-Goog-Upload-Header-Content-Length or -Content-Type.",
            )
        display = ""
        if request.body:
            try:
                meta = request.json()
            except ValueError:
                return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
            file_meta = meta.get("file", {}) if isinstance(meta, dict) else None
            if not isinstance(file_meta, dict) or set(file_meta) - {"display_name", "displayName"}:
                return _error(400, "INVALID_ARGUMENT", "Invalid file metadata.")
            display = str(file_meta.get("display_name") or file_meta.get("displayName") or "")
        upload_id = uuid.uuid4().hex
        name = f"files/{uuid.uuid4().hex[:12]}"
        assert request.key is not None
        self.files[name] = StoredFile(
            name, request.key, mime, int(length), display, polls_left=self.processing_polls
        )
        self._sessions[upload_id] = name
        return Reply(
            200,
            {
                "X-Goog-Upload-URL": f"{self.base_url}/upload/v1beta/files?upload_id={upload_id}"
                "&upload_protocol=resumable",
                "X-Goog-Upload-Status": "active",
            },
        )

    def _upload(self, request: Recorded) -> Reply:
        name = self._sessions.get(request.param("upload_id") or "")
        stored = self.files.get(name or "")
        if stored is None or stored.finalized:
            return _error(404, "NOT_FOUND", "Upload session not found.")
        if request.key is not None and request.key != stored.key:
            return _error(403, "PERMISSION_DENIED", "The upload belongs to another caller.")
        h = request.headers
        commands = {c.strip() for c in h.get("x-goog-upload-command", "").split(",")}
        if not commands or not commands <= {"upload", "finalize"}:
            return _error(400, "INVALID_ARGUMENT", "Bad X-Goog-Upload-Command.")
        if h.get("x-goog-upload-offset") != str(len(stored.data)):
            return _error(400, "INVALID_ARGUMENT", "X-Goog-Upload-Offset does not match.")
        stored.data.extend(request.body)
        if "finalize" not in commands:
            return Reply(200, {"X-Goog-Upload-Status": "active"})
        if len(stored.data) != stored.declared_size:
            return _error(
                400,
                "INVALID_ARGUMENT",
                "Upload size differs from the declared X-Goog-Upload-Header-Content-Length.",
            )
        stored.finalized = True
        if stored.polls_left <= 0:
            stored.state = "FAILED" if self.fail_processing else "ACTIVE"
        return Reply.json(
            {"file": stored.resource(self.base_url)}, headers={"X-Goog-Upload-Status": "final"}
        )

    def _list_files(self, request: Recorded) -> Reply:
        size_text = request.param("pageSize") or "10"
        if not size_text.isdigit():
            return _error(400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32)")
        size = min(int(size_text) or 10, 100)
        token = request.param("pageToken") or ""
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except (ValueError, binascii.Error):
            return _error(400, "INVALID_ARGUMENT", "Invalid page token.")
        files = self.live_files(request.key)
        page = files[start : start + size]
        body: dict[str, Any] = {}
        if page:
            body["files"] = [f.resource(self.base_url) for f in page]
        if start + size < len(files):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return Reply.json(body)

    def _file(self, request: Recorded, name: str) -> Reply:
        stored = self.files.get(name)
        if stored is None or stored.deleted or stored.key != request.key:
            return _error(
                403,
                "PERMISSION_DENIED",
                f"You do not have permission to access the File {name} or it may not exist.",
            )
        if request.method == "DELETE":
            stored.deleted = True
            return Reply.json({})
        if stored.state == "PROCESSING":
            self.polled_processing.set()
            stored.polls_left -= 1
            if stored.polls_left < 0:
                stored.state = "FAILED" if self.fail_processing else "ACTIVE"
        return Reply.json(stored.resource(self.base_url))


def _rfc3339(moment: datetime) -> str:
    """As Google writes timestamps: UTC, nanosecond digits, a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def _check_config(config: Any) -> str:
    if not isinstance(config, dict):
        return "* GenerateContentRequest.generation_config: bad value"
    unknown = set(config) - GENERATION_FIELDS
    if unknown:
        return (
            f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at '
            "'generation_config'."
        )
    has_schema = "responseSchema" in config
    if has_schema and "responseJsonSchema" in config:
        return "responseSchema and responseJsonSchema cannot both be set."
    if (has_schema or "responseJsonSchema" in config) and config.get(
        "responseMimeType"
    ) != "application/json":
        return "response_mime_type must be application/json to use a response schema."
    if has_schema:
        return _check_schema(config["responseSchema"], "response_schema")
    return ""


def _check_schema(schema: Any, path: str) -> str:
    if not isinstance(schema, dict):
        return f"* {path}: must be an object"
    unknown = set(schema) - SCHEMA_FIELDS
    if unknown:
        return (
            f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at '
            f"'generation_config.{path}'."
        )
    kind = schema.get("type")
    if kind not in SCHEMA_TYPES:
        return (
            f"Invalid value at 'generation_config.{path}.type' "
            f"(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), {kind!r}"
        )
    if kind == "OBJECT":
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return f"* {path}.properties: should be non-empty for OBJECT type"
        for name in schema.get("required", []):
            if name not in properties:
                return f"* {path}.required[{name}]: property is not defined"
        for name in schema.get("propertyOrdering", []):
            if name not in properties:
                return f"* {path}.property_ordering[{name}]: property is not defined"
        for name, sub in properties.items():
            problem = _check_schema(sub, f"{path}.properties[{name}]")
            if problem:
                return problem
    if kind == "ARRAY":
        if "items" not in schema:
            return f"* {path}.items: missing field."
        return _check_schema(schema["items"], f"{path}.items")
    return ""


def _invalid_key() -> Reply:
    return _error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    )


def _error(
    status: int, name: str, message: str, details: list[dict[str, Any]] | None = None
) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": name}
    if details:
        error["details"] = details
    return Reply.json({"error": error}, status=status)
