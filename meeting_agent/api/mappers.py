"""Translation between domain objects and `meeting_agent.v1` messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from meeting_agent.api.errors import ERROR_DOMAIN, pack_any
from meeting_agent.domain import models as m
from meeting_agent.v1 import (
    artifact_pb2,
    audio_pb2,
    common_pb2,
    hotword_set_pb2,
    prompt_template_pb2,
    task_pb2,
    transcript_pb2,
    usage_service_pb2,
)

TASK_STATES = {
    m.TaskState.QUEUED: task_pb2.TASK_STATE_QUEUED,
    m.TaskState.RUNNING: task_pb2.TASK_STATE_RUNNING,
    m.TaskState.SUCCEEDED: task_pb2.TASK_STATE_SUCCEEDED,
    m.TaskState.FAILED: task_pb2.TASK_STATE_FAILED,
    m.TaskState.CANCELLED: task_pb2.TASK_STATE_CANCELLED,
}
TASK_STATES_FROM_PROTO = {v: k for k, v in TASK_STATES.items()}

TASK_STAGES = {
    m.TaskStage.UNSPECIFIED: task_pb2.TASK_STAGE_UNSPECIFIED,
    m.TaskStage.FETCH_AUDIO: task_pb2.TASK_STAGE_FETCH_AUDIO,
    m.TaskStage.DECODE: task_pb2.TASK_STAGE_DECODE,
    m.TaskStage.TRANSCRIBE: task_pb2.TASK_STAGE_TRANSCRIBE,
    m.TaskStage.DIARIZE: task_pb2.TASK_STAGE_DIARIZE,
    m.TaskStage.APPLY_SPEAKER_MAPPINGS: task_pb2.TASK_STAGE_APPLY_SPEAKER_MAPPINGS,
    m.TaskStage.GENERATE_MINUTES: task_pb2.TASK_STAGE_GENERATE_MINUTES,
    m.TaskStage.DONE: task_pb2.TASK_STAGE_DONE,
}

EVENT_TYPES = {
    m.TaskEventType.STATE_CHANGED: task_pb2.TASK_EVENT_TYPE_STATE_CHANGED,
    m.TaskEventType.STAGE_CHANGED: task_pb2.TASK_EVENT_TYPE_STAGE_CHANGED,
    m.TaskEventType.PROGRESS: task_pb2.TASK_EVENT_TYPE_PROGRESS,
    m.TaskEventType.HEARTBEAT: task_pb2.TASK_EVENT_TYPE_HEARTBEAT,
    m.TaskEventType.WARNING: task_pb2.TASK_EVENT_TYPE_WARNING,
}

ARTIFACT_STATES = {
    m.ArtifactState.GENERATING: artifact_pb2.ARTIFACT_STATE_GENERATING,
    m.ArtifactState.SUCCEEDED: artifact_pb2.ARTIFACT_STATE_SUCCEEDED,
    m.ArtifactState.FAILED: artifact_pb2.ARTIFACT_STATE_FAILED,
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    # Timestamp.FromDatetime goes through time tuples and costs more than the rest of a
    # task's message; a timedelta gives the same exact seconds and nanos.
    delta = value - _EPOCH if value.tzinfo is not None else value - _EPOCH.replace(tzinfo=None)
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000
    )


def from_timestamp(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


def duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    result = duration_pb2.Duration()
    result.FromNanoseconds(round(seconds * 1e9))
    return result


def user_name(user_id: str) -> str:
    return f"users/{user_id}"


def cost(amount: Decimal, currency: str) -> common_pb2.Cost:
    return common_pb2.Cost(currency_code=currency, amount=format(amount.normalize(), "f"))


def error_status(error: m.TaskError | None) -> status_pb2.Status | None:
    if error is None:
        return None
    return status_pb2.Status(
        code=error.code or code_pb2.UNKNOWN,
        message=error.message,
        details=[
            pack_any(
                error_details_pb2.ErrorInfo(
                    reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
                )
            )
        ],
    )


def provider_choices(choices: list[m.ProviderChoice]) -> list[common_pb2.ProviderChoice]:
    return [common_pb2.ProviderChoice(provider=c.provider, model=c.model) for c in choices]


def task_options(options: m.TaskOptions) -> task_pb2.TaskOptions:
    result = task_pb2.TaskOptions(
        language_code=options.language_code,
        asr_providers=provider_choices(options.asr_providers),
        hotword_set=f"hotwordSets/{options.hotword_set_id}" if options.hotword_set_id else "",
        prompt_template=(
            f"promptTemplates/{options.prompt_template_id}" if options.prompt_template_id else ""
        ),
        llm_providers=provider_choices(options.llm_providers),
        disable_diarization=options.disable_diarization,
        no_fallback=options.no_fallback,
    )
    count = options.speaker_count
    if count is not None:
        if count.minimum == count.maximum:
            result.speaker_count.exact = count.minimum
        else:
            result.speaker_count.range.min = count.minimum
            result.speaker_count.range.max = count.maximum
    return result


def task(t: m.Task) -> task_pb2.Task:
    return task_pb2.Task(
        name=f"tasks/{t.id}",
        display_name=t.display_name,
        audio_sources=[
            task_pb2.AudioSource(upload=f"uploads/{s.upload_id}")
            if s.upload_id
            else task_pb2.AudioSource(uri=s.uri or "")
            for s in t.audio_sources
        ],
        options=task_options(t.options),
        labels=t.labels,
        state=TASK_STATES[t.state],
        stage=TASK_STAGES[t.stage],
        progress_percent=t.progress_percent,
        error=error_status(t.error),
        cancel_requested=t.cancel_requested,
        creator=user_name(t.creator_id),
        audio_duration=duration(t.audio_duration_seconds),
        transcript=f"tasks/{t.id}/transcript" if t.has_transcript else "",
        last_event_sequence=t.last_event_sequence,
        cost=cost(t.cost_amount, t.cost_currency) if t.cost_currency else None,
        create_time=timestamp(t.create_time),
        update_time=timestamp(t.update_time),
        start_time=timestamp(t.start_time),
        end_time=timestamp(t.end_time),
        fallbacks=[provider_fallback(f) for f in t.fallbacks],
    )


def provider_fallback(f: m.ProviderFallback) -> common_pb2.ProviderFallback:
    return common_pb2.ProviderFallback(
        output=f.output,
        provider=f.provider,
        skipped=[
            common_pb2.SkippedProvider(provider=s.provider, reason=s.reason, message=s.message)
            for s in f.skipped
        ],
    )


def task_event(e: m.TaskEvent) -> task_pb2.TaskEvent:
    return task_pb2.TaskEvent(
        task=f"tasks/{e.task_id}",
        sequence=e.sequence,
        type=EVENT_TYPES[e.type],
        state=TASK_STATES[e.state],
        stage=TASK_STAGES[e.stage],
        progress_percent=e.progress_percent,
        message=e.message,
        error=error_status(e.error),
        event_time=timestamp(e.event_time),
        reason=e.reason,
    )


def upload(u: m.Upload) -> audio_pb2.Upload:
    return audio_pb2.Upload(
        name=f"uploads/{u.id}",
        filename=u.filename,
        content_type=u.content_type,
        size_bytes=u.size_bytes,
        sha256=u.sha256,
        state=(
            audio_pb2.UPLOAD_STATE_READY
            if u.state is m.UploadState.READY
            else audio_pb2.UPLOAD_STATE_PENDING
        ),
        create_time=timestamp(u.create_time),
    )


def hotword_set(s: m.HotwordSet) -> hotword_set_pb2.HotwordSet:
    return hotword_set_pb2.HotwordSet(
        name=f"hotwordSets/{s.id}",
        display_name=s.display_name,
        hotwords=[hotword_set_pb2.Hotword(phrase=h.phrase, weight=h.weight) for h in s.hotwords],
        language_code=s.language_code,
        etag=s.etag,
        create_time=timestamp(s.create_time),
        update_time=timestamp(s.update_time),
    )


def prompt_template(t: m.PromptTemplate) -> prompt_template_pb2.PromptTemplate:
    return prompt_template_pb2.PromptTemplate(
        name=f"promptTemplates/{t.id}",
        display_name=t.display_name,
        description=t.description,
        system_prompt=t.system_prompt,
        body=t.body,
        language_code=t.language_code,
        built_in=t.built_in,
        etag=t.etag,
        create_time=timestamp(t.create_time),
        update_time=timestamp(t.update_time),
    )


def speaker_mappings(s: m.SpeakerMappings) -> transcript_pb2.SpeakerMappings:
    return transcript_pb2.SpeakerMappings(
        name=f"tasks/{s.task_id}/speakerMappings",
        mappings={
            label: transcript_pb2.SpeakerIdentity(display_name=i.display_name, user_id=i.user_id)
            for label, i in s.mappings.items()
        },
        etag=s.etag,
        update_time=timestamp(s.update_time),
    )


def transcript(
    t: m.Transcript, mappings: m.SpeakerMappings, *, with_words: bool
) -> transcript_pb2.Transcript:
    names = {label: i.display_name for label, i in mappings.mappings.items()}
    speaking: dict[str, float] = {}
    for seg in t.segments:
        speaking[seg.speaker_label] = speaking.get(seg.speaker_label, 0.0) + seg.end - seg.start
    return transcript_pb2.Transcript(
        name=f"tasks/{t.task_id}/transcript",
        language_code=t.language_code,
        segments=[
            transcript_pb2.TranscriptSegment(
                index=seg.index,
                speaker_label=seg.speaker_label,
                speaker_display_name=names.get(seg.speaker_label, ""),
                start_offset=duration(seg.start),
                end_offset=duration(seg.end),
                text=seg.text,
                words=[
                    transcript_pb2.Word(
                        text=w.text,
                        start_offset=duration(w.start),
                        end_offset=duration(w.end),
                        confidence=w.confidence,
                    )
                    for w in seg.words
                ]
                if with_words
                else [],
                source_index=seg.source_index,
            )
            for seg in t.segments
        ],
        speakers=[
            transcript_pb2.Speaker(
                label=label, display_name=names.get(label, ""), speaking_duration=duration(seconds)
            )
            for label, seconds in speaking.items()
        ],
        duration=duration(t.duration_seconds),
        asr_provider=t.asr_provider,
        asr_model=t.asr_model,
        create_time=timestamp(t.create_time),
        update_time=timestamp(t.update_time),
    )


def artifact(a: m.Artifact) -> artifact_pb2.Artifact:
    result = artifact_pb2.Artifact(
        name=f"tasks/{a.task_id}/artifacts/{a.id}",
        prompt_template=f"promptTemplates/{a.prompt_template_id}",
        state=ARTIFACT_STATES[a.state],
        llm_provider=a.llm_provider,
        llm_model=a.llm_model,
        extractive=a.extractive,
        error=error_status(a.error),
        create_time=timestamp(a.create_time),
        update_time=timestamp(a.update_time),
        fallback=provider_fallback(a.fallback) if a.fallback is not None else None,
    )
    if a.minutes is not None:
        result.minutes.CopyFrom(minutes(a.minutes))
    return result


def minutes(doc: Mapping[str, Any]) -> artifact_pb2.Minutes:
    """Minutes as stored (see `meeting_agent.minutes.schema`) to the wire message."""
    return artifact_pb2.Minutes(
        summary=doc.get("summary", ""),
        decisions=[
            artifact_pb2.Decision(
                text=d["text"], source_offset=duration(d.get("source_offset_seconds"))
            )
            for d in doc.get("decisions", [])
        ],
        action_items=[
            artifact_pb2.ActionItem(
                owner=a.get("owner", ""),
                text=a["text"],
                due_date=a.get("due_date", ""),
                due_text=a.get("due_text", ""),
                source_offset=duration(a.get("source_offset_seconds")),
            )
            for a in doc.get("action_items", [])
        ],
        topics=[
            artifact_pb2.Topic(
                title=t["title"],
                summary=t.get("summary", ""),
                start_offset=duration(t.get("start_seconds")),
                end_offset=duration(t.get("end_seconds")),
            )
            for t in doc.get("topics", [])
        ],
    )


def usage_row(g: m.UsageGroup) -> usage_service_pb2.UsageRow:
    return usage_service_pb2.UsageRow(
        provider=g.provider,
        user=user_name(g.user_id) if g.user_id else "",
        label_value=g.label_value,
        day=g.day,
        call_count=g.call_count,
        failed_call_count=g.failed_call_count,
        attempt_count=g.attempt_count,
        failed_attempt_count=g.failed_attempt_count,
        audio_duration=duration(g.audio_seconds),
        input_tokens=g.input_tokens,
        output_tokens=g.output_tokens,
        costs=[cost(amount, currency) for currency, amount in sorted(g.costs.items())],
    )
