"""How a task's percent is shared between its stages, and how it grows as they run.

What it promises: each stage the task runs gets a part of 0-99 % in proportion to its
expected time, so diarization on this machine gets a real share and a task that skips
a stage does not leave a gap; re-planning mid-task never moves the percent back.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from meeting_agent.domain.models import Task, TaskEvent, TaskOptions, TaskStage, TaskState
from meeting_agent.ports import EventStream
from meeting_agent.service.pipeline import progress as progress_module
from meeting_agent.service.pipeline.plan import (
    PIPELINE_ORDER,
    ProviderProfiles,
    Workload,
    stage_costs,
    stage_spans,
)
from meeting_agent.service.pipeline.progress import TaskProgress
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWorkFactory

THREE_HOURS = 3 * 3600.0
PROFILES = ProviderProfiles(
    cloud_asr=frozenset({"volcengine"}),
    speaker_labelling_asr=frozenset({"volcengine"}),
    llm_minutes=frozenset({"gemini"}),
)


def spans_of(work: Workload) -> dict[TaskStage, tuple[int, int]]:
    return stage_spans(stage_costs(work))


def width(span: tuple[int, int]) -> int:
    return span[1] - span[0]


def local(
    *,
    audio_seconds: float | None = THREE_HOURS,
    transcribe: bool = True,
    asr_provider: str = "local",
    diarizer: bool = True,
    minutes_provider: str = "extractive",
) -> Workload:
    """Three hours on the embedded recogniser and diarizer, unless told otherwise."""
    return Workload.of(
        PROFILES,
        audio_seconds=audio_seconds,
        transcribe=transcribe,
        asr_provider=asr_provider,
        diarizer=diarizer,
        minutes_provider=minutes_provider,
    )


def test_spans_follow_each_other_from_0_to_99() -> None:
    spans = spans_of(local())

    assert list(spans) == list(PIPELINE_ORDER)
    assert spans[TaskStage.FETCH_AUDIO][0] == 0
    assert spans[TaskStage.GENERATE_MINUTES][1] == 99
    for before, after in itertools.pairwise(PIPELINE_ORDER):
        assert spans[before][1] == spans[after][0]
        assert spans[after][0] <= spans[after][1]


def test_local_diarization_gets_a_share_like_its_time() -> None:
    spans = spans_of(local())

    # About a third of the time of tiny.en's accurate decoding: a quarter of the bar,
    # not the old tenth.
    assert 18 <= width(spans[TaskStage.DIARIZE]) <= 35
    assert width(spans[TaskStage.TRANSCRIBE]) > width(spans[TaskStage.DIARIZE])


def test_without_diarization_transcription_fills_the_bar() -> None:
    spans = spans_of(local(diarizer=False))

    assert width(spans[TaskStage.DIARIZE]) == 0
    assert width(spans[TaskStage.TRANSCRIBE]) >= 90


def test_a_recogniser_that_labels_speakers_needs_no_diarization() -> None:
    work = local(asr_provider="volcengine")

    assert work.cloud_asr and not work.diarize
    assert width(spans_of(work)[TaskStage.DIARIZE]) == 0


def test_unknown_providers_count_as_the_embedded_ones() -> None:
    work = Workload.of(
        ProviderProfiles(),
        audio_seconds=60.0,
        transcribe=True,
        asr_provider="fake",
        diarizer=True,
        minutes_provider="fake",
    )

    assert (work.cloud_asr, work.diarize, work.llm_minutes) == (False, True, False)


def test_llm_minutes_take_more_of_the_bar_than_extractive_ones() -> None:
    extractive = spans_of(local())[TaskStage.GENERATE_MINUTES]
    llm = spans_of(local(minutes_provider="gemini"))[TaskStage.GENERATE_MINUTES]

    assert width(llm) > width(extractive)


def test_fixed_costs_weigh_more_on_a_short_recording() -> None:
    short = spans_of(local(audio_seconds=60.0, minutes_provider="gemini"))
    long = spans_of(local(minutes_provider="gemini"))

    assert width(short[TaskStage.GENERATE_MINUTES]) > width(long[TaskStage.GENERATE_MINUTES])


def test_a_stored_transcript_leaves_the_bar_to_the_last_stages() -> None:
    spans = stage_spans(stage_costs(local(transcribe=False)), start=85)

    for stage in (TaskStage.FETCH_AUDIO, TaskStage.DECODE, TaskStage.TRANSCRIBE, TaskStage.DIARIZE):
        assert spans[stage] == (85, 85)
    assert spans[TaskStage.GENERATE_MINUTES][1] == 99


def test_a_plan_from_the_middle_covers_only_what_is_left() -> None:
    later = PIPELINE_ORDER[PIPELINE_ORDER.index(TaskStage.DIARIZE) :]
    spans = stage_spans(stage_costs(local()), start=60, stages=later)

    assert set(spans) == set(later)
    assert spans[TaskStage.DIARIZE][0] == 60
    assert spans[TaskStage.GENERATE_MINUTES][1] == 99


def test_nothing_to_do_stays_where_it_is() -> None:
    assert set(stage_spans({}, start=30).values()) == {(30, 30)}
    assert stage_spans({TaskStage.DECODE: 1.0}, start=100)[TaskStage.DECODE] == (100, 100)


# ---------------------------------------------------------------- TaskProgress


class Recorded:
    def __init__(self) -> None:
        self.events: list[TaskEvent] = []

    def publish(self, event: TaskEvent) -> None:
        self.events.append(event)

    def listen(self) -> EventStream:
        raise NotImplementedError


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> tuple[TaskProgress, Recorded]:
    monkeypatch.setattr(progress_module, "MIN_PROGRESS_INTERVAL_SECONDS", 0.0)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    task = Task(
        id="t1",
        tenant_id="acme",
        creator_id="alice",
        display_name="t1",
        audio_sources=[],
        options=TaskOptions(),
        labels={},
        state=TaskState.RUNNING,
        stage=TaskStage.UNSPECIFIED,
        progress_percent=0,
        create_time=now,
        update_time=now,
        attempts=1,
    )
    db = FakeDatabase()
    db.tasks[(task.tenant_id, task.id)] = task
    bus = Recorded()
    return TaskProgress(task, FakeUnitOfWorkFactory(db), FakeClock(now), bus), bus


def test_percent_grows_through_both_stages_and_never_goes_back(
    recorded: tuple[TaskProgress, Recorded],
) -> None:
    progress, bus = recorded
    progress.plan(local(audio_seconds=None))
    progress.stage(TaskStage.DECODE, "decoding audio")
    progress.within(TaskStage.DECODE, 1.0)
    # The real length is known now; the recogniser then labelled no speakers.
    progress.plan(local(), first=TaskStage.TRANSCRIBE)
    progress.stage(TaskStage.TRANSCRIBE, "transcribing")
    for step in range(1, 101):
        progress.within(TaskStage.TRANSCRIBE, step / 100)
    progress.plan(local(), first=TaskStage.DIARIZE)
    progress.stage(TaskStage.DIARIZE, "identifying speakers")
    for step in range(1, 101):
        progress.within(TaskStage.DIARIZE, step / 100)
    progress.stage(TaskStage.GENERATE_MINUTES, "writing the minutes")

    percents = [e.progress_percent for e in bus.events]
    assert percents == sorted(percents)
    by_stage = {
        stage: [e.progress_percent for e in bus.events if e.stage is stage]
        for stage in (TaskStage.TRANSCRIBE, TaskStage.DIARIZE)
    }
    # Whole percents, one event each: no stage sits on one figure for its whole run.
    assert len(set(by_stage[TaskStage.TRANSCRIBE])) > 40
    assert len(set(by_stage[TaskStage.DIARIZE])) > 20


def test_a_late_change_of_plan_starts_from_the_current_percent(
    recorded: tuple[TaskProgress, Recorded],
) -> None:
    progress, _ = recorded
    progress.plan(local())
    progress.stage(TaskStage.TRANSCRIBE, "transcribing")
    progress.within(TaskStage.TRANSCRIBE, 0.99)
    reached = progress.percent

    # The recogniser labelled the speakers after all: no diarization.
    progress.plan(local(diarizer=False), first=TaskStage.DIARIZE)

    assert progress.span(TaskStage.DIARIZE) == (reached, reached)
    assert progress.span(TaskStage.GENERATE_MINUTES)[1] == 99
    assert progress.span(TaskStage.TRANSCRIBE)[0] < reached


def test_a_silent_reporter_gets_what_the_stage_does(
    recorded: tuple[TaskProgress, Recorded],
) -> None:
    progress, bus = recorded
    progress.plan(local())
    progress.stage(TaskStage.DIARIZE, "identifying speakers")
    progress.within(TaskStage.DIARIZE, 0.5, "comparing voices")
    progress.within(TaskStage.DIARIZE, 1.0)

    assert [e.message for e in bus.events[-2:]] == ["comparing voices", "identifying speakers"]
