"""`meeting-agent process FILE...`: the whole pipeline on the embedded default, no server."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from meeting_agent.cli.task_bar import TaskBar
from meeting_agent.domain.models import (
    Hotword,
    HotwordSet,
    Principal,
    SpeakerCount,
    TaskEvent,
    TaskEventType,
    TaskOptions,
    TaskState,
    fallbacks_behind,
)
from meeting_agent.errors import MeetingAgentError

if TYPE_CHECKING:
    from meeting_agent.bootstrap import Container
    from meeting_agent.config import Settings

# The composition root and the pipeline are imported by the command itself, not by this
# module: `meeting-agent --help` and `dev-token` load this module and must start fast.

LOCAL = Principal(tenant_id="local", user_id="local")


class ConsoleEvents:
    """An event bus that shows a task's progress on standard error instead of fanning out."""

    def __init__(self, bar: TaskBar) -> None:
        self._bar = bar

    def publish(self, event: TaskEvent) -> None:
        if event.type is TaskEventType.WARNING:
            self._bar.warn(event.reason, event.message)
        self._bar.show(
            stage=event.stage.value,
            state=event.state.value,
            percent=event.progress_percent,
            message=event.message,
            event_time=event.event_time.timestamp(),
        )

    def listen(self) -> Any:
        raise NotImplementedError("the command line does not watch tasks")


@contextmanager
def _settings(path: Path | None) -> Iterator[Settings]:
    """Settings with inline jobs, in `--data-dir`, else in the configured data directory
    (MEETING_AGENT_DATA_DIR or the configuration file), else in a scratch directory
    that goes when the command ends."""
    from meeting_agent.config import load_settings

    inline = {"backend": "inline"}
    if path is not None:
        yield load_settings(data_dir=path, jobs=inline)
        return
    configured = load_settings(jobs=inline)
    if "data_dir" in configured.model_fields_set:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="meeting-agent-") as tmp:
        yield load_settings(data_dir=Path(tmp), jobs=inline)


def with_fast_decoding(settings: Settings) -> Settings:
    """`settings` with the local recogniser on the fast preset.

    A configured beam width goes too: it would turn the greedy search back into a
    beam search, which is not what `--fast` asks for.
    """
    asr = settings.asr.model_copy(update={"preset": "fast", "beam_size": None})
    return settings.model_copy(update={"asr": asr})


def _upload(container: Container, path: Path) -> str:
    from meeting_agent.ports import iter_chunks
    from meeting_agent.service.uploads import UploadMetadata

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter_chunks(f):
            digest.update(chunk)
    metadata = UploadMetadata(
        filename=path.name,
        content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        size_bytes=path.stat().st_size,
        sha256=digest.hexdigest(),
    )
    session = container.uploads.begin(LOCAL, metadata)
    try:
        with path.open("rb") as f:
            for chunk in iter_chunks(f):
                session.write(chunk)
        return session.finish().id
    except BaseException:
        session.abort()
        raise


def process(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="Audio files of one meeting, in order."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    template: str = typer.Option("default", help="Prompt template name."),
    hotwords: str = typer.Option("", help="Comma-separated words to favour."),
    language: str = typer.Option("", help="BCP-47 language, e.g. en."),
    speakers: int = typer.Option(0, "--speakers", help="Exact number of speakers."),
    min_speakers: int = typer.Option(0, "--min-speakers", help="At least this many speakers."),
    max_speakers: int = typer.Option(0, "--max-speakers", help="At most this many speakers."),
    diarization: bool = typer.Option(
        True, "--diarization/--no-diarization", help="Label who spoke when (on by default)."
    ),
    data_dir: Path | None = typer.Option(
        None,
        help="Keep the database and objects here (default: the configured data "
        "directory, MEETING_AGENT_DATA_DIR, or a scratch directory).",
    ),
    fast: bool = typer.Option(
        False,
        "--fast",
        help="Decode greedily: about half the transcription time, more "
        "errors (the fast ASR preset; the default is accurate).",
    ),
) -> None:
    """Transcribe recordings and write their minutes, printing both."""
    from meeting_agent.bootstrap import bootstrap

    err = Console(stderr=True)
    count = None
    if speakers:
        count = SpeakerCount(speakers, speakers)
    elif min_speakers or max_speakers:
        count = SpeakerCount(min_speakers or 1, max_speakers or 32)
    with _settings(data_dir) as settings, TaskBar(console=err) as bar:
        if fast:
            settings = with_fast_decoding(settings)
        container = bootstrap(settings, role="cli", events=ConsoleEvents(bar))
        try:
            result = _run(
                container,
                files,
                template=template,
                hotwords=hotwords,
                language=language,
                speaker_count=count,
                diarization=diarization,
            )
        except MeetingAgentError as exc:
            err.print(f"[red]error[/red] {exc.reason}: {exc.message}")
            raise typer.Exit(1) from None
        finally:
            container.close()
    if as_json:
        sys.stdout.write(json.dumps(result["document"], ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(result["text"])


def _run(
    container: Container,
    files: list[Path],
    *,
    template: str,
    hotwords: str,
    language: str,
    speaker_count: SpeakerCount | None,
    diarization: bool = True,
) -> dict[str, Any]:
    from meeting_agent.exports.minutes import to_markdown
    from meeting_agent.exports.transcript import to_text
    from meeting_agent.service.pipeline.runner import initial_artifact_id
    from meeting_agent.service.tasks import NewTask, SourceSpec

    hotword_set_id = ""
    if hotwords.strip():
        phrases = [Hotword(p.strip()) for p in hotwords.split(",") if p.strip()]
        created = container.hotword_sets.create(
            LOCAL,
            HotwordSet(
                id="",
                tenant_id="",
                display_name="command line",
                hotwords=phrases,
                language_code="",
                etag="",
                create_time=container.clock.now(),
                update_time=container.clock.now(),
            ),
            "cli",
        )
        hotword_set_id = created.id
    uploads = [_upload(container, f) for f in files]
    task = container.tasks.create(
        LOCAL,
        NewTask(
            display_name=files[0].stem,
            sources=[SourceSpec(upload_id=u) for u in uploads],
            options=TaskOptions(
                language_code=language,
                hotword_set_id=hotword_set_id,
                prompt_template_id=template if template != "default" else "",
                speaker_count=speaker_count,
                disable_diarization=not diarization,
            ),
            labels={},
        ),
        request_id="",
    )
    container.pipeline.run(task.id)
    task = container.tasks.get(LOCAL, task.id)
    if task.state is not TaskState.SUCCEEDED:
        error = task.error
        raise _TaskFailed(
            error.reason if error else task.state.value,
            error.message if error else "the task did not finish",
        )
    transcript, mappings = container.transcripts.get(LOCAL, task.id, with_words=False)
    names = {label: i.display_name for label, i in mappings.mappings.items()}
    artifact = container.minutes.get(LOCAL, task.id, initial_artifact_id(task.id))
    minutes = artifact.minutes or {}
    document = {
        "transcript": {
            "language": transcript.language_code,
            "duration_seconds": transcript.duration_seconds,
            "segments": [
                {
                    "speaker": names.get(s.speaker_label, s.speaker_label),
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "text": s.text,
                }
                for s in transcript.segments
            ],
        },
        "minutes": {
            **minutes,
            "extractive": artifact.extractive,
            "generator": artifact.llm_provider,
        },
        "fallbacks": [asdict(f) for f in fallbacks_behind(task, artifact)],
    }
    text = (
        "# Transcript\n\n"
        + to_text(transcript.segments, names)
        + "\n"
        + to_markdown(
            minutes,
            title=task.display_name,
            meeting_date=task.create_time.date(),
            language_code=transcript.language_code,
            fallbacks=fallbacks_behind(task, artifact),
        )
    )
    return {"document": document, "text": text}


class _TaskFailed(MeetingAgentError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
