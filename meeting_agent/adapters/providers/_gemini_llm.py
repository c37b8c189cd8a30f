"""`LlmProvider` on Gemini generateContent with a response schema."""

from __future__ import annotations

from typing import Any, Literal

from meeting_agent.adapters.providers._gemini_answers import GeminiUsage, answer_text
from meeting_agent.adapters.providers._gemini_client import GeminiClient
from meeting_agent.adapters.providers._gemini_schema import to_gemini_schema
from meeting_agent.adapters.providers._llm_json import LlmOutputError, parse_json_object
from meeting_agent.ports import LlmUsage

__all__ = ["GeminiLlm"]


class GeminiLlm:
    """`LlmProvider` on Gemini generateContent with a response schema.

    Args:
        client: The shared Gemini client (keys, endpoint, retries).
        model: The model, for example `gemini-2.5-flash`.
        max_input_tokens: The prompt size the minutes generator may use (the model's
            context less room for the answer).
        max_output_tokens: `maxOutputTokens`; an answer cut at it is not used.
        temperature: Sampling temperature.
        thinking_budget: `thinkingConfig.thinkingBudget`; None leaves the model default.
        schema_field: `responseSchema` (our schema converted to Gemini's OpenAPI subset)
            or `responseJsonSchema` (the JSON Schema as is, newer models only).
    """

    def __init__(
        self,
        *,
        client: GeminiClient,
        model: str = "gemini-2.5-flash",
        max_input_tokens: int = 1_000_000,
        max_output_tokens: int = 8192,
        temperature: float = 0.2,
        thinking_budget: int | None = None,
        schema_field: Literal["responseSchema", "responseJsonSchema"] = "responseSchema",
    ) -> None:
        self._client = client
        self._model = model
        self._max_input_tokens = max_input_tokens
        self._max_output_tokens = max_output_tokens
        self._temperature = temperature
        self._thinking_budget = thinking_budget
        self._schema_field = schema_field

    @property
    def name(self) -> str:
        return self._client.name

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
            LlmOutputError: (a ValueError) the answer was cut at `max_output_tokens`, or is
                not a JSON object; the generator asks once more, then fails over.
            InvalidArgument: `CONTENT_BLOCKED` when Gemini refuses the content.
            Unavailable: keys spent, an outage or a refused request.
        """
        body = self.request_body(system=system, prompt=prompt, schema=schema)
        response = self._client.call(
            "generateContent", lambda key: self._client.generate(key, self._model, body)
        )
        tokens = GeminiUsage.of(response)
        usage = LlmUsage(
            input_tokens=tokens.prompt_tokens,
            output_tokens=tokens.output_tokens,
            thinking_tokens=tokens.thoughts_tokens,
        )
        if response["candidates"][0].get("finishReason") == "MAX_TOKENS":
            raise LlmOutputError(
                f"the answer was cut at {self._max_output_tokens} tokens", usage=usage
            )
        return parse_json_object(answer_text(response), usage), usage

    def request_body(self, *, system: str, prompt: str, schema: dict[str, Any]) -> dict[str, Any]:
        """The generateContent body (public for tests and diagnostics)."""
        config: dict[str, Any] = {
            "temperature": self._temperature,
            "maxOutputTokens": self._max_output_tokens,
            "responseMimeType": "application/json",
        }
        if self._schema_field == "responseJsonSchema":
            config["responseJsonSchema"] = schema
        else:
            try:
                config["responseSchema"] = to_gemini_schema(schema)
            except ValueError as exc:
                # A schema of ours the subset cannot express is a bug, not bad output:
                # kept out of ValueError so the generator does not retry it.
                raise TypeError(f"schema not expressible as responseSchema: {exc}") from exc
        if self._thinking_budget is not None:
            config["thinkingConfig"] = {"thinkingBudget": self._thinking_budget}
        body: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": config,
        }
        if system.strip():
            body["systemInstruction"] = {"parts": [{"text": system}]}
        return body
