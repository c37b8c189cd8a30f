"""Alembic environment for meeting-agent.

The database is, in order of precedence: `-x url=...` on the command line, a connection
or `sqlalchemy.url` passed in `Config.attributes` (see
`meeting_agent.adapters.db.database.alembic_config`), a `sqlalchemy.url` main option, and
finally the service settings (`load_settings().resolved_database_url`).
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from meeting_agent.adapters.db.database import normalize_url
from meeting_agent.adapters.db.models import Base
from meeting_agent.adapters.db.types import Money, UtcDateTime

config = context.config

# Only the command line configures logging; a programmatic upgrade keeps the app's.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Any constant works; it only has to be the same for every process that migrates.
_MIGRATION_LOCK_KEY = 0x6D61_6D69  # "mami"


def _database_url() -> str:
    url: str | None = context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.attributes.get("sqlalchemy.url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from meeting_agent.config import load_settings

        url = load_settings().resolved_database_url
    return normalize_url(url).render_as_string(hide_password=False)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types as the plain types they store, so that a revision never
    imports application code that may change after it was written."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Money):
        return "sa.Numeric(precision=18, scale=6).with_variant(sa.BigInteger(), 'sqlite')"
    return False


_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    "render_as_batch": True,
    "compare_type": True,
    "render_item": _render_item,
}


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"}, **_OPTIONS
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    context.configure(connection=connection, **_OPTIONS)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Replicas that start together must not run the same migration twice.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    # Not the service's engine: its SQLite connections enforce foreign keys, and a batch
    # table rebuild under enforcement would cascade-delete child rows.
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
