"""The text kernel: Chinese, English and mixed text, the same way on every path.

Layer: the lowest but one, above `errors` only. Pure algorithms over strings and
dates; nothing here knows tasks, ports or services, so every other layer may use it.

Minutes, subtitles, exports, hotwords and the vendor adapters all cut, space, count
and split text with these functions, so a word, a sentence and a width mean the same
thing everywhere:

- `cjk`: which characters are CJK, screen widths, token estimates;
- `segmenter`: Chinese words (jieba's dictionary, via rjieba) and person names;
- `sentences`: sentence ends in Chinese, English and mixed punctuation;
- `normalize`: full-width/half-width, mixed-script spacing, vendor tokens joined;
- `terms`: content terms for ranking and comparing sentences;
- `ranking`: sentence ranking, topic segmentation (TextTiling) and keyword titles;
- `dates`: due dates said in a meeting and the calendar dates they name;
- `phonetics`: edit distance, English sound keys and pinyin similarity;
- `hotword_matcher`: near-misses of hotword phrases in a token sequence;
- `common_words`: the English words a hotword match never rewrites;
- `templates`: checking and rendering prompt templates in Jinja2's sandbox;
- `word_lists`: reading the word lists kept as data in `meeting_agent/data/`.
"""

from meeting_agent.text.cjk import (
    CJK_CHAR,
    CJK_RANGES,
    clock_text,
    display_columns,
    estimate_tokens,
    is_cjk,
    is_cjk_text,
)
from meeting_agent.text.normalize import join_tokens, speaking_seconds, tidy_spacing, to_halfwidth
from meeting_agent.text.segmenter import person_names, words
from meeting_agent.text.sentences import ensure_terminated, join_sentences, split_sentences
from meeting_agent.text.terms import STOP_CHARS, STOPWORDS, terms

__all__ = [
    "CJK_CHAR",
    "CJK_RANGES",
    "STOPWORDS",
    "STOP_CHARS",
    "clock_text",
    "display_columns",
    "ensure_terminated",
    "estimate_tokens",
    "is_cjk",
    "is_cjk_text",
    "join_sentences",
    "join_tokens",
    "person_names",
    "speaking_seconds",
    "split_sentences",
    "terms",
    "tidy_spacing",
    "to_halfwidth",
    "words",
]
