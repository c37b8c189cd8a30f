"""`meeting-agent serve`, `dev-token` and the `client` commands."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

import typer

from meeting_agent.cli.client import client_app
from meeting_agent.cli.migrate_data import migrate_data
from meeting_agent.cli.migrate_files import migrate_files
from meeting_agent.cli.process import process
from meeting_agent.cli.startup import configure_logging, settings_or_exit
from meeting_agent.cli.sweep import sweep_vendor_files

if TYPE_CHECKING:
    from meeting_agent.config import Settings

# Every start of the command line loads this module and the command modules: they
# import what a command needs inside it, so that `--help` or `dev-token` loads no
# database, models or providers.

app = typer.Typer(
    help="Meeting recordings in, speaker-labelled transcripts and minutes out.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(client_app, name="client")
app.command()(process)
app.command("migrate-files")(migrate_files)
app.command("migrate-data")(migrate_data)
app.command("sweep-vendor-files")(sweep_vendor_files)


@app.command()
def serve() -> None:
    """Run the gRPC server until SIGTERM."""
    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.resolved_log_format)
    if settings.server.processes > 1:
        from meeting_agent.api.processes import serve_in_processes

        raise typer.Exit(serve_in_processes(settings, _serve_one))
    raise typer.Exit(_serve_one(settings))


def _serve_one(settings: Settings | None = None) -> int:
    """One server process until SIGTERM; the exit code. Settings from the environment
    when not given (a process started by `serve_in_processes`)."""
    from meeting_agent.adapters.db.gauges import register_gauges
    from meeting_agent.api.server import serve as serve_forever
    from meeting_agent.auth import build_authenticator
    from meeting_agent.bootstrap import bootstrap
    from meeting_agent.config import ConfigurationError
    from meeting_agent.telemetry import configure_telemetry
    from meeting_agent.telemetry.setup import TelemetryConfigurationError

    if settings is None:
        settings = settings_or_exit()
        configure_logging(settings.log_level, settings.resolved_log_format)
    try:
        authenticator = build_authenticator(settings)
        telemetry = configure_telemetry("server")
    except (ConfigurationError, TelemetryConfigurationError) as exc:
        typer.echo(f"meeting-agent: {exc}", err=True)
        return 2
    container = bootstrap(settings)
    if telemetry is not None:
        register_gauges(container.database.engine, container.queue)
    stopped = False
    try:
        stopped = asyncio.run(serve_forever(container, authenticator))
    finally:
        if telemetry is not None:
            # After the drain, so the spans of the last RPCs and jobs are exported too.
            telemetry.shutdown()
    if not stopped:
        # A job thread still running would keep the interpreter from exiting; the
        # grace period is over, and the task's lease hands it to another process.
        logging.shutdown()
        os._exit(1)
    return 0


@app.command("dev-token")
def dev_token(
    user: str = typer.Option("dev-user", help="User id (the subject claim)."),
    tenant: str = typer.Option("dev-tenant", help="Tenant id."),
    ttl: int = typer.Option(12 * 3600, help="Lifetime in seconds."),
) -> None:
    """Print a token signed with the local development key."""
    from meeting_agent.auth import mint_dev_token

    settings = settings_or_exit()
    if not settings.auth.dev_key:
        typer.echo(
            "meeting-agent: the development key is switched off "
            "(MEETING_AGENT_AUTH__DEV_KEY=false)",
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(mint_dev_token(settings, user_id=user, tenant_id=tenant, ttl_seconds=ttl))
