"""Page sizes and opaque page tokens bound to the request's filters."""

from __future__ import annotations

import base64
import json

import pytest

from meeting_agent.errors import InvalidArgument
from meeting_agent.service.common import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    fingerprint,
    next_page_token,
    page_request,
)

SCOPE = {"method": "ListTasks", "filter": "state=QUEUED", "tenant": "acme"}


def test_round_trip_returns_the_cursor() -> None:
    cursor = "WyIyMDI2LTAzLTAyVDA5OjAwOjAwKzAwOjAwIiwiYWJjIl0"

    token = next_page_token(cursor, scope=SCOPE)
    request = page_request(10, token, scope=SCOPE)

    assert request.cursor == cursor
    assert request.size == 10


def test_token_is_opaque_url_safe_and_unpadded() -> None:
    token = next_page_token("cursor/with+chars", scope=SCOPE)

    assert "cursor" not in token
    assert "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_last_page_has_an_empty_token() -> None:
    assert next_page_token(None, scope=SCOPE) == ""


def test_empty_token_means_the_first_page() -> None:
    assert page_request(5, "", scope=SCOPE).cursor is None


@pytest.mark.parametrize(
    ("page_size", "expected"),
    [
        (0, DEFAULT_PAGE_SIZE),
        (1, 1),
        (MAX_PAGE_SIZE, MAX_PAGE_SIZE),
        (MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE),
        (2**31 - 1, MAX_PAGE_SIZE),
    ],
)
def test_page_size_defaults_and_clamps(page_size: int, expected: int) -> None:
    assert page_request(page_size, "", scope=SCOPE).size == expected


@pytest.mark.parametrize("page_size", [-1, -(2**31)])
def test_negative_page_size_is_invalid(page_size: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        page_request(page_size, "", scope=SCOPE)

    assert [v.field for v in info.value.violations] == ["page_size"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "%%%",
        "a",
        "é",
        _b64(b"not json"),
        _b64(b"\xff\xfe\x00"),
        _b64(b"[1, 2]"),
        _b64(b'"just a string"'),
        _b64(b"42"),
        _b64(b"null"),
        _b64(json.dumps({"c": "x"}).encode()),
        _b64(json.dumps({"s": "x"}).encode()),
        _b64(json.dumps({"c": 5, "s": fingerprint(SCOPE)[:16]}).encode()),
        _b64(json.dumps({"c": None, "s": fingerprint(SCOPE)[:16]}).encode()),
        _b64(json.dumps({"c": ["x"], "s": fingerprint(SCOPE)[:16]}).encode()),
    ],
)
def test_garbage_tokens_are_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        page_request(10, token, scope=SCOPE)

    assert info.value.reason == "INVALID_PAGE_TOKEN"
    assert [v.field for v in info.value.violations] == ["page_token"]


@pytest.mark.parametrize(
    "other_scope",
    [
        {**SCOPE, "filter": "state=RUNNING"},
        {**SCOPE, "tenant": "globex"},
        {"method": "ListTasks"},
        None,
    ],
)
def test_token_replayed_with_another_scope_is_invalid(other_scope: object) -> None:
    token = next_page_token("cursor", scope=SCOPE)

    with pytest.raises(InvalidArgument) as info:
        page_request(10, token, scope=other_scope)

    assert info.value.reason == "INVALID_PAGE_TOKEN"


def test_scope_is_compared_by_content_not_key_order() -> None:
    token = next_page_token("cursor", scope={"a": 1, "b": 2})

    assert page_request(10, token, scope={"b": 2, "a": 1}).cursor == "cursor"


def test_page_size_may_change_between_pages() -> None:
    token = next_page_token("cursor", scope=SCOPE)

    assert page_request(3, token, scope=SCOPE).size == 3
    assert page_request(0, token, scope=SCOPE).size == DEFAULT_PAGE_SIZE
