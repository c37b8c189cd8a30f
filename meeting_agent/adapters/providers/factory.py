"""Building the configured cloud providers, each behind its port and the usage meter."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from meeting_agent.adapters.providers import iflytek, volcengine
from meeting_agent.adapters.providers._gemini_client import DEFAULT_BASE_URL as GEMINI_BASE_URL
from meeting_agent.adapters.providers.azure import (
    AzureFastTranscription,
    azure_takes_phrase_lists,
)
from meeting_agent.adapters.providers.calls import KeyPool, RetryPolicy
from meeting_agent.adapters.providers.gemini import GeminiAsr, GeminiClient, GeminiLlm
from meeting_agent.adapters.providers.iflytek import IflytekAsr
from meeting_agent.adapters.providers.openai_compat import OpenAiCompatibleLlm
from meeting_agent.adapters.providers.volcengine import VolcengineAsr
from meeting_agent.config_providers import ProvidersSettings, VendorSettings
from meeting_agent.domain.models import CallContext
from meeting_agent.minutes.llm import LlmMinutesGenerator
from meeting_agent.ports import AsrProvider, LlmProvider, MinutesGenerator, ObjectStore
from meeting_agent.service.billing import UsageMeter
from meeting_agent.service.catalog import AsrProvider as AsrInfo
from meeting_agent.service.catalog import LlmProvider as LlmInfo
from meeting_agent.service.metering import MeteredLlm

# Languages the cloud recognisers are offered for; each vendor takes many more, and
# the vendor itself refuses what it cannot do.
_CLOUD_LANGUAGES = ("zh", "en", "ja", "ko", "yue")
PROVIDER_AUDIO_PREFIX = "provider-audio/"
PROVIDER_AUDIO_URL_SECONDS = 24 * 3600


class StoreAudioPublisher:
    """Publishes audio for URL-only vendors through the object store's presigned GETs.

    Objects are named by content hash under one prefix, so a retried job publishes the
    same object again instead of a new one; a lifecycle rule on the prefix expires them.
    """

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def publish(self, path: Path, *, content_type: str, name: str) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        suffix = Path(name).suffix or ".bin"
        key = f"{PROVIDER_AUDIO_PREFIX}{digest.hexdigest()}{suffix}"
        if self._store.head(key) is None:
            writer = self._store.open_writer(key, content_type=content_type)
            try:
                with path.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        writer.write(block)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
        return self._store.presign_get(key, expires_in_seconds=PROVIDER_AUDIO_URL_SECONDS)


GeneratorFactory = Callable[[CallContext], MinutesGenerator]


@dataclass
class CloudProviders:
    asr: dict[str, AsrProvider] = field(default_factory=dict)
    llm: dict[str, LlmProvider] = field(default_factory=dict)
    asr_info: list[AsrInfo] = field(default_factory=list)
    llm_info: list[LlmInfo] = field(default_factory=list)

    def preflight(self, can_presign: bool) -> Callable[[str], None]:
        """A check task creation runs on the first recogniser a task would use."""
        def check(name: str) -> None:
            provider = self.asr.get(name)
            if isinstance(provider, VolcengineAsr):
                provider.check_supported(None, None, can_presign)

        return check

    def generator_factories(self, meter: UsageMeter) -> dict[str, GeneratorFactory]:
        def factory(llm: LlmProvider) -> GeneratorFactory:
            return lambda context: LlmMinutesGenerator(MeteredLlm(llm, meter, context))

        return {name: factory(llm) for name, llm in self.llm.items()}


def _policy(vendor: VendorSettings) -> RetryPolicy:
    return RetryPolicy(max_attempts=vendor.max_attempts,
                       max_total_seconds=min(vendor.timeout_seconds * vendor.max_attempts,
                                             vendor.max_wait_seconds))


def build_cloud_providers(settings: ProvidersSettings, store: ObjectStore) -> CloudProviders:
    built = CloudProviders()
    volc = settings.volcengine
    if volc.enabled:
        built.asr["volcengine"] = VolcengineAsr(
            keys=volc.secrets(), mode=volc.mode,
            publisher=StoreAudioPublisher(store),
            base_url=volc.base_url or volcengine.DEFAULT_BASE_URL, resource_id=volc.resource_id,
            flash_resource_id=volc.flash_resource_id, max_wait_seconds=volc.max_wait_seconds,
            poll_interval_seconds=volc.poll_interval_seconds,
            retry_policy=_policy(volc))
        built.asr_info.append(AsrInfo("volcengine", (volc.model,), _CLOUD_LANGUAGES,
                                      diarization=True, hotwords=True, word_timestamps=True,
                                      native_hotwords=True))
    fly = settings.iflytek
    if fly.enabled:
        built.asr["iflytek"] = IflytekAsr(keys=fly.secrets(),
                                          base_url=fly.base_url or iflytek.DEFAULT_BASE_URL,
                                          max_wait_seconds=fly.max_wait_seconds,
                                          poll_interval_seconds=fly.poll_interval_seconds,
                                          retry_policy=_policy(fly))
        built.asr_info.append(AsrInfo("iflytek", (fly.model,), _CLOUD_LANGUAGES,
                                      diarization=True, hotwords=True, word_timestamps=True,
                                      native_hotwords=True))
    azure = settings.azure
    if azure.enabled:
        built.asr["azure"] = AzureFastTranscription(
            endpoint=azure.base_url or azure.endpoint, pool=KeyPool("azure", azure.secrets()),
            api_version=azure.api_version, policy=_policy(azure),
            timeout_seconds=azure.timeout_seconds)
        built.asr_info.append(AsrInfo("azure", (azure.model,), _CLOUD_LANGUAGES,
                                      diarization=True, hotwords=True, word_timestamps=True,
                                      native_hotwords=azure_takes_phrase_lists(
                                          azure.api_version)))
    gemini = settings.gemini
    if gemini.enabled:
        client = GeminiClient(pool=KeyPool("gemini", gemini.secrets()),
                              base_url=gemini.base_url or GEMINI_BASE_URL,
                              policy=_policy(gemini), timeout_seconds=gemini.timeout_seconds)
        if gemini.asr:
            built.asr["gemini"] = GeminiAsr(client=client, model=gemini.asr_model)
            built.asr_info.append(AsrInfo("gemini", (gemini.asr_model,), _CLOUD_LANGUAGES,
                                          diarization=True, hotwords=True,
                                          native_hotwords=True))
        if gemini.llm:
            built.llm["gemini"] = GeminiLlm(client=client, model=gemini.llm_model,
                                            max_input_tokens=gemini.max_input_tokens)
            built.llm_info.append(LlmInfo("gemini", (gemini.llm_model,)))
    openai = settings.openai
    if openai.enabled:
        built.llm[openai.name] = OpenAiCompatibleLlm(
            base_url=openai.base_url or "", model=openai.model,
            pool=KeyPool(openai.name, openai.secrets()),
            max_input_tokens=openai.max_input_tokens, name=openai.name,
            policy=_policy(openai), timeout_seconds=openai.timeout_seconds)
        built.llm_info.append(LlmInfo(openai.name, (openai.model,)))
    return built

