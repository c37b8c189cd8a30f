"""What an update of a task's speaker mappings may name and hold.

Violations name the fields as requests carry them (`speaker_mappings.mappings['A']`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from meeting_agent.domain.checks import Violations, check_text
from meeting_agent.domain.models import SpeakerIdentity

# The update-mask path of the whole map; `mappings.<label>` names one entry.
WHOLE_MAP = "mappings"
SPEAKER_LABEL = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_mappings_update(given: Mapping[str, SpeakerIdentity], paths: Collection[str]) -> None:
    """Raise `InvalidArgument` listing every mask path and entry that breaks a rule."""
    v = Violations()
    v.check(bool(paths), "update_mask", "must name `mappings` or `mappings.<label>` entries")
    for path in paths:
        label = path.removeprefix(WHOLE_MAP + ".")
        v.check(
            path == WHOLE_MAP
            or (path.startswith(WHOLE_MAP + ".") and SPEAKER_LABEL.fullmatch(label) is not None),
            "update_mask",
            f"unknown path {path!r}",
        )
    for label, identity in given.items():
        field = f"speaker_mappings.mappings[{label!r}]"
        v.check(
            SPEAKER_LABEL.fullmatch(label) is not None,
            field,
            "label must be 1 to 64 letters, digits, '_' or '-'",
        )
        check_text(v, identity.display_name, f"{field}.display_name", max_length=100, required=True)
        check_text(v, identity.user_id, f"{field}.user_id", max_length=128)
    v.raise_if_any()
