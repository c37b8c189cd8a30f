"""`meeting-agent serve`, `dev-token` and the `client` commands."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from meeting_agent.cli.client import client_app
from meeting_agent.cli.process import process
from meeting_agent.config import ConfigurationError, Settings, load_settings

app = typer.Typer(help="Meeting recordings in, speaker-labelled transcripts and minutes out.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(client_app, name="client")
app.command()(process)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"meeting-agent: {exc}", err=True)
        raise typer.Exit(2) from None


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request line at INFO, and some carry signed upload URLs.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))


@app.command()
def serve() -> None:
    """Run the gRPC server until SIGTERM."""
    from meeting_agent.api.server import serve as serve_forever
    from meeting_agent.auth import build_authenticator
    from meeting_agent.bootstrap import bootstrap

    settings = _settings()
    configure_logging(settings.log_level)
    try:
        authenticator = build_authenticator(settings)
    except ConfigurationError as exc:
        typer.echo(f"meeting-agent: {exc}", err=True)
        raise typer.Exit(2) from None
    container = bootstrap(settings)
    try:
        asyncio.run(serve_forever(container, authenticator))
    finally:
        container.close()


@app.command("dev-token")
def dev_token(
    user: str = typer.Option("dev-user", help="User id (the subject claim)."),
    tenant: str = typer.Option("dev-tenant", help="Tenant id."),
    ttl: int = typer.Option(12 * 3600, help="Lifetime in seconds."),
) -> None:
    """Print a token signed with the local development key."""
    from meeting_agent.auth import mint_dev_token

    settings = _settings()
    if not settings.auth.dev_key:
        typer.echo("meeting-agent: the development key is switched off "
                   "(MEETING_AGENT_AUTH__DEV_KEY=false)", err=True)
        raise typer.Exit(2)
    typer.echo(mint_dev_token(settings, user_id=user, tenant_id=tenant, ttl_seconds=ttl))
