"""A fake OpenAI-compatible `/v1/chat/completions` server (vLLM or Ollama flavour).

Protocol (providers.md §5; vllm `entrypoints/openai/protocol.py`, ollama `openai/openai.go`
and `docs/openai.md`):

- Auth `Authorization: Bearer <key>`, checked only when the server has keys (vLLM
  `--api-key`); Ollama ignores it.
- Body: `model`, `messages[{role, content}]`, `max_tokens`, `temperature`, `stream`,
  `response_format {type: text|json_object|json_schema, json_schema {name, strict,
  schema}}`. vLLM requires `json_schema.name`; Ollama uses only `json_schema.schema`
  and does not read `max_completion_tokens`.
- Answer `{id, object: chat.completion, created, model, choices[{index, message{role,
  content}, finish_reason}], usage{prompt_tokens, completion_tokens, total_tokens}}`;
  tokens are characters / 4 rounded up, so tests know them.
- Errors `{"error": {message, type, param, code}}`, or with `error_style="flat"` the
  `{"object": "error", message, type, param, code}` of older vLLM releases.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tests.harness.vendors.http_fake import FakeVendor, Fault, Recorded, Reply
from tests.harness.vendors.llm import estimate_tokens, instance_of

PATH = "/v1/chat/completions"
ROLES = {"system", "user", "assistant", "tool", "developer"}


@dataclass
class Completion:
    """One accepted request and its answer."""

    key: str | None
    body: dict[str, Any]
    content: str
    prompt_tokens: int
    completion_tokens: int


class FakeOpenAiCompatible(FakeVendor):
    """A chat-completions server.

    Args:
        models: Served model names.
        keys: Accepted bearer keys; None accepts anything (Ollama, vLLM without --api-key).
        flavor: "vllm" requires `json_schema.name`; "ollama" ignores it.
        answers: Texts (or JSON values) to answer with, in order; once spent, an
            instance built from `response_format.json_schema.schema`.
        error_style: "nested" `{"error": {...}}` or "flat" (older vLLM).
    """

    def __init__(
        self,
        *,
        models: Sequence[str] = ("qwen2.5:14b",),
        keys: Sequence[str] | None = None,
        flavor: Literal["vllm", "ollama"] = "vllm",
        answers: Sequence[Any] = (),
        error_style: Literal["nested", "flat"] = "nested",
    ) -> None:
        super().__init__()
        self.models = set(models)
        self.keys = set(keys) if keys is not None else None
        self.flavor = flavor
        self.answers = list(answers)
        self.error_style = error_style
        self.completions: list[Completion] = []
        self._truncate = 0

    # ------------------------------------------------------------ knobs

    def rate_limit(
        self,
        *,
        retry_after: float = 1,
        key: str | None = None,
        times: int | None = 1,
        code: str = "rate_limit_exceeded",
    ) -> None:
        self.inject(
            None,
            Fault.answer(
                self._error(
                    429,
                    "Rate limit reached. Please try again later.",
                    "rate_limit_error",
                    code,
                    {"Retry-After": f"{retry_after:g}"},
                )
            ),
            key=key,
            times=times,
        )

    def server_error(self, *, status: int = 500, times: int | None = 1) -> None:
        self.inject(
            None,
            Fault.answer(
                self._error(status, "The engine is overloaded.", "InternalServerError", status)
            ),
            times=times,
        )

    def truncate(self, *, times: int = 1) -> None:
        """Cut the next answers short with `finish_reason: length`."""
        self._truncate += times

    def fail(self, status: int, body: Any, *, times: int | None = 1) -> None:
        self.inject(None, Fault.answer(Reply.json(body, status=status)), times=times)

    # ------------------------------------------------------------ protocol

    def key_of(self, request: Recorded) -> str | None:
        value = request.headers.get("authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else None

    def handle(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != PATH:
            return self._error(404, f"Not found: {request.path}", "NotFoundError", 404)
        if self.keys is not None and request.key not in self.keys:
            return self._error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        try:
            body = request.json()
        except ValueError:
            return self._error(400, "Invalid JSON body.", "BadRequestError", 400)
        problem = self._check(body)
        if problem:
            return self._error(400, problem, "BadRequestError", 400)
        if body["model"] not in self.models:
            return self._error(
                404, f"The model `{body['model']}` does not exist.", "NotFoundError", 404
            )
        content = self._answer(body)
        finish = "stop"
        if self._truncate:
            self._truncate -= 1
            content, finish = content[: len(content) // 2], "length"
        prompt_tokens = sum(estimate_tokens(m["content"]) for m in body["messages"])
        completion_tokens = estimate_tokens(content)
        self.completions.append(
            Completion(request.key, body, content, prompt_tokens, completion_tokens)
        )
        return Reply.json(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "system_fingerprint": "fp_ollama" if self.flavor == "ollama" else None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    def _check(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "The body must be a JSON object."
        if not isinstance(body.get("model"), str):
            return "model: Field required"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: Field required"
        for k, message in enumerate(messages):
            if (
                not isinstance(message, dict)
                or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)
            ):
                return f"messages[{k}]: expected {{role, content}}"
        if body.get("stream"):
            return "The fake does not stream."
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            return "max_tokens must be at least 1"
        temperature = body.get("temperature", 1.0)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            return "temperature must be between 0 and 2"
        response_format = body.get("response_format")
        if response_format is None:
            return ""
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            return (
                f"response_format.type: Input should be 'text', 'json_object' or "
                f"'json_schema', got {kind!r}"
            )
        if kind == "json_schema":
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
                return "response_format.json_schema.schema: Field required"
            if self.flavor == "vllm" and not isinstance(spec.get("name"), str):
                return "response_format.json_schema.name: Field required"
        return ""

    def _answer(self, body: dict[str, Any]) -> str:
        if self.answers:
            answer = self.answers.pop(0)
            return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        return json.dumps(
            instance_of(schema or {"type": "object", "properties": {}}), ensure_ascii=False
        )

    def _error(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | int,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        error = {"message": message, "type": kind, "param": None, "code": code}
        body = {"object": "error", **error} if self.error_style == "flat" else {"error": error}
        return Reply.json(body, status=status, headers=headers)
