"""TranscriptService: reading transcripts and field-mask updates of speaker mappings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from meeting_agent.domain.models import (
    AudioSource,
    Principal,
    SpeakerIdentity,
    Task,
    TaskOptions,
    TaskStage,
    TaskState,
    Transcript,
    TranscriptSegment,
    Word,
)
from meeting_agent.errors import Aborted, InvalidArgument, NotFound
from meeting_agent.service.transcripts import TranscriptService
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWorkFactory

ALICE = Principal(tenant_id="acme", user_id="alice")
MALLORY = Principal(tenant_id="globex", user_id="mallory")
TASK_ID = "7d1c6f5e-0000-4000-8000-000000000001"

ADA = SpeakerIdentity("Ada Lovelace", "ada")
BO = SpeakerIdentity("王芳", "")
CY = SpeakerIdentity("Cy Twombly", "cy")


@dataclass
class Env:
    db: FakeDatabase
    clock: FakeClock
    service: TranscriptService


@pytest.fixture
def env() -> Env:
    db = FakeDatabase()
    clock = FakeClock()
    now = clock.now()
    db.tasks[("acme", TASK_ID)] = Task(
        id=TASK_ID,
        tenant_id="acme",
        creator_id="alice",
        display_name="sync",
        audio_sources=[AudioSource(uri="fake://bucket/x", object_key="x")],
        options=TaskOptions(),
        labels={},
        state=TaskState.SUCCEEDED,
        stage=TaskStage.DONE,
        progress_percent=100,
        create_time=now,
        update_time=now,
        has_transcript=True,
    )
    return Env(db, clock, TranscriptService(FakeUnitOfWorkFactory(db), clock))


def stored(env: Env) -> dict[str, SpeakerIdentity]:
    return env.service.get_mappings(ALICE, TASK_ID).mappings


def seed(env: Env, mappings: dict[str, SpeakerIdentity]) -> str:
    """Store mappings through the service; returns the new etag."""
    return env.service.update_mappings(ALICE, TASK_ID, mappings, "", ["mappings"]).etag


# ---------------------------------------------------------------- mappings


def test_task_without_mappings_has_empty_mappings_with_an_etag(env: Env) -> None:
    mappings = env.service.get_mappings(ALICE, TASK_ID)

    assert mappings.mappings == {}
    assert mappings.etag
    assert mappings.task_id == TASK_ID


def test_mask_mappings_replaces_the_whole_map(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA, "SPEAKER_2": BO})

    result = env.service.update_mappings(ALICE, TASK_ID, {"SPEAKER_3": CY}, "", ["mappings"])

    assert result.mappings == {"SPEAKER_3": CY}
    assert stored(env) == {"SPEAKER_3": CY}


def test_mask_mappings_with_empty_request_clears_the_map(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA})

    env.service.update_mappings(ALICE, TASK_ID, {}, "", ["mappings"])

    assert stored(env) == {}


def test_mask_entry_sets_one_label_and_keeps_the_others(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA, "SPEAKER_2": BO})

    env.service.update_mappings(ALICE, TASK_ID, {"SPEAKER_1": CY}, "", ["mappings.SPEAKER_1"])

    assert stored(env) == {"SPEAKER_1": CY, "SPEAKER_2": BO}


def test_mask_entries_add_new_labels(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA})

    env.service.update_mappings(
        ALICE,
        TASK_ID,
        {"SPEAKER_2": BO, "SPEAKER_3": CY},
        "",
        ["mappings.SPEAKER_2", "mappings.SPEAKER_3"],
    )

    assert stored(env) == {"SPEAKER_1": ADA, "SPEAKER_2": BO, "SPEAKER_3": CY}


def test_label_in_mask_but_absent_from_request_is_removed(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA, "SPEAKER_2": BO})

    env.service.update_mappings(ALICE, TASK_ID, {}, "", ["mappings.SPEAKER_2"])

    assert stored(env) == {"SPEAKER_1": ADA}


def test_removing_a_label_that_was_never_mapped_is_harmless(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA})

    env.service.update_mappings(ALICE, TASK_ID, {}, "", ["mappings.SPEAKER_9"])

    assert stored(env) == {"SPEAKER_1": ADA}


def test_new_label_in_request_but_not_in_mask_is_invalid(env: Env) -> None:
    seed(env, {"SPEAKER_1": ADA})

    with pytest.raises(InvalidArgument) as info:
        env.service.update_mappings(
            ALICE, TASK_ID, {"SPEAKER_1": CY, "SPEAKER_2": BO}, "", ["mappings.SPEAKER_1"]
        )

    assert [v.field for v in info.value.violations] == ["update_mask"]
    assert stored(env) == {"SPEAKER_1": ADA}


def test_mapped_label_in_request_but_not_in_mask_is_invalid(env: Env) -> None:
    # SPEAKER_2 is already mapped; naming it in the request without the mask must not be
    # silently ignored any more than a new label is.
    seed(env, {"SPEAKER_1": ADA, "SPEAKER_2": BO})

    try:
        env.service.update_mappings(
            ALICE, TASK_ID, {"SPEAKER_1": CY, "SPEAKER_2": CY}, "", ["mappings.SPEAKER_1"]
        )
    except InvalidArgument as exc:
        assert [v.field for v in exc.violations] == ["update_mask"]
    else:
        pytest.fail(
            "SPEAKER_2 was in the request but not in the mask and was silently ignored: "
            "TranscriptService.update_mappings checks `given - updated` instead of "
            "`given - labels named by the mask`"
        )
    assert stored(env) == {"SPEAKER_1": ADA, "SPEAKER_2": BO}


def test_update_changes_the_etag_and_stores_the_result(env: Env) -> None:
    before = env.service.get_mappings(ALICE, TASK_ID)
    env.clock.advance(seconds=3)

    result = env.service.update_mappings(
        ALICE, TASK_ID, {"SPEAKER_1": ADA}, before.etag, ["mappings.SPEAKER_1"]
    )

    assert result.etag != before.etag
    assert result.update_time == env.clock.now()
    again = env.service.get_mappings(ALICE, TASK_ID)
    assert (again.mappings, again.etag) == (result.mappings, result.etag)
    assert env.db.discarded_writes == 0


def test_stale_etag_is_aborted_and_changes_nothing(env: Env) -> None:
    stale = env.service.get_mappings(ALICE, TASK_ID).etag
    seed(env, {"SPEAKER_1": ADA})

    with pytest.raises(Aborted) as info:
        env.service.update_mappings(
            ALICE, TASK_ID, {"SPEAKER_1": CY}, stale, ["mappings.SPEAKER_1"]
        )

    assert info.value.reason == "ETAG_MISMATCH"
    assert stored(env) == {"SPEAKER_1": ADA}


def test_current_etag_is_accepted(env: Env) -> None:
    current = seed(env, {"SPEAKER_1": ADA})

    result = env.service.update_mappings(
        ALICE, TASK_ID, {"SPEAKER_1": CY}, current, ["mappings.SPEAKER_1"]
    )

    assert result.mappings == {"SPEAKER_1": CY}


def test_mappings_of_missing_or_foreign_tasks_are_not_found(env: Env) -> None:
    for principal, task_id in ((ALICE, "no-such-task"), (MALLORY, TASK_ID)):
        with pytest.raises(NotFound):
            env.service.get_mappings(principal, task_id)
        with pytest.raises(NotFound):
            env.service.update_mappings(principal, task_id, {"SPEAKER_1": ADA}, "", ["mappings"])
    assert env.db.speaker_mappings == {}


# ---------------------------------------------------------------- transcripts


def _store_transcript(env: Env) -> None:
    now = env.clock.now()
    env.db.transcripts[("acme", TASK_ID)] = Transcript(
        task_id=TASK_ID,
        tenant_id="acme",
        language_code="en",
        segments=[
            TranscriptSegment(
                0,
                "SPEAKER_1",
                0.0,
                1.5,
                "hello there",
                words=[Word("hello", 0.0, 0.7), Word("there", 0.8, 1.5)],
            )
        ],
        duration_seconds=1.5,
        asr_provider="local",
        asr_model="tiny.en",
        create_time=now,
        update_time=now,
    )


def test_transcript_not_ready_is_not_found_with_a_reason(env: Env) -> None:
    with pytest.raises(NotFound) as info:
        env.service.get(ALICE, TASK_ID, with_words=False)

    assert info.value.reason == "TRANSCRIPT_NOT_READY"


def test_transcript_with_and_without_words(env: Env) -> None:
    _store_transcript(env)
    seed(env, {"SPEAKER_1": ADA})

    full, mappings = env.service.get(ALICE, TASK_ID, with_words=True)
    bare, _ = env.service.get(ALICE, TASK_ID, with_words=False)

    assert [w.text for w in full.segments[0].words] == ["hello", "there"]
    assert bare.segments[0].words == []
    assert mappings.mappings == {"SPEAKER_1": ADA}


def test_transcript_of_another_tenant_is_not_found(env: Env) -> None:
    _store_transcript(env)

    with pytest.raises(NotFound) as info:
        env.service.get(MALLORY, TASK_ID, with_words=False)

    assert info.value.reason == "NOT_FOUND"
