"""Adapters: the concrete implementations of the ports in `meeting_agent.ports`.

Layer: infrastructure, beside `auth` and above `config` and the use cases. Nothing
below imports an adapter; only the composition (`bootstrap`, `api`, `cli`) picks one.
"""
