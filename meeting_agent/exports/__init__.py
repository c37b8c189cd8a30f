"""Exports of transcripts (SRT, WebVTT, text, JSON) and minutes (Markdown, JSON)."""
