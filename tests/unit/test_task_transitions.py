"""The task state machine on plain `Task` objects: which changes each state allows, what
each change writes, and the events it makes. No repository, no clock but datetimes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from meeting_agent.domain.models import (
    CANCEL,
    CLAIM,
    FAIL,
    LEASED_STATES,
    PROGRESS,
    REQUEST_CANCEL,
    REQUEUE,
    STOP,
    SUCCEED,
    TRANSITIONS,
    ProviderFallback,
    SkippedProvider,
    Task,
    TaskError,
    TaskEventType,
    TaskOptions,
    TaskStage,
    TaskState,
    Transition,
)
from meeting_agent.errors import FailedPrecondition

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
LEASE = timedelta(seconds=60)
ERROR = TaskError(code=14, reason="PROVIDER_UNREACHABLE", message="volcengine is down")
TERMINAL = [state for state in TaskState if state.is_terminal]


def queued() -> Task:
    return Task.queued(
        id="t1",
        tenant_id="acme",
        creator_id="alice",
        display_name="Weekly sync 周会",
        options=TaskOptions(language_code="zh-CN"),
        labels={},
        now=T0,
    )


def in_state(state: TaskState, **changes: object) -> Task:
    """A task in `state` under a live lease, as the repository would load it."""
    task = replace(queued(), state=state, heartbeat_time=LATER, attempts=1)
    return replace(task, **changes)  # type: ignore[arg-type]


# How each transition is made, with the arguments a caller would give it.
MAKE: dict[Transition, Callable[[Task], object]] = {
    CLAIM: lambda task: task.claim(LATER, stale_before=LATER - LEASE),
    PROGRESS: lambda task: task.progress(40, "transcribing", LATER),
    REQUEUE: lambda task: task.requeue("attempt 1 failed; will retry", LATER),
    SUCCEED: lambda task: task.succeed("done", LATER),
    FAIL: lambda task: task.fail(ERROR, "gave up", LATER),
    STOP: lambda task: task.stop("task cancelled", LATER),
}


def refusal(task: Task, make: Callable[[Task], object]) -> FailedPrecondition:
    before = replace(task)
    with pytest.raises(FailedPrecondition) as info:
        make(task)
    assert task == before, "a refused change must change nothing"
    return info.value


# ---------------------------------------------------------------- the table


def test_every_transition_is_made_by_a_method_or_by_cancel() -> None:
    assert set(MAKE) | {CANCEL, REQUEST_CANCEL} == set(TRANSITIONS)


def test_no_transition_leaves_a_terminal_state() -> None:
    for transition in TRANSITIONS:
        assert not any(state.is_terminal for state in transition.sources), transition.name


def test_only_a_claim_takes_over_a_leased_state() -> None:
    # Everything else a leased (running) task does is done by the job holding the lease.
    assert CLAIM.sources & LEASED_STATES == LEASED_STATES


@pytest.mark.parametrize("transition", list(MAKE), ids=lambda t: t.name)
@pytest.mark.parametrize("state", list(TaskState), ids=str)
def test_each_transition_leaves_only_its_source_states(
    transition: Transition, state: TaskState
) -> None:
    # Stale, so that the lease never stands in the way here: only the state decides.
    task = in_state(state, heartbeat_time=T0)

    if state in transition.sources:
        MAKE[transition](task)
        assert task.state is transition.target
        assert task.update_time == LATER
    else:
        error = refusal(task, MAKE[transition])
        reason = "TASK_ALREADY_FINISHED" if state.is_terminal else "TASK_STATE_CONFLICT"
        assert (error.reason, error.metadata) == (reason, {"state": state.value})


@pytest.mark.parametrize("state", TERMINAL, ids=str)
def test_terminal_states_are_final(state: TaskState) -> None:
    for transition, make in MAKE.items():
        task = in_state(state)
        assert refusal(task, make).reason == "TASK_ALREADY_FINISHED", transition.name


# ---------------------------------------------------------------- claim and lease


def test_a_claim_starts_the_first_attempt_under_a_lease() -> None:
    task = queued()

    task.claim(LATER, stale_before=LATER - LEASE)

    assert task.state is TaskState.RUNNING
    assert (task.heartbeat_time, task.attempts) == (LATER, 1)
    assert task.start_time == task.update_time == LATER


def test_a_stale_lease_is_claimed_again_and_keeps_the_start_time() -> None:
    task = in_state(TaskState.RUNNING, start_time=T0, heartbeat_time=T0)
    again = LATER + timedelta(minutes=10)

    assert task.lease_is_stale(again - LEASE)
    task.claim(again, stale_before=again - LEASE)

    assert (task.heartbeat_time, task.attempts, task.start_time) == (again, 2, T0)


def test_a_running_task_without_a_lease_is_stale() -> None:
    task = in_state(TaskState.RUNNING, heartbeat_time=None)

    assert task.lease_is_stale(T0) and task.claimable(T0)


def test_a_live_lease_cannot_be_claimed() -> None:
    task = in_state(TaskState.RUNNING, heartbeat_time=LATER)

    assert not task.claimable(LATER - LEASE)
    error = refusal(task, lambda t: t.claim(LATER, stale_before=LATER - LEASE))
    assert error.reason == "TASK_STATE_CONFLICT"


@pytest.mark.parametrize("state", [TaskState.QUEUED, *TERMINAL], ids=str)
def test_only_a_running_task_holds_a_lease(state: TaskState) -> None:
    assert not in_state(state, heartbeat_time=None).lease_is_stale(LATER)


# ---------------------------------------------------------------- progress


def test_a_stage_change_moves_stage_and_percent_with_a_stage_event() -> None:
    task = in_state(TaskState.RUNNING)

    event = task.progress(12, "transcribing", LATER, stage=TaskStage.TRANSCRIBE)

    assert (task.stage, task.progress_percent) == (TaskStage.TRANSCRIBE, 12)
    assert event.type is TaskEventType.STAGE_CHANGED
    assert (event.stage, event.progress_percent, event.message) == (
        TaskStage.TRANSCRIBE,
        12,
        "transcribing",
    )


def test_progress_within_a_stage_keeps_the_stage() -> None:
    task = in_state(TaskState.RUNNING, stage=TaskStage.DECODE, progress_percent=5)

    event = task.progress(9, "decoding", LATER)

    assert (task.stage, task.progress_percent) == (TaskStage.DECODE, 9)
    assert event.type is TaskEventType.PROGRESS


def test_progress_never_goes_backwards() -> None:
    task = in_state(TaskState.RUNNING, stage=TaskStage.DIARIZE, progress_percent=60)

    event = task.progress(30, "fetching again", LATER, stage=TaskStage.FETCH_AUDIO)

    # A resumed attempt may run an earlier stage again; its percent stays where it was.
    assert (task.stage, task.progress_percent) == (TaskStage.FETCH_AUDIO, 60)
    assert event.progress_percent == 60


# ---------------------------------------------------------------- ends


def test_success_completes_the_task_and_clears_an_earlier_error() -> None:
    task = in_state(TaskState.RUNNING, error=ERROR, progress_percent=97)

    event = task.succeed("done", LATER)

    assert (task.state, task.stage, task.progress_percent) == (
        TaskState.SUCCEEDED,
        TaskStage.DONE,
        100,
    )
    assert task.error is None and task.end_time == LATER
    assert (event.type, event.state, event.error) == (
        TaskEventType.STATE_CHANGED,
        TaskState.SUCCEEDED,
        None,
    )


def test_failure_keeps_the_error_and_the_progress() -> None:
    task = in_state(TaskState.RUNNING, stage=TaskStage.TRANSCRIBE, progress_percent=30)

    event = task.fail(ERROR, "gave up after 3 attempts", LATER)

    assert (task.state, task.error, task.end_time) == (TaskState.FAILED, ERROR, LATER)
    assert (task.stage, task.progress_percent) == (TaskStage.TRANSCRIBE, 30)
    assert (event.state, event.error) == (TaskState.FAILED, ERROR)


def test_a_stopped_job_ends_its_task_cancelled() -> None:
    task = in_state(TaskState.RUNNING, cancel_requested=True)

    event = task.stop("task cancelled", LATER)

    assert (task.state, task.end_time, task.error) == (TaskState.CANCELLED, LATER, None)
    assert event.type is TaskEventType.STATE_CHANGED


def test_a_requeued_task_keeps_what_it_did_and_ends_nothing() -> None:
    task = in_state(
        TaskState.RUNNING, stage=TaskStage.TRANSCRIBE, progress_percent=30, cancel_requested=True
    )

    event = task.requeue("attempt 1 failed; will retry", LATER)

    assert task.state is TaskState.QUEUED and task.end_time is None
    assert (task.stage, task.progress_percent, task.attempts) == (TaskStage.TRANSCRIBE, 30, 1)
    # A cancellation asked for before still stops the next attempt.
    assert task.cancel_requested
    assert (event.type, event.state) == (TaskEventType.STATE_CHANGED, TaskState.QUEUED)


# ---------------------------------------------------------------- cancel


def test_cancelling_a_queued_task_cancels_it() -> None:
    task = queued()

    event = task.cancel(LATER)

    assert (task.state, task.end_time, task.update_time) == (TaskState.CANCELLED, LATER, LATER)
    assert event is not None
    assert (event.type, event.state, event.message) == (
        TaskEventType.STATE_CHANGED,
        TaskState.CANCELLED,
        "task cancelled",
    )


def test_cancelling_a_running_task_asks_its_job_to_stop() -> None:
    task = in_state(TaskState.RUNNING)

    event = task.cancel(LATER)

    assert (task.state, task.cancel_requested, task.end_time) == (TaskState.RUNNING, True, None)
    assert event is not None
    assert (event.type, event.message) == (TaskEventType.PROGRESS, "cancellation requested")


@pytest.mark.parametrize(
    "task",
    [
        in_state(TaskState.CANCELLED),
        in_state(TaskState.RUNNING, cancel_requested=True),
        # Requeued after the request: its next attempt stops.
        in_state(TaskState.QUEUED, cancel_requested=True),
    ],
    ids=["cancelled", "asked", "asked-then-requeued"],
)
def test_cancelling_again_changes_nothing(task: Task) -> None:
    before = replace(task)

    assert task.cancel(LATER) is None
    assert task == before


@pytest.mark.parametrize("state", [TaskState.SUCCEEDED, TaskState.FAILED], ids=str)
def test_a_finished_task_cannot_be_cancelled(state: TaskState) -> None:
    task = in_state(state, cancel_requested=True)

    error = refusal(task, lambda t: t.cancel(LATER))

    assert (error.reason, error.metadata) == ("TASK_ALREADY_FINISHED", {"state": state.value})
    assert error.message == f"tasks/t1 has already {state.value}"


# ---------------------------------------------------------------- events, costs, fallbacks


def test_events_number_themselves_from_the_task() -> None:
    task = queued()

    first = task.event(TaskEventType.STATE_CHANGED, "task queued", T0)
    warning = task.event(TaskEventType.WARNING, "fell back", LATER, reason="PROVIDER_FALLBACK")

    assert (first.sequence, warning.sequence, task.last_event_sequence) == (1, 2, 2)
    assert (warning.reason, warning.event_time, task.update_time) == (
        "PROVIDER_FALLBACK",
        LATER,
        LATER,
    )


def test_a_new_task_is_queued_at_the_start() -> None:
    task = queued()

    assert (task.state, task.stage, task.progress_percent, task.attempts) == (
        TaskState.QUEUED,
        TaskStage.UNSPECIFIED,
        0,
        0,
    )
    assert task.create_time == task.update_time == T0
    assert task.start_time is task.end_time is task.heartbeat_time is None


def test_costs_add_up_in_the_first_currency_only() -> None:
    task = queued()

    assert task.add_cost(Decimal("0.25"), "CNY")
    assert task.add_cost(Decimal("0.50"), "CNY")
    assert not task.add_cost(Decimal("9"), "USD")

    assert (task.cost_amount, task.cost_currency) == (Decimal("0.75"), "CNY")


def test_a_later_fallback_of_the_same_output_replaces_the_earlier() -> None:
    task = queued()
    skipped = (SkippedProvider("openai", "PROVIDER_UNREACHABLE", "down"),)
    transcript = ProviderFallback("transcript", "local", skipped)
    first = ProviderFallback("minutes", "gemini", skipped)
    second = ProviderFallback("minutes", "extractive", skipped)

    for fallback in (transcript, first, second):
        task.keep_fallback(fallback)

    assert task.fallbacks == [transcript, second]
