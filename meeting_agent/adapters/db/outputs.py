"""Repositories of what a task produces: speaker mappings, transcripts, artifacts.

Each row references its task by `(task_id, tenant_id)`, so writing for a task of another
tenant fails on the foreign key and surfaces as `NotFound`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from meeting_agent.adapters.db import codec
from meeting_agent.adapters.db._sql import (
    constraint_errors,
    newest_first,
    page_of,
    task_name,
)
from meeting_agent.adapters.db.models import (
    ArtifactRow,
    SpeakerMappingRow,
    SpeakerMappingSetRow,
    TranscriptRow,
    TranscriptSegmentRow,
)
from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
    ProviderChoice,
    SpeakerIdentity,
    SpeakerMappings,
    Transcript,
    TranscriptSegment,
)
from meeting_agent.errors import NotFound
from meeting_agent.ports import Page

# ---------------------------------------------------------------- speaker mappings


def speaker_mappings_etag(mappings: Mapping[str, SpeakerIdentity]) -> str:
    """A digest of mappings' content: the etag of mappings stored without one."""
    canonical = json.dumps(
        {label: [who.display_name, who.user_id] for label, who in mappings.items()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class SqlSpeakerMappingRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, tenant_id: str, task_id: str) -> SpeakerMappings:
        version = self._session.execute(
            select(SpeakerMappingSetRow.etag, SpeakerMappingSetRow.update_time).where(
                SpeakerMappingSetRow.task_id == task_id,
                SpeakerMappingSetRow.tenant_id == tenant_id,
            )
        ).one_or_none()
        if version is None:
            return SpeakerMappings(task_id, {}, speaker_mappings_etag({}), None)
        rows = self._session.execute(
            select(
                SpeakerMappingRow.label,
                SpeakerMappingRow.display_name,
                SpeakerMappingRow.user_id,
            )
            .where(SpeakerMappingRow.task_id == task_id, SpeakerMappingRow.tenant_id == tenant_id)
            .order_by(SpeakerMappingRow.label)
        ).all()
        mappings = {row.label: SpeakerIdentity(row.display_name, row.user_id) for row in rows}
        return SpeakerMappings(task_id, mappings, version.etag, version.update_time)

    def replace(self, tenant_id: str, mappings: SpeakerMappings) -> None:
        """Replace the task's mappings; `NotFound` when the tenant has no such task.

        `mappings.etag` is stored and returned by `get` as is (a content digest when it is
        empty); `mappings.update_time` defaults to now.
        """
        task_id = mappings.task_id
        etag = mappings.etag or speaker_mappings_etag(mappings.mappings)
        update_time = mappings.update_time or datetime.now(UTC)
        with constraint_errors(self._session, parent=task_name(task_id)):
            self._session.execute(
                delete(SpeakerMappingRow).where(
                    SpeakerMappingRow.task_id == task_id, SpeakerMappingRow.tenant_id == tenant_id
                )
            )
            self._session.execute(
                delete(SpeakerMappingSetRow).where(
                    SpeakerMappingSetRow.task_id == task_id,
                    SpeakerMappingSetRow.tenant_id == tenant_id,
                )
            )
            self._session.execute(
                insert(SpeakerMappingSetRow),
                [
                    {
                        "task_id": task_id,
                        "tenant_id": tenant_id,
                        "etag": etag,
                        "update_time": update_time,
                    }
                ],
            )
            if mappings.mappings:
                self._session.execute(
                    insert(SpeakerMappingRow),
                    [
                        {
                            "task_id": task_id,
                            "label": label,
                            "tenant_id": tenant_id,
                            "display_name": who.display_name,
                            "user_id": who.user_id,
                        }
                        for label, who in mappings.mappings.items()
                    ],
                )


# ---------------------------------------------------------------- transcripts


class SqlTranscriptRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, tenant_id: str, task_id: str, *, with_words: bool) -> Transcript | None:
        header = self._session.execute(
            select(TranscriptRow).where(
                TranscriptRow.task_id == task_id, TranscriptRow.tenant_id == tenant_id
            )
        ).scalar_one_or_none()
        if header is None:
            return None
        segment = TranscriptSegmentRow
        columns = [
            segment.idx,
            segment.speaker_label,
            segment.start_seconds,
            segment.end_seconds,
            segment.text,
            segment.source_index,
        ]
        # Words are most of a transcript's bytes; most readers never need them.
        if with_words:
            columns.append(segment.words)
        rows = self._session.execute(
            select(*columns)
            .where(segment.task_id == task_id, segment.tenant_id == tenant_id)
            .order_by(segment.idx)
        ).all()
        segments = [
            TranscriptSegment(
                index=row.idx,
                speaker_label=row.speaker_label,
                start=row.start_seconds,
                end=row.end_seconds,
                text=row.text,
                words=codec.WORDS.validate_python(row.words) if with_words else [],
                source_index=row.source_index,
            )
            for row in rows
        ]
        return Transcript(
            task_id=header.task_id,
            tenant_id=header.tenant_id,
            language_code=header.language_code,
            segments=segments,
            duration_seconds=header.duration_seconds,
            asr_provider=header.asr_provider,
            asr_model=header.asr_model,
            create_time=header.create_time,
            update_time=header.update_time,
        )

    def put(self, transcript: Transcript) -> None:
        """Store the task's transcript, replacing an earlier one; `NotFound` for no task."""
        task_id, tenant_id = transcript.task_id, transcript.tenant_id
        with constraint_errors(self._session, parent=task_name(task_id)):
            # Bulk statements, not ORM objects: a long meeting has thousands of segments,
            # and a replaced header must not linger in the identity map.
            self._session.execute(
                delete(TranscriptSegmentRow).where(
                    TranscriptSegmentRow.task_id == task_id,
                    TranscriptSegmentRow.tenant_id == tenant_id,
                )
            )
            self._session.execute(
                delete(TranscriptRow).where(
                    TranscriptRow.task_id == task_id, TranscriptRow.tenant_id == tenant_id
                )
            )
            self._session.execute(
                insert(TranscriptRow),
                [
                    {
                        "task_id": task_id,
                        "tenant_id": tenant_id,
                        "language_code": transcript.language_code,
                        "duration_seconds": transcript.duration_seconds,
                        "asr_provider": transcript.asr_provider,
                        "asr_model": transcript.asr_model,
                        "create_time": transcript.create_time,
                        "update_time": transcript.update_time,
                    }
                ],
            )
            if transcript.segments:
                self._session.execute(
                    insert(TranscriptSegmentRow),
                    [
                        {
                            "task_id": task_id,
                            "idx": segment.index,
                            "tenant_id": tenant_id,
                            "speaker_label": segment.speaker_label,
                            "start_seconds": segment.start,
                            "end_seconds": segment.end,
                            "text": segment.text,
                            "words": codec.WORDS.dump_python(segment.words, mode="json"),
                            "source_index": segment.source_index,
                        }
                        for segment in transcript.segments
                    ],
                )


# ---------------------------------------------------------------- artifacts


def _artifact_from_row(row: ArtifactRow) -> Artifact:
    return Artifact(
        id=row.id,
        task_id=row.task_id,
        tenant_id=row.tenant_id,
        prompt_template_id=row.prompt_template_id,
        state=ArtifactState(row.state),
        llm_provider=row.llm_provider,
        llm_model=row.llm_model,
        extractive=row.extractive,
        create_time=row.create_time,
        update_time=row.update_time,
        minutes=row.minutes,
        json_object_key=row.json_object_key,
        markdown_object_key=row.markdown_object_key,
        error=codec.load_error(row.error),
        requested_providers=[
            ProviderChoice(c["provider"], c.get("model", "")) for c in row.requested_providers or []
        ],
        fallback=codec.FALLBACK.validate_python(row.fallback),
    )


def _write_artifact(row: ArtifactRow, artifact: Artifact) -> None:
    row.prompt_template_id = artifact.prompt_template_id
    row.state = artifact.state.value
    row.llm_provider = artifact.llm_provider
    row.llm_model = artifact.llm_model
    row.extractive = artifact.extractive
    row.minutes = artifact.minutes
    row.json_object_key = artifact.json_object_key
    row.markdown_object_key = artifact.markdown_object_key
    row.error = codec.dump_error(artifact.error)
    row.create_time = artifact.create_time
    row.update_time = artifact.update_time
    row.requested_providers = [
        {"provider": c.provider, "model": c.model} for c in artifact.requested_providers
    ]
    row.fallback = codec.FALLBACK.dump_python(artifact.fallback, mode="json")


class SqlArtifactRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, artifact: Artifact) -> None:
        """Raises `AlreadyExists` for a taken id, `NotFound` when the task is not the tenant's."""
        row = ArtifactRow(id=artifact.id, task_id=artifact.task_id, tenant_id=artifact.tenant_id)
        _write_artifact(row, artifact)
        with constraint_errors(
            self._session,
            duplicate=f"{task_name(artifact.task_id)}/artifacts/{artifact.id}",
            parent=task_name(artifact.task_id),
        ):
            self._session.add(row)

    def _row(self, tenant_id: str, task_id: str, artifact_id: str) -> ArtifactRow | None:
        row = self._session.get(ArtifactRow, (task_id, artifact_id))
        return row if row is not None and row.tenant_id == tenant_id else None

    def get(self, tenant_id: str, task_id: str, artifact_id: str) -> Artifact | None:
        row = self._row(tenant_id, task_id, artifact_id)
        return None if row is None else _artifact_from_row(row)

    def list(
        self, tenant_id: str, task_id: str, *, limit: int, cursor: str | None
    ) -> Page[Artifact]:
        stmt = select(ArtifactRow).where(
            ArtifactRow.tenant_id == tenant_id, ArtifactRow.task_id == task_id
        )
        stmt = newest_first(
            stmt, ArtifactRow.create_time, ArtifactRow.id, cursor=cursor, limit=limit
        )
        rows = self._session.scalars(stmt).all()
        kept, next_cursor = page_of(rows, limit, lambda row: (row.create_time, row.id))
        return Page([_artifact_from_row(row) for row in kept], next_cursor)

    def save(self, artifact: Artifact) -> None:
        row = self._row(artifact.tenant_id, artifact.task_id, artifact.id)
        if row is None:
            raise NotFound(f"{task_name(artifact.task_id)}/artifacts/{artifact.id}")
        _write_artifact(row, artifact)
        self._session.flush()

    def pending(self, task_id: str) -> Sequence[Artifact]:
        """Artifacts of a task still GENERATING, oldest first. Cross-tenant: for jobs."""
        stmt = (
            select(ArtifactRow)
            .where(
                ArtifactRow.task_id == task_id, ArtifactRow.state == ArtifactState.GENERATING.value
            )
            .order_by(ArtifactRow.create_time, ArtifactRow.id)
        )
        return [_artifact_from_row(row) for row in self._session.scalars(stmt)]
