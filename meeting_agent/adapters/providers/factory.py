"""Building the configured cloud providers, bare: the composition root meters them."""

from __future__ import annotations

from dataclasses import dataclass, field

from meeting_agent.adapters.providers import iflytek, volcengine
from meeting_agent.adapters.providers._gemini_client import DEFAULT_BASE_URL as GEMINI_BASE_URL
from meeting_agent.adapters.providers._transport import Timeouts
from meeting_agent.adapters.providers.azure import (
    AzureFastTranscription,
    azure_takes_phrase_lists,
)
from meeting_agent.adapters.providers.calls import KeyPool, QuotaWindow, RetryPolicy
from meeting_agent.adapters.providers.gemini import GeminiAsr, GeminiClient, GeminiLlm
from meeting_agent.adapters.providers.iflytek import IflytekAsr
from meeting_agent.adapters.providers.leftovers import GeminiFileSweep, ProviderAudioSweep
from meeting_agent.adapters.providers.openai_compat import OpenAiCompatibleLlm
from meeting_agent.adapters.providers.published_audio import StoreAudioPublisher
from meeting_agent.adapters.providers.volcengine import VolcengineAsr
from meeting_agent.config_providers import ProvidersSettings, VendorSettings
from meeting_agent.domain.providers import AsrProvider as AsrInfo
from meeting_agent.domain.providers import LlmProvider as LlmInfo
from meeting_agent.ports import AsrProvider, LeftoverSweep, LlmProvider, ObjectStore

# Languages the cloud recognisers are offered for; each vendor takes many more, and
# the vendor itself refuses what it cannot do.
_CLOUD_LANGUAGES = ("zh", "en", "ja", "ko", "yue")


@dataclass
class CloudProviders:
    asr: dict[str, AsrProvider] = field(default_factory=dict)
    llm: dict[str, LlmProvider] = field(default_factory=dict)
    asr_info: list[AsrInfo] = field(default_factory=list)
    llm_info: list[LlmInfo] = field(default_factory=list)
    # Seconds a task gives each provider across all its attempts (none: unbounded).
    budgets: dict[str, float] = field(default_factory=dict)
    # What the periodic sweep looks through for files left at the vendors.
    sweeps: list[LeftoverSweep] = field(default_factory=list)


def _cloud_asr(
    name: str, model: str, *, word_timestamps: bool = True, native_hotwords: bool = True
) -> AsrInfo:
    """A cloud recogniser's catalog entry: every one labels speakers and takes hotwords."""
    return AsrInfo(
        name,
        (model,),
        _CLOUD_LANGUAGES,
        diarization=True,
        hotwords=True,
        word_timestamps=word_timestamps,
        native_hotwords=native_hotwords,
    )


def _window(vendor: VendorSettings) -> QuotaWindow:
    return QuotaWindow(
        daily_reset_timezone=vendor.daily_reset_timezone,
        scope=vendor.quota_scope,
        projects=vendor.key_projects(),
    )


def _pool(name: str, vendor: VendorSettings) -> KeyPool:
    return KeyPool(name, vendor.secrets(), window=_window(vendor))


def _timeouts(vendor: VendorSettings) -> Timeouts:
    return Timeouts(
        total=vendor.timeout_seconds,
        first_byte=vendor.first_byte_timeout_seconds,
        connect=vendor.connect_timeout_seconds,
    )


def _policy(vendor: VendorSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=vendor.max_attempts,
        max_total_seconds=min(
            vendor.timeout_seconds * vendor.max_attempts, vendor.max_wait_seconds
        ),
    )


def build_cloud_providers(settings: ProvidersSettings, store: ObjectStore) -> CloudProviders:
    built = CloudProviders()
    volc = settings.volcengine
    if volc.enabled:
        built.asr["volcengine"] = VolcengineAsr(
            pool=_pool("volcengine", volc),
            mode=volc.mode,
            publisher=StoreAudioPublisher(store),
            base_url=volc.base_url or volcengine.DEFAULT_BASE_URL,
            resource_id=volc.resource_id,
            flash_resource_id=volc.flash_resource_id,
            max_wait_seconds=volc.max_wait_seconds,
            poll_interval_seconds=volc.poll_interval_seconds,
            policy=_policy(volc),
        )
        built.asr_info.append(_cloud_asr("volcengine", volc.model))
        if store.supports_presign:
            built.sweeps.append(ProviderAudioSweep(store))
    fly = settings.iflytek
    if fly.enabled:
        built.asr["iflytek"] = IflytekAsr(
            pool=_pool("iflytek", fly),
            base_url=fly.base_url or iflytek.DEFAULT_BASE_URL,
            max_wait_seconds=fly.max_wait_seconds,
            poll_interval_seconds=fly.poll_interval_seconds,
            policy=_policy(fly),
        )
        built.asr_info.append(_cloud_asr("iflytek", fly.model))
    azure = settings.azure
    if azure.enabled:
        built.asr["azure"] = AzureFastTranscription(
            base_url=azure.base_url or azure.endpoint,
            pool=_pool("azure", azure),
            api_version=azure.api_version,
            policy=_policy(azure),
            timeout_seconds=_timeouts(azure),
        )
        built.asr_info.append(
            _cloud_asr(
                "azure",
                azure.model,
                native_hotwords=azure_takes_phrase_lists(azure.api_version),
            )
        )
    gemini = settings.gemini
    if gemini.enabled:
        client = GeminiClient(
            pool=_pool("gemini", gemini),
            base_url=gemini.base_url or GEMINI_BASE_URL,
            policy=_policy(gemini),
            timeout_seconds=_timeouts(gemini),
        )
        if gemini.asr:
            built.asr["gemini"] = GeminiAsr(
                client=client, model=gemini.asr_model, inline_limit_bytes=gemini.inline_limit_bytes
            )
            built.sweeps.append(
                GeminiFileSweep(client, max_age_seconds=settings.sweep.gemini_file_max_age_seconds)
            )
            built.asr_info.append(_cloud_asr("gemini", gemini.asr_model, word_timestamps=False))
        if gemini.llm:
            built.llm["gemini"] = GeminiLlm(
                client=client, model=gemini.llm_model, max_input_tokens=gemini.max_input_tokens
            )
            built.llm_info.append(LlmInfo("gemini", (gemini.llm_model,)))
    openai = settings.openai
    if openai.enabled:
        built.llm[openai.name] = OpenAiCompatibleLlm(
            base_url=openai.base_url or "",
            model=openai.model,
            pool=_pool(openai.name, openai),
            max_input_tokens=openai.max_input_tokens,
            name=openai.name,
            policy=_policy(openai),
            timeout_seconds=_timeouts(openai),
        )
        built.llm_info.append(LlmInfo(openai.name, (openai.model,)))
    for name, vendor in (
        ("volcengine", volc),
        ("iflytek", fly),
        ("azure", azure),
        ("gemini", gemini),
        (openai.name, openai),
    ):
        if vendor.enabled and vendor.task_budget_seconds is not None:
            built.budgets[name] = vendor.task_budget_seconds
    return built
