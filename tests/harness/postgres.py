"""A PostgreSQL server for integration tests, and throwaway databases on it.

`MEETING_AGENT_TEST_POSTGRES_URL` names an existing server (its role needs CREATEDB);
otherwise `LocalPostgres` starts a private cluster from Debian's PostgreSQL 15 binaries in
a temporary directory, listening on 127.0.0.1 only, and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

URL_VARIABLE = "MEETING_AGENT_TEST_POSTGRES_URL"
BIN_DIR_VARIABLE = "MEETING_AGENT_TEST_POSTGRES_BIN"
DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
# initdb and postgres refuse to run as root; Debian's package creates this user.
SYSTEM_USER = "postgres"
SUPERUSER = "postgres"


class PostgresUnavailable(Exception):
    """No server was configured and none can be started here."""


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are (`MEETING_AGENT_TEST_POSTGRES_BIN` or Debian's), or None."""
    path = Path(os.environ.get(BIN_DIR_VARIABLE) or DEFAULT_BIN_DIR)
    if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
        return path
    return None


def psycopg_url(url: str | URL) -> URL:
    """The SQLAlchemy URL with the psycopg 3 driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


def _libpq_conninfo(url: str | URL) -> str:
    return psycopg_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalPostgres:
    """A throwaway cluster: `start()` runs initdb and pg_ctl; `stop()` removes it all."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin_dir = bin_dir
        self._root: Path | None = None
        self._port = 0
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            host="127.0.0.1",
            port=self._port,
            database="postgres",
        )

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin_dir / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        """Create and start the cluster; after `stop(cleanup=False)`, start it again on
        the same port with its data (what a database restart looks like to clients)."""
        if self._root is not None:
            self._pg_ctl_start(self._port)
            return
        root = Path(tempfile.mkdtemp(prefix="meeting-agent-pg-"))
        self._root = root
        if self._as_root:
            try:
                account = pwd.getpwnam(SYSTEM_USER)
            except KeyError as exc:
                raise PostgresUnavailable(
                    f"no {SYSTEM_USER!r} system user to run PostgreSQL as (we are root)"
                ) from exc
            os.chown(root, account.pw_uid, account.pw_gid)
        root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(root / "data"),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        last_error: subprocess.CalledProcessError | None = None
        for _ in range(3):  # the free port may be taken before the server binds it
            try:
                self._pg_ctl_start(_free_port())
                return
            except subprocess.CalledProcessError as exc:
                last_error = exc
        log = root / "server.log"
        log_text = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {last_error}\n{log_text}")

    def _pg_ctl_start(self, port: int) -> None:
        assert self._root is not None
        # Durability is pointless for a throwaway cluster and costs seconds per test run.
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self._root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._port = port
        self._run(
            "pg_ctl",
            "-D",
            str(self._root / "data"),
            "-l",
            str(self._root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} {options}",
            "start",
        )

    def stop(self, *, cleanup: bool = True) -> None:
        """Stop the server at once (clients see their connections drop); with
        `cleanup`, also remove the cluster."""
        if self._root is None:
            return
        data = self._root / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        if cleanup:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


@contextlib.contextmanager
def postgres_server() -> Iterator[URL]:
    """The admin URL (database `postgres`) of the configured or a freshly started server.

    Raises `PostgresUnavailable` when there is neither.
    """
    configured = os.environ.get(URL_VARIABLE)
    if configured:
        yield psycopg_url(configured)
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        where = os.environ.get(BIN_DIR_VARIABLE) or DEFAULT_BIN_DIR
        raise PostgresUnavailable(
            f"PostgreSQL binaries not found in {where} (apt-get install postgresql-15) "
            f"and {URL_VARIABLE} is not set"
        )
    server = LocalPostgres(bin_dir)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def create_database(admin_url: str | URL, *, template: str | None = None) -> URL:
    """Create a database with a unique name; returns its URL."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with psycopg.connect(_libpq_conninfo(admin_url), autocommit=True) as connection:
        connection.execute(statement)
    return psycopg_url(admin_url).set(database=name)


def drop_database(admin_url: str | URL, name: str) -> None:
    """Drop a database, disconnecting whoever is still connected to it."""
    with psycopg.connect(_libpq_conninfo(admin_url), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def temporary_database(admin_url: str | URL, *, template: str | None = None) -> Iterator[URL]:
    """A fresh database for the duration of the block, dropped afterwards."""
    url = create_database(admin_url, template=template)
    try:
        yield url
    finally:
        assert url.database is not None
        drop_database(admin_url, url.database)
