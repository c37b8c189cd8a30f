"""`meeting-agent migrate-data`: a real SQLite database, filled through the repositories,
copied to a real PostgreSQL database and verified by counts and checksums."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Table, create_engine, select, text
from typer.testing import CliRunner

from meeting_agent.adapters.db.checksum import canonical_row
from meeting_agent.adapters.db.database import SqlDatabase, upgrade_to_head
from meeting_agent.adapters.db.models import AuditLogRow
from meeting_agent.adapters.db.transfer import tables_in_dependency_order
from meeting_agent.cli.main import app
from meeting_agent.cli.migrate_data import MigrationError, run_migration
from meeting_agent.domain.models import Principal, SpeakerIdentity, SpeakerMappings
from tests.harness.postgres import temporary_database
from tests.integration.test_repositories import (
    T0,
    add_tasks,
    make_artifact,
    make_event,
    make_hotword_set,
    make_task,
    make_template,
    make_transcript,
    make_upload,
    make_usage,
)

pytestmark = pytest.mark.postgres

TASKS = 7  # with BATCH = 3, several tables take more than one batch
BATCH = 3


def _fill(db: SqlDatabase) -> None:
    """Rows in every table, with the values that differ between backends: money,
    non-UTC timestamps, JSON, non-ASCII text and keys that sort differently per collation."""
    task_ids = [f"t{i}" for i in range(TASKS)] + ["T-upper", "任务"]
    add_tasks(
        db,
        *(make_task(task_id, at=T0 + timedelta(minutes=n)) for n, task_id in enumerate(task_ids)),
    )
    with db.unit_of_work() as uow:
        for n, task_id in enumerate(task_ids):
            for sequence in range(1, 4):
                uow.task_events.append(make_event(task_id, sequence), "acme")
            uow.uploads.add(make_upload(f"u-{task_id}"))
            uow.transcripts.put(make_transcript(task_id, segments=n % 4 + 1))
            uow.artifacts.add(make_artifact(f"a{n}", task_id))
            uow.speaker_mappings.replace(
                "acme",
                SpeakerMappings(
                    task_id,
                    {
                        "SPEAKER_1": SpeakerIdentity("张伟", "u-zhang"),
                        "SPEAKER_2": SpeakerIdentity("Bob"),
                    },
                    f"etag-{n}",
                    T0,
                ),
            )
        for n in range(5):
            uow.users.upsert(Principal("acme", f"user-{n}", f"u{n}@acme.test", f"用户 {n}"), T0)
            uow.hotword_sets.add(make_hotword_set(f"h{n}"))
            uow.prompt_templates.add(make_template(f"p{n}"))
            uow.idempotency.add("acme", f"user-{n}", "CreateTask", f"r{n}", f"t{n}", "fp", T0)
        for n in range(8):
            uow.audit_logs.add(
                make_usage(cost_amount=Decimal("0.000123") * (n + 1), audio_seconds=12.345 * n),
                call_key=f"call-{n}",
            )
        uow.commit()


@pytest.fixture(scope="module")
def source_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrate-source") / "source.db"
    db = SqlDatabase(f"sqlite:///{path}")
    upgrade_to_head(db.url)
    _fill(db)
    db.dispose()
    return path


@pytest.fixture
def source_url(source_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "source.db"
    shutil.copyfile(source_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def target_url(postgres_url: str) -> Iterator[str]:
    with temporary_database(postgres_url) as url:
        yield url.render_as_string(hide_password=False)


def _rows_by_table(url: str) -> dict[str, list[bytes]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    canonical_row(table, row) for row in connection.execute(select(table))
                )
                for table in tables_in_dependency_order()
            }
    finally:
        engine.dispose()


def test_every_row_arrives_with_identical_counts_and_checksums(
    source_url: str, target_url: str
) -> None:
    result = run_migration(source_url, target_url, batch_size=BATCH)

    assert result.verified
    assert all(item.source.rows > 0 for item in result.verification)
    assert {copy.table: copy.skipped for copy in result.copies} == {
        item.table: 0 for item in result.verification
    }
    # Independently of the checksums: the values the application reads are the same.
    assert _rows_by_table(target_url) == _rows_by_table(source_url)
    # Money went from integer micros to numeric and still reads as the same Decimal.
    engine = create_engine(target_url)
    with engine.connect() as connection:
        costs = connection.execute(select(AuditLogRow.cost_amount).order_by(AuditLogRow.id))
        assert [c for (c,) in costs][:2] == [Decimal("0.000123"), Decimal("0.000246")]
        kind = connection.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'audit_logs' AND column_name = 'cost_amount'"
            )
        ).scalar_one()
        assert kind == "numeric"
    engine.dispose()


def test_the_sequence_continues_after_the_copied_ids(source_url: str, target_url: str) -> None:
    run_migration(source_url, target_url, batch_size=BATCH)
    db = SqlDatabase(target_url)
    with db.unit_of_work() as uow:
        assert uow.audit_logs.add(make_usage(), call_key="after-migration")
        uow.commit()
    with db.unit_of_work() as uow:
        ids = uow.session.execute(select(AuditLogRow.id).order_by(AuditLogRow.id)).scalars()
        assert list(ids) == list(range(1, 10))
    db.dispose()


def test_a_second_run_changes_nothing(source_url: str, target_url: str) -> None:
    first = run_migration(source_url, target_url, batch_size=BATCH)
    second = run_migration(source_url, target_url, batch_size=BATCH)

    assert second.verified
    assert all(copy.inserted == 0 and copy.skipped == copy.read for copy in second.copies)
    assert second.verification == first.verification


def test_an_interrupted_run_resumes_to_completion(source_url: str, target_url: str) -> None:
    batches = 0

    def crash_after_first_transcript_batch(table: Table, _read: int, _inserted: int) -> None:
        nonlocal batches
        batches += 1
        if table.name == "transcript_segments":
            raise KeyboardInterrupt  # the operator's Ctrl-C, between two batches

    with pytest.raises(KeyboardInterrupt):
        run_migration(
            source_url, target_url, batch_size=BATCH, on_batch=crash_after_first_transcript_batch
        )
    engine = create_engine(target_url)
    with engine.connect() as connection:
        segments = connection.execute(text("SELECT count(*) FROM transcript_segments"))
        assert segments.scalar_one() == BATCH  # exactly the committed batch
    engine.dispose()

    resumed = run_migration(source_url, target_url, batch_size=BATCH)

    assert resumed.verified
    copies = {copy.table: copy for copy in resumed.copies}
    assert copies["transcript_segments"].skipped == BATCH
    assert copies["transcript_segments"].inserted > 0
    assert copies["tasks"].inserted == 0  # copied completely before the interruption


def test_a_difference_fails_the_verification(source_url: str, target_url: str) -> None:
    run_migration(source_url, target_url, batch_size=BATCH)
    engine = create_engine(target_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE hotword_sets SET display_name = 'changed' WHERE id = 'h2'"))
    engine.dispose()

    result = run_migration(source_url, target_url, batch_size=BATCH)

    assert not result.verified
    assert [item.table for item in result.verification if not item.matches] == ["hotword_sets"]
    mismatch = next(item for item in result.verification if not item.matches)
    assert mismatch.source.rows == mismatch.target.rows  # type: ignore[union-attr]


def test_a_source_behind_head_is_refused(tmp_path: Path, target_url: str) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    create_engine(empty).connect().close()
    with pytest.raises(MigrationError, match="upgrade it first"):
        run_migration(empty, target_url)
    with pytest.raises(MigrationError, match="same database"):
        run_migration(target_url, target_url)


def test_the_command_dry_run_writes_nothing_then_the_real_run_reports(
    source_url: str, target_url: str
) -> None:
    runner = CliRunner()
    dry = runner.invoke(
        app, ["migrate-data", "--from", source_url, "--to", target_url, "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "nothing was written" in dry.output
    assert "transcript_segments" in dry.output
    engine = create_engine(target_url)
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        )
        assert tables.scalar_one() == 0
    engine.dispose()

    real = runner.invoke(
        app, ["migrate-data", "--from", source_url, "--to", target_url, "--batch-size", "2"]
    )
    assert real.exit_code == 0, real.output
    assert "every table matches" in real.output
    assert " NO " not in real.output


def test_sqlite_and_postgresql_read_the_same_row_the_same_way(
    source_url: str, target_url: str
) -> None:
    # A guard for the checksum itself: one row rendered from each side is byte-identical.
    run_migration(source_url, target_url, batch_size=BATCH)
    table = AuditLogRow.__table__
    assert isinstance(table, Table)
    rendered = []
    for url in (source_url, target_url):
        engine = create_engine(url)
        with engine.connect() as connection:
            row = connection.execute(select(table).where(table.c.id == 2)).one()
            rendered.append(canonical_row(table, row))
        engine.dispose()
    assert rendered[0] == rendered[1]
    assert b'"0.000246"' in rendered[0]
