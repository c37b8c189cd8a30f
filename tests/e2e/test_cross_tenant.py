"""Another tenant's resources are NOT_FOUND through every resource RPC, and stay intact."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import field_mask_pb2

from meeting_agent.v1 import (
    artifact_pb2,
    audio_service_pb2,
    hotword_set_pb2,
    hotword_set_service_pb2,
    minutes_service_pb2,
    prompt_template_pb2,
    prompt_template_service_pb2,
    task_pb2,
    task_service_pb2,
    transcript_pb2,
    transcript_service_pb2,
)
from tests.e2e.conftest import Client, failure


@dataclass(frozen=True)
class Owned:
    """Resources of tenant acme that tenant globex will try to reach."""

    task: str
    upload: str
    unused_upload: str
    template: str
    hotword_set: str


@pytest.fixture(scope="module")
def owned(alice: Client, jfk: bytes) -> Owned:
    upload = alice.upload(jfk)
    task = alice.create_task(upload)
    template = alice.templates.CreatePromptTemplate(
        prompt_template_service_pb2.CreatePromptTemplateRequest(
            prompt_template=prompt_template_pb2.PromptTemplate(display_name="t", body="x")
        ),
        metadata=alice.metadata,
    ).prompt_template
    hotword_set = alice.hotwords.CreateHotwordSet(
        hotword_set_service_pb2.CreateHotwordSetRequest(
            hotword_set=hotword_set_pb2.HotwordSet(
                display_name="h", hotwords=[hotword_set_pb2.Hotword(phrase="acme")]
            )
        ),
        metadata=alice.metadata,
    ).hotword_set
    return Owned(task.name, upload.name, alice.upload(jfk).name, template.name, hotword_set.name)


Call = Callable[[Client, Owned], object]

CALLS: dict[str, Call] = {
    "GetTask": lambda c, o: c.tasks.GetTask(
        task_service_pb2.GetTaskRequest(name=o.task), metadata=c.metadata
    ),
    "CancelTask": lambda c, o: c.tasks.CancelTask(
        task_service_pb2.CancelTaskRequest(name=o.task), metadata=c.metadata
    ),
    "DeleteTask": lambda c, o: c.tasks.DeleteTask(
        task_service_pb2.DeleteTaskRequest(name=o.task), metadata=c.metadata
    ),
    "WatchTask": lambda c, o: list(
        c.tasks.WatchTask(
            task_service_pb2.WatchTaskRequest(name=o.task), metadata=c.metadata, timeout=5
        )
    ),
    "CreateTask(upload)": lambda c, o: c.tasks.CreateTask(
        task_service_pb2.CreateTaskRequest(
            task=task_pb2.Task(audio_sources=[task_pb2.AudioSource(upload=o.unused_upload)])
        ),
        metadata=c.metadata,
    ),
    "CreateTask(hotword_set)": lambda c, o: c.create_task(
        c.upload(b"x"), options=task_pb2.TaskOptions(hotword_set=o.hotword_set)
    ),
    "CreateTask(prompt_template)": lambda c, o: c.create_task(
        c.upload(b"x"), options=task_pb2.TaskOptions(prompt_template=o.template)
    ),
    "GetUpload": lambda c, o: c.audio.GetUpload(
        audio_service_pb2.GetUploadRequest(name=o.upload), metadata=c.metadata
    ),
    "GetTranscript": lambda c, o: c.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(name=f"{o.task}/transcript"),
        metadata=c.metadata,
    ),
    "ExportTranscript": lambda c, o: c.transcripts.ExportTranscript(
        transcript_service_pb2.ExportTranscriptRequest(
            name=f"{o.task}/transcript", format=transcript_pb2.TRANSCRIPT_FORMAT_SRT
        ),
        metadata=c.metadata,
    ),
    "GetSpeakerMappings": lambda c, o: c.transcripts.GetSpeakerMappings(
        transcript_service_pb2.GetSpeakerMappingsRequest(name=f"{o.task}/speakerMappings"),
        metadata=c.metadata,
    ),
    "UpdateSpeakerMappings": lambda c, o: c.transcripts.UpdateSpeakerMappings(
        transcript_service_pb2.UpdateSpeakerMappingsRequest(
            speaker_mappings=transcript_pb2.SpeakerMappings(
                name=f"{o.task}/speakerMappings",
                mappings={"SPEAKER_1": transcript_pb2.SpeakerIdentity(display_name="Eve")},
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["mappings"]),
        ),
        metadata=c.metadata,
    ),
    "ListArtifacts": lambda c, o: c.minutes.ListArtifacts(
        minutes_service_pb2.ListArtifactsRequest(parent=o.task), metadata=c.metadata
    ),
    "GetArtifact": lambda c, o: c.minutes.GetArtifact(
        minutes_service_pb2.GetArtifactRequest(name=f"{o.task}/artifacts/a1"), metadata=c.metadata
    ),
    "GenerateArtifact": lambda c, o: c.minutes.GenerateArtifact(
        minutes_service_pb2.GenerateArtifactRequest(parent=o.task), metadata=c.metadata
    ),
    "ExportArtifact": lambda c, o: c.minutes.ExportArtifact(
        minutes_service_pb2.ExportArtifactRequest(
            name=f"{o.task}/artifacts/a1", format=artifact_pb2.MINUTES_FORMAT_JSON
        ),
        metadata=c.metadata,
    ),
    "GetPromptTemplate": lambda c, o: c.templates.GetPromptTemplate(
        prompt_template_service_pb2.GetPromptTemplateRequest(name=o.template), metadata=c.metadata
    ),
    "UpdatePromptTemplate": lambda c, o: c.templates.UpdatePromptTemplate(
        prompt_template_service_pb2.UpdatePromptTemplateRequest(
            prompt_template=prompt_template_pb2.PromptTemplate(name=o.template, body="y"),
            update_mask=field_mask_pb2.FieldMask(paths=["body"]),
        ),
        metadata=c.metadata,
    ),
    "DeletePromptTemplate": lambda c, o: c.templates.DeletePromptTemplate(
        prompt_template_service_pb2.DeletePromptTemplateRequest(name=o.template),
        metadata=c.metadata,
    ),
    "GetHotwordSet": lambda c, o: c.hotwords.GetHotwordSet(
        hotword_set_service_pb2.GetHotwordSetRequest(name=o.hotword_set), metadata=c.metadata
    ),
    "UpdateHotwordSet": lambda c, o: c.hotwords.UpdateHotwordSet(
        hotword_set_service_pb2.UpdateHotwordSetRequest(
            hotword_set=hotword_set_pb2.HotwordSet(name=o.hotword_set, display_name="pwned"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=c.metadata,
    ),
    "DeleteHotwordSet": lambda c, o: c.hotwords.DeleteHotwordSet(
        hotword_set_service_pb2.DeleteHotwordSetRequest(name=o.hotword_set), metadata=c.metadata
    ),
}


@pytest.mark.parametrize("rpc", list(CALLS))
def test_other_tenants_resources_are_not_found(rpc: str, owned: Owned, mallory: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        CALLS[rpc](mallory, owned)

    assert failure(caught.value).code == grpc.StatusCode.NOT_FOUND


def test_lists_never_show_other_tenants(owned: Owned, mallory: Client) -> None:
    tasks = mallory.tasks.ListTasks(
        task_service_pb2.ListTasksRequest(page_size=1000), metadata=mallory.metadata
    ).tasks
    templates = mallory.templates.ListPromptTemplates(
        prompt_template_service_pb2.ListPromptTemplatesRequest(page_size=1000),
        metadata=mallory.metadata,
    ).prompt_templates
    sets = mallory.hotwords.ListHotwordSets(
        hotword_set_service_pb2.ListHotwordSetsRequest(page_size=1000), metadata=mallory.metadata
    ).hotword_sets

    assert owned.task not in {t.name for t in tasks}
    assert owned.template not in {t.name for t in templates}
    assert owned.hotword_set not in {s.name for s in sets}


def test_the_owner_still_has_everything_untouched(
    owned: Owned, alice: Client, mallory: Client
) -> None:
    for rpc in CALLS:  # every attempt, again, before checking
        with contextlib.suppress(grpc.RpcError):
            CALLS[rpc](mallory, owned)

    task = alice.tasks.GetTask(
        task_service_pb2.GetTaskRequest(name=owned.task), metadata=alice.metadata
    ).task
    hotword_set = alice.hotwords.GetHotwordSet(
        hotword_set_service_pb2.GetHotwordSetRequest(name=owned.hotword_set),
        metadata=alice.metadata,
    ).hotword_set
    template = alice.templates.GetPromptTemplate(
        prompt_template_service_pb2.GetPromptTemplateRequest(name=owned.template),
        metadata=alice.metadata,
    ).prompt_template
    mappings = alice.transcripts.GetSpeakerMappings(
        transcript_service_pb2.GetSpeakerMappingsRequest(name=f"{owned.task}/speakerMappings"),
        metadata=alice.metadata,
    ).speaker_mappings

    assert task.state == task_pb2.TASK_STATE_QUEUED
    assert hotword_set.display_name == "h"
    assert template.body == "x"
    assert dict(mappings.mappings) == {}
