"""Entities and value objects of meeting-agent: plain data, no I/O.

Layer: domain, below the ports. It may import only `text` and `errors`.
"""
