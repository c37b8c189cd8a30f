"""Every stable reason the service puts in a `google.rpc.ErrorInfo` or a warning event.

Callers branch on these strings, so a reason is never renamed or given a new meaning.
Each constant here is also an entry of `CATALOGUE`: its status codes (the names of
`google.rpc.Code`, first the usual one), where a caller meets it, what it means and
what the caller should do. `docs/errors.md` and the Go client's reason constants are
generated from it by `scripts/gen-errors.py`; a unit test holds it equal to the
reasons the code raises.

Deliberately free of imports from the rest of the package, so that any layer may
name a reason.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Surface(enum.Enum):
    """Where a caller meets a reason."""

    # The status of a failed call.
    RPC = "rpc"
    # `Task.error`, `Artifact.error` and the event that fails a task; also the
    # `skipped[].reason` of a provider fallback.
    TASK = "task"
    # `TaskEvent.reason` of a `TASK_EVENT_TYPE_WARNING` event; the task goes on.
    WARNING = "warning"


@dataclass(frozen=True)
class Reason:
    name: str
    # Names of `google.rpc.Code`, the usual one first; empty for a warning.
    codes: tuple[str, ...]
    surfaces: tuple[Surface, ...]
    meaning: str
    action: str


CATALOGUE: dict[str, Reason] = {}

_RPC = Surface.RPC
_TASK = Surface.TASK
_WARNING = Surface.WARNING


def _reason(
    name: str,
    codes: str | tuple[str, ...],
    surfaces: Surface | tuple[Surface, ...],
    meaning: str,
    action: str,
) -> str:
    CATALOGUE[name] = Reason(
        name=name,
        codes=(codes,) if isinstance(codes, str) else codes,
        surfaces=(surfaces,) if isinstance(surfaces, Surface) else surfaces,
        meaning=meaning,
        action=action,
    )
    return name


# ---------------------------------------------------------------- the class defaults
# What an error carries when its raise site names no reason of its own.

INVALID_ARGUMENT = _reason(
    "INVALID_ARGUMENT",
    "INVALID_ARGUMENT",
    _RPC,
    "A request field is invalid; the `BadRequest` detail names each field and why.",
    "Fix the named fields; the same request fails again unchanged.",
)
NOT_FOUND = _reason(
    "NOT_FOUND",
    "NOT_FOUND",
    _RPC,
    "The resource does not exist, or belongs to another tenant.",
    "Check the name; do not retry.",
)
ALREADY_EXISTS = _reason(
    "ALREADY_EXISTS",
    "ALREADY_EXISTS",
    _RPC,
    "A resource with this name already exists.",
    "Choose another name, or read the existing resource.",
)
INTERNAL = _reason(
    "INTERNAL",
    ("INTERNAL", "UNAVAILABLE"),
    (_RPC, _TASK),
    "An unexpected server error, which the server logged: code INTERNAL on a call; a "
    "task retries, and after its last attempt fails with code UNAVAILABLE.",
    "Retry later with backoff; report it if it persists.",
)

# ---------------------------------------------------------------- authentication

MISSING_CREDENTIALS = _reason(
    "MISSING_CREDENTIALS",
    "UNAUTHENTICATED",
    _RPC,
    "The call carried no `authorization` metadata (or, behind a gateway, no identity).",
    "Send `authorization: Bearer <token>`.",
)
MALFORMED_TOKEN = _reason(
    "MALFORMED_TOKEN",
    "UNAUTHENTICATED",
    _RPC,
    "The `authorization` metadata is not a single `Bearer` JWT.",
    "Send exactly one `authorization: Bearer <JWT>` entry.",
)
DISALLOWED_ALGORITHM = _reason(
    "DISALLOWED_ALGORITHM",
    "UNAUTHENTICATED",
    _RPC,
    "The token is signed with an algorithm the deployment does not accept.",
    "Get a token from the configured issuer.",
)
UNKNOWN_KEY = _reason(
    "UNKNOWN_KEY",
    "UNAUTHENTICATED",
    _RPC,
    "The token's signing key (`kid`) is not among the trusted keys.",
    "Get a token from the configured issuer.",
)
INVALID_SIGNATURE = _reason(
    "INVALID_SIGNATURE",
    "UNAUTHENTICATED",
    _RPC,
    "The token's signature does not verify with any trusted key.",
    "Get a token from the configured issuer.",
)
TOKEN_EXPIRED = _reason(
    "TOKEN_EXPIRED",
    "UNAUTHENTICATED",
    _RPC,
    "The token has expired.",
    "Get a new token and retry the call.",
)
TOKEN_NOT_YET_VALID = _reason(
    "TOKEN_NOT_YET_VALID",
    "UNAUTHENTICATED",
    _RPC,
    "The token's `nbf` or `iat` lies in the future.",
    "Check the clocks of the issuer and the caller.",
)
INVALID_ISSUER = _reason(
    "INVALID_ISSUER",
    "UNAUTHENTICATED",
    _RPC,
    "The token's `iss` is not the configured issuer.",
    "Get a token from the configured issuer.",
)
INVALID_AUDIENCE = _reason(
    "INVALID_AUDIENCE",
    "UNAUTHENTICATED",
    _RPC,
    "The token's `aud` is not this service.",
    "Get a token for this service's audience.",
)
MISSING_CLAIM = _reason(
    "MISSING_CLAIM",
    "UNAUTHENTICATED",
    _RPC,
    "A required claim (or gateway header) is missing; metadata `claim` names it.",
    "Get a token that carries the claim.",
)
INVALID_CLAIM = _reason(
    "INVALID_CLAIM",
    "UNAUTHENTICATED",
    _RPC,
    "A claim (or gateway header) has an invalid value; metadata `claim` names it.",
    "Get a token whose claim is valid.",
)
KEYS_UNAVAILABLE = _reason(
    "KEYS_UNAVAILABLE",
    "UNAVAILABLE",
    _RPC,
    "The server cannot fetch the issuer's signing keys (JWKS).",
    "Retry later; the token itself may be fine.",
)

# ---------------------------------------------------------------- requests

INVALID_PAGE_TOKEN = _reason(
    "INVALID_PAGE_TOKEN",
    "INVALID_ARGUMENT",
    _RPC,
    "`page_token` is not a token this method returned for the same query.",
    "Start from the first page, or pass `next_page_token` unchanged.",
)
REQUEST_ID_REUSED = _reason(
    "REQUEST_ID_REUSED",
    "ALREADY_EXISTS",
    _RPC,
    "The `request_id` was used before for a different request.",
    "Use a new `request_id` for a new request.",
)
REQUEST_ID_TASK_DELETED = _reason(
    "REQUEST_ID_TASK_DELETED",
    "FAILED_PRECONDITION",
    _RPC,
    "The `request_id` created a task that has since been deleted.",
    "Use a new `request_id` to create the task again.",
)
ETAG_MISMATCH = _reason(
    "ETAG_MISMATCH",
    "ABORTED",
    _RPC,
    "The `etag` sent is not the resource's current one: a concurrent change won.",
    "Read the resource again, reapply the change, retry.",
)
UNKNOWN_PROVIDER = _reason(
    "UNKNOWN_PROVIDER",
    "INVALID_ARGUMENT",
    _RPC,
    "A provider named in the request is not enabled in this deployment.",
    "Choose one `GetCapabilities` lists.",
)
UNKNOWN_MODEL = _reason(
    "UNKNOWN_MODEL",
    "INVALID_ARGUMENT",
    (_RPC, _TASK),
    "A model named in the request is not one the provider offers.",
    "Choose one `GetCapabilities` lists for the provider.",
)
LANGUAGE_UNSUPPORTED = _reason(
    "LANGUAGE_UNSUPPORTED",
    ("FAILED_PRECONDITION", "UNAVAILABLE"),
    (_RPC, _TASK),
    "No chosen recogniser transcribes the requested language.",
    "Choose another language code or a recogniser that speaks it.",
)
INVALID_TEMPLATE = _reason(
    "INVALID_TEMPLATE",
    "INVALID_ARGUMENT",
    _RPC,
    "A prompt template's body does not compile; the description names the line.",
    "Fix the template syntax.",
)
BUILT_IN_TEMPLATE = _reason(
    "BUILT_IN_TEMPLATE",
    "FAILED_PRECONDITION",
    _RPC,
    "Built-in prompt templates cannot be changed or deleted.",
    "Create a template of your own instead.",
)

# ---------------------------------------------------------------- uploads and objects

UPLOAD_METADATA_FIRST = _reason(
    "UPLOAD_METADATA_FIRST",
    "INVALID_ARGUMENT",
    _RPC,
    "An `UploadAudio` stream must start with one metadata message, then only chunks.",
    "Send the metadata first, once.",
)
UPLOAD_CHUNK_TOO_LARGE = _reason(
    "UPLOAD_CHUNK_TOO_LARGE",
    "INVALID_ARGUMENT",
    _RPC,
    "An `UploadAudio` chunk is larger than the server accepts.",
    "Send smaller chunks.",
)
UPLOAD_SIZE_MISMATCH = _reason(
    "UPLOAD_SIZE_MISMATCH",
    "INVALID_ARGUMENT",
    _RPC,
    "The uploaded bytes do not add up to the declared size.",
    "Upload the whole file again.",
)
UPLOAD_CHECKSUM_MISMATCH = _reason(
    "UPLOAD_CHECKSUM_MISMATCH",
    "INVALID_ARGUMENT",
    (_RPC, _TASK),
    "The uploaded bytes do not match the declared SHA-256 (a presigned upload is "
    "checked when its task reads it).",
    "Upload the file again with the right checksum.",
)
UPLOAD_TOO_LARGE = _reason(
    "UPLOAD_TOO_LARGE",
    "RESOURCE_EXHAUSTED",
    _RPC,
    "The upload is larger than the deployment's limit.",
    "Split or compress the recording.",
)
UPLOAD_IN_USE = _reason(
    "UPLOAD_IN_USE",
    "FAILED_PRECONDITION",
    _RPC,
    "The upload already belongs to another task.",
    "Upload the audio again for the new task.",
)
UPLOAD_INCOMPLETE = _reason(
    "UPLOAD_INCOMPLETE",
    "FAILED_PRECONDITION",
    _RPC,
    "The upload has not finished.",
    "Finish the upload, then create the task.",
)
PRESIGN_UNSUPPORTED = _reason(
    "PRESIGN_UNSUPPORTED",
    "FAILED_PRECONDITION",
    (_RPC, _TASK),
    "The object store cannot make presigned URLs, which this call (or the chosen "
    "recogniser) needs.",
    "Use `UploadAudio`, or a recogniser that takes the audio inline.",
)
INVALID_OBJECT_URI = _reason(
    "INVALID_OBJECT_URI",
    "INVALID_ARGUMENT",
    _RPC,
    "An object URI does not belong to this deployment's object store.",
    "Pass a URI the service returned.",
)
INVALID_OBJECT_KEY = _reason(
    "INVALID_OBJECT_KEY",
    "INVALID_ARGUMENT",
    _RPC,
    "An object key is not well formed.",
    "Pass a key the service returned.",
)
OBJECT_OUTSIDE_TENANT = _reason(
    "OBJECT_OUTSIDE_TENANT",
    "INVALID_ARGUMENT",
    _RPC,
    "An object key does not belong to the caller's tenant.",
    "Pass an object of your own tenant.",
)
OBJECT_NOT_FOUND = _reason(
    "OBJECT_NOT_FOUND",
    "NOT_FOUND",
    (_RPC, _TASK),
    "The stored object does not exist.",
    "Upload the audio again.",
)
OBJECT_TOO_LARGE = _reason(
    "OBJECT_TOO_LARGE",
    "RESOURCE_EXHAUSTED",
    (_RPC, _TASK),
    "The object is larger than the object store accepts.",
    "Split or compress the recording.",
)
OBJECT_KEY_CONFLICT = _reason(
    "OBJECT_KEY_CONFLICT",
    "FAILED_PRECONDITION",
    (_RPC, _TASK),
    "The object store refused to replace an existing object.",
    "Report it to the operator.",
)
OBJECT_STORE_FULL = _reason(
    "OBJECT_STORE_FULL",
    "RESOURCE_EXHAUSTED",
    (_RPC, _TASK),
    "The object store is out of space.",
    "Retry after the operator frees space.",
)
OBJECT_STORE_UNAVAILABLE = _reason(
    "OBJECT_STORE_UNAVAILABLE",
    "UNAVAILABLE",
    (_RPC, _TASK),
    "The object store is unreachable or failed.",
    "Retry later with backoff.",
)
OBJECT_STORE_ACCESS_DENIED = _reason(
    "OBJECT_STORE_ACCESS_DENIED",
    "UNAVAILABLE",
    (_RPC, _TASK),
    "The object store refuses the service's credentials.",
    "Report it to the operator; retrying does not help until they fix it.",
)
OBJECT_CHECKSUM_MISMATCH = _reason(
    "OBJECT_CHECKSUM_MISMATCH",
    "UNAVAILABLE",
    (_RPC, _TASK),
    "The bytes the object store stored or sent differ from the service's.",
    "Retry.",
)

# ---------------------------------------------------------------- tasks and outputs

TASK_ALREADY_FINISHED = _reason(
    "TASK_ALREADY_FINISHED",
    "FAILED_PRECONDITION",
    _RPC,
    "The task has already ended, so it cannot be cancelled.",
    "Read the task; nothing to cancel.",
)
TASK_STATE_CONFLICT = _reason(
    "TASK_STATE_CONFLICT",
    "FAILED_PRECONDITION",
    _RPC,
    "The task is in a state this change cannot start from: another process moved it first.",
    "Read the task and act on the state it is in now.",
)
TRANSCRIPT_NOT_READY = _reason(
    "TRANSCRIPT_NOT_READY",
    ("NOT_FOUND", "FAILED_PRECONDITION"),
    _RPC,
    "The task has no transcript yet.",
    "Wait for the task to succeed (`WatchTask`), then call again.",
)
ARTIFACT_NOT_READY = _reason(
    "ARTIFACT_NOT_READY",
    "FAILED_PRECONDITION",
    _RPC,
    "The artifact is still being generated, or failed.",
    "Wait for it to succeed, or generate a new one.",
)
MINUTES_GENERATOR_UNAVAILABLE = _reason(
    "MINUTES_GENERATOR_UNAVAILABLE",
    "UNAVAILABLE",
    _TASK,
    "No minutes provider is configured in this deployment.",
    "Report it to the operator.",
)

# ---------------------------------------------------------------- processing

AUDIO_MISSING = _reason(
    "AUDIO_MISSING",
    "FAILED_PRECONDITION",
    _TASK,
    "An audio file of the task is no longer stored.",
    "Upload the audio again and create a new task.",
)
AUDIO_EMPTY = _reason(
    "AUDIO_EMPTY",
    "INVALID_ARGUMENT",
    _TASK,
    "The audio is empty or silent.",
    "Check the recording.",
)
AUDIO_UNDECODABLE = _reason(
    "AUDIO_UNDECODABLE",
    "INVALID_ARGUMENT",
    _TASK,
    "The audio cannot be decoded; metadata `source_index` names the file when known.",
    "Send a supported audio format.",
)
AUDIO_TOO_LONG = _reason(
    "AUDIO_TOO_LONG",
    "INVALID_ARGUMENT",
    _TASK,
    "The meeting is longer than the deployment (or the recogniser) accepts.",
    "Split the recording.",
)
AUDIO_TOO_LARGE = _reason(
    "AUDIO_TOO_LARGE",
    "INVALID_ARGUMENT",
    _TASK,
    "The audio file is larger than the recogniser accepts.",
    "Split or compress the recording.",
)
AUDIO_EXCEEDS_PROVIDER_LIMIT = _reason(
    "AUDIO_EXCEEDS_PROVIDER_LIMIT",
    "UNAVAILABLE",
    _TASK,
    "The audio exceeds a recogniser's size or length limit; the next provider is tried.",
    "Choose a recogniser that takes longer audio, or split the recording.",
)
ASR_UNAVAILABLE = _reason(
    "ASR_UNAVAILABLE",
    "UNAVAILABLE",
    _TASK,
    "No recogniser is configured in this deployment.",
    "Report it to the operator.",
)
ASR_MODEL_UNAVAILABLE = _reason(
    "ASR_MODEL_UNAVAILABLE",
    "FAILED_PRECONDITION",
    _TASK,
    "The embedded recogniser's model cannot be loaded.",
    "Report it to the operator.",
)
DIARIZATION_MODEL_UNAVAILABLE = _reason(
    "DIARIZATION_MODEL_UNAVAILABLE",
    "FAILED_PRECONDITION",
    _TASK,
    "The speaker embedding model cannot be loaded.",
    "Report it to the operator, or set `disable_diarization`.",
)
ASR_BAD_OUTPUT = _reason(
    "ASR_BAD_OUTPUT",
    "UNAVAILABLE",
    _TASK,
    "A recogniser answered with an unusable transcript.",
    "Retry, or choose another recogniser.",
)
LLM_BAD_OUTPUT = _reason(
    "LLM_BAD_OUTPUT",
    "UNAVAILABLE",
    _TASK,
    "The minutes model answered with output that is not the expected JSON.",
    "Retry, or choose another minutes provider.",
)
CONTENT_BLOCKED = _reason(
    "CONTENT_BLOCKED",
    "INVALID_ARGUMENT",
    _TASK,
    "The provider's safety filter blocked the prompt or the answer.",
    "Choose another provider.",
)
PROMPT_TOO_LONG = _reason(
    "PROMPT_TOO_LONG",
    "FAILED_PRECONDITION",
    _TASK,
    "The prompt template leaves no room for the transcript in the model's context.",
    "Shorten the template, or choose a model with a larger context.",
)
TEMPLATE_RENDER_FAILED = _reason(
    "TEMPLATE_RENDER_FAILED",
    "FAILED_PRECONDITION",
    _TASK,
    "The prompt template fails when rendered; metadata `template` names it.",
    "Fix the template.",
)

# ---------------------------------------------------------------- providers

PROVIDER_UNREACHABLE = _reason(
    "PROVIDER_UNREACHABLE",
    "UNAVAILABLE",
    _TASK,
    "The provider could not be reached (connection refused, DNS, TLS).",
    "Retry later, or choose another provider.",
)
PROVIDER_UNAVAILABLE = _reason(
    "PROVIDER_UNAVAILABLE",
    "UNAVAILABLE",
    _TASK,
    "The provider answered with a server error, timed out, or lost the job.",
    "Retry later, or choose another provider.",
)
PROVIDER_TIMEOUT = _reason(
    "PROVIDER_TIMEOUT",
    "UNAVAILABLE",
    _TASK,
    "The provider did not finish within the task's time budget; the task is not retried.",
    "Create the task again later, or choose another provider.",
)
PROVIDER_KEY_REJECTED = _reason(
    "PROVIDER_KEY_REJECTED",
    "UNAVAILABLE",
    _TASK,
    "The provider rejected every configured API key.",
    "Report it to the operator.",
)
PROVIDER_QUOTA_EXHAUSTED = _reason(
    "PROVIDER_QUOTA_EXHAUSTED",
    "UNAVAILABLE",
    _TASK,
    "Every API key of the provider is out of quota.",
    "Retry after the `RetryInfo` delay, or choose another provider.",
)
PROVIDER_REJECTED_REQUEST = _reason(
    "PROVIDER_REJECTED_REQUEST",
    ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "UNAVAILABLE"),
    _TASK,
    "The provider refused the request for a reason of its own; metadata has its answer.",
    "Choose another provider; report it if it persists.",
)

# ---------------------------------------------------------------- infrastructure

DATABASE_CONFLICT = _reason(
    "DATABASE_CONFLICT",
    "ABORTED",
    _RPC,
    "The database aborted a conflicting transaction.",
    "Retry the same call.",
)
DATABASE_UNAVAILABLE = _reason(
    "DATABASE_UNAVAILABLE",
    "UNAVAILABLE",
    _RPC,
    "The database is unreachable.",
    "Retry later with backoff.",
)
QUEUE_UNAVAILABLE = _reason(
    "QUEUE_UNAVAILABLE",
    "UNAVAILABLE",
    _RPC,
    "The job queue is unreachable or shutting down.",
    "Retry later with the same `request_id`.",
)
EVENTS_UNAVAILABLE = _reason(
    "EVENTS_UNAVAILABLE",
    "UNAVAILABLE",
    _RPC,
    "The event bus is unreachable.",
    "Watch again later from the last sequence seen.",
)

# ---------------------------------------------------------------- warnings

PROVIDER_FALLBACK = _reason(
    "PROVIDER_FALLBACK",
    (),
    _WARNING,
    "A provider later in the failover order made the transcript or the minutes; "
    "`Task.fallbacks` says why each one before it failed.",
    "None needed; check the failed providers if it recurs.",
)
HOTWORDS_NOT_SENT = _reason(
    "HOTWORDS_NOT_SENT",
    (),
    _WARNING,
    "The recogniser was not sent every hotword; the rest apply by post-correction only.",
    "Use fewer hotwords, or a recogniser with native hotwords.",
)
