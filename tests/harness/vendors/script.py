"""The meeting every fake vendor "recognises": three lines, two speakers, timed words.

Neutral data, not any vendor's format: each fake renders it in its own documented
shape, so tests can assert exact segments whichever vendor answered. Times are
milliseconds within jfk.flac (11 s); `start_ms`/`end_ms` of None mark punctuation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    text: str
    start_ms: int | None = None
    end_ms: int | None = None

    @property
    def punctuation(self) -> bool:
        return self.start_ms is None


@dataclass(frozen=True)
class Line:
    speaker: str
    start_ms: int
    end_ms: int
    text: str  # the line as a vendor writes it, punctuation included
    tokens: tuple[Token, ...]


MEETING: tuple[Line, ...] = (
    Line(
        "1",
        320,
        4200,
        "And so, my fellow Americans,",
        (
            Token("And", 320, 560),
            Token("so", 600, 900),
            Token(","),
            Token("my", 1200, 1400),
            Token("fellow", 1450, 1900),
            Token("Americans", 1950, 4100),
            Token(","),
        ),
    ),
    Line(
        "2",
        4700,
        8100,
        "ask not what your country can do for you,",
        (
            Token("ask", 4700, 4950),
            Token("not", 5000, 5300),
            Token("what", 5400, 5650),
            Token("your", 5700, 5950),
            Token("country", 6000, 6500),
            Token("can", 6600, 6800),
            Token("do", 6850, 7050),
            Token("for", 7100, 7350),
            Token("you", 7400, 8000),
            Token(","),
        ),
    ),
    Line(
        "1",
        8300,
        10900,
        "这是一条测试音频。",
        (
            Token("这", 8300, 8450),
            Token("是", 8460, 8600),
            Token("一", 8610, 8750),
            Token("条", 8760, 8900),
            Token("测试", 8910, 9500),
            Token("音频", 9510, 10800),
            Token("。"),
        ),
    ),
)


def _letters(word: str, start_ms: int, per_letter_ms: int = 60) -> tuple[Token, ...]:
    return tuple(
        Token(c, start_ms + k * per_letter_ms, start_ms + (k + 1) * per_letter_ms)
        for k, c in enumerate(word)
    )


# Mixed Chinese and English, as a vendor that gives English a letter per token sends it.
MIXED_TEXT = "我们用PostgreSQL和API，5G的Q3目标。"
MIXED_TIDY = "我们用 PostgreSQL 和 API，5G 的 Q3 目标。"
MIXED: tuple[Line, ...] = (
    Line(
        "1",
        300,
        6000,
        MIXED_TEXT,
        (
            Token("我们", 300, 700),
            Token("用", 700, 900),
            *_letters("PostgreSQL", 900),
            Token("和", 1500, 1700),
            *_letters("API", 1700),
            Token("，"),
            *_letters("5G", 2000),
            Token("的", 2200, 2400),
            *_letters("Q3", 2400),
            Token("目标", 2600, 3400),
            Token("。"),
        ),
    ),
)
