"""What makes a valid prompt template or hotword set, and which of their fields change.

Violations name the fields as requests carry them (`prompt_template.body`,
`hotword_set.hotwords[2].phrase`), so every caller reports them the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from meeting_agent.domain.checks import Violations, check_language, check_text
from meeting_agent.domain.models import Hotword, HotwordSet, PromptTemplate

TEMPLATE_MUTABLE_FIELDS = frozenset(
    {"display_name", "description", "system_prompt", "body", "language_code"}
)
HOTWORD_SET_MUTABLE_FIELDS = frozenset({"display_name", "hotwords", "language_code"})

MAX_HOTWORDS = 1000
MAX_HOTWORD_WEIGHT = 10


def check_prompt_template(template: PromptTemplate, fields: Collection[str]) -> None:
    """Raise `InvalidArgument` listing every rule that `fields` of `template` break."""
    v = Violations()
    if "display_name" in fields:
        check_text(
            v, template.display_name, "prompt_template.display_name", max_length=200, required=True
        )
    if "description" in fields:
        check_text(v, template.description, "prompt_template.description", max_length=2000)
    if "system_prompt" in fields:
        check_text(v, template.system_prompt, "prompt_template.system_prompt", max_length=20000)
    if "body" in fields:
        check_text(v, template.body, "prompt_template.body", max_length=100000, required=True)
    if "language_code" in fields:
        check_language(v, template.language_code, "prompt_template.language_code")
    v.raise_if_any()


def check_hotword_set(hotword_set: HotwordSet, fields: Collection[str]) -> None:
    """Raise `InvalidArgument` listing every rule that `fields` of `hotword_set` break.

    Two phrases that differ only in case or surrounding space are one hotword.
    """
    v = Violations()
    if "display_name" in fields:
        check_text(
            v, hotword_set.display_name, "hotword_set.display_name", max_length=200, required=True
        )
    if "language_code" in fields:
        check_language(v, hotword_set.language_code, "hotword_set.language_code")
    if "hotwords" in fields:
        hotwords = hotword_set.hotwords
        if not 1 <= len(hotwords) <= MAX_HOTWORDS:
            v.add("hotword_set.hotwords", f"must hold 1 to {MAX_HOTWORDS} hotwords")
        seen: set[str] = set()
        for i, h in enumerate(hotwords):
            field = f"hotword_set.hotwords[{i}]"
            check_text(v, h.phrase, f"{field}.phrase", max_length=100, required=True)
            v.check(
                0 <= h.weight <= MAX_HOTWORD_WEIGHT,
                f"{field}.weight",
                f"must be between 0 and {MAX_HOTWORD_WEIGHT}",
            )
            key = h.phrase.strip().casefold()
            v.check(key not in seen, f"{field}.phrase", f"duplicates {h.phrase!r}")
            seen.add(key)
    v.raise_if_any()


def stripped(hotwords: Sequence[Hotword]) -> list[Hotword]:
    """The hotwords as stored: phrases without surrounding space."""
    return [Hotword(h.phrase.strip(), h.weight) for h in hotwords]
