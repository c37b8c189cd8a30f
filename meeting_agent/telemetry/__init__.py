"""OpenTelemetry traces and metrics, and the JSON log format.

Everything here goes through the OpenTelemetry *API*: until `configure_telemetry` installs
the SDK (only when an `OTEL_*` exporter is configured), every span and instrument is the
API's no-op, so the embedded default pays nothing for it.
"""

from meeting_agent.telemetry.setup import Telemetry, configure_telemetry, flush_telemetry

__all__ = ["Telemetry", "configure_telemetry", "flush_telemetry"]
