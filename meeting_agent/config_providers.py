"""Settings of the cloud providers: keys, endpoints, failover order and prices.

Keys are `SecretStr`, so they never appear in a repr, a log line or an error; they come
from the environment (`MEETING_AGENT_PROVIDERS__GEMINI__KEYS='["k1","k2"]'`) or from a
file with one key a line (`..._KEYS_FILE`, for Kubernetes Secret volumes).

Layer: cross-cutting, below the use cases: billing reads its `Price` type, and it
imports nothing from meeting-agent.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(BaseModel):
    """Unit prices of one provider's model, as published on `effective_date`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    # "*" applies to every model of the provider that has no entry of its own.
    model: str = "*"
    currency: str = Field(min_length=3, max_length=3)
    per_audio_hour: Decimal = Decimal(0)
    per_million_input_tokens: Decimal = Decimal(0)
    per_million_audio_input_tokens: Decimal | None = None
    per_million_output_tokens: Decimal = Decimal(0)
    effective_date: str = ""
    source: str = ""


class VendorSettings(_Section):
    """What every vendor has: whether it is on, its keys, where it lives, how long to wait."""

    enabled: bool = False
    keys: list[SecretStr] = Field(default_factory=list)
    keys_file: Path | None = None
    base_url: str | None = None
    # Deadlines of one HTTP exchange: connecting, the first byte of the answer (for a
    # synchronous API that is the vendor's processing time; unset: the total), and the
    # whole exchange (`timeout_seconds`).
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    first_byte_timeout_seconds: float | None = Field(default=None, gt=0, le=7200)
    timeout_seconds: float = Field(default=600.0, gt=0, le=7200)
    # What a task gives the provider across every attempt, key and retry before it
    # fails over, or fails with PROVIDER_TIMEOUT; unset: no bound beyond the attempts.
    task_budget_seconds: float | None = Field(default=None, gt=0, le=48 * 3600)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_wait_seconds: float = Field(default=4 * 3600.0, gt=0)
    # When a per-day quota comes back: midnight in this IANA time zone. Keys of one
    # `projects` entry share their quota (scope "project"): one key out of it rests all.
    daily_reset_timezone: str = "Asia/Shanghai"
    quota_scope: Literal["key", "project"] = "key"
    # Keys grouped by the vendor project (account, app) they bill to, besides `keys`:
    # {"project-a": ["k1", "k2"], "project-b": ["k3"]}. A key in `keys` alone is its
    # own project.
    projects: dict[str, list[SecretStr]] = Field(default_factory=dict)
    # First wait between polls of an asynchronous job (vendors give no figure).
    poll_interval_seconds: float = Field(default=5.0, gt=0, le=600)

    def secrets(self) -> list[str]:
        found = [k.get_secret_value() for k in self.keys]
        if self.keys_file is not None:
            found += [
                line.strip()
                for line in self.keys_file.read_text().splitlines()
                if line.strip() and not line.startswith("#")
            ]
        return found + [k.get_secret_value() for keys in self.projects.values() for k in keys]

    def key_projects(self) -> dict[str, str]:
        """The project of each key that `projects` names (by secret)."""
        return {k.get_secret_value(): name for name, keys in self.projects.items() for k in keys}

    @model_validator(mode="after")
    def _known_timezone(self) -> VendorSettings:
        try:
            ZoneInfo(self.daily_reset_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"daily_reset_timezone {self.daily_reset_timezone!r} is not an IANA time zone"
            ) from None
        return self

    @model_validator(mode="after")
    def _keys_when_enabled(self) -> VendorSettings:
        if self.enabled and not self.keys and self.keys_file is None and not self.projects:
            raise ValueError("an enabled provider needs keys or keys_file")
        if self.keys_file is not None and not self.keys_file.is_file():
            raise ValueError(f"keys_file {self.keys_file} does not exist")
        return self


class VolcengineSettings(VendorSettings):
    """Submit and query calls answer at once (flash answers with the transcript); the
    job's wait is `max_wait_seconds`,
    which is also the task's budget (the docs give no processing time; polls of a
    finished job return its result for a day). No document gives the reset time of a
    daily quota: midnight in Beijing, where the vendor bills, per app (key)."""

    task_budget_seconds: float | None = Field(default=4 * 3600.0 + 600, gt=0, le=48 * 3600)
    # auto: flash when the audio fits its limits, else standard (which needs presigning).
    mode: Literal["auto", "standard", "flash"] = "auto"
    resource_id: str = "volc.bigasr.auc"
    flash_resource_id: str = "volc.bigasr.auc_turbo"
    model: str = "bigmodel"


class IflytekSettings(VendorSettings):
    """Upload and getResult calls; the order's wait is `max_wait_seconds` (the doc's
    `estimateTime` guides the polls; results are kept 72 h, providers.md §2). Daily
    quotas: midnight Beijing time, per APPID (no document says otherwise)."""

    task_budget_seconds: float | None = Field(default=4 * 3600.0 + 600, gt=0, le=48 * 3600)
    model: str = "raasr-v2"


class AzureSettings(VendorSettings):
    """Fast transcription is synchronous: the answer comes once the audio is transcribed,
    "faster than real time", for files under 2 h (2024-11 doc; 5 h in the 2026-01 doc,
    providers.md §3a). 15 min for the first byte covers two hours at better than 8x;
    a task gives Azure 30 min in all before it fails over."""

    timeout_seconds: float = Field(default=900.0, gt=0, le=7200)
    task_budget_seconds: float | None = Field(default=1800.0, gt=0, le=48 * 3600)
    daily_reset_timezone: str = "UTC"
    endpoint: str = ""
    api_version: str = "2024-11-15"
    model: str = "fast-transcription"

    @model_validator(mode="after")
    def _endpoint_when_enabled(self) -> AzureSettings:
        if self.enabled and not self.endpoint:
            raise ValueError(
                "azure needs endpoint, e.g. https://eastus.api.cognitive.microsoft.com"
            )
        return self


class GeminiSettings(VendorSettings):
    """generateContent answers in one piece after the model has listened to the whole
    audio and written the transcript (up to 65,536 output tokens): minutes for an hour
    of meeting, so 10 min per call and 30 min per task. Requests-per-day quotas reset
    at midnight Pacific time and are counted per project, not per key
    (ai.google.dev/gemini-api/docs/rate-limits): keys of one project share a rest."""

    task_budget_seconds: float | None = Field(default=1800.0, gt=0, le=48 * 3600)
    daily_reset_timezone: str = "America/Los_Angeles"
    quota_scope: Literal["key", "project"] = "project"
    asr: bool = True
    llm: bool = True
    asr_model: str = "gemini-2.5-flash"
    llm_model: str = "gemini-2.5-flash"
    max_input_tokens: int = Field(default=900_000, ge=1000)
    # Requests up to this size carry the audio inline; larger ones go through the Files
    # API. 20 MB: the older, stricter figure of the two the docs give (providers.md §4a).
    inline_limit_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)


class OpenAiCompatibleSettings(VendorSettings):
    """Any `/v1/chat/completions` server: vLLM, Ollama, Volcano Ark.

    Answers are not streamed, so the first byte comes with the whole answer: a 14B model
    writing 4,000 tokens at 20 a second takes 200 s; 5 min per call, 15 per task (all
    the chunks of a long transcript's map-reduce).
    """

    timeout_seconds: float = Field(default=300.0, gt=0, le=7200)
    task_budget_seconds: float | None = Field(default=900.0, gt=0, le=48 * 3600)
    daily_reset_timezone: str = "UTC"
    name: str = "openai"
    model: str = ""
    max_input_tokens: int = Field(default=32_000, ge=1000)
    # Ollama ignores keys; vLLM needs one only when started with --api-key.
    require_keys: bool = False

    @model_validator(mode="after")
    def _model_when_enabled(self) -> OpenAiCompatibleSettings:
        if self.enabled and (not self.base_url or not self.model):
            raise ValueError("an OpenAI-compatible provider needs base_url and model")
        return self

    # Same name as the base validator, so it replaces it: keys are optional here.
    @model_validator(mode="after")
    def _keys_when_enabled(self) -> OpenAiCompatibleSettings:
        if self.enabled and self.require_keys and not self.keys and self.keys_file is None:
            raise ValueError("require_keys is set but no keys or keys_file are given")
        return self


class LeftoverSweepSettings(_Section):
    """The periodic sweep of files left at vendors (see `adapters/providers/leftovers`)."""

    # How often the server sweeps; 0 switches the sweep off.
    interval_seconds: float = Field(default=3600.0, ge=0)
    # Our Gemini uploads older than this are deleted: an hour past the longest a job
    # may run (`jobs.job_timeout_seconds`, 6 h). Gemini deletes files itself after 48 h
    # (ai.google.dev Files API: "Files live 48 h", providers.md §4b).
    gemini_file_max_age_seconds: float = Field(default=7 * 3600.0, gt=0, le=48 * 3600.0)


def default_prices() -> list[Price]:
    """The dated price list that ships with the service (`meeting_agent/data/prices.yaml`)."""
    text = resources.files("meeting_agent").joinpath("data/prices.yaml").read_text()
    return [Price(**entry) for entry in yaml.safe_load(text)["prices"]]


class ProvidersSettings(_Section):
    # Failover order of the deployment; a task's own order wins. "local" and
    # "extractive" are the embedded engines.
    asr_order: list[str] = Field(default_factory=lambda: ["local"])
    llm_order: list[str] = Field(default_factory=lambda: ["extractive"])
    volcengine: VolcengineSettings = VolcengineSettings()
    iflytek: IflytekSettings = IflytekSettings()
    azure: AzureSettings = AzureSettings()
    gemini: GeminiSettings = GeminiSettings()
    openai: OpenAiCompatibleSettings = OpenAiCompatibleSettings()
    sweep: LeftoverSweepSettings = LeftoverSweepSettings()
    # Unit prices; the shipped, dated list when unset. An empty list records
    # quantities with no cost.
    prices: list[Price] | None = None

    @property
    def resolved_prices(self) -> list[Price]:
        return default_prices() if self.prices is None else self.prices
