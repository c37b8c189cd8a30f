"""`migrate-files --to tos`: a local object store into the TOS-protocol server, and the
database's object URIs rewritten."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from meeting_agent.adapters.db.database import SqlDatabase
from meeting_agent.adapters.storage.local import LocalObjectStore
from meeting_agent.adapters.storage.tos_store import TosObjectStore
from meeting_agent.cli import migrate_files
from meeting_agent.config import Settings
from meeting_agent.domain.models import AudioSource
from tests.harness.tos import FakeTos
from tests.integration.test_repositories import make_task, make_upload
from tests.integration.test_tos_store import BUCKET, PART, tos_settings


@pytest.fixture
def fake() -> Iterator[FakeTos]:
    with FakeTos() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, fake: FakeTos, _migrated_sqlite_template: Path) -> Settings:
    shutil.copyfile(_migrated_sqlite_template, tmp_path / "meeting-agent.db")
    return Settings.model_validate(
        {
            "data_dir": tmp_path,
            "auto_migrate": False,
            "storage": {"backend": "local", "tos": tos_settings(fake).model_dump()},
        }
    )


def fill_local(settings: Settings, count: int) -> dict[str, bytes]:
    store = LocalObjectStore(settings.resolved_storage_root, max_object_bytes=10 * PART)
    objects = {
        f"tenants/acme/uploads/u{index}": os.urandom(index * 9_000 + 1) for index in range(count)
    }
    # One object big enough for the multipart path.
    objects["tenants/acme/tasks/t1/artifacts/a1.md"] = os.urandom(3 * PART + 5)
    for key, data in objects.items():
        with store.open_writer(key) as writer:
            writer.write(data)
            writer.commit()
    return objects


def fill_database(settings: Settings) -> SqlDatabase:
    database = SqlDatabase(settings.resolved_database_url)
    with database.unit_of_work() as uow:
        uow.uploads.add(make_upload("u1"))
        uow.tasks.add(make_task("t1"))
        uow.tasks.add(
            make_task(
                "t2",
                audio_sources=[
                    AudioSource(
                        uri="local://objects/tenants/acme/uploads/u2",
                        object_key="tenants/acme/uploads/u2",
                    ),
                    AudioSource(
                        uri="https://example.com/a.wav", object_key="tenants/acme/uploads/u3"
                    ),
                ],
            )
        )
        uow.commit()
    return database


def run(settings: Settings, **options: Any) -> int:
    output = io.StringIO()
    code = migrate_files.run(
        settings, console=Console(file=output, width=120), concurrency=3, **options
    )
    print(output.getvalue())  # shown by pytest when a test fails
    return code


def target(settings: Settings) -> TosObjectStore:
    return TosObjectStore(settings.storage.tos, max_object_bytes=10 * PART)


def test_migrates_resumes_and_rewrites(settings: Settings, fake: FakeTos) -> None:
    objects = fill_local(settings, 8)
    database = fill_database(settings)

    # Dry run: nothing is written anywhere.
    assert run(settings, dry_run=True) == 0
    assert fake.object_count() == 0

    # Interrupted: TOS starts failing after 4 objects.
    fake.fail_after_puts = 4
    assert run(settings) == 1
    assert fake.object_count() == 4
    with database.unit_of_work() as uow:
        task = uow.tasks.get("acme", "t2")
        assert task is not None and str(task.audio_sources[0].uri).startswith("local://")

    # Resumed: the 4 verified copies are skipped, not sent again.
    fake.fail_after_puts = None
    fake.requests.clear()
    assert run(settings) == 0
    puts = {path for method, path in fake.requests if method in ("PUT", "POST")}
    assert len({path.split("?")[0] for path in puts}) == len(objects) - 4

    store = target(settings)
    for key, data in objects.items():
        with store.open_reader(key) as reader:
            assert hashlib.sha256(reader.read()).digest() == hashlib.sha256(data).digest()

    with database.unit_of_work() as uow:
        task = uow.tasks.get("acme", "t2")
        assert task is not None
        assert task.audio_sources[0].uri == f"tos://{BUCKET}/tenants/acme/uploads/u2"
        assert task.audio_sources[0].object_key == "tenants/acme/uploads/u2"
        assert task.audio_sources[1].uri == "https://example.com/a.wav"  # not ours
        upload = uow.uploads.get("acme", "u1")
        assert upload is not None and upload.object_key == "tenants/acme/uploads/u1"

    # A third run copies nothing and changes nothing.
    fake.requests.clear()
    assert run(settings) == 0
    assert not [m for m, _ in fake.requests if m in ("PUT", "POST")]
    database.dispose()


def test_changed_file_is_copied_again(settings: Settings, fake: FakeTos) -> None:
    objects = fill_local(settings, 4)
    fill_database(settings).dispose()
    assert run(settings) == 0
    key = next(iter(objects))
    path = settings.resolved_storage_root / key
    path.write_bytes(b"x" * path.stat().st_size)  # same size, other content
    assert run(settings) == 0
    with target(settings).open_reader(key) as reader:
        assert reader.read() == path.read_bytes()


def test_missing_referenced_object_blocks_the_rewrite(settings: Settings, fake: FakeTos) -> None:
    fill_local(settings, 1)  # u1 and u2 referenced, only u0 present
    database = fill_database(settings)
    assert run(settings) == 1
    with database.unit_of_work() as uow:
        task = uow.tasks.get("acme", "t2")
        assert task is not None and str(task.audio_sources[0].uri).startswith("local://")
    database.dispose()
