"""Entities and value objects of meeting-agent: plain data, no I/O."""
