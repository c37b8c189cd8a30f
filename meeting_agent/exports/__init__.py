"""Exports of transcripts (SRT, WebVTT, text, JSON) and minutes (Markdown, JSON).

Layer: use cases, between `service` (which calls these) and `minutes` (whose schema
the minutes exports read). Pure functions of domain values to text.
"""
