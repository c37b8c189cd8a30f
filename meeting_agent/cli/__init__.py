"""The `meeting-agent` command line."""

from meeting_agent.cli.main import app

__all__ = ["app"]
