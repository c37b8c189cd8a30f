"""How a task's percent is shared between the stages it runs.

Each stage gets a part of 0-99 % in proportion to the time it is expected to take, so
the percent grows at about the same pace through the whole task whatever runs: local
or cloud recognition, the local diarizer or none, LLM or extractive minutes. 100 % is
left for the end of the task.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from meeting_agent.domain.models import TaskStage

__all__ = ["PIPELINE_ORDER", "ProviderProfiles", "Workload", "stage_costs", "stage_spans"]

PIPELINE_ORDER: tuple[TaskStage, ...] = (
    TaskStage.FETCH_AUDIO,
    TaskStage.DECODE,
    TaskStage.TRANSCRIBE,
    TaskStage.DIARIZE,
    TaskStage.APPLY_SPEAKER_MAPPINGS,
    TaskStage.GENERATE_MINUTES,
)

LAST_STAGE_PERCENT = 99

# Before decoding tells the length, a plan assumes an hour: the length matters only
# for the fixed costs (model loads, one LLM round trip), and decoding re-plans.
NOMINAL_AUDIO_SECONDS = 3600.0


@dataclass(frozen=True)
class _Cost:
    """Expected seconds of a stage: per second of audio, plus once per task."""

    per_audio_second: float
    fixed_seconds: float = 0.0

    def seconds(self, audio_seconds: float) -> float:
        return self.per_audio_second * audio_seconds + self.fixed_seconds


# Measured on a 2-core machine with the bundled tiny.en and the local diarizer on
# repeated speech (bench/pipeline.py, bench/diarization.py); cloud figures follow the
# vendors' own polling estimates (Volcano expects a tenth of the audio length). Only
# the ratios matter, and a machine that is faster at everything keeps them.
_FETCH = _Cost(0.001)
_DECODE = _Cost(0.002)
# The accurate preset, the default (the fast one takes about 0.05).
_LOCAL_ASR = _Cost(0.08, fixed_seconds=4.0)
_CLOUD_ASR = _Cost(0.1, fixed_seconds=10.0)
_LOCAL_DIARIZATION = _Cost(0.025, fixed_seconds=5.0)
_APPLY_SPEAKER_MAPPINGS = _Cost(0.0, fixed_seconds=0.1)
_EXTRACTIVE_MINUTES = _Cost(0.001)
_LLM_MINUTES = _Cost(0.005, fixed_seconds=15.0)


@dataclass(frozen=True)
class ProviderProfiles:
    """What a plan needs to know of the configured providers, by name.

    A provider not named here is taken for an embedded one: a recogniser on this
    machine that labels no speakers, a minutes generator without an LLM.
    """

    cloud_asr: frozenset[str] = frozenset()
    speaker_labelling_asr: frozenset[str] = frozenset()
    llm_minutes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Workload:
    """What one attempt of a task is expected to run."""

    audio_seconds: float | None
    transcribe: bool = True
    cloud_asr: bool = False
    diarize: bool = False
    llm_minutes: bool = False

    @classmethod
    def of(
        cls,
        profiles: ProviderProfiles,
        *,
        audio_seconds: float | None,
        transcribe: bool,
        asr_provider: str,
        diarizer: bool,
        minutes_provider: str,
    ) -> Workload:
        """The work with these providers; `diarizer` says whether diarization is wanted
        and available, and it runs only when the recogniser labels no speakers."""
        return cls(
            audio_seconds=audio_seconds,
            transcribe=transcribe,
            cloud_asr=asr_provider in profiles.cloud_asr,
            diarize=diarizer and asr_provider not in profiles.speaker_labelling_asr,
            llm_minutes=minutes_provider in profiles.llm_minutes,
        )


def stage_costs(work: Workload) -> dict[TaskStage, float]:
    """Expected seconds of each stage the work runs (stages it skips are absent)."""
    seconds = work.audio_seconds if work.audio_seconds else NOMINAL_AUDIO_SECONDS
    costs: dict[TaskStage, _Cost] = {}
    if work.transcribe:
        costs[TaskStage.FETCH_AUDIO] = _FETCH
        costs[TaskStage.DECODE] = _DECODE
        costs[TaskStage.TRANSCRIBE] = _CLOUD_ASR if work.cloud_asr else _LOCAL_ASR
        if work.diarize:
            costs[TaskStage.DIARIZE] = _LOCAL_DIARIZATION
    costs[TaskStage.APPLY_SPEAKER_MAPPINGS] = _APPLY_SPEAKER_MAPPINGS
    costs[TaskStage.GENERATE_MINUTES] = _LLM_MINUTES if work.llm_minutes else _EXTRACTIVE_MINUTES
    return {stage: cost.seconds(seconds) for stage, cost in costs.items()}


def stage_spans(
    costs: Mapping[TaskStage, float],
    *,
    start: int = 0,
    end: int = LAST_STAGE_PERCENT,
    stages: Collection[TaskStage] = PIPELINE_ORDER,
) -> dict[TaskStage, tuple[int, int]]:
    """Consecutive `(low, high)` percents for `stages` (pipeline order) over start-end,
    each as wide as its share of the total cost.

    A stage without a cost gets an empty span where it would run, so entering it
    anyway moves nothing backwards. Boundaries are rounded from the running total,
    so rounding never accumulates and the last stage ends exactly at `end`.
    """
    end = max(start, end)
    ordered = [stage for stage in PIPELINE_ORDER if stage in stages]
    total = sum(max(costs.get(stage, 0.0), 0.0) for stage in ordered)
    spans: dict[TaskStage, tuple[int, int]] = {}
    done = 0.0
    low = start
    for stage in ordered:
        done += max(costs.get(stage, 0.0), 0.0)
        high = start + round((end - start) * done / total) if total > 0 else start
        spans[stage] = (low, high)
        low = high
    return spans
