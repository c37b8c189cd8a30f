"""Every metric the service records, in one place so names and units stay consistent.

The instruments come from the API's global meter: before the SDK is installed (or when it
never is) they are no-ops, and the API's proxy hands them to the SDK once it is.
"""

from __future__ import annotations

from opentelemetry import metrics

METER = metrics.get_meter("meeting_agent")

# Boundaries in seconds: RPCs are milliseconds to minutes (streams), stages up to hours.
_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200]


def _duration_histogram(name: str, description: str) -> metrics.Histogram:
    """A histogram of durations: in seconds, on the one set of boundaries above."""
    return METER.create_histogram(
        name, unit="s", explicit_bucket_boundaries_advisory=_SECONDS, description=description
    )


rpc_duration = _duration_histogram(
    "rpc.server.call.duration", "Duration of server RPCs, by method and status code."
)
task_state_changes = METER.create_counter(
    "meeting_agent.task.state_changes", unit="{task}", description="Tasks entering each state."
)
job_queue_wait = _duration_histogram(
    "meeting_agent.job.queue_wait", "Time from a task's creation to its first claim by a job."
)
stage_duration = _duration_histogram(
    "meeting_agent.stage.duration", "Duration of each pipeline stage."
)
real_time_factor = METER.create_histogram(
    "meeting_agent.pipeline.real_time_factor",
    unit="1",
    explicit_bucket_boundaries_advisory=[0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5],
    description="Processing time of a task divided by its audio duration.",
)
provider_duration = _duration_histogram(
    "meeting_agent.provider.call.duration",
    "Latency of ASR and LLM provider calls, by provider and outcome.",
)
provider_errors = METER.create_counter(
    "meeting_agent.provider.errors",
    unit="{call}",
    description="Failed provider calls, by provider and error reason.",
)
provider_cost = METER.create_counter(
    "meeting_agent.provider.cost",
    unit="{currency_unit}",
    description="Cost of provider calls in the price table's currency, by provider.",
)
vendor_leftovers_deleted = METER.create_counter(
    "meeting_agent.vendor.leftovers_deleted",
    unit="{object}",
    description="Files left at vendors (uploads, published audio) the periodic sweep deleted.",
)
