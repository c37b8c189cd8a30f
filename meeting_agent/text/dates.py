"""Due dates said in a meeting ("by Friday", "下周三之前") and the dates they name.

Every phrase is resolved against the meeting's date. A phrase that names a range or
depends on habit rather than the calendar ("next week", "下个月") keeps its text and
gets no date, so the minutes never invent a deadline.

Conventions, the same in both languages:
- a bare weekday ("Friday", "周五") is the next such day after the meeting;
- "this Friday" / "这周五" is that day of the meeting's week (none if already past);
- "next Friday" / "下周五" is that day of the following week;
- "end of the week" / "本周内" is the week's Friday (Sunday if the meeting is later);
- a month and day without a year is the next such date on or after the meeting.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from meeting_agent.text.cjk import CJK_CHAR
from meeting_agent.text.segmenter import words

__all__ = ["Due", "find_due"]


@dataclass(frozen=True)
class Due:
    """A due date as said, the date it names when that is unambiguous, and whether it
    was said as a deadline ("by Friday", "周五前") rather than as a plain time."""

    text: str
    date: date | None
    deadline: bool = False


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple": 2,
}
_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_WEEKDAY = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}

Resolver = Callable[[re.Match[str], date], date | None]


# ---------------------------------------------------------------- calendar helpers


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _next_weekday(d: date, weekday: int) -> date:
    return d + timedelta(days=(weekday - d.weekday() - 1) % 7 + 1)


def _this_weekday(d: date, weekday: int) -> date | None:
    day = _monday(d) + timedelta(days=weekday)
    return day if day >= d else None


def _week_after(d: date, weekday: int, weeks: int = 1) -> date:
    return _monday(d) + timedelta(days=7 * weeks + weekday)


def _end_of_week(d: date) -> date:
    return _monday(d) + timedelta(days=4 if d.weekday() <= 4 else 6)


def _end_of_month(year: int, month: int) -> date:
    while month > 12:
        year, month = year + 1, month - 12
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _add_business_days(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _month_day(meeting: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(meeting.year, month, day)
        return candidate if candidate >= meeting else date(meeting.year + 1, month, day)
    except ValueError:
        return None  # "February 30"


def _day_of_month(meeting: date, day: int) -> date | None:
    try:
        if day >= meeting.day:
            return meeting.replace(day=day)
        return _add_months(meeting.replace(day=1), 1).replace(day=day)
    except ValueError:
        return None


def _cn_int(text: str) -> int | None:
    """Integers up to 99 in digits or Chinese numerals ("十二", "二十五", "两")."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        high = _CN_DIGITS.get(tens, -1) if tens else 1
        low = _CN_DIGITS.get(ones, -1) if ones else 0
        return None if high < 0 or low < 0 else high * 10 + low
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


def _en_int(text: str) -> int | None:
    text = text.lower()
    if "couple" in text:
        return 2
    return int(text) if text.isdigit() else _NUMBER_WORDS.get(text)


# ---------------------------------------------------------------- English resolvers


def _weekday_en(m: re.Match[str], d: date) -> date | None:
    weekday = _WEEKDAYS.index(m.group("wd").lower())
    which = (m.group("which") or "").lower()
    if which == "this":
        return _this_weekday(d, weekday)
    if which == "next":
        return _week_after(d, weekday)
    return _next_weekday(d, weekday)


def _end_of_en(m: re.Match[str], d: date) -> date | None:
    unit = m.group("unit").lower()
    nxt = (m.group("which") or "").lower() == "next"
    if unit == "week":
        return _week_after(d, 4) if nxt else _end_of_week(d)
    if unit == "month":
        return _end_of_month(d.year, d.month + (1 if nxt else 0))
    if unit == "quarter":
        last = (d.month - 1) // 3 * 3 + 3 + (3 if nxt else 0)
        return _end_of_month(d.year, last)
    return date(d.year + (1 if nxt else 0), 12, 31)


def _month_name(name: str) -> int:
    name = name.lower().rstrip(".")
    return _MONTHS.index(name) + 1 if name in _MONTHS else _MONTH_ABBR[name]


def _month_day_en(m: re.Match[str], d: date) -> date | None:
    year = int(m.group("year")) if m.group("year") else None
    return _month_day(d, _month_name(m.group("month")), int(m.group("day")), year)


def _iso(m: re.Match[str], d: date) -> date | None:
    try:
        return date.fromisoformat(m.group(0)[-10:])
    except ValueError:
        return None


def _relative_en(m: re.Match[str], d: date) -> date | None:
    n = _en_int(m.group("n"))
    if n is None:
        return None
    unit = m.group("unit").lower()
    if unit.startswith(("business", "working")):
        return _add_business_days(d, n)
    if unit.startswith("week"):
        return d + timedelta(weeks=n)
    if unit.startswith("month"):
        return _add_months(d, n)
    return d + timedelta(days=n)


def _offset(days: int) -> Resolver:
    return lambda _m, d: d + timedelta(days=days)


def _none(_m: re.Match[str], _d: date) -> date | None:
    return None


_WD = "|".join(_WEEKDAYS)
_MO = "|".join(_MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
_EN_PREP = r"(?P<prep>\b(?:by|before|until|till|no\s+later\s+than|due(?:\s+(?:on|by))?|on)\s+)?"
_EN_PATTERNS: list[tuple[str, Resolver]] = [
    (r"(?:the\s+)?day\s+after\s+tomorrow", _offset(2)),
    (r"tomorrow(?:\s+(?:morning|afternoon|evening|night))?", _offset(1)),
    (
        r"today|tonight|(?:the\s+)?end\s+of\s+(?:the\s+)?day|eod|cob|close\s+of\s+business",
        _offset(0),
    ),
    (
        rf"(?:(?P<which>this|next|coming)\s+)?(?P<wd>{_WD})"
        r"(?:\s+(?:morning|afternoon|evening|night|noon|eod))?",
        _weekday_en,
    ),
    (
        r"(?:the\s+)?end\s+of\s+(?:the\s+|(?P<which>this|next)\s+)?"
        r"(?P<unit>week|month|quarter|year)",
        _end_of_en,
    ),
    (
        rf"(?P<month>{_MO})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?",
        _month_day_en,
    ),
    (
        rf"(?:the\s+)?(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MO})\.?"
        r"(?:,?\s+(?P<year>\d{4}))?",
        _month_day_en,
    ),
    (r"the\s+(?P<dom>\d{1,2})(?:st|nd|rd|th)", lambda m, d: _day_of_month(d, int(m.group("dom")))),
    (r"\d{4}-\d{2}-\d{2}", _iso),
    (
        r"(?:in|within)\s+(?:the\s+next\s+)?(?P<n>\d+|an?|one|two|three|four|five|six|seven|"
        r"eight|nine|ten|(?:a\s+)?couple\s+of)\s+"
        r"(?P<unit>(?:business\s+|working\s+)?days?|weeks?|months?)",
        _relative_en,
    ),
    (r"next\s+(?:week|month)|this\s+week|later\s+this\s+(?:week|month)", _none),
]


# ---------------------------------------------------------------- Chinese resolvers


def _weekday_zh(m: re.Match[str], d: date) -> date | None:
    weekday = _CN_WEEKDAY[m.group("wd")]
    which = m.group("which") or ""
    if which.startswith("下下"):
        return _week_after(d, weekday, 2)
    if which.startswith("下"):
        return _week_after(d, weekday)
    if which:
        return _this_weekday(d, weekday)
    return _next_weekday(d, weekday)


def _week_end_zh(m: re.Match[str], d: date) -> date | None:
    which, what = m.group("which") or "", m.group("what")
    if which.startswith("下"):
        return _week_after(d, 4 if what != "末" else 6)
    if what == "末" and not m.group("before"):
        return _monday(d) + timedelta(days=6)  # "这周末": the weekend itself
    return _end_of_week(d)


def _month_end_zh(m: re.Match[str], d: date) -> date | None:
    return _end_of_month(d.year, d.month + (1 if (m.group("which") or "").startswith("下") else 0))


def _month_day_zh(m: re.Match[str], d: date) -> date | None:
    month, day = _cn_int(m.group("month")), _cn_int(m.group("day"))
    if month is None or day is None:
        return None
    year_text = m.group("year") or ""
    year = {"今": d.year, "明": d.year + 1}.get(year_text)
    if year_text.isdigit():
        year = int(year_text)
    return _month_day(d, month, day, year)


def _dom_zh(m: re.Match[str], d: date) -> date | None:
    day = _cn_int(m.group("dom"))
    return None if day is None else _day_of_month(d, day)


def _relative_zh(m: re.Match[str], d: date) -> date | None:
    n = _cn_int(m.group("n"))
    if n is None:
        return None
    unit = m.group("unit")
    if unit == "工作日":
        return _add_business_days(d, n)
    if unit in ("周", "星期", "礼拜"):
        return d + timedelta(weeks=n)
    if unit.endswith("月"):
        return _add_months(d, n)
    return d + timedelta(days=n)


_CN_NUM = r"[0-9]{1,2}|[零一二两三四五六七八九十]{1,3}"
_ZH_EVENTS = (
    "上线|发布|发版|部署|提测|封版|评审|验收|交付|演示|开会|会议|放假|春节|国庆|年会"
    "|迭代结束|版本发布|正式发布|客户演示|面试"
)


def _day_of_month_zh(m: re.Match[str], d: date) -> date | None:
    day = _cn_int(m.group("day"))
    if day is None:
        return None
    base = _add_months(d.replace(day=1), 1) if m.group("which").startswith("下") else d
    try:
        return base.replace(day=day)
    except ValueError:
        return None


_ZH_BEFORE = r"(?P<before>\s*(?:之前|以前|前|为止))?"
_ZH_PATTERNS: list[tuple[str, Resolver]] = [
    (r"大后天", _offset(3)),
    (r"后天", _offset(2)),
    (r"明天(?:下班|上午|中午|下午|晚上|早上)?|明日|明早|明晚", _offset(1)),
    (r"(?:今天|今日|当天)(?:下班|上午|中午|下午|晚上|早上)?|今晚|下班", _offset(0)),
    (
        r"(?P<which>下下个?|下个?|本|这个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])",
        _weekday_zh,
    ),
    (r"(?P<which>下个?|本|这个?)?(?:周|星期|礼拜)(?P<what>末|内|之内)", _week_end_zh),
    (r"(?P<which>下个?|本|这个?|当)?月(?:底|末)", _month_end_zh),
    (
        r"(?P<which>今|明)?年(?:底|末)",
        lambda m, d: date(d.year + (1 if m.group("which") == "明" else 0), 12, 31),
    ),
    (
        rf"(?:(?P<year>\d{{4}}|今|明)年)?(?P<month>{_CN_NUM})月(?P<day>{_CN_NUM})[日号]",
        _month_day_zh,
    ),
    (rf"(?P<dom>{_CN_NUM})[日号]", _dom_zh),
    (rf"(?P<n>{_CN_NUM}|几)个?(?P<unit>工作日|天|周|星期|礼拜|月)(?:之内|以内|内)", _relative_zh),
    (rf"(?P<which>下个?|这个?|本)月(?P<day>{_CN_NUM})[日号]", _day_of_month_zh),
    # Deadlines tied to an event, not to the calendar: kept as said, with no date.
    (rf"(?:{_ZH_EVENTS})(?=\s*(?:之前|以前|前(?![端台面天年期景])))", _none),
    (rf"(?:{_ZH_EVENTS})\s*(?:之后|以后|后(?![端台面续期]))", _none),
    (r"下个?(?:周|星期|礼拜|月)|这周|本周|这个月|本月", _none),
]

_COMPILED: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(rf"{_EN_PREP}\b(?:{p})\b", re.IGNORECASE), r) for p, r in _EN_PATTERNS
] + [(re.compile(rf"(?:{p}){_ZH_BEFORE}"), r) for p, r in _ZH_PATTERNS]


_DIGIT_SPACES = re.compile(r"(?<=[0-9])\s+(?=[月日号点周天个年])|(?<=[月年周])\s+(?=[0-9])")


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    text: str
    date: date | None
    deadline: bool


_LOCALIZERS = frozenset({"前", "之前", "以前", "后", "之后", "以后"})
_NOT_EVENTS = re.compile(
    r"^(?:上周|上个?月|去年|昨天|前天|以前|之前|很久|不久|几天|我们|你们"
    r"|他们|大家|这个|那个|这样|那样|会议室)$|[天周月年]$"
)


def _event_candidates(sentence: str, found: list[_Candidate]) -> list[_Candidate]:
    """ "过期前", "出差之后": a word and the localizer after it, for events the calendar
    does not know. Kept as text with no date, and not enough on their own to make a
    sentence an action item (unlike the usual events of `_ZH_EVENTS`)."""
    out: list[_Candidate] = []
    position = 0
    cut = words(sentence)
    for word, after in zip(cut, [*cut[1:], ""], strict=True):
        start, end = position, position + len(word) + len(after)
        position += len(word)
        if (
            after not in _LOCALIZERS
            or len(word) < 2
            or not CJK_CHAR.match(word)
            or _NOT_EVENTS.search(word)
        ):
            continue
        if any(c.start < end and start < c.end for c in found):
            continue
        out.append(_Candidate(start, end, word + after, None, False))
    return out


def find_due(sentence: str, meeting_date: date) -> Due | None:
    """The due date a sentence states, or None.

    When a sentence names several times, the one marked as a deadline ("by", "before",
    "前") wins, then the earliest; a phrase inside a longer one ("Friday" inside
    "next Friday") is never taken alone.
    """
    # ASR spaces digits off from Chinese ("11 月 10 号"); dates are read without them.
    sentence = _DIGIT_SPACES.sub("", sentence)
    found: list[_Candidate] = []
    for pattern, resolve in _COMPILED:
        for m in pattern.finditer(sentence):
            groups = m.groupdict()
            prep = (groups.get("prep") or "").strip().lower()
            deadline = bool(
                (prep and prep != "on") or groups.get("before") or m.group(0).endswith("内")
            )
            found.append(
                _Candidate(
                    m.start(), m.end(), m.group(0).strip(), resolve(m, meeting_date), deadline
                )
            )
    found += _event_candidates(sentence, found)
    outer = [
        c
        for c in found
        if not any(
            o is not c
            and o.start <= c.start
            and c.end <= o.end
            and (o.end - o.start) > (c.end - c.start)
            for o in found
        )
    ]
    if not outer:
        return None
    best = min(outer, key=lambda c: (not c.deadline, c.start))
    return Due(best.text, best.date, best.deadline)
