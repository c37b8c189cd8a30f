"""`meeting-agent migrate-data --from sqlite:///… --to postgresql+psycopg://…`.

Moves an embedded deployment's database to PostgreSQL: migrates the target to the head
schema, copies every table in dependency order in batches (resumable, idempotent), and
ends with a report of row counts and checksums of both sides. Stop the servers and
workers that write to the source first: rows written during the copy may be missed,
and the report would then show the difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table
    from sqlalchemy.engine import URL

    from meeting_agent.adapters.db.transfer import BatchCallback, TableCopy, TableVerification

# SQLAlchemy and the transfer code are imported where they are used: every command
# line start loads this module to register the command.

__all__ = ["MigrationError", "MigrationResult", "migrate_data", "run_migration"]


# Called before a table is copied, with the number of rows the source holds.
TableCallback: TypeAlias = "Callable[[Table, int], None]"


class MigrationError(Exception):
    """The migration cannot start (same database, source schema not at head, ...)."""


@dataclass(frozen=True)
class MigrationResult:
    copies: list[TableCopy]
    verification: list[TableVerification]

    @property
    def verified(self) -> bool:
        return all(item.matches for item in self.verification)


def _engine(url: URL) -> Engine:
    from sqlalchemy import create_engine

    # Plain engines, not `SqlDatabase`: its SQLite engine begins every transaction
    # IMMEDIATE (a write lock), which a read-only copy of the source must not need.
    return create_engine(url)


def _check_urls(source: URL, target: URL) -> None:
    if source.render_as_string(hide_password=False) == target.render_as_string(hide_password=False):
        raise MigrationError("--from and --to name the same database")
    for option, url in (("--from", source), ("--to", target)):
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise MigrationError(f"{option}: unsupported database {url.get_backend_name()!r}")


def _check_source_schema(source: Engine, url: URL) -> None:
    # The copy reads columns as the current models declare them; an older source schema
    # would fail half way, so it is refused up front.
    from meeting_agent.adapters.db.transfer import head_revisions, schema_revision

    current, heads = schema_revision(source), head_revisions(url.render_as_string(False))
    if current != heads:
        raise MigrationError(
            f"the source database is at revision {sorted(current) or 'none'}, not at "
            f"{sorted(heads)}: upgrade it first (start this version's server on it, or "
            f"`alembic -x url=... upgrade head`)"
        )


def run_migration(
    source_url: str,
    target_url: str,
    *,
    batch_size: int = 1000,
    on_batch: BatchCallback | None = None,
    on_table: TableCallback | None = None,
) -> MigrationResult:
    """Migrate the target to head, copy every table, then verify both sides."""
    from meeting_agent.adapters.db.database import normalize_url, upgrade_to_head
    from meeting_agent.adapters.db.transfer import (
        copy_table,
        source_counts,
        tables_in_dependency_order,
        verify_tables,
    )

    source, target = normalize_url(source_url), normalize_url(target_url)
    _check_urls(source, target)
    source_engine, target_engine = _engine(source), _engine(target)
    try:
        _check_source_schema(source_engine, source)
        upgrade_to_head(target)
        tables = tables_in_dependency_order()
        totals = source_counts(source_engine, tables)
        copies = []
        for table in tables:
            if on_table is not None:
                on_table(table, totals[table.name])
            copies.append(
                copy_table(
                    source_engine, target_engine, table, batch_size=batch_size, on_batch=on_batch
                )
            )
        return MigrationResult(copies, verify_tables(source_engine, target_engine, tables))
    finally:
        source_engine.dispose()
        target_engine.dispose()


def _dry_run(source_url: str, target_url: str, console: Console) -> None:
    from rich.table import Table as RichTable
    from sqlalchemy import inspect

    from meeting_agent.adapters.db.database import normalize_url
    from meeting_agent.adapters.db.transfer import (
        head_revisions,
        schema_revision,
        source_counts,
        tables_in_dependency_order,
    )

    source, target = normalize_url(source_url), normalize_url(target_url)
    _check_urls(source, target)
    source_engine, target_engine = _engine(source), _engine(target)
    try:
        _check_source_schema(source_engine, source)
        tables = tables_in_dependency_order()
        counts = source_counts(source_engine, tables)
        existing = set(inspect(target_engine).get_table_names())
        target_counts = source_counts(target_engine, [t for t in tables if t.name in existing])
        revision = schema_revision(target_engine) if existing else set()
    finally:
        source_engine.dispose()
        target_engine.dispose()
    report = RichTable(title="migrate-data --dry-run: nothing was written")
    report.add_column("table")
    report.add_column("source rows", justify="right")
    report.add_column("target rows now", justify="right")
    for table in tables:
        now = target_counts.get(table.name)
        report.add_row(table.name, str(counts[table.name]), "-" if now is None else str(now))
    console.print(report)
    console.print(
        f"target schema: {sorted(revision) or 'empty'}; would upgrade to "
        f"{sorted(head_revisions(target_url))}, then copy "
        f"{sum(counts.values())} rows (rows whose key exists are skipped)"
    )


def _print_report(console: Console, result: MigrationResult) -> None:
    from rich.table import Table as RichTable

    copies = {copy.table: copy for copy in result.copies}
    report = RichTable(title="migrate-data: verification")
    for column in (
        "table",
        "copied",
        "skipped",
        "source rows",
        "target rows",
        "source sha256",
        "target sha256",
        "ok",
    ):
        report.add_column(
            column, justify="left" if "sha" in column or column == "table" else "right"
        )
    for item in result.verification:
        copy = copies[item.table]
        target_rows = "-" if item.target is None else str(item.target.rows)
        target_sum = "-" if item.target is None else item.target.sha256[:16]
        report.add_row(
            item.table,
            str(copy.inserted),
            str(copy.skipped),
            str(item.source.rows),
            target_rows,
            item.source.sha256[:16],
            target_sum,
            "yes" if item.matches else "NO",
        )
    console.print(report)


def migrate_data(
    source_url: str = typer.Option(
        ..., "--from", help="Source database, e.g. sqlite:///data/meeting-agent.db."
    ),
    target_url: str = typer.Option(
        ..., "--to", help="Target database, e.g. postgresql+psycopg://user:pw@db/meeting_agent."
    ),
    batch_size: int = typer.Option(
        1000, min=1, help="Rows per batch (and per target transaction)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would be copied; write nothing."
    ),
) -> None:
    """Copy every table from one database to another, then verify counts and checksums."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    out, err = Console(), Console(stderr=True)
    try:
        if dry_run:
            _dry_run(source_url, target_url, out)
            return
        with Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            bars: dict[str, TaskID] = {}

            def on_table(table: Table, rows: int) -> None:
                bars[table.name] = progress.add_task(table.name, total=rows)

            def on_batch(table: Table, read: int, _inserted: int) -> None:
                progress.advance(bars[table.name], read)

            result = run_migration(
                source_url, target_url, batch_size=batch_size, on_batch=on_batch, on_table=on_table
            )
    except MigrationError as exc:
        err.print(f"meeting-agent migrate-data: {exc}")
        raise typer.Exit(2) from None
    _print_report(out, result)
    if not result.verified:
        err.print("meeting-agent migrate-data: the target differs from the source (see NO rows)")
        raise typer.Exit(1)
    out.print("every table matches: same row counts and checksums")
