"""`meeting-agent migrate-files --to tos`: the local object store into a TOS bucket.

Replaces the old guide's `scripts/migrate_files_to_tos.py` (第二步：文件存储迁移): the
same relative keys, but concurrent, resumable, verified, and followed by rewriting the
object URIs the database stores. The target is `storage.tos` of the settings (the
backend setting itself may still say `local` while migrating).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from meeting_agent.errors import MeetingAgentError

if TYPE_CHECKING:
    from meeting_agent.adapters.db.database import SqlDatabase
    from meeting_agent.adapters.storage.local import LocalObjectStore
    from meeting_agent.adapters.storage.migration import (
        CopyOutcome,
        MigrationReport,
        SourceObject,
        StateFile,
    )
    from meeting_agent.adapters.storage.tos_store import TosObjectStore
    from meeting_agent.config import Settings

# The stores, the database and the TOS SDK are imported where they are used: every
# command line start loads this module to register the command.

STATE_FILE_NAME = "migrate-files-{bucket}.jsonl"


def migrate_files(
    to: str = typer.Option(..., "--to", help="Target store; only 'tos' exists."),
    from_dir: Path | None = typer.Option(
        None, "--from-dir", help="Root of the local store (default: from the settings)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would change; write nothing."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Parallel copies."),
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="Tasks per transaction."),
) -> None:
    """Copy local objects to TOS, verify them, then point the database at TOS."""
    from meeting_agent.config import ConfigurationError, load_settings

    if to != "tos":
        typer.echo("meeting-agent: --to must be 'tos'", err=True)
        raise typer.Exit(2)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        typer.echo(f"meeting-agent: {exc}", err=True)
        raise typer.Exit(2) from None
    code = run(
        settings,
        from_dir=from_dir,
        dry_run=dry_run,
        concurrency=concurrency,
        batch_size=batch_size,
        console=Console(stderr=True),
    )
    raise typer.Exit(code)


def run(
    settings: Settings,
    *,
    from_dir: Path | None = None,
    dry_run: bool = False,
    concurrency: int = 4,
    batch_size: int = 500,
    console: Console | None = None,
    target: TosObjectStore | None = None,
) -> int:
    """The whole migration; returns the exit code (0 only when everything verified)."""
    from meeting_agent.adapters.db.database import SqlDatabase
    from meeting_agent.adapters.db.object_refs import rewrite_audio_source_uris
    from meeting_agent.adapters.storage.local import URI_PREFIX as LOCAL_URI_PREFIX
    from meeting_agent.adapters.storage.local import LocalObjectStore
    from meeting_agent.adapters.storage.migration import (
        CopyOutcome,
        MigrationReport,
        StateFile,
        scan,
    )
    from meeting_agent.adapters.storage.tos_store import TosObjectStore

    console = console or Console(stderr=True)
    tos = settings.storage.tos
    if not (tos.bucket and tos.access_key.get_secret_value() and tos.secret_key.get_secret_value()):
        console.print("[red]storage.tos.bucket, access_key and secret_key must be set[/red]")
        return 2
    root = from_dir or settings.resolved_storage_root
    if not root.is_dir():
        console.print(f"[red]no local object store at {root}[/red]")
        return 2
    source = LocalObjectStore(root, max_object_bytes=settings.storage.max_upload_bytes)
    target = target or TosObjectStore(tos, max_object_bytes=settings.storage.max_upload_bytes)
    try:
        target.check()
    except MeetingAgentError as exc:
        console.print(f"[red]TOS is not reachable: {exc.message}[/red]")
        return 1

    report = MigrationReport()
    objects = scan(source.root, report)
    state = StateFile(settings.data_dir / STATE_FILE_NAME.format(bucket=target.bucket))
    console.print(
        f"{len(objects)} objects, {sum(o.size for o in objects)} bytes "
        f"under {source.root} → tos://{target.bucket}/"
    )
    if dry_run:
        report.outcomes = [CopyOutcome(o.key, o.size, "planned") for o in objects]
    else:
        _copy_with_progress(source, target, objects, state, report, concurrency, console)

    database = SqlDatabase(settings.resolved_database_url)
    try:
        missing = _missing_references(database, {o.key for o in objects}, target, dry_run)
        if report.failed or missing:
            _print_report(console, report, missing, rewritten=None)
            console.print("[red]references were not rewritten: fix the failures and re-run[/red]")
            return 1

        def new_uri(uri: str) -> str | None:
            if uri.startswith(LOCAL_URI_PREFIX):
                return target.uri(uri[len(LOCAL_URI_PREFIX) :])
            return uri if uri.startswith(f"tos://{target.bucket}/") else None

        rewritten = rewrite_audio_source_uris(
            database.session_factory, new_uri, batch_size=batch_size, dry_run=dry_run
        )
    finally:
        database.dispose()
    _print_report(console, report, missing, rewritten=rewritten.uris_rewritten)
    if rewritten.unmapped_uris:
        console.print(
            f"[yellow]{len(rewritten.unmapped_uris)} audio source URIs name "
            "another store and were left alone[/yellow]"
        )
    return 0


def _copy_with_progress(
    source: LocalObjectStore,
    target: TosObjectStore,
    objects: list[SourceObject],
    state: StateFile,
    report: MigrationReport,
    concurrency: int,
    console: Console,
) -> None:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from meeting_agent.adapters.storage.migration import copy_all

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("copying", total=sum(o.size for o in objects))

        def advance(outcome: CopyOutcome) -> None:
            progress.advance(bar, outcome.size)

        report.outcomes.extend(
            copy_all(source, target, objects, state, concurrency=concurrency, on_done=advance)
        )


def _missing_references(
    database: SqlDatabase, local_keys: set[str], target: TosObjectStore, dry_run: bool
) -> list[tuple[str, str]]:
    """References whose object exists neither locally nor (already) in the bucket."""
    from meeting_agent.adapters.db.object_refs import referenced_keys

    missing = []
    for where, key in referenced_keys(database.session_factory):
        if key in local_keys:
            continue
        if dry_run or target.head(key) is None:
            missing.append((where, key))
    return missing


def _print_report(
    console: Console,
    report: MigrationReport,
    missing: list[tuple[str, str]],
    *,
    rewritten: int | None,
) -> None:
    from rich.table import Table

    table = Table(title="migrate-files verification")
    table.add_column("check")
    table.add_column("result", justify="right")
    for status in ("copied", "skipped", "planned", "failed"):
        if report.count(status):
            table.add_row(f"objects {status}", str(report.count(status)))
    table.add_row("bytes", str(report.bytes_total))
    table.add_row("files that are not valid keys (not copied)", str(len(report.invalid_paths)))
    table.add_row("database references without an object", str(len(missing)))
    table.add_row("audio source URIs rewritten", "not run" if rewritten is None else str(rewritten))
    console.print(table)
    for outcome in report.failed[:20]:
        console.print(f"[red]failed[/red] {outcome.key}: {outcome.error}")
    for where, key in missing[:20]:
        console.print(f"[red]missing[/red] {key} (referenced by {where})")
