"""What this deployment offers: providers, their models and languages, and limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from meeting_agent import reasons
from meeting_agent.domain.models import ProviderChoice
from meeting_agent.domain.providers import AsrProvider, LlmProvider
from meeting_agent.errors import FailedPrecondition, InvalidArgument

T = TypeVar("T", bound="AsrProvider | LlmProvider")


@dataclass(frozen=True)
class ProviderCatalog:
    """The configured providers, the default of each kind first."""

    asr: tuple[AsrProvider, ...]
    llm: tuple[LlmProvider, ...]
    diarization: bool = False
    _by_name: dict[str, AsrProvider] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in self.asr})

    def check_asr_choices(self, choices: list[ProviderChoice], language_code: str) -> None:
        """Refuse unknown providers or models, and languages no chosen provider speaks."""
        chosen = []
        for i, choice in enumerate(choices):
            provider = self._by_name.get(choice.provider)
            if provider is None:
                raise InvalidArgument.field(
                    f"task.options.asr_providers[{i}].provider",
                    f"unknown ASR provider {choice.provider!r}; this deployment has "
                    + ", ".join(sorted(self._by_name)),
                    reason=reasons.UNKNOWN_PROVIDER,
                )
            if choice.model and choice.model not in provider.models:
                raise InvalidArgument.field(
                    f"task.options.asr_providers[{i}].model",
                    f"provider {provider.name!r} has no model {choice.model!r}",
                    reason=reasons.UNKNOWN_MODEL,
                )
            chosen.append(provider)
        if not chosen:
            chosen = list(self.asr[:1])
        if language_code and not any(_speaks(p, language_code) for p in chosen):
            raise FailedPrecondition(
                f"no chosen ASR provider transcribes language {language_code!r} "
                "(configure a multilingual model or choose another provider)",
                reason=reasons.LANGUAGE_UNSUPPORTED,
                metadata={"language_code": language_code},
            )

    def check_llm_choices(self, choices: list[ProviderChoice], field_path: str) -> None:
        names = {p.name: p for p in self.llm}
        for i, choice in enumerate(choices):
            provider = names.get(choice.provider)
            if provider is None:
                raise InvalidArgument.field(
                    f"{field_path}[{i}].provider",
                    f"unknown LLM provider {choice.provider!r}; this deployment has "
                    + ", ".join(sorted(names)),
                    reason=reasons.UNKNOWN_PROVIDER,
                )
            if choice.model and choice.model not in provider.models:
                raise InvalidArgument.field(
                    f"{field_path}[{i}].model",
                    f"provider {provider.name!r} has no model {choice.model!r}",
                    reason=reasons.UNKNOWN_MODEL,
                )


def _speaks(provider: AsrProvider, language_code: str) -> bool:
    primary = language_code.split("-")[0].lower()
    return any(code.split("-")[0].lower() == primary for code in provider.language_codes)


def embedded_catalog(
    *,
    local_model: str = "tiny.en",
    local_languages: tuple[str, ...] = ("en",),
    diarization: bool = False,
) -> ProviderCatalog:
    """The embedded default: local Whisper and the extractive minutes generator.

    The bundled tiny.en speaks English only; a configured multilingual model directory
    brings its own languages, so a Chinese task is accepted instead of refused.
    `diarization` says whether the local diarizer labels speakers for providers
    without their own.
    """
    return ProviderCatalog(
        asr=(
            AsrProvider(
                name="local",
                models=(local_model,),
                language_codes=local_languages,
                hotwords=True,
                word_timestamps=True,
            ),
        ),
        llm=(LlmProvider(name="extractive", models=("extractive-v1",), extractive=True),),
        diarization=diarization,
    )


def with_cloud(
    embedded: ProviderCatalog,
    asr: Sequence[AsrProvider],
    llm: Sequence[LlmProvider],
    *,
    asr_order: Sequence[str],
    llm_order: Sequence[str],
) -> ProviderCatalog:
    """The embedded engines plus the configured cloud ones, in the deployment's order.

    Providers named in the order come first, in that order; the others follow.
    """

    def ordered(items: Sequence[T], order: Sequence[str]) -> tuple[T, ...]:
        rank = {name: i for i, name in enumerate(order)}
        return tuple(sorted(items, key=lambda p: rank.get(p.name, len(rank))))

    return ProviderCatalog(
        asr=ordered([*embedded.asr, *asr], asr_order),
        llm=ordered([*embedded.llm, *llm], llm_order),
        diarization=embedded.diarization,
    )
