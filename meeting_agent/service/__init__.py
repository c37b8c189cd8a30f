"""Use cases. Each service takes ports, opens its own unit of work, and speaks domain types."""
