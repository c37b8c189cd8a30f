"""Use cases. Each service takes ports, opens its own unit of work, and speaks domain types.

Layer: use cases, the top of them. Services may import `exports`, `minutes`, the
cross-cutting `telemetry`, `attempts`, `deadlines` and `config_providers`, and
everything below (`ports`, `domain`, `text`, `errors`); never an adapter or settings.
"""
