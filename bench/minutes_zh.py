"""Scores the extractive minutes on scripted Mandarin meetings (`bench/zh_minutes_set.py`).

    python -m bench.minutes_zh            # the four figures, and every miss
    python -m bench.minutes_zh --json

An item is matched to a reference by the row it was said in (a reply that accepts a
request belongs to the request's row). Figures:

- decisions and action items: precision and recall;
- owners: matched action items whose owner is the reference's;
- due dates: matched action items whose date (or, for phrases such as 上线前 that name
  no date, whose kept text) is the reference's, and that have none when none was said.

The baseline printed beside them is a first-sentence-of-each-turn-with-a-cue reader:
every row with 决定/确定/同意 is a decision, every row with 负责/我来/请 an item owned
by its speaker, with no dates.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.zh_minutes_set import ZH_MEETINGS, RefAction, ZhMeeting
from meeting_agent.domain.models import Transcript, TranscriptSegment
from meeting_agent.minutes.extractive import extract_minutes

_ROW_SECONDS = 10.0


def transcript_of(meeting: ZhMeeting) -> Transcript:
    segments = [
        TranscriptSegment(
            index=i,
            speaker_label=label,
            start=i * _ROW_SECONDS,
            end=(i + 1) * _ROW_SECONDS - 0.5,
            text=text,
        )
        for i, (label, text) in enumerate(meeting.rows)
    ]
    now = datetime.combine(meeting.meeting_date, datetime.min.time(), UTC)
    return Transcript(
        task_id=meeting.name,
        tenant_id="bench",
        language_code="zh",
        segments=segments,
        duration_seconds=len(segments) * _ROW_SECONDS,
        asr_provider="script",
        asr_model="script",
        create_time=now,
        update_time=now,
    )


def _row(item: dict[str, Any]) -> int:
    return round(float(item.get("source_offset_seconds") or 0) / _ROW_SECONDS)


@dataclass
class Score:
    decisions_found: int = 0
    decisions_right: int = 0
    decisions_ref: int = 0
    items_found: int = 0
    items_right: int = 0
    items_ref: int = 0
    owners_right: int = 0
    dues_right: int = 0
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        def ratio(a: int, b: int) -> float:
            return round(a / b, 3) if b else 1.0

        return {
            "decision_precision": ratio(self.decisions_right, self.decisions_found),
            "decision_recall": ratio(self.decisions_right, self.decisions_ref),
            "action_precision": ratio(self.items_right, self.items_found),
            "action_recall": ratio(self.items_right, self.items_ref),
            "owner_accuracy": ratio(self.owners_right, self.items_right),
            "due_accuracy": ratio(self.dues_right, self.items_right),
        }


def _due_right(item: dict[str, Any], ref: RefAction) -> bool:
    if ref.due_date:
        return item.get("due_date") == ref.due_date
    if ref.due_text:
        return not item.get("due_date") and ref.due_text in str(item.get("due_text", ""))
    return not item.get("due_date") and not item.get("due_text")


def score(meeting: ZhMeeting, minutes: dict[str, Any], into: Score) -> None:
    ref_rows = {d.row for d in meeting.decisions}
    into.decisions_ref += len(ref_rows)
    seen: set[int] = set()
    for decision in minutes["decisions"]:
        into.decisions_found += 1
        row = _row(decision)
        if row in ref_rows and row not in seen:
            into.decisions_right += 1
            seen.add(row)
        else:
            into.misses.append(f"{meeting.name}: extra decision {decision['text']}")
    for missed in ref_rows - seen:
        into.misses.append(f"{meeting.name}: missed decision {meeting.rows[missed][1]}")

    refs = {a.row: a for a in meeting.actions}
    into.items_ref += len(refs)
    matched: set[int] = set()
    for item in minutes["action_items"]:
        into.items_found += 1
        row = _row(item)
        ref = refs.get(row)
        if ref is None or row in matched:
            into.misses.append(f"{meeting.name}: extra item {item['owner']}: {item['text']}")
            continue
        matched.add(row)
        into.items_right += 1
        if item["owner"] == ref.owner:
            into.owners_right += 1
        else:
            into.misses.append(
                f"{meeting.name}: owner {item['owner']!r}, not {ref.owner!r}: {item['text']}"
            )
        if _due_right(item, ref):
            into.dues_right += 1
        else:
            into.misses.append(
                f"{meeting.name}: due {item.get('due_date')!r}/{item.get('due_text')!r}, not"
                f" {ref.due_date or ref.due_text or 'none'!r}: {item['text']}"
            )
    for missed in set(refs) - matched:
        into.misses.append(f"{meeting.name}: missed item {meeting.rows[missed][1]}")


_BASE_DECISION = re.compile(r"决定|确定|同意")
_BASE_ACTION = re.compile(r"负责|我来|请")


def baseline_minutes(meeting: ZhMeeting) -> dict[str, Any]:
    decisions, items = [], []
    for i, (label, text) in enumerate(meeting.rows):
        offset = i * _ROW_SECONDS
        if _BASE_DECISION.search(text):
            decisions.append({"text": text, "source_offset_seconds": offset})
        if _BASE_ACTION.search(text):
            items.append(
                {
                    "owner": meeting.speakers[label],
                    "text": text,
                    "due_date": "",
                    "due_text": "",
                    "source_offset_seconds": offset,
                }
            )
    return {"decisions": decisions, "action_items": items}


def run(meetings: Sequence[ZhMeeting] = ZH_MEETINGS) -> tuple[Score, Score]:
    ours, base = Score(), Score()
    for meeting in meetings:
        minutes = extract_minutes(
            transcript_of(meeting).segments,
            meeting.speakers,
            meeting_date=meeting.meeting_date,
            language_code="zh",
        )
        score(meeting, minutes, ours)
        score(meeting, baseline_minutes(meeting), base)
    return ours, base


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    ours, base = run()
    if args.json:
        print(
            json.dumps(
                {"extractive": ours.figures(), "baseline": base.figures(), "misses": ours.misses},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    print(
        f"{len(ZH_MEETINGS)} meetings, {ours.decisions_ref} decisions, {ours.items_ref} "
        "action items"
    )
    print(f"{'figure':22} {'extractive':>10} {'baseline':>10}")
    theirs = base.figures()
    for name, value in ours.figures().items():
        print(f"{name:22} {value:10.3f} {theirs[name]:10.3f}")
    for miss in ours.misses:
        print("  " + miss)


if __name__ == "__main__":
    main()
