"""Prompt templates and hotword sets: CRUD, etags, built-ins and template syntax."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from meeting_agent.domain.models import Hotword, HotwordSet, Principal, PromptTemplate
from meeting_agent.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.library import HotwordSetService, PromptTemplateService
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWorkFactory

ALICE = Principal(tenant_id="acme", user_id="alice")
MALLORY = Principal(tenant_id="globex", user_id="mallory")
BUILT_IN_IDS = sorted(BUILTIN_TEMPLATES)
EPOCH = FakeClock().now()


@dataclass
class Env:
    db: FakeDatabase
    clock: FakeClock
    templates: PromptTemplateService
    hotwords: HotwordSetService


@pytest.fixture
def env() -> Env:
    db = FakeDatabase()
    clock = FakeClock()
    factory = FakeUnitOfWorkFactory(db)
    return Env(db, clock, PromptTemplateService(factory, clock), HotwordSetService(factory, clock))


def template(**changes: object) -> PromptTemplate:
    base = PromptTemplate(
        id="",
        tenant_id=None,
        display_name="Board minutes",
        description="For the board",
        system_prompt="Be brief.",
        body="Minutes of {{ date }}:\n{% for s in transcript %}{{ s.text }}\n{% endfor %}",
        language_code="en",
        etag="",
        create_time=EPOCH,
        update_time=EPOCH,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def hotword_set(**changes: object) -> HotwordSet:
    base = HotwordSet(
        id="",
        tenant_id="",
        display_name="Product names",
        hotwords=[Hotword("Kubernetes", 5), Hotword("飞书", 3)],
        language_code="zh",
        etag="",
        create_time=EPOCH,
        update_time=EPOCH,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- templates


def test_create_template_stores_it_with_an_etag(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")

    assert created.id == "board"
    assert created.tenant_id == "acme"
    assert created.built_in is False
    assert created.etag
    assert created.create_time == created.update_time == env.clock.now()
    assert env.db.prompt_templates[("acme", "board")] == created
    assert env.templates.get(ALICE, "board") == created


def test_create_template_without_id_gets_a_generated_one(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "")

    assert created.id
    assert ("acme", created.id) in env.db.prompt_templates


def test_create_template_with_a_taken_id_already_exists(env: Env) -> None:
    env.templates.create(ALICE, template(), "board")

    with pytest.raises(AlreadyExists):
        env.templates.create(ALICE, template(display_name="Other"), "board")

    assert env.db.prompt_templates[("acme", "board")].display_name == "Board minutes"


def test_the_same_id_in_two_tenants_is_two_templates(env: Env) -> None:
    env.templates.create(ALICE, template(), "board")
    env.templates.create(MALLORY, template(display_name="Theirs"), "board")

    assert env.templates.get(ALICE, "board").display_name == "Board minutes"
    assert env.templates.get(MALLORY, "board").display_name == "Theirs"


@pytest.mark.parametrize("body", ["{% for x in y %}", "{{ unclosed", "{% endif %}", "{{ }}"])
def test_template_syntax_error_is_invalid(env: Env, body: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        env.templates.create(ALICE, template(body=body), "broken")

    assert info.value.reason == "INVALID_TEMPLATE"
    assert [v.field for v in info.value.violations] == ["prompt_template.body"]
    assert env.db.prompt_templates == {}


def test_update_with_syntax_error_is_invalid_and_changes_nothing(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")

    with pytest.raises(InvalidArgument) as info:
        env.templates.update(ALICE, replace(created, body="{% if %}"), {"body"})

    assert info.value.reason == "INVALID_TEMPLATE"
    assert env.db.prompt_templates[("acme", "board")] == created


def test_update_changes_masked_fields_and_the_etag(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")
    env.clock.advance(minutes=1)

    updated = env.templates.update(
        ALICE,
        replace(created, display_name="Renamed", description="ignored: not masked"),
        {"display_name"},
    )

    assert updated.display_name == "Renamed"
    assert updated.description == created.description
    assert updated.etag != created.etag
    assert updated.update_time == env.clock.now()
    assert updated.create_time == created.create_time
    assert env.db.prompt_templates[("acme", "board")] == updated


def test_update_with_stale_etag_is_aborted(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")
    env.clock.advance(seconds=1)
    env.templates.update(ALICE, replace(created, display_name="First"), {"display_name"})

    with pytest.raises(Aborted) as info:
        env.templates.update(ALICE, replace(created, display_name="Second"), {"display_name"})

    assert info.value.reason == "ETAG_MISMATCH"
    assert env.db.prompt_templates[("acme", "board")].display_name == "First"


def test_update_without_etag_is_unconditional(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")
    env.clock.advance(seconds=1)
    env.templates.update(ALICE, replace(created, display_name="First"), {"display_name"})

    updated = env.templates.update(
        ALICE, replace(created, etag="", display_name="Second"), {"display_name"}
    )

    assert updated.display_name == "Second"


def test_delete_with_etag(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")

    with pytest.raises(Aborted) as info:
        env.templates.delete(ALICE, "board", 'W/"stale"')
    assert info.value.reason == "ETAG_MISMATCH"

    env.templates.delete(ALICE, "board", created.etag)
    assert env.db.prompt_templates == {}
    with pytest.raises(NotFound):
        env.templates.get(ALICE, "board")


def test_missing_templates_are_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        env.templates.get(ALICE, "nope")
    with pytest.raises(NotFound):
        env.templates.update(ALICE, template(id="nope"), {"display_name"})
    with pytest.raises(NotFound):
        env.templates.delete(ALICE, "nope", "")


def test_templates_of_another_tenant_are_not_found(env: Env) -> None:
    created = env.templates.create(ALICE, template(), "board")

    with pytest.raises(NotFound):
        env.templates.get(MALLORY, "board")
    with pytest.raises(NotFound):
        env.templates.update(MALLORY, replace(created, display_name="x"), {"display_name"})
    with pytest.raises(NotFound):
        env.templates.delete(MALLORY, "board", "")
    assert env.db.prompt_templates[("acme", "board")] == created


@pytest.mark.parametrize("template_id", BUILT_IN_IDS)
def test_built_in_templates_cannot_be_changed_or_shadowed(env: Env, template_id: str) -> None:
    built_in = env.templates.get(ALICE, template_id)
    assert built_in.built_in

    attempts: list[Callable[[], object]] = [
        lambda: env.templates.update(ALICE, replace(built_in, display_name="x"), {"display_name"}),
        lambda: env.templates.delete(ALICE, template_id, ""),
        lambda: env.templates.create(ALICE, template(), template_id),
    ]
    for attempt in attempts:
        with pytest.raises(FailedPrecondition) as info:
            attempt()
        assert info.value.reason == "BUILT_IN_TEMPLATE"

    assert env.db.prompt_templates == {}
    assert env.templates.get(MALLORY, template_id).body == built_in.body


def test_list_puts_built_ins_first(env: Env) -> None:
    for template_id in ("zeta", "alpha", "mid"):
        env.templates.create(ALICE, template(), template_id)
    env.templates.create(MALLORY, template(), "theirs")

    page = env.templates.list(ALICE, limit=50, cursor=None)

    assert [t.id for t in page.items] == [*BUILT_IN_IDS, "alpha", "mid", "zeta"]
    assert page.next_cursor is None


def test_list_pages_respect_the_limit_and_cover_every_template_once(env: Env) -> None:
    stored = ["t1", "t2", "t3"]
    for template_id in stored:
        env.templates.create(ALICE, template(), template_id)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = env.templates.list(ALICE, limit=2, cursor=cursor)
        assert len(page.items) <= 2, (
            f"a page of limit 2 held {len(page.items)} templates: "
            "PromptTemplateService.list adds the built-ins on top of at least one stored row"
        )
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == [*BUILT_IN_IDS, *stored]


# ---------------------------------------------------------------- hotword sets


def test_hotword_set_create_get_list(env: Env) -> None:
    created = env.hotwords.create(ALICE, hotword_set(), "products")
    env.hotwords.create(ALICE, hotword_set(display_name="A"), "aaa")
    env.hotwords.create(MALLORY, hotword_set(), "theirs")

    assert created.tenant_id == "acme"
    assert created.etag
    assert env.hotwords.get(ALICE, "products") == created
    assert [s.id for s in env.hotwords.list(ALICE, limit=10, cursor=None).items] == [
        "aaa",
        "products",
    ]


def test_hotword_set_with_a_taken_id_already_exists(env: Env) -> None:
    env.hotwords.create(ALICE, hotword_set(), "products")

    with pytest.raises(AlreadyExists):
        env.hotwords.create(ALICE, hotword_set(), "products")


def test_hotword_set_update_changes_the_etag(env: Env) -> None:
    created = env.hotwords.create(ALICE, hotword_set(), "products")
    env.clock.advance(seconds=1)

    updated = env.hotwords.update(
        ALICE,
        replace(created, hotwords=[Hotword("gRPC", 1)], display_name="not masked"),
        {"hotwords"},
    )

    assert updated.hotwords == [Hotword("gRPC", 1)]
    assert updated.display_name == created.display_name
    assert updated.etag != created.etag
    assert env.db.hotword_sets[("acme", "products")] == updated


def test_hotword_set_stale_etag_is_aborted(env: Env) -> None:
    created = env.hotwords.create(ALICE, hotword_set(), "products")
    env.clock.advance(seconds=1)
    env.hotwords.update(ALICE, replace(created, display_name="First"), {"display_name"})

    with pytest.raises(Aborted) as update_info:
        env.hotwords.update(ALICE, replace(created, display_name="Second"), {"display_name"})
    with pytest.raises(Aborted) as delete_info:
        env.hotwords.delete(ALICE, "products", created.etag)

    assert update_info.value.reason == delete_info.value.reason == "ETAG_MISMATCH"
    assert env.db.hotword_sets[("acme", "products")].display_name == "First"


def test_hotword_set_delete(env: Env) -> None:
    created = env.hotwords.create(ALICE, hotword_set(), "products")

    env.hotwords.delete(ALICE, "products", created.etag)

    assert env.db.hotword_sets == {}
    with pytest.raises(NotFound):
        env.hotwords.get(ALICE, "products")


def test_hotword_sets_of_another_tenant_are_not_found(env: Env) -> None:
    created = env.hotwords.create(ALICE, hotword_set(), "products")

    for call in (
        lambda: env.hotwords.get(MALLORY, "products"),
        lambda: env.hotwords.update(MALLORY, replace(created, display_name="x"), {"display_name"}),
        lambda: env.hotwords.delete(MALLORY, "products", ""),
    ):
        with pytest.raises(NotFound):
            call()
    assert env.hotwords.list(MALLORY, limit=10, cursor=None).items == []


@pytest.mark.parametrize("cursor", ["garbage", "builtin:x", "builtin:-1", "stored:%%%"])
def test_list_with_a_forged_cursor_is_an_invalid_page_token(env: Env, cursor: str) -> None:
    # Page tokens bind the cursor to a public scope only, so a client can forge one.
    env.templates.create(ALICE, template(), "t1")

    try:
        env.templates.list(ALICE, limit=2, cursor=cursor)
    except InvalidArgument as exc:
        assert exc.reason == "INVALID_PAGE_TOKEN"
    except Exception as exc:
        pytest.fail(
            f"cursor {cursor!r} raised {type(exc).__name__} (an INTERNAL error), "
            "not InvalidArgument INVALID_PAGE_TOKEN"
        )
    else:
        pytest.fail(f"cursor {cursor!r} was accepted")
