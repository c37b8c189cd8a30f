"""`LlmProvider` on any OpenAI-compatible `/v1/chat/completions` (vLLM, Ollama, Ark).

The request asks for JSON through `response_format: {type: json_schema, json_schema:
{name, strict, schema}}`: vLLM enforces the schema by guided decoding (and requires
`name`), Ollama passes only `schema` on as its `format`. `max_tokens` is sent, not
`max_completion_tokens`, because Ollama reads only the former.

Errors come as `{"error": {message, type, param, code}}` (OpenAI, Ollama, vLLM 2025),
as the flat `{"object": "error", message, type, param, code}` of older vLLM releases
(unverified), or as `{"error": "text"}`; the HTTP status decides the class:

    401, 403                    → KeyRejected
    429 insufficient_quota      → QuotaExceeded(day)   (OpenAI's code for spent credit)
    429 otherwise               → QuotaExceeded(minute, Retry-After)
    408, 5xx                    → Transient
    other 4xx                   → Unavailable, passed through for failover: the server
                                  will never take this request (unknown model, prompt
                                  longer than its context, …)

`finish_reason == "length"`: the JSON was cut at `max_tokens` and cannot be used.
That is neither the caller's fault (the transcript is fine, so not CallerError) nor an
outage (the identical request would be cut again, so not Transient, which would resend
and pay for it up to the retry limit). It raises `LlmOutputError`, a ValueError, which
`LlmMinutesGenerator` treats as bad output: it asks once more with a hint to answer
with only the JSON, then gives up with `LLM_BAD_OUTPUT` so the next provider can try.

For Volcano Ark, set `base_url` to `https://ark.cn-beijing.volces.com/api/v3` and
`chat_path` to `/chat/completions` (Ark has no `/v1`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from meeting_agent.adapters.providers._llm_json import LlmOutputError, parse_json_object
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
    KeyPool,
    KeyRejected,
    QuotaExceeded,
    RetryPolicy,
    Transient,
    answered,
    call_vendor,
)
from meeting_agent.errors import Unavailable
from meeting_agent.ports import LlmUsage

__all__ = ["LlmOutputError", "OpenAiCompatibleLlm"]

logger = logging.getLogger(__name__)

PROVIDER_REJECTED_REQUEST = "PROVIDER_REJECTED_REQUEST"
# Stands in for "no key" (Ollama, an unauthenticated vLLM): KeyPool keeps only
# non-empty secrets, and call_vendor needs a key to hand out.
_NO_KEY = "\x00no-key"


class OpenAiCompatibleLlm:
    """A chat model behind an OpenAI-compatible endpoint, answering with JSON.

    Args:
        base_url: The server, for example `http://localhost:11434` (Ollama) or
            `http://vllm:8000`; anything in front of `chat_path`.
        model: The served model name, sent as `model`.
        pool: Bearer keys; an empty pool sends no Authorization header at all.
        max_input_tokens: The prompt size the minutes generator may use (the served
            context length less `max_tokens`).
        policy: Retries, backoff and quota waits of one call.
        http: A shared client; one is made when None.
        name: The provider name in results, logs and errors.
        max_tokens: The answer's token limit.
        temperature: Sampling temperature (Ollama's default is 1.0, so always sent).
        timeout_seconds: Bound of one exchange; a local model may be slow to answer.
        chat_path: The path after `base_url`.
        extra_body: Further request fields for one server (`seed`, `top_p`, …).
        sleep: How retries wait (tests pass a recorder).
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        pool: KeyPool,
        max_input_tokens: int,
        policy: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        name: str = "openai-compatible",
        max_tokens: int = 4096,
        temperature: float = 0.2,
        timeout_seconds: float | Timeouts = 300.0,
        chat_path: str = "/v1/chat/completions",
        extra_body: Mapping[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = base_url.rstrip("/") + "/" + chat_path.lstrip("/")
        self._model = model
        self._pool = pool if len(pool) else KeyPool(pool.provider or name, [_NO_KEY])
        self._max_input_tokens = max_input_tokens
        self._policy = policy or RetryPolicy()
        self._http = http or httpx.Client()
        self._name = name
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._timeout = timeout_seconds
        self._extra = dict(extra_body or {})
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model

    @property
    def max_input_tokens(self) -> int:
        return self._max_input_tokens

    def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any]
    ) -> tuple[dict[str, Any], LlmUsage]:
        """One answer as a JSON object, with the tokens it cost.

        Raises:
            LlmOutputError: (a ValueError) the answer was cut at `max_tokens`, is empty,
                or is not a JSON object; see the module docstring.
            Unavailable: keys spent, an outage, or a request the server refuses.
        """
        body = self.request_body(system=system, prompt=prompt, schema=schema)
        answer = call_vendor(
            self._pool,
            lambda key: self._post(key, body),
            policy=self._policy,
            operation="chat.completions",
            sleep=quota_bounded_sleep(self._policy, self._sleep),
        )
        usage_body = answer.get("usage")
        usage = LlmUsage()
        if isinstance(usage_body, dict):
            details = usage_body.get("completion_tokens_details")
            usage = LlmUsage(
                input_tokens=_int(usage_body.get("prompt_tokens")),
                output_tokens=_int(usage_body.get("completion_tokens")),
                # Reasoning models count it inside completion_tokens.
                thinking_tokens=_int(details.get("reasoning_tokens"))
                if isinstance(details, dict)
                else 0,
            )
        else:
            logger.warning("%s answered without usage; 0 tokens recorded", self._name)
        choice = answer["choices"][0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content") if message else None
        if choice.get("finish_reason") == "length":
            raise LlmOutputError(
                f"the answer was cut at max_tokens={self._max_tokens}", usage=usage
            )
        if not isinstance(content, str) or not content.strip():
            raise LlmOutputError(
                f"the answer has no content (finish_reason {choice.get('finish_reason')!r})",
                usage=usage,
            )
        return parse_json_object(content, usage), usage

    def request_body(self, *, system: str, prompt: str, schema: dict[str, Any]) -> dict[str, Any]:
        """The chat.completions body (public for tests and diagnostics)."""
        messages = [{"role": "user", "content": prompt}]
        if system.strip():
            messages.insert(0, {"role": "system", "content": system})
        return {
            **self._extra,
            "model": self._model,
            "messages": messages,
            "max_tokens": self._max_tokens,
            "temperature": self._temperature,
            "stream": False,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "minutes", "strict": True, "schema": schema},
            },
        }

    def _post(self, key: ApiKey, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if key.secret != _NO_KEY:
            headers["Authorization"] = f"Bearer {key.secret}"
        reply = send(
            self._http,
            "POST",
            self._url,
            timeout_seconds=self._timeout,
            what=f"{self._name} chat.completions",
            headers=headers,
            json_body=body,
        )
        if reply.status != 200:
            raise self._error(reply, key)
        answer = reply.json()
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            # A proxy's HTML page, a cut body: the same request may well work next time.
            raise Transient(
                f"{self._name}: malformed chat.completions body ({len(reply.body)} bytes)"
            )
        assert isinstance(answer, dict)
        return answer

    def _error(self, reply: Reply, key: ApiKey) -> Exception:
        return answered(
            self._classify(reply, key),
            http_status=reply.status,
            vendor_code=str(_error_fields(reply)[0] or ""),
        )

    def _classify(self, reply: Reply, key: ApiKey) -> Exception:
        code, message = _error_fields(reply)
        text = redact(f"{self._name} HTTP {reply.status} {code}: {message}", key)[:500]
        status = reply.status
        if status in (401, 403):
            return KeyRejected(text)
        if status == 429:
            if code == "insufficient_quota":
                return QuotaExceeded(text, scope="day")
            return QuotaExceeded(
                text, scope="minute", retry_after=retry_after_seconds(reply.headers)
            )
        if status >= 500 or status == 408:
            return Transient(text, retry_after=retry_after_seconds(reply.headers))
        logger.error("%s refused the request: %s", self._name, text)
        return Unavailable(
            text,
            reason=PROVIDER_REJECTED_REQUEST,
            metadata={"provider": self._name, "model": self._model},
        )


def _error_fields(reply: Reply) -> tuple[str, str]:
    """(code or type, message) from any of the three error shapes."""
    body = reply.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    elif isinstance(body, dict) and isinstance(body.get("error"), str):
        return "", str(body["error"])
    if not isinstance(body, dict):
        return "", f"{len(reply.body)} bytes, not JSON"
    code = body.get("code")
    kind = str(code) if isinstance(code, str) and code else str(body.get("type") or code or "")
    return kind, str(body.get("message") or "")


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
