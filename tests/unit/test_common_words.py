"""The common-word list is what its generator makes from the pinned sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from meeting_agent.text.common_words import COMMON_WORDS

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts/gen_common_words.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_common_words", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_list_matches_its_generator() -> None:
    generator = _generator()
    assert generator.TARGET.read_text(encoding="utf-8") == generator.render()


def test_list_holds_words_not_fragments() -> None:
    assert {"meeting", "deadline", "has", "accounts", "email", "download"} <= COMMON_WORDS
    assert not {"acqu", "administ", "accommod"} & COMMON_WORDS
