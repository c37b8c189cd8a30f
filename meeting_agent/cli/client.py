"""`meeting-agent client ...`: talk to a running server the way a caller would."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import typer
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TransferSpeedColumn,
)

from meeting_agent.cli.task_bar import TaskBar
from meeting_agent.v1 import (
    artifact_pb2,
    audio_pb2,
    audio_service_pb2,
    audio_service_pb2_grpc,
    capabilities_service_pb2,
    capabilities_service_pb2_grpc,
    minutes_service_pb2,
    minutes_service_pb2_grpc,
    task_pb2,
    task_service_pb2,
    task_service_pb2_grpc,
    transcript_pb2,
    transcript_service_pb2,
    transcript_service_pb2_grpc,
)

CHUNK_BYTES = 1024 * 1024

client_app = typer.Typer(help="Call a running meeting-agent server.", no_args_is_help=True)


class Connection:
    def __init__(self, address: str, token: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def tasks(self) -> task_service_pb2_grpc.TaskServiceStub:
        return task_service_pb2_grpc.TaskServiceStub(self.channel)

    def audio(self) -> audio_service_pb2_grpc.AudioServiceStub:
        return audio_service_pb2_grpc.AudioServiceStub(self.channel)

    def capabilities(self) -> capabilities_service_pb2_grpc.CapabilitiesServiceStub:
        return capabilities_service_pb2_grpc.CapabilitiesServiceStub(self.channel)


_connection: dict[str, Connection] = {}


@client_app.callback()
def _connect(
    address: str = typer.Option(
        "127.0.0.1:50051", envvar="MEETING_AGENT_ADDRESS", help="Server address, host:port."
    ),
    token: str = typer.Option(
        "", envvar="MEETING_AGENT_TOKEN", help="Bearer token; see `meeting-agent dev-token`."
    ),
) -> None:
    _connection["current"] = Connection(address, token)


def _conn() -> Connection:
    return _connection["current"]


def _print(message: Any) -> None:
    typer.echo(json_format.MessageToJson(message, indent=2))


def _fail(error: grpc.RpcError) -> typer.Exit:
    status = rpc_status.from_call(error)
    code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
    typer.echo(
        f"error: {code}: {error.details() if isinstance(error, grpc.Call) else error}", err=True
    )
    for detail in status.details if status is not None else ():
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
        ):
            message = kind()
            if detail.Unpack(message):
                typer.echo(
                    f"  {kind.__name__}: {json_format.MessageToJson(message, indent=None)}",
                    err=True,
                )
    return typer.Exit(1)


def upload_file(conn: Connection, path: Path, *, show_progress: bool = True) -> audio_pb2.Upload:
    """Stream a file in chunks with its SHA-256, as every caller should."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    size = path.stat().st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    metadata = audio_pb2.UploadMetadata(
        filename=path.name, content_type=content_type, size_bytes=size, sha256=digest.hexdigest()
    )

    def requests(
        progress: Progress | None, bar: Any
    ) -> Iterator[audio_service_pb2.UploadAudioRequest]:
        yield audio_service_pb2.UploadAudioRequest(metadata=metadata)
        with path.open("rb") as f:
            for block in iter(lambda: f.read(CHUNK_BYTES), b""):
                if progress is not None:
                    progress.advance(bar, len(block))
                yield audio_service_pb2.UploadAudioRequest(chunk=block)

    with Progress(
        *Progress.get_default_columns()[:1],
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        disable=not show_progress,
        transient=True,
    ) as progress:
        bar = progress.add_task(f"uploading {path.name}", total=size)
        response = conn.audio().UploadAudio(requests(progress, bar), metadata=conn.metadata)
    upload: audio_pb2.Upload = response.upload
    return upload


@client_app.command()
def capabilities() -> None:
    """Show what the server offers."""
    try:
        _print(
            _conn()
            .capabilities()
            .GetCapabilities(
                capabilities_service_pb2.GetCapabilitiesRequest(), metadata=_conn().metadata
            )
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None


@client_app.command()
def upload(files: list[Path] = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Upload audio files and print the uploads."""
    try:
        for path in files:
            _print(upload_file(_conn(), path, show_progress=os.isatty(2)))
    except grpc.RpcError as exc:
        raise _fail(exc) from None


@client_app.command("create-task")
def create_task(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="Audio files of one meeting, in order."
    ),
    title: str = typer.Option("", help="Display name of the meeting."),
    language: str = typer.Option("", help="BCP-47 language, e.g. en or zh."),
    speakers: int = typer.Option(0, help="Exact number of speakers, if known."),
    request_id: str = typer.Option("", help="Idempotency key."),
    follow: bool = typer.Option(
        False,
        "--watch",
        help="Follow the task to its end; exit 1 if it failed, 2 if it was cancelled.",
    ),
) -> None:
    """Upload files and create a task from them."""
    conn = _conn()
    try:
        uploads = [upload_file(conn, p, show_progress=os.isatty(2)) for p in files]
        options = task_pb2.TaskOptions(language_code=language)
        if speakers:
            options.speaker_count.exact = speakers
        task = task_pb2.Task(
            display_name=title,
            options=options,
            audio_sources=[task_pb2.AudioSource(upload=u.name) for u in uploads],
        )
        response = conn.tasks().CreateTask(
            task_service_pb2.CreateTaskRequest(task=task, request_id=request_id),
            metadata=conn.metadata,
        )
        if not follow:
            _print(response.task)
            return
        final = watch_task(conn, response.task.name, show_progress=os.isatty(2))
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    _finish(final)


@client_app.command("get-task")
def get_task(name: str) -> None:
    """Show a task, e.g. tasks/0b5c…"""
    try:
        _print(
            _conn()
            .tasks()
            .GetTask(task_service_pb2.GetTaskRequest(name=name), metadata=_conn().metadata)
            .task
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None


@client_app.command("list-tasks")
def list_tasks(page_size: int = typer.Option(20)) -> None:
    """List the newest tasks."""
    try:
        _print(
            _conn()
            .tasks()
            .ListTasks(
                task_service_pb2.ListTasksRequest(page_size=page_size), metadata=_conn().metadata
            )
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None


# Exit codes of `--watch` and `watch` for a task that did not succeed.
EXIT_TASK_FAILED = 1
EXIT_TASK_CANCELLED = 2


def _finish(task: task_pb2.Task) -> None:
    """Print the task; a task that failed or was cancelled also says why and exits
    non-zero, so scripts can tell."""
    _print(task)
    if task.state == task_pb2.TASK_STATE_SUCCEEDED:
        return
    state = task_pb2.TaskState.Name(task.state).removeprefix("TASK_STATE_")
    typer.echo(f"task {state}: {describe_status(task.error)}", err=True)
    raise typer.Exit(
        EXIT_TASK_CANCELLED if task.state == task_pb2.TASK_STATE_CANCELLED else EXIT_TASK_FAILED
    )


def describe_status(status: Any) -> str:
    """A `google.rpc.Status` as lines: code, reason and message, then each metadata entry
    (for a failover chain, what each provider answered)."""
    code = code_pb2.Code.Name(status.code)
    reason, metadata = "", {}
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
    lines = [f"{code} {reason}: {status.message}".strip()]
    lines += [f"  {key}: {value}" for key, value in sorted(metadata.items())]
    return "\n".join(lines)


def _event_line(event: task_pb2.TaskEvent) -> str:
    stage = task_pb2.TaskStage.Name(event.stage).removeprefix("TASK_STAGE_").lower()
    state = task_pb2.TaskState.Name(event.state).removeprefix("TASK_STATE_").lower()
    when = event.event_time.ToDatetime().strftime("%H:%M:%S")
    return f"{when} {state} {stage} {event.progress_percent}% {event.message}".rstrip()


def watch_task(conn: Connection, name: str, *, show_progress: bool = True) -> task_pb2.Task:
    """Follow a task to its end, resuming after dropped streams: a live bar on a
    terminal, or else one line per event on stderr (for logs and CI)."""
    last = 0
    with TaskBar(show=show_progress) as bar:
        for attempt in range(1, 100):
            try:
                stream = conn.tasks().WatchTask(
                    task_service_pb2.WatchTaskRequest(name=name, after_sequence=last),
                    metadata=conn.metadata,
                )
                for message in stream:
                    event = message.event
                    last = max(last, event.sequence)
                    if not show_progress and event.type != task_pb2.TASK_EVENT_TYPE_HEARTBEAT:
                        typer.echo(_event_line(event), err=True)
                    elif event.type == task_pb2.TASK_EVENT_TYPE_WARNING:
                        bar.warn(event.reason, event.message)
                    bar.show(
                        stage=task_pb2.TaskStage.Name(event.stage),
                        state=task_pb2.TaskState.Name(event.state),
                        percent=event.progress_percent,
                        message=event.message,
                        event_time=event.event_time.ToMicroseconds() / 1e6,
                    )
                    if message.HasField("task"):
                        final: task_pb2.Task = message.task
                        return final
                break
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == 99:
                    raise
                time.sleep(min(2.0, 0.1 * attempt))
    response = conn.tasks().GetTask(
        task_service_pb2.GetTaskRequest(name=name), metadata=conn.metadata
    )
    task: task_pb2.Task = response.task
    return task


@client_app.command()
def watch(name: str) -> None:
    """Follow a task to its end, e.g. tasks/0b5c…; exits 1 if it failed, 2 if cancelled."""
    try:
        final = watch_task(_conn(), name, show_progress=os.isatty(2))
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    _finish(final)


_TRANSCRIPT_FORMATS = {
    "srt": transcript_pb2.TRANSCRIPT_FORMAT_SRT,
    "vtt": transcript_pb2.TRANSCRIPT_FORMAT_WEBVTT,
    "text": transcript_pb2.TRANSCRIPT_FORMAT_TEXT,
    "json": transcript_pb2.TRANSCRIPT_FORMAT_JSON,
}


@client_app.command()
def transcript(
    name: str, fmt: str = typer.Option("text", "--format", help="srt, vtt, text or json.")
) -> None:
    """Print a task's transcript in a file format."""
    if fmt not in _TRANSCRIPT_FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(_TRANSCRIPT_FORMATS)}")
    conn = _conn()
    try:
        response = transcript_service_pb2_grpc.TranscriptServiceStub(conn.channel).ExportTranscript(
            transcript_service_pb2.ExportTranscriptRequest(
                name=f"{name}/transcript", format=_TRANSCRIPT_FORMATS[fmt]
            ),
            metadata=conn.metadata,
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    sys.stdout.write(response.content.decode())


@client_app.command()
def minutes(
    name: str, fmt: str = typer.Option("markdown", "--format", help="markdown or json.")
) -> None:
    """Print the newest finished minutes of a task."""
    formats = {
        "markdown": artifact_pb2.MINUTES_FORMAT_MARKDOWN,
        "json": artifact_pb2.MINUTES_FORMAT_JSON,
    }
    if fmt not in formats:
        raise typer.BadParameter("choose markdown or json")
    conn = _conn()
    stub = minutes_service_pb2_grpc.MinutesServiceStub(conn.channel)
    try:
        artifacts = stub.ListArtifacts(
            minutes_service_pb2.ListArtifactsRequest(parent=name), metadata=conn.metadata
        ).artifacts
        ready = [a for a in artifacts if a.state == artifact_pb2.ARTIFACT_STATE_SUCCEEDED]
        if not ready:
            typer.echo(f"{name} has no finished minutes yet", err=True)
            raise typer.Exit(1)
        response = stub.ExportArtifact(
            minutes_service_pb2.ExportArtifactRequest(name=ready[0].name, format=formats[fmt]),
            metadata=conn.metadata,
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    sys.stdout.write(response.content.decode())
