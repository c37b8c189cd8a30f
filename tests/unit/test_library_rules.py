"""The rules of prompt templates and hotword sets, as plain objects: limits, duplicate
phrases, weights, language codes, caller-chosen ids and which fields an update may name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from meeting_agent.domain.checks import check_caller_id
from meeting_agent.domain.library import (
    HOTWORD_SET_MUTABLE_FIELDS,
    MAX_HOTWORDS,
    TEMPLATE_MUTABLE_FIELDS,
    check_hotword_set,
    check_prompt_template,
    stripped,
)
from meeting_agent.domain.models import Hotword, HotwordSet, Principal, PromptTemplate
from meeting_agent.errors import InvalidArgument
from meeting_agent.service.library import HotwordSetService, PromptTemplateService
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWorkFactory

ALICE = Principal(tenant_id="acme", user_id="alice")
EPOCH = FakeClock().now()


def template(**changes: object) -> PromptTemplate:
    base = PromptTemplate(
        id="",
        tenant_id="",
        display_name="Sales",
        description="",
        system_prompt="",
        body="{{ date }}",
        language_code="",
        etag="",
        create_time=EPOCH,
        update_time=EPOCH,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def hotword_set(*phrases: str, **changes: object) -> HotwordSet:
    base = HotwordSet(
        id="",
        tenant_id="",
        display_name="Products",
        hotwords=[Hotword(p, 5) for p in phrases or ("Kubernetes",)],
        language_code="",
        etag="",
        create_time=EPOCH,
        update_time=EPOCH,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def violations(info: pytest.ExceptionInfo[InvalidArgument]) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in info.value.violations]


# ---------------------------------------------------------------- templates


def test_a_complete_template_is_valid() -> None:
    check_prompt_template(template(language_code="zh-CN"), TEMPLATE_MUTABLE_FIELDS)


def test_every_broken_template_rule_is_reported_at_once() -> None:
    bad = template(
        display_name=" ",
        description="d" * 2001,
        system_prompt="s" * 20001,
        body="",
        language_code="not a code",
    )

    with pytest.raises(InvalidArgument) as info:
        check_prompt_template(bad, TEMPLATE_MUTABLE_FIELDS)

    assert violations(info) == [
        ("prompt_template.display_name", "is required"),
        ("prompt_template.description", "must be at most 2000 characters"),
        ("prompt_template.system_prompt", "must be at most 20000 characters"),
        ("prompt_template.body", "is required"),
        (
            "prompt_template.language_code",
            "must be a BCP-47 language code such as 'en' or 'zh-CN', got 'not a code'",
        ),
    ]
    assert str(info.value).startswith("invalid request: prompt_template.display_name: is required")


def test_only_the_named_template_fields_are_checked() -> None:
    check_prompt_template(template(display_name="", body=""), {"description"})


# ---------------------------------------------------------------- hotword sets


@pytest.mark.parametrize(
    ("hotwords", "expected"),
    [
        ([], [("hotword_set.hotwords", f"must hold 1 to {MAX_HOTWORDS} hotwords")]),
        (
            [Hotword(f"w{i}") for i in range(MAX_HOTWORDS + 1)],
            [("hotword_set.hotwords", f"must hold 1 to {MAX_HOTWORDS} hotwords")],
        ),
        (
            [Hotword("Kubernetes"), Hotword(" kubernetes ")],
            [("hotword_set.hotwords[1].phrase", "duplicates ' kubernetes '")],
        ),
        (
            [Hotword("x" * 101)],
            [("hotword_set.hotwords[0].phrase", "must be at most 100 characters")],
        ),
        ([Hotword("  ")], [("hotword_set.hotwords[0].phrase", "is required")]),
        (
            [Hotword("a", -1), Hotword("b", 11)],
            [
                ("hotword_set.hotwords[0].weight", "must be between 0 and 10"),
                ("hotword_set.hotwords[1].weight", "must be between 0 and 10"),
            ],
        ),
    ],
    ids=["empty", "too-many", "duplicate", "too-long", "blank", "weights"],
)
def test_bad_hotwords_are_named(hotwords: list[Hotword], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_hotword_set(hotword_set(hotwords=hotwords), HOTWORD_SET_MUTABLE_FIELDS)

    assert violations(info) == expected


def test_weights_at_the_limits_and_a_thousand_hotwords_are_valid() -> None:
    hotwords = [Hotword(f"w{i}", i % 11) for i in range(MAX_HOTWORDS)]

    check_hotword_set(hotword_set(hotwords=hotwords), HOTWORD_SET_MUTABLE_FIELDS)


def test_hotword_set_name_and_language_are_checked() -> None:
    with pytest.raises(InvalidArgument) as info:
        check_hotword_set(
            hotword_set(display_name="", language_code="x"), {"display_name", "language_code"}
        )

    assert [field for field, _ in violations(info)] == [
        "hotword_set.display_name",
        "hotword_set.language_code",
    ]


def test_stored_phrases_lose_surrounding_space() -> None:
    assert stripped([Hotword(" 飞书 ", 3)]) == [Hotword("飞书", 3)]


# ---------------------------------------------------------------- ids and masks


@pytest.mark.parametrize("value", ["", "board", "a" * 63, "a-1"])
def test_caller_ids_that_are_accepted(value: str) -> None:
    check_caller_id(value, "hotword_set_id")


@pytest.mark.parametrize("value", ["Board", "1a", "-a", "a_b", "a" * 64])
def test_caller_ids_that_are_refused(value: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_caller_id(value, "hotword_set_id")

    assert violations(info) == [("hotword_set_id", "must match [a-z][a-z0-9-]{0,62}")]


# ---------------------------------------------------------------- the services apply them


@pytest.fixture
def factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeDatabase())


def test_the_template_service_checks_the_id_first_then_the_fields(
    factory: FakeUnitOfWorkFactory,
) -> None:
    service = PromptTemplateService(factory, FakeClock())

    with pytest.raises(InvalidArgument) as bad_id:
        service.create(ALICE, template(body=""), "Bad")
    with pytest.raises(InvalidArgument) as bad_body:
        service.create(ALICE, template(body=""), "default")  # a built-in name, checked later

    assert [v.field for v in bad_id.value.violations] == ["prompt_template_id"]
    assert [v.field for v in bad_body.value.violations] == ["prompt_template.body"]


def test_updates_name_only_mutable_fields(factory: FakeUnitOfWorkFactory) -> None:
    templates = PromptTemplateService(factory, FakeClock())
    sets = HotwordSetService(factory, FakeClock())

    for call in (
        lambda: templates.update(ALICE, template(id="default"), ["built_in"]),
        lambda: templates.update(ALICE, template(id="default"), []),
        lambda: sets.update(ALICE, hotword_set(id="s"), ["etag"]),
    ):
        with pytest.raises(InvalidArgument) as info:
            call()
        assert [v.field for v in info.value.violations] == ["update_mask"]


def test_the_hotword_service_stores_stripped_phrases(factory: FakeUnitOfWorkFactory) -> None:
    sets = HotwordSetService(factory, FakeClock())

    created = sets.create(ALICE, hotword_set(" gRPC "), "")
    updated = sets.update(ALICE, hotword_set(" 飞书", id=created.id), ["hotwords"])

    assert created.hotwords == [Hotword("gRPC", 5)]
    assert updated.hotwords == [Hotword("飞书", 5)]
    with pytest.raises(InvalidArgument):
        sets.create(ALICE, hotword_set("a", "A"), "")
