"""Adapters: the concrete implementations of the ports in `meeting_agent.ports`."""
