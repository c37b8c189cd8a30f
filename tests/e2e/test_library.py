"""PromptTemplateService and HotwordSetService over a real socket."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from meeting_agent.v1 import (
    hotword_set_pb2,
    hotword_set_service_pb2,
    prompt_template_pb2,
    prompt_template_service_pb2,
)
from tests.e2e.conftest import Client, failure


def _create_template(client: Client, template_id: str = "", body: str = "{{ date }}"):
    return client.templates.CreatePromptTemplate(
        prompt_template_service_pb2.CreatePromptTemplateRequest(
            prompt_template=prompt_template_pb2.PromptTemplate(display_name="Sales", body=body),
            prompt_template_id=template_id,
        ),
        metadata=client.metadata,
    ).prompt_template


def test_template_lifecycle_with_etags(alice: Client) -> None:
    template_id = f"sales-{uuid.uuid4().hex[:8]}"
    created = _create_template(alice, template_id)
    name = f"promptTemplates/{template_id}"

    updated = alice.templates.UpdatePromptTemplate(
        prompt_template_service_pb2.UpdatePromptTemplateRequest(
            prompt_template=prompt_template_pb2.PromptTemplate(
                name=name, description="for sales calls", etag=created.etag
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=alice.metadata,
    ).prompt_template
    with pytest.raises(grpc.RpcError) as stale:
        alice.templates.DeletePromptTemplate(
            prompt_template_service_pb2.DeletePromptTemplateRequest(name=name, etag=created.etag),
            metadata=alice.metadata,
        )
    alice.templates.DeletePromptTemplate(
        prompt_template_service_pb2.DeletePromptTemplateRequest(name=name, etag=updated.etag),
        metadata=alice.metadata,
    )

    assert created.name == name and not created.built_in
    assert updated.description == "for sales calls"
    assert updated.display_name == "Sales"
    assert updated.etag != created.etag
    assert (failure(stale.value).code, failure(stale.value).reason) == (
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    assert failure(stale.value).retry
    with pytest.raises(grpc.RpcError) as gone:
        alice.templates.GetPromptTemplate(
            prompt_template_service_pb2.GetPromptTemplateRequest(name=name), metadata=alice.metadata
        )
    assert failure(gone.value).code == grpc.StatusCode.NOT_FOUND


def test_template_ids_are_unique_per_tenant(alice: Client, mallory: Client) -> None:
    template_id = f"dup-{uuid.uuid4().hex[:8]}"
    _create_template(alice, template_id)
    _create_template(mallory, template_id)  # another tenant may use the same id

    with pytest.raises(grpc.RpcError) as caught:
        _create_template(alice, template_id)

    assert failure(caught.value).code == grpc.StatusCode.ALREADY_EXISTS


def test_template_syntax_errors_are_refused(alice: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _create_template(alice, body="{% for x in %}")

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TEMPLATE")
    assert "prompt_template.body" in got.fields


def test_built_in_templates_are_listed_and_read_only(alice: Client) -> None:
    listed = alice.templates.ListPromptTemplates(
        prompt_template_service_pb2.ListPromptTemplatesRequest(), metadata=alice.metadata
    )
    default = next(t for t in listed.prompt_templates if t.name == "promptTemplates/default")

    with pytest.raises(grpc.RpcError) as caught:
        alice.templates.DeletePromptTemplate(
            prompt_template_service_pb2.DeletePromptTemplateRequest(name=default.name),
            metadata=alice.metadata,
        )

    assert default.built_in
    assert failure(caught.value).reason == "BUILT_IN_TEMPLATE"


def test_update_mask_must_name_mutable_fields(alice: Client) -> None:
    created = _create_template(alice)

    with pytest.raises(grpc.RpcError) as caught:
        alice.templates.UpdatePromptTemplate(
            prompt_template_service_pb2.UpdatePromptTemplateRequest(
                prompt_template=prompt_template_pb2.PromptTemplate(name=created.name),
                update_mask=field_mask_pb2.FieldMask(paths=["built_in"]),
            ),
            metadata=alice.metadata,
        )

    assert failure(caught.value).fields == {"update_mask"}


def _create_hotwords(client: Client, *phrases: str):
    return client.hotwords.CreateHotwordSet(
        hotword_set_service_pb2.CreateHotwordSetRequest(
            hotword_set=hotword_set_pb2.HotwordSet(
                display_name="Products",
                hotwords=[hotword_set_pb2.Hotword(phrase=p, weight=5) for p in phrases],
            )
        ),
        metadata=client.metadata,
    ).hotword_set


def test_hotword_set_lifecycle(alice: Client) -> None:
    created = _create_hotwords(alice, "Kubernetes", "字节跳动")

    updated = alice.hotwords.UpdateHotwordSet(
        hotword_set_service_pb2.UpdateHotwordSetRequest(
            hotword_set=hotword_set_pb2.HotwordSet(
                name=created.name,
                etag=created.etag,
                hotwords=[hotword_set_pb2.Hotword(phrase="gRPC")],
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["hotwords"]),
        ),
        metadata=alice.metadata,
    ).hotword_set
    listed = alice.hotwords.ListHotwordSets(
        hotword_set_service_pb2.ListHotwordSetsRequest(), metadata=alice.metadata
    ).hotword_sets

    assert [h.phrase for h in created.hotwords] == ["Kubernetes", "字节跳动"]
    assert [h.phrase for h in updated.hotwords] == ["gRPC"]
    assert updated.display_name == "Products"
    assert updated.name in [s.name for s in listed]


@pytest.mark.parametrize(
    ("phrases", "field"),
    [
        ((), "hotword_set.hotwords"),
        (("a", "A"), "hotword_set.hotwords[1].phrase"),
        (("x" * 101,), "hotword_set.hotwords[0].phrase"),
    ],
    ids=["empty", "duplicate", "too-long"],
)
def test_bad_hotword_sets_are_refused(alice: Client, phrases: tuple[str, ...], field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _create_hotwords(alice, *phrases)

    assert field in failure(caught.value).fields
