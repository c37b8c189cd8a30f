"""Installing the OpenTelemetry SDK from the standard `OTEL_*` environment variables.

The SDK reads the details itself (`OTEL_EXPORTER_OTLP_ENDPOINT`, `..._HEADERS`,
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_SCHEDULE_DELAY`,
`OTEL_METRIC_EXPORT_INTERVAL`, ...); this module only decides whether to install it and
with which exporters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import metrics, trace

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

_LOGGER = logging.getLogger(__name__)

# Any of these means an operator asked for OTLP export.
_ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
_SUPPORTED_PROTOCOLS = ("grpc",)


class TelemetryConfigurationError(ValueError):
    """The `OTEL_*` variables ask for something this build cannot do."""


@dataclass
class Telemetry:
    """The installed SDK providers; `shutdown` flushes what is still buffered."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def flush(self) -> None:
        self.tracer_provider.force_flush()
        self.meter_provider.force_flush()

    def shutdown(self) -> None:
        # Spans first: ending them may still record metrics.
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _wanted(environ: Mapping[str, str], signal: str) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get(f"OTEL_{signal}_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    if exporter and exporter != "otlp":
        raise TelemetryConfigurationError(
            f"OTEL_{signal}_EXPORTER={exporter} is not supported; use otlp or none"
        )
    return exporter == "otlp" or any(environ.get(name) for name in _ENDPOINT_VARIABLES)


def _check_protocol(environ: Mapping[str, str]) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    ):
        protocol = environ.get(name, "").strip()
        if protocol and protocol not in _SUPPORTED_PROTOCOLS:
            raise TelemetryConfigurationError(
                f"{name}={protocol} is not supported; this build exports OTLP over grpc"
            )


def configure_telemetry(role: str, environ: Mapping[str, str] | None = None) -> Telemetry | None:
    """Install the SDK when an OTLP exporter is configured, else leave the API a no-op.

    Call once per process, before any span is started (the API's proxies then hand
    earlier `get_tracer`/`get_meter` results over to the SDK). `role` becomes the
    `service.instance.role` resource attribute so server and worker spans can be told
    apart under one `OTEL_SERVICE_NAME`.
    """
    environ = os.environ if environ is None else environ
    traces, metrics_wanted = _wanted(environ, "TRACES"), _wanted(environ, "METRICS")
    if not (traces or metrics_wanted):
        return None
    _check_protocol(environ)
    # Imported here so that the quiet default never loads the SDK or the exporters.
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.instance.role": role})
    tracer_provider = TracerProvider(resource=resource)
    if traces:
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    readers = [PeriodicExportingMetricReader(OTLPMetricExporter())] if metrics_wanted else []
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _LOGGER.info("OpenTelemetry export on (traces: %s, metrics: %s)", traces, metrics_wanted)
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)


def flush_telemetry() -> None:
    """Push buffered spans and metrics out now, if the SDK is installed.

    A forked RQ job process leaves with `os._exit`, which skips every exit hook, so the
    job itself must flush before it returns.
    """
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is not None:
            force_flush()
