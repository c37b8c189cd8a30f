"""Object store adapters: implementations of `meeting_agent.ports.ObjectStore`."""
