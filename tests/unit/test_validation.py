"""Request-shape checks: resource names, singletons, field masks and collected violations."""

from __future__ import annotations

import pytest

from meeting_agent.api.validation import (
    check_request_id,
    collect_name,
    parse_name,
    parse_singleton,
    provider_choices,
)
from meeting_agent.domain.checks import Violations, check_language, check_mask, check_text
from meeting_agent.domain.models import ProviderChoice
from meeting_agent.errors import InvalidArgument
from meeting_agent.v1 import common_pb2

UUID = "0b9f8a4e-5c1d-4e2f-9a3b-7c6d5e4f3a2b"


def fields_of(info: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in info.value.violations]


# ---------------------------------------------------------------- parse_name


@pytest.mark.parametrize(
    ("name", "collections", "ids"),
    [
        (f"tasks/{UUID}", ("tasks",), (UUID,)),
        ("promptTemplates/board-minutes", ("promptTemplates",), ("board-minutes",)),
        ("hotwordSets/a", ("hotwordSets",), ("a",)),
        (f"tasks/{UUID}/artifacts/a1", ("tasks", "artifacts"), (UUID, "a1")),
        ("tasks/" + "a" * 63, ("tasks",), ("a" * 63,)),
        ("tasks/0abc", ("tasks",), ("0abc",)),
    ],
)
def test_parse_name_returns_the_ids(name, collections, ids) -> None:
    assert parse_name(name, "name", *collections) == ids


@pytest.mark.parametrize(
    "name",
    [
        "",
        "tasks",
        "tasks/",
        f"tasks/{UUID}/",
        f"/tasks/{UUID}",
        f"task/{UUID}",
        f"hotwordSets/{UUID}",
        "tasks/ABC",
        "tasks/-abc",
        "tasks/a_b",
        "tasks/a.b",
        "tasks/" + "a" * 64,
        f"tasks/{UUID}/artifacts/a1",
        "tasks/a\n",
        "tasks/任务",
    ],
)
def test_parse_name_rejects_malformed_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_name(name, "task.name", "tasks")

    assert fields_of(info) == ["task.name"]


def test_parse_name_with_two_collections_needs_both() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_name(f"tasks/{UUID}", "name", "tasks", "artifacts")

    assert fields_of(info) == ["name"]


# ---------------------------------------------------------------- parse_singleton


def test_parse_singleton_returns_the_parent_id() -> None:
    assert parse_singleton(f"tasks/{UUID}/transcript", "name", "tasks", "transcript") == UUID
    assert (
        parse_singleton(
            "tasks/t1/speakerMappings", "speaker_mappings.name", "tasks", "speakerMappings"
        )
        == "t1"
    )


@pytest.mark.parametrize(
    "name",
    [
        "",
        f"tasks/{UUID}",
        f"tasks/{UUID}/transcript/",
        f"tasks/{UUID}/transcripts",
        f"tasks/{UUID}/speakerMappings",
        "tasks//transcript",
        "tasks/UPPER/transcript",
        f"jobs/{UUID}/transcript",
    ],
)
def test_parse_singleton_rejects_malformed_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_singleton(name, "name", "tasks", "transcript")

    assert fields_of(info) == ["name"]


# ---------------------------------------------------------------- check_mask

ALLOWED = {"display_name", "body", "description"}


def test_check_mask_returns_the_paths_in_order() -> None:
    assert check_mask(["body", "display_name"], ALLOWED) == ["body", "display_name"]


@pytest.mark.parametrize(
    "paths",
    [[], ["name"], ["etag"], ["body", "create_time"], ["*"], ["Body"], ["body.x"]],
)
def test_check_mask_rejects_empty_unknown_and_immutable_paths(paths: list[str]) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_mask(paths, ALLOWED)

    assert fields_of(info) == ["update_mask"]


def test_check_mask_names_the_given_field() -> None:
    with pytest.raises(InvalidArgument) as info:
        check_mask(["nope"], ALLOWED, field="field_mask")

    assert fields_of(info) == ["field_mask"]


def test_check_mask_accepts_any_iterable() -> None:
    assert check_mask(iter(["body"]), iter(ALLOWED)) == ["body"]


# ---------------------------------------------------------------- Violations


def test_no_violations_raises_nothing() -> None:
    v = Violations()
    v.check(True, "a", "fine")

    v.raise_if_any()


def test_violations_collects_every_problem_in_order() -> None:
    v = Violations()
    v.add("task.display_name", "is required")
    v.check(False, "task.labels", "too many labels")
    v.check(True, "task.options", "never reported")
    check_text(v, "x" * 11, "task.description", max_length=10)
    check_language(v, "english", "task.options.language_code")

    with pytest.raises(InvalidArgument) as info:
        v.raise_if_any()

    assert fields_of(info) == [
        "task.display_name",
        "task.labels",
        "task.description",
        "task.options.language_code",
    ]
    assert info.value.reason == "INVALID_ARGUMENT"


def test_violations_reports_more_than_the_summary_holds() -> None:
    v = Violations()
    for i in range(8):
        v.add(f"items[{i}]", "bad")

    with pytest.raises(InvalidArgument) as info:
        v.raise_if_any()

    assert len(info.value.violations) == 8


@pytest.mark.parametrize(
    ("value", "required", "ok"),
    [
        ("", False, True),
        ("", True, False),
        ("   ", True, False),
        ("会议", True, True),
        ("x" * 10, False, True),
        ("x" * 11, False, False),
    ],
)
def test_check_text(value: str, required: bool, ok: bool) -> None:
    v = Violations()
    check_text(v, value, "f", max_length=10, required=required)

    if ok:
        v.raise_if_any()
    else:
        with pytest.raises(InvalidArgument):
            v.raise_if_any()


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("en", True),
        ("zh-CN", True),
        ("cmn-Hans-CN", True),
        ("yue", True),
        ("e", False),
        ("english", False),
        ("zh_CN", False),
        ("en-", False),
        ("zh-CN\n", False),
    ],
)
def test_check_language(value: str, ok: bool) -> None:
    v = Violations()
    check_language(v, value, "language_code")

    if ok:
        v.raise_if_any()
    else:
        with pytest.raises(InvalidArgument):
            v.raise_if_any()


# ---------------------------------------------------------------- collected checks


def collected(v: Violations) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as info:
        v.raise_if_any()
    return [(x.field, x.description) for x in info.value.violations]


def test_collect_name_records_instead_of_raising() -> None:
    v = Violations()

    assert collect_name(v, "hotwordSets/a", "hotword_set", "hotwordSets") == "a"
    assert collect_name(v, "tasks/a", "hotword_set", "hotwordSets") == ""
    assert [field for field, _ in collected(v)] == ["hotword_set"]


@pytest.mark.parametrize("value", ["", "retry-1", "a.b:c_D", "x" * 64])
def test_request_ids_that_are_accepted(value: str) -> None:
    v = Violations()
    check_request_id(v, value)
    v.raise_if_any()


@pytest.mark.parametrize("value", ["x" * 65, "a b", "a/b", "请求"])
def test_request_ids_that_are_refused(value: str) -> None:
    v = Violations()
    check_request_id(v, value)

    assert collected(v) == [
        ("request_id", "must be 1 to 64 characters of letters, digits, '_', '.', ':', '-'")
    ]


def test_provider_choices_keep_their_order_and_need_a_provider() -> None:
    v = Violations()
    given = [
        common_pb2.ProviderChoice(provider="azure", model="m"),
        common_pb2.ProviderChoice(model="orphan"),
    ]

    choices = provider_choices(v, given, "llm_providers")

    assert choices == [ProviderChoice("azure", "m"), ProviderChoice("", "orphan")]
    assert collected(v) == [("llm_providers[1].provider", "is required")]
