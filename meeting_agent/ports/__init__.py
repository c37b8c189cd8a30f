"""Ports: what the service layer needs from the outside world.

Each port is a Protocol with one or more adapters in `meeting_agent.adapters` and a
fake in `tests/fakes.py`. The modules split them by concern; every name is re-exported
here, so callers import from `meeting_agent.ports` alone.

Layer: ports, above `domain`, `text` and `errors`, below the cross-cutting modules and
the use cases; ports import only the domain.
"""

from meeting_agent.ports.audio import AudioNormalizer, NormalizedAudio, SourceSpan
from meeting_agent.ports.auth import Authenticator
from meeting_agent.ports.clock import Clock
from meeting_agent.ports.events import EVENT_GAP, EventBus, EventGap, EventStream
from meeting_agent.ports.jobs import (
    CancellationCheck,
    Checkpoints,
    JobInterrupted,
    JobQueue,
    ProgressReporter,
    TaskCancelled,
)
from meeting_agent.ports.minutes import (
    LlmOutputError,
    LlmProvider,
    LlmUsage,
    MinutesGenerator,
    MinutesRequest,
    MinutesResult,
)
from meeting_agent.ports.persistence import (
    ArtifactRepository,
    AuditLogRepository,
    Database,
    HotwordSetRepository,
    IdempotencyRepository,
    Page,
    PromptTemplateRepository,
    SpeakerMappingRepository,
    TaskEventRepository,
    TaskFilter,
    TaskRepository,
    TranscriptRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    UploadRepository,
    UserRepository,
)
from meeting_agent.ports.recognition import (
    AsrProvider,
    AsrRequest,
    AsrResult,
    Diarizer,
    SpeakerTurn,
)
from meeting_agent.ports.storage import (
    ObjectInfo,
    ObjectStore,
    ObjectWriter,
    PresignedRequest,
    iter_chunks,
)
from meeting_agent.ports.vendor_files import AudioPublisher, LeftoverSweep, VendorFiles

__all__ = [
    "EVENT_GAP",
    "ArtifactRepository",
    "AsrProvider",
    "AsrRequest",
    "AsrResult",
    "AudioNormalizer",
    "AudioPublisher",
    "AuditLogRepository",
    "Authenticator",
    "CancellationCheck",
    "Checkpoints",
    "Clock",
    "Database",
    "Diarizer",
    "EventBus",
    "EventGap",
    "EventStream",
    "HotwordSetRepository",
    "IdempotencyRepository",
    "JobInterrupted",
    "JobQueue",
    "LeftoverSweep",
    "LlmOutputError",
    "LlmProvider",
    "LlmUsage",
    "MinutesGenerator",
    "MinutesRequest",
    "MinutesResult",
    "NormalizedAudio",
    "ObjectInfo",
    "ObjectStore",
    "ObjectWriter",
    "Page",
    "PresignedRequest",
    "ProgressReporter",
    "PromptTemplateRepository",
    "SourceSpan",
    "SpeakerMappingRepository",
    "SpeakerTurn",
    "TaskCancelled",
    "TaskEventRepository",
    "TaskFilter",
    "TaskRepository",
    "TranscriptRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UploadRepository",
    "UserRepository",
    "VendorFiles",
    "iter_chunks",
]
