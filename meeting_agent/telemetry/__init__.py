"""OpenTelemetry traces and metrics, and the JSON log format.

Everything here goes through the OpenTelemetry *API*: until `configure_telemetry` installs
the SDK (only when an `OTEL_*` exporter is configured), every span and instrument is the
API's no-op, so the embedded default pays nothing for it.

Layer: cross-cutting, just above the ports. Services record spans and metrics through
it, so it imports nothing but `errors` and OpenTelemetry; what reads the database
for gauges is an adapter (`adapters.db.gauges`), and only the composition calls
`configure_telemetry`.
"""

from meeting_agent.telemetry.setup import Telemetry, configure_telemetry, flush_telemetry

__all__ = ["Telemetry", "configure_telemetry", "flush_telemetry"]
