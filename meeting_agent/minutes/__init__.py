"""Minutes: the schema, the extractive generator and LLM generation with map-reduce.

Layer: use cases, below `service` and `exports`. Generators implement the minutes
port on top of `ports`, `domain` and `text`; they know no service and no adapter.
"""
