"""Object key syntax, the tenant encoding and the key layout."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from meeting_agent.domain import object_keys
from meeting_agent.domain.object_keys import (
    artifact_key,
    ensure_in_tenant,
    normalize_prefix,
    task_prefix,
    tenant_id_from_segment,
    tenant_prefix,
    tenant_segment,
    upload_key,
    validate_key,
)
from meeting_agent.errors import InvalidArgument


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "tenants/acme/uploads/01J9Z",
        "A-Z_a-z.0-9/x",
        ".hidden/..dots/...",
        "x" * 255,
        "/".join(["abc"] * 256)[:1023] + "c",
    ],
)
def test_valid_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "a/../../b",
        "a/..",
        "..",
        ".",
        "./a",
        "a/./b",
        "/etc/passwd",
        "/",
        "a//b",
        "a/",
        "a\\b",
        "..\\x",
        "a\x00b",
        "a\nb",
        "a\n",
        "a b",
        "a:b",
        "a@b",
        "caf\u00e9",
        "a/b~c",
        "x" * 256,
        "a/" * 512 + "b",
    ],
)
def test_invalid_keys_are_rejected(key: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_key(key)
    assert info.value.reason == "INVALID_OBJECT_KEY"


def test_key_length_limit_is_1024() -> None:
    key = ("a" * 200 + "/") * 5 + "b" * 19
    assert len(key) == 1024
    assert validate_key(key) == key
    with pytest.raises(InvalidArgument):
        validate_key(key + "b")


def test_normalize_prefix_adds_one_slash() -> None:
    assert normalize_prefix("a/b") == "a/b/"
    assert normalize_prefix("a/b/") == "a/b/"
    for bad in ("", "/", "a//", "../a/", "a/../"):
        with pytest.raises(InvalidArgument):
            normalize_prefix(bad)


@pytest.mark.parametrize(
    ("tenant_id", "segment"),
    [
        ("acme", "acme"),
        ("team_7-x", "team_7-x"),
        ("Acme", ".41cme"),
        ("a/b", "a.2fb"),
        ("a.b", "a.2eb"),
        (".", ".2e"),
        ("..", ".2e.2e"),
        ("x%41", "x.2541"),
        ("user@example.com", "user.40example.2ecom"),
        ("org:1", "org.3a1"),
        ("\u516c\u53f8", ".e5.85.ac.e5.8f.b8"),
    ],
)
def test_tenant_segment_encoding(tenant_id: str, segment: str) -> None:
    assert tenant_segment(tenant_id) == segment
    assert validate_key(segment) == segment
    assert tenant_id_from_segment(segment) == tenant_id


def test_tenant_encoding_is_injective() -> None:
    tricky = [
        "a",
        "a/b",
        "a.b",
        "a_b",
        "a-b",
        "ab",
        "A",
        "x%41",
        "xA",
        "xa",
        "x.41",
        "x.2e",
        ".",
        "..",
        "...",
        "a/",
        "/a",
        "a b",
        "a\\b",
        "a\x00",
        "\u00e9",
        "e\u0301",
        "\ud800",
        "tenants",
        "t.2e",
        "a.2fb",
    ]
    alphabet = ["a", "A", ".", "/", "%", "4", "1", "2", "e", "f", "@", "\u00e9"]
    generated = ["".join(p) for n in range(1, 4) for p in itertools.product(alphabet, repeat=n)]
    ids = set(tricky) | set(generated)
    prefixes = {tenant_prefix(tenant_id) for tenant_id in ids}
    assert len(prefixes) == len(ids)
    # No tenant's prefix is inside another's, so one tenant's deletion never reaches another.
    sorted_prefixes = sorted(prefixes)
    for first, second in itertools.pairwise(sorted_prefixes):
        assert not second.startswith(first)
    # Case-insensitive filesystems would merge segments that differ only by case.
    assert len({p.lower() for p in prefixes}) == len(prefixes)


@pytest.mark.parametrize("tenant_id", ["a", "a/b", "x%41", "xA", "\ud800", "\u516c\u53f8"])
def test_tenant_segment_round_trip(tenant_id: str) -> None:
    assert tenant_id_from_segment(tenant_segment(tenant_id)) == tenant_id


@pytest.mark.parametrize("segment", ["", "A", ".61", "a.2", "a.zz", "a.61", "a.2F", ".ff", "a b"])
def test_non_canonical_tenant_segments_are_rejected(segment: str) -> None:
    with pytest.raises(InvalidArgument):
        tenant_id_from_segment(segment)


def test_empty_or_huge_tenant_id_is_rejected() -> None:
    with pytest.raises(InvalidArgument):
        tenant_segment("")
    with pytest.raises(InvalidArgument):
        tenant_segment("@" * 100)  # 300 characters encoded, over the segment limit


def test_layout() -> None:
    assert tenant_prefix("acme") == "tenants/acme/"
    assert upload_key("acme", "u1") == "tenants/acme/uploads/u1"
    assert task_prefix("a@b", "t1") == "tenants/a.40b/tasks/t1/"
    assert artifact_key("acme", "t1", "art1", "md") == "tenants/acme/tasks/t1/artifacts/art1.md"


@pytest.mark.parametrize(
    "call",
    [
        lambda: upload_key("acme", ""),
        lambda: upload_key("acme", "../x"),
        lambda: upload_key("acme", "a/b"),
        lambda: upload_key("", "u1"),
        lambda: task_prefix("acme", ".."),
        lambda: task_prefix("acme", "t/1"),
        lambda: artifact_key("acme", "t1", "a1", ".md"),
        lambda: artifact_key("acme", "t1", "a1", ""),
        lambda: artifact_key("acme", "t1", "a1", "m/d"),
        lambda: artifact_key("acme", "t1", "", "md"),
    ],
)
def test_layout_rejects_unsafe_ids(call: Callable[[], str]) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.reason == object_keys.INVALID_OBJECT_KEY


def test_ensure_in_tenant() -> None:
    key = upload_key("acme", "u1")
    assert ensure_in_tenant(key, "acme") == key
    assert ensure_in_tenant(artifact_key("acme", "t", "a", "json"), "acme")
    for other_key, tenant in [
        (key, "acme2"),
        (key, "acm"),
        (key, "Acme"),
        (upload_key("a/b", "u1"), "a"),
        (upload_key("a", "u1"), "a/b"),
        ("tenants/acme", "acme"),
        ("tenants/acmex/uploads/u1", "acme"),
        ("uploads/u1", "acme"),
    ]:
        with pytest.raises(InvalidArgument) as info:
            ensure_in_tenant(other_key, tenant)
        assert info.value.reason == "OBJECT_OUTSIDE_TENANT"


def test_ensure_in_tenant_checks_syntax_first() -> None:
    with pytest.raises(InvalidArgument) as info:
        ensure_in_tenant("tenants/acme/../other/uploads/u1", "acme")
    assert info.value.reason == "INVALID_OBJECT_KEY"
