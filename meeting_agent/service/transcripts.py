"""Reading transcripts and naming their speakers."""

from __future__ import annotations

from collections.abc import Collection

from meeting_agent import reasons
from meeting_agent.domain.models import Principal, SpeakerIdentity, SpeakerMappings, Transcript
from meeting_agent.domain.speaker_mappings import WHOLE_MAP, check_mappings_update
from meeting_agent.errors import Aborted, InvalidArgument, NotFound
from meeting_agent.exports import transcript as transcript_export
from meeting_agent.ports import Clock, UnitOfWork, UnitOfWorkFactory
from meeting_agent.service.common import etag_of

TRANSCRIPT_FORMATS = {
    "srt": ("application/x-subrip; charset=utf-8", "srt"),
    "webvtt": ("text/vtt; charset=utf-8", "vtt"),
    "text": ("text/plain; charset=utf-8", "txt"),
    "json": ("application/json", "json"),
}


def mappings_etag(mappings: dict[str, SpeakerIdentity]) -> str:
    return etag_of(sorted((k, v.display_name, v.user_id) for k, v in mappings.items()))


class TranscriptService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def get(
        self, principal: Principal, task_id: str, *, with_words: bool
    ) -> tuple[Transcript, SpeakerMappings]:
        with self._uow_factory(read_only=True, snapshot=True) as uow:
            self._require_task(uow, principal, task_id)
            transcript = uow.transcripts.get(principal.tenant_id, task_id, with_words=with_words)
            if transcript is None:
                raise NotFound(f"tasks/{task_id}/transcript", reason=reasons.TRANSCRIPT_NOT_READY)
            mappings = uow.speaker_mappings.get(principal.tenant_id, task_id)
        return transcript, mappings

    def export(self, principal: Principal, task_id: str, fmt: str) -> tuple[bytes, str, str]:
        """Render the transcript with mapped speaker names: (content, MIME type, file name)."""
        with_words = fmt in ("json", "srt", "webvtt")  # subtitles split cues at word times
        transcript, mappings = self.get(principal, task_id, with_words=with_words)
        names = {label: i.display_name for label, i in mappings.mappings.items()}
        content_type, extension = TRANSCRIPT_FORMATS[fmt]
        if fmt == "srt":
            text = transcript_export.to_srt(transcript.segments, names)
        elif fmt == "webvtt":
            text = transcript_export.to_webvtt(transcript.segments, names)
        elif fmt == "text":
            text = transcript_export.to_text(transcript.segments, names)
        else:
            text = transcript_export.to_json(transcript, names)
        return text.encode(), content_type, f"transcript-{task_id}.{extension}"

    def get_mappings(self, principal: Principal, task_id: str) -> SpeakerMappings:
        with self._uow_factory(read_only=True) as uow:
            self._require_task(uow, principal, task_id)
            return uow.speaker_mappings.get(principal.tenant_id, task_id)

    def update_mappings(
        self,
        principal: Principal,
        task_id: str,
        given: dict[str, SpeakerIdentity],
        etag: str,
        paths: Collection[str],
    ) -> SpeakerMappings:
        """Apply a field mask: `mappings` replaces the map, `mappings.<label>` one entry."""
        check_mappings_update(given, paths)
        with self._uow_factory() as uow:
            self._require_task(uow, principal, task_id, for_update=True)
            stored = uow.speaker_mappings.get(principal.tenant_id, task_id)
            if etag and etag != stored.etag:
                raise Aborted(
                    f"tasks/{task_id}/speakerMappings changed since it was read",
                    reason=reasons.ETAG_MISMATCH,
                    metadata={"etag": stored.etag},
                )
            named = {p.removeprefix(WHOLE_MAP + ".") for p in paths if p != WHOLE_MAP}
            unmasked = set() if WHOLE_MAP in paths else set(given) - named
            if unmasked:
                raise InvalidArgument.field(
                    "update_mask",
                    f"labels {sorted(unmasked)} are in the request but not in the mask",
                )
            updated = dict(given) if WHOLE_MAP in paths else dict(stored.mappings)
            for label in named:
                if label in given:
                    updated[label] = given[label]
                else:
                    updated.pop(label, None)
            result = SpeakerMappings(
                task_id=task_id,
                mappings=updated,
                etag=mappings_etag(updated),
                update_time=self._clock.now(),
            )
            uow.speaker_mappings.replace(principal.tenant_id, result)
            uow.commit()
        return result

    @staticmethod
    def _require_task(
        uow: UnitOfWork, principal: Principal, task_id: str, *, for_update: bool = False
    ) -> None:
        if uow.tasks.get(principal.tenant_id, task_id, for_update=for_update) is None:
            raise NotFound(f"tasks/{task_id}")
