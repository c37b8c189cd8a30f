"""`meeting-agent sweep-vendor-files`: one round of the leftover sweep, now."""

from __future__ import annotations

import json

import typer


def sweep_vendor_files() -> None:
    """Delete files this service left at its vendors (Gemini uploads, published audio)
    older than their limits; prints what each sweep deleted, as JSON.

    The server runs the same sweep every `providers.sweep.interval_seconds`.
    """
    from meeting_agent.adapters.providers.factory import build_cloud_providers
    from meeting_agent.bootstrap import build_store
    from meeting_agent.cli.startup import configure_logging, settings_or_exit
    from meeting_agent.service.common import SystemClock
    from meeting_agent.service.leftovers import LeftoverSweeper

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.resolved_log_format)
    store = build_store(settings)
    cloud = build_cloud_providers(settings.providers, store)
    deleted = LeftoverSweeper(cloud.sweeps, SystemClock()).run_once()
    typer.echo(json.dumps(deleted, sort_keys=True))
    if any(count < 0 for count in deleted.values()):
        raise typer.Exit(1)
