"""What the cloud-provider integration tests share: real audio, a retry policy fast
enough for tests, and a recorder of the waits between attempts."""

from __future__ import annotations

import time
from pathlib import Path

from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.providers.calls import RetryPolicy
from meeting_agent.domain.models import Hotword, SpeakerCount
from meeting_agent.ports import AsrProvider, AsrRequest, AsrResult, MinutesRequest, NormalizedAudio
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from tests.fakes import MemoryCheckpoints
from tests.unit.meeting_fixtures import MEETING_DATE, ZH_NAMES, ZH_ROWS, transcript

JFK = Path(__file__).resolve().parent.parent / "data" / "jfk.flac"

# Backoff in tens of milliseconds; quota waits up to 5 s are waited, longer ones fail over.
POLICY = RetryPolicy(
    max_attempts=4,
    initial_backoff_seconds=0.01,
    max_backoff_seconds=0.05,
    max_total_seconds=20,
    max_quota_wait_seconds=5,
)


def normalized_jfk(directory: Path) -> NormalizedAudio:
    """jfk.flac (11 s, one voice) decoded the way the pipeline decodes a task's audio."""
    return normalize_audio([JFK], directory / "jfk.f32", max_seconds=3600)


class Sleeps:
    """`sleep` that really sleeps (key rests use the wall clock) and records each wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def asr_request(
    *,
    language_code: str = "en-US",
    model: str = "",
    hotwords: tuple[Hotword, ...] = (),
    speaker_count: SpeakerCount | None = None,
    diarization: bool = True,
) -> AsrRequest:
    return AsrRequest(
        language_code=language_code,
        model=model,
        hotwords=hotwords,
        speaker_count=speaker_count,
        diarization=diarization,
    )


def transcribe(
    asr: AsrProvider,
    audio: NormalizedAudio,
    request: AsrRequest | None = None,
    checkpoints: MemoryCheckpoints | None = None,
    progress: list[float] | None = None,
) -> AsrResult:
    fractions = progress if progress is not None else []
    return asr.transcribe(
        audio,
        request or asr_request(),
        checkpoints=checkpoints if checkpoints is not None else MemoryCheckpoints(),
        progress=lambda fraction, message="": fractions.append(fraction),
        check_cancelled=lambda: None,
    )


def chain_texts(error: BaseException) -> list[str]:
    """Everything an error and its causes would show in a log or a traceback."""
    texts: list[str] = []
    current: BaseException | None = error
    while current is not None:
        texts.extend([str(current), repr(current), repr(vars(current))])
        current = current.__cause__ or current.__context__
    return texts


# Minutes of `tests.unit.meeting_fixtures.ZH_ROWS` as a model would write them in Chinese.
ZH_MINUTES = {
    "summary": "项目周会讨论了数据库迁移、新版本上线和客户培训。",
    "decisions": [
        {"text": "日志表只迁移最近半年的数据，历史数据先归档。", "source_offset_seconds": 34.0},
        {"text": "新版本上线时间确定为3月20日。", "source_offset_seconds": 110.0},
    ],
    "action_items": [
        {
            "owner": "李强",
            "text": "完成订单表和日志表的迁移。",
            "due_date": "2026-03-11",
            "due_text": "下周三之前",
            "source_offset_seconds": 44.0,
        },
        {
            "owner": "张伟",
            "text": "把支付模块的测试报告发给大家。",
            "due_date": "2026-03-06",
            "due_text": "周五前",
            "source_offset_seconds": 80.0,
        },
    ],
    "topics": [
        {
            "title": "数据库迁移",
            "summary": "迁移完成百分之七十。",
            "start_seconds": 0.0,
            "end_seconds": 56.0,
        }
    ],
}


def cjk_token_floor(text: str) -> int:
    """Tokens a prompt costs at the least in any common tokenizer: one per Chinese
    character (often more), and a quarter per other character."""
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    return cjk + (len(text) - cjk) // 4


def zh_minutes_request() -> MinutesRequest:
    """Minutes of the Chinese fixture meeting with the `zh-standard` template."""
    return MinutesRequest(
        transcript=transcript(ZH_ROWS, "zh"),
        speaker_names=ZH_NAMES,
        template=BUILTIN_TEMPLATES["zh-standard"],
        language_code="zh",
        meeting_date=MEETING_DATE,
    )
