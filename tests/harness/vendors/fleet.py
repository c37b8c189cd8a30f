"""Every fake cloud vendor at once, for tests that run the whole server against them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tests.harness.vendors.azure import FakeAzureSpeech
from tests.harness.vendors.gemini import FakeGemini
from tests.harness.vendors.iflytek import IflytekFake
from tests.harness.vendors.openai_compat import FakeOpenAiCompatible
from tests.harness.vendors.volcengine import VolcengineFake

# The model the fake Ollama serves.
LLM_MODEL = "qwen2.5:14b"


@dataclass
class Vendors:
    azure: FakeAzureSpeech
    gemini: FakeGemini
    llm: FakeOpenAiCompatible
    volcengine: VolcengineFake
    iflytek: IflytekFake


@contextlib.contextmanager
def running_vendors(*, azure_keys: Sequence[str], gemini_keys: Sequence[str]) -> Iterator[Vendors]:
    """The five fakes, listening: Azure and Gemini for these keys, an Ollama serving
    `LLM_MODEL`, and Volcano Engine and iFlytek with their default credentials, each
    answering "not done yet" once before the result."""
    with contextlib.ExitStack() as stack:
        yield Vendors(
            azure=stack.enter_context(FakeAzureSpeech(keys=azure_keys)),
            gemini=stack.enter_context(FakeGemini(keys=gemini_keys)),
            llm=stack.enter_context(FakeOpenAiCompatible(models=(LLM_MODEL,), flavor="ollama")),
            volcengine=stack.enter_context(VolcengineFake(pending_polls=1)),
            iflytek=stack.enter_context(IflytekFake(pending_polls=1, estimate_ms=50)),
        )
