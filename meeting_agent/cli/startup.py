"""What every long-running command does first: load settings and set up logging."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from meeting_agent.config import Settings


def settings_or_exit() -> Settings:
    """The settings from the environment; a bad configuration exits with status 2."""
    from meeting_agent.config import ConfigurationError, load_settings

    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"meeting-agent: {exc}", err=True)
        raise typer.Exit(2) from None


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr, as JSON lines (`json`) or text; both redact secrets."""
    from meeting_agent.telemetry.logs import JsonFormatter, RedactingFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler])
    # httpx logs every request line at INFO, and some carry signed upload URLs.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))
