"""What an update of speaker mappings may name and hold, as plain objects."""

from __future__ import annotations

import pytest

from meeting_agent.domain.models import SpeakerIdentity
from meeting_agent.domain.speaker_mappings import check_mappings_update
from meeting_agent.errors import InvalidArgument

ADA = SpeakerIdentity("Ada Lovelace", "ada")


def violations(given: dict[str, SpeakerIdentity], paths: list[str]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as info:
        check_mappings_update(given, paths)
    return [(v.field, v.description) for v in info.value.violations]


@pytest.mark.parametrize("paths", [["mappings"], ["mappings.SPEAKER_1"], ["mappings.a-b_C"]])
def test_valid_updates(paths: list[str]) -> None:
    check_mappings_update({"SPEAKER_1": ADA}, paths)


def test_an_update_names_at_least_one_path() -> None:
    assert violations({}, []) == [
        ("update_mask", "must name `mappings` or `mappings.<label>` entries")
    ]


@pytest.mark.parametrize("path", ["display_name", "mappings.", "mappings.a b", "mappingsX"])
def test_unknown_paths_are_named(path: str) -> None:
    assert violations({}, [path]) == [("update_mask", f"unknown path {path!r}")]


def test_every_bad_entry_is_reported() -> None:
    given = {
        "a b": ADA,
        "SPEAKER_1": SpeakerIdentity(" ", "u" * 129),
        "SPEAKER_2": SpeakerIdentity("n" * 101, ""),
    }

    assert violations(given, ["mappings"]) == [
        ("speaker_mappings.mappings['a b']", "label must be 1 to 64 letters, digits, '_' or '-'"),
        ("speaker_mappings.mappings['SPEAKER_1'].display_name", "is required"),
        ("speaker_mappings.mappings['SPEAKER_1'].user_id", "must be at most 128 characters"),
        ("speaker_mappings.mappings['SPEAKER_2'].display_name", "must be at most 100 characters"),
    ]
