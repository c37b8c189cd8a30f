"""Word lists kept as data in `meeting_agent/data/`: one entry a line, `#` comments."""

from __future__ import annotations

from importlib import resources


def load_word_list(name: str) -> tuple[str, ...]:
    """The entries of `meeting_agent/data/<name>`, in file order, without comments."""
    text = resources.files("meeting_agent").joinpath(f"data/{name}").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))
