"""Gemini (Developer API) as an ASR provider and as an LLM provider.

Both adapters use one `GeminiClient` (keys, base URL, error classes; see
`_gemini_client`). `GeminiAsr` sends the audio with a prompt and a response schema
of speaker-labelled segments; `GeminiLlm` answers prompts with JSON matching a schema.

What the documentation leaves open, and what these adapters do there:

- Inline audio up to 20 MB of request (the older, stricter figure; 100 MB in the 2026
  doc), configurable; above it the Files API.
- `totalTokenCount` with thinking: not used. Output = candidates + thoughts tokens,
  both billed as output.
- `responseSchema` (converted from our JSON Schema) by default; `responseJsonSchema`
  (the schema as is) when configured, for models that take it. Never both.
- The audio token split comes from `promptTokensDetails` (modality AUDIO); the billed
  audio seconds are those tokens / 32, or the audio's duration when Gemini gives no split.
"""

from __future__ import annotations

import base64
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from meeting_agent.adapters.audio.encode import CONTENT_TYPES
from meeting_agent.adapters.providers._asr_support import (
    SpeakerLabels,
    TakesAnyAudio,
    check_model,
    encoded_audio,
    finish_segments,
    load_json_checkpoint,
    over_limit,
    save_json_checkpoint,
)
from meeting_agent.adapters.providers._gemini_answers import (
    MAX_PROMPT_HOTWORDS,
    SEGMENTS_SCHEMA,
    BadSegments,
    GeminiUsage,
    parse_segments,
    prompt_terms,
    transcription_prompt,
)
from meeting_agent.adapters.providers._gemini_client import (
    CONTENT_BLOCKED,
    DEFAULT_BASE_URL,
    FileGone,
    GeminiClient,
)
from meeting_agent.adapters.providers._gemini_llm import GeminiLlm
from meeting_agent.adapters.providers._gemini_schema import to_gemini_schema
from meeting_agent.adapters.providers._llm_json import LlmOutputError
from meeting_agent.adapters.providers.calls import ApiKey, CallerError, Transient
from meeting_agent.domain.models import TranscriptSegment
from meeting_agent.errors import Unavailable
from meeting_agent.ports import (
    AsrRequest,
    AsrResult,
    CancellationCheck,
    Checkpoints,
    NormalizedAudio,
    ProgressReporter,
)

__all__ = [
    "CONTENT_BLOCKED",
    "DEFAULT_BASE_URL",
    "FILE_CHECKPOINT",
    "FILE_DISPLAY_PREFIX",
    "RESULT_CHECKPOINT",
    "SEGMENTS_SCHEMA",
    "GeminiAsr",
    "GeminiAsrResult",
    "GeminiClient",
    "GeminiLlm",
    "GeminiUsage",
    "LlmOutputError",
    "to_gemini_schema",
]

logger = logging.getLogger(__name__)

RESULT_CHECKPOINT = "gemini-result"
FILE_CHECKPOINT = "gemini-file"
# Every file we upload is named so; the sweep deletes only files whose displayName
# starts with it (`GeminiFileSweep`).
FILE_DISPLAY_PREFIX = "meeting-agent-asr-"
DISPLAY_NAME_MAX = 512
ASR_BAD_OUTPUT = "ASR_BAD_OUTPUT"
AUDIO_UNDECODABLE = "AUDIO_UNDECODABLE"
# Gemini counts audio at a fixed rate, whatever the encoding.
AUDIO_TOKENS_PER_SECOND = 32
# Base64 grows data by 4/3; the JSON around it and the prompt add a little.
_REQUEST_OVERHEAD_BYTES = 64 * 1024


@dataclass
class GeminiAsrResult(AsrResult):
    """An `AsrResult` that also says what the transcription cost in tokens: Gemini bills
    the audio as input tokens and the transcript as output tokens."""

    usage: GeminiUsage | None = None


class GeminiAsr(TakesAnyAudio):
    """Transcription by a Gemini model, speaker-labelled through a response schema.

    Args:
        client: The shared Gemini client (keys, endpoint, retries).
        model: The default model; `models` lists others a task may ask for.
        inline_limit_bytes: Requests up to this size carry the audio inline (base64);
            larger ones upload it through the Files API first.
        max_audio_seconds: Longer audio fails over (9.5 h per prompt per the doc; the
            answer's output-token limit usually binds earlier, see `max_output_tokens`).
        max_output_tokens: `maxOutputTokens`; a transcript cut at it is not used.
        temperature: 0 for the most literal transcript.
        thinking_budget: `thinkingConfig.thinkingBudget`; None leaves the model default.
        file_poll_seconds: Pause between polls of a file still PROCESSING.
        file_active_timeout_seconds: How long a file may stay PROCESSING.
        bad_output_retries: Further requests when an answer is not usable segments.
        audio_format: What we encode the audio to.
        work_dir: Where the encoded audio is written (the system temp dir when None).
    """

    def __init__(
        self,
        *,
        client: GeminiClient,
        model: str = "gemini-2.5-flash",
        models: Sequence[str] = (),
        inline_limit_bytes: int = 20 * 1024 * 1024,
        max_audio_seconds: float = 9.5 * 3600,
        max_output_tokens: int = 65_536,
        temperature: float = 0.0,
        thinking_budget: int | None = None,
        file_poll_seconds: float = 2.0,
        file_active_timeout_seconds: float = 300.0,
        bad_output_retries: int = 1,
        audio_format: Literal["flac", "wav"] = "flac",
        work_dir: Path | None = None,
    ) -> None:
        self._client = client
        self._models = tuple(dict.fromkeys((model, *models)))
        self._inline_limit = inline_limit_bytes
        self._max_seconds = max_audio_seconds
        self._max_output_tokens = max_output_tokens
        self._temperature = temperature
        self._thinking_budget = thinking_budget
        self._poll = file_poll_seconds
        self._active_timeout = file_active_timeout_seconds
        self._bad_output_retries = bad_output_retries
        self._format: Literal["flac", "wav"] = audio_format
        self._work_dir = work_dir
        self._response_schema = to_gemini_schema(SEGMENTS_SCHEMA)

    @property
    def name(self) -> str:
        return self._client.name

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult:
        """Transcribe in one generateContent call, or from the checkpointed answer.

        Raises:
            InvalidArgument: `CONTENT_BLOCKED` when Gemini refuses the content,
                `AUDIO_UNDECODABLE` when the Files API cannot process the audio,
                `UNKNOWN_MODEL` for a model not configured.
            Unavailable: keys spent, an outage, a refused request, unusable answers
                (`ASR_BAD_OUTPUT`), or audio over the limit: the pipeline fails over.
            TaskCancelled: from `check_cancelled`.
        """
        model = check_model(request, self.name, self._models)
        saved = load_json_checkpoint(checkpoints, RESULT_CHECKPOINT)
        found = _checkpointed(saved)
        if found is not None:
            logger.info("%s: reusing the checkpointed transcription", self.name)
        else:
            saved = self._call(audio, request, model, checkpoints, progress, check_cancelled)
            found = parse_segments(saved["response"])
        assert saved is not None
        progress(1.0)
        response: dict[str, Any] = saved["response"]
        usage = GeminiUsage.of(response)
        labels = SpeakerLabels()
        segments = [
            TranscriptSegment(
                index=0,
                speaker_label=labels(s["speaker"]) if request.diarization else "",
                start=s["start"],
                end=s["end"],
                text=s["text"],
            )
            for s in found
        ]
        billed = (
            usage.audio_tokens / AUDIO_TOKENS_PER_SECOND
            if usage.audio_tokens
            else audio.duration_seconds
        )
        return GeminiAsrResult(
            provider=self.name,
            model=str(saved.get("model") or model),
            language_code=request.language_code,
            segments=finish_segments(segments, audio),
            billed_audio_seconds=billed,
            vendor_request_id=str(response.get("responseId") or ""),
            usage=usage,
            input_tokens=usage.prompt_tokens if usage else 0,
            audio_input_tokens=usage.audio_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            thinking_tokens=usage.thoughts_tokens if usage else 0,
            hotwords_sent=len(prompt_terms(request.hotwords)),
            hotwords_note=f"the prompt names at most {MAX_PROMPT_HOTWORDS}",
        )

    def _call(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        model: str,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> dict[str, Any]:
        if audio.duration_seconds > self._max_seconds:
            raise over_limit(
                self.name,
                f"{audio.duration_seconds:.0f} s of audio, the limit is {self._max_seconds:.0f} s",
            )
        prompt = transcription_prompt(request)
        mime = CONTENT_TYPES[self._format]
        check_cancelled()
        with encoded_audio(audio, self._format, self._work_dir) as path:
            size = path.stat().st_size
            request_bytes = math.ceil(size / 3) * 4 + len(prompt.encode()) + _REQUEST_OVERHEAD_BYTES
            inline = request_bytes <= self._inline_limit
            progress(0.05, "sending audio" if inline else "uploading audio")
            audio_part = (
                {
                    "inlineData": {
                        "mimeType": mime,
                        "data": base64.b64encode(path.read_bytes()).decode("ascii"),
                    }
                }
                if inline
                else None
            )

            def attempt(key: ApiKey) -> dict[str, Any]:
                check_cancelled()
                part = audio_part
                file: dict[str, Any] | None = None
                if part is None:
                    file = self._active_file(
                        key, path, mime, _display_name(request), checkpoints, check_cancelled
                    )
                    part = {
                        "fileData": {
                            "mimeType": file.get("mimeType") or mime,
                            "fileUri": file["uri"],
                        }
                    }
                    progress(0.3, "transcribing")
                try:
                    response = self._client.generate(
                        key, model, self._body(prompt, part), file_refs=file is not None
                    )
                except FileGone:
                    # Gone, or not ACTIVE after all (400): a DELETE settles both.
                    self.release(checkpoints)
                    raise
                parse_segments(response)  # raises BadSegments before anything is saved
                saved = {"model": model, "response": response}
                save_json_checkpoint(checkpoints, RESULT_CHECKPOINT, saved)
                if file is not None:
                    self.release(checkpoints)
                return saved

            problem = ""
            for _ in range(self._bad_output_retries + 1):
                try:
                    return self._client.call("transcribe", attempt)
                except BadSegments as exc:
                    problem = str(exc)
                    logger.warning("%s answered with unusable segments: %s", self.name, problem)
        raise Unavailable(
            f"{self.name} model {model} did not answer with usable segments: {problem}"[:500],
            reason=ASR_BAD_OUTPUT,
            metadata={"provider": self.name, "model": model},
        )

    def _body(self, prompt: str, audio_part: dict[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = {
            "temperature": self._temperature,
            "maxOutputTokens": self._max_output_tokens,
            "responseMimeType": "application/json",
            "responseSchema": self._response_schema,
        }
        if self._thinking_budget is not None:
            config["thinkingConfig"] = {"thinkingBudget": self._thinking_budget}
        return {
            "contents": [{"role": "user", "parts": [{"text": prompt}, audio_part]}],
            "generationConfig": config,
        }

    def release(self, checkpoints: Checkpoints) -> None:
        """Delete the uploaded file the checkpoint names, with the key that uploaded it.

        Called when no retry can use the file: after the answer is saved, when Gemini
        says it is gone, on rotation to another key, and by the pipeline once the task
        has ended (`VendorFiles`). A delete that fails is left to the sweep.
        """
        saved = load_json_checkpoint(checkpoints, FILE_CHECKPOINT)
        if not saved or not saved.get("name"):
            return
        name, fingerprint = str(saved["name"]), str(saved.get("key") or "")
        owner = self._client.key(fingerprint)
        if owner is None:
            logger.warning(
                "%s: %s belongs to %s, which is no longer configured; it expires by itself",
                self.name,
                name,
                fingerprint or "an unknown key",
            )
        else:
            self._client.delete_file(owner, name)
        save_json_checkpoint(checkpoints, FILE_CHECKPOINT, {})

    def _active_file(
        self,
        key: ApiKey,
        path: Path,
        mime: str,
        display_name: str,
        checkpoints: Checkpoints,
        check_cancelled: CancellationCheck,
    ) -> dict[str, Any]:
        """An ACTIVE uploaded file of the audio: the checkpointed one, or a new upload.

        A file belongs to the project of the key that uploaded it (other keys get 403),
        so a checkpointed file is reused only under that same key. Under another key
        (the first one ran out of quota) the old file is of no use to anyone: it is
        deleted with its own key before the audio is uploaded again.
        """
        file: dict[str, Any] | None = None
        saved = load_json_checkpoint(checkpoints, FILE_CHECKPOINT)
        if saved and saved.get("name"):
            if saved.get("key") == key.fingerprint:
                try:
                    file = self._client.get_file(key, str(saved["name"]))
                except FileGone:
                    file = None
            if file is None or file.get("state") == "FAILED":
                self.release(checkpoints)
                file = None
        if file is None:
            url = self._client.start_upload(
                key, size=path.stat().st_size, mime_type=mime, display_name=display_name
            )
            file = self._client.upload(key, url, path)
            save_json_checkpoint(
                checkpoints, FILE_CHECKPOINT, {"name": file["name"], "key": key.fingerprint}
            )
        deadline = time.monotonic() + self._active_timeout
        while file.get("state") == "PROCESSING":
            if time.monotonic() > deadline:
                raise Transient(
                    f"{self.name}: {file['name']} still PROCESSING after {self._active_timeout:g} s"
                )
            check_cancelled()
            self._client.sleep(self._poll)
            file = self._client.get_file(key, str(file["name"]))
        if file.get("state") == "FAILED":
            self.release(checkpoints)
            raise CallerError(
                f"{self.name} could not process the uploaded audio", reason=AUDIO_UNDECODABLE
            )
        if not file.get("uri"):
            raise Transient(f"{self.name}: {file['name']} has no uri")
        return file


def _display_name(request: AsrRequest) -> str:
    """What the sweep recognises our files by: the prefix, then the task (if any)."""
    owner = (request.context.task_id if request.context is not None else None) or uuid.uuid4().hex
    return f"{FILE_DISPLAY_PREFIX}{owner}"[:DISPLAY_NAME_MAX]


def _checkpointed(saved: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The segments of a checkpointed answer; None when there is none worth reusing."""
    response = saved.get("response") if saved else None
    if not isinstance(response, dict):
        return None
    try:
        return parse_segments(response)
    except BadSegments:
        logger.warning(
            "checkpoint %s holds no usable answer; transcribing again", RESULT_CHECKPOINT
        )
        return None
