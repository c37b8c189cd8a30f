"""Object references stored in the database, for moving objects between stores.

Three places name objects: `uploads.object_key`, `generated_artifacts.json_object_key`
and `.markdown_object_key`, and the `object_key`/`uri` of each entry of
`tasks.audio_sources`. Keys are the same in every store, so moving objects leaves them
alone; only URIs carry the store (`local://objects/<key>` → `tos://<bucket>/<key>`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meeting_agent.adapters.db.models import ArtifactRow, TaskRow, UploadRow

__all__ = ["RewriteResult", "referenced_keys", "rewrite_audio_source_uris"]


@dataclass
class RewriteResult:
    tasks_seen: int = 0
    tasks_changed: int = 0
    uris_rewritten: int = 0
    batches: int = 0
    unmapped_uris: list[str] = field(default_factory=list)


def referenced_keys(session_factory: sessionmaker[Session]) -> Iterator[tuple[str, str]]:
    """Every `(where, key)` the database refers to, for the verification report."""
    with session_factory() as session:
        for upload_id, key in session.execute(select(UploadRow.id, UploadRow.object_key)):
            yield f"uploads/{upload_id}", key
        for artifact_id, json_key, markdown_key in session.execute(
            select(ArtifactRow.id, ArtifactRow.json_object_key, ArtifactRow.markdown_object_key)
        ):
            for key in (json_key, markdown_key):
                if key:
                    yield f"artifacts/{artifact_id}", key
        for task_id, sources in session.execute(select(TaskRow.id, TaskRow.audio_sources)):
            for source in sources or []:
                if source.get("object_key"):
                    yield f"tasks/{task_id}", source["object_key"]


def rewrite_audio_source_uris(
    session_factory: sessionmaker[Session],
    new_uri: Callable[[str], str | None],
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RewriteResult:
    """Rewrite `tasks.audio_sources[].uri` through `new_uri`, one transaction per batch.

    `new_uri` returns the new URI, or None to leave one alone (a URI of another store,
    such as a caller's own `tos://` bucket). Re-running is harmless: rewritten URIs no
    longer match the old scheme. Batches walk the primary key, so a restart after a
    failure redoes at most the batch that failed.
    """
    result = RewriteResult()
    last_id = ""
    while True:
        with session_factory() as session, session.begin():
            rows = session.scalars(
                select(TaskRow).where(TaskRow.id > last_id).order_by(TaskRow.id).limit(batch_size)
            ).all()
            if not rows:
                return result
            for row in rows:
                result.tasks_seen += 1
                sources, changed = _rewrite_sources(row.audio_sources or [], new_uri, result)
                if changed:
                    result.tasks_changed += 1
                    if not dry_run:
                        # A new list: JSON columns do not track changes made in place.
                        row.audio_sources = sources
            last_id = rows[-1].id
            if dry_run:
                session.rollback()
        result.batches += 1
        if on_batch is not None:
            on_batch(len(rows))


def _rewrite_sources(
    sources: list[dict[str, object]], new_uri: Callable[[str], str | None], result: RewriteResult
) -> tuple[list[dict[str, object]], bool]:
    rewritten: list[dict[str, object]] = []
    changed = False
    for source in sources:
        uri = source.get("uri")
        if isinstance(uri, str) and uri:
            replacement = new_uri(uri)
            if replacement is None:
                result.unmapped_uris.append(uri)
            elif replacement != uri:
                source = {**source, "uri": replacement}
                result.uris_rewritten += 1
                changed = True
        rewritten.append(source)
    return rewritten, changed
