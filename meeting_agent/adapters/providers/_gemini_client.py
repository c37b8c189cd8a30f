"""The Gemini Developer API over HTTP: generateContent, the Files API, error classes.

Errors come as `{"error": {code, message, status, details}}`. How they are classified:

    429 RESOURCE_EXHAUSTED, QuotaFailure quotaId …PerDay…     → QuotaExceeded(day)
    429 RESOURCE_EXHAUSTED otherwise (…PerMinute…, no detail) → QuotaExceeded(minute,
                                                     retry_after = RetryInfo.retryDelay)
    402 (prepaid credits exhausted)                         → QuotaExceeded(day)
    403/404/400 FAILED_PRECONDITION about a File we named   → FileGone (upload again)
    400 ErrorInfo API_KEY_INVALID, 400 FAILED_PRECONDITION
        (no free tier in the region), 401, 403              → KeyRejected
    408, 499, 5xx                                           → Transient
    other 4xx (a request Gemini will never take)            → Unavailable, passed
                                                              through for failover
    200 with promptFeedback.blockReason or a safety finish  → CallerError(CONTENT_BLOCKED)
    200 that is not JSON or has no candidates               → Transient
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from meeting_agent.adapters.providers._transport import (
    Reply,
    Timeouts,
    quota_bounded_sleep,
    redact,
    retry_after_seconds,
    send,
)
from meeting_agent.adapters.providers.calls import (
    ApiKey,
    CallerError,
    KeyPool,
    KeyRejected,
    QuotaExceeded,
    RetryPolicy,
    Transient,
    answered,
    call_vendor,
)
from meeting_agent.errors import Unavailable

__all__ = ["CONTENT_BLOCKED", "DEFAULT_BASE_URL", "FileGone", "GeminiClient"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
CONTENT_BLOCKED = "CONTENT_BLOCKED"
PROVIDER_REJECTED_REQUEST = "PROVIDER_REJECTED_REQUEST"

_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
# Finish reasons that mean the content itself was refused, not that output ran out.
BLOCKED_FINISH_REASONS = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"}
)
# files.list answers at most 100 files a page.
LIST_PAGE_SIZE = 100
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class FileGone(Transient):
    """A file we referenced no longer exists (expired after 48 h, or another project's).

    Transient: the caller drops its file checkpoint and uploads again on the retry.
    """


class GeminiClient:
    """HTTP access to one Gemini endpoint with one pool of API keys.

    Args:
        pool: API keys (`x-goog-api-key`); `GeminiAsr` and `GeminiLlm` may share one
            client, and so the keys' quota state.
        base_url: The API host, or a proxy of it.
        api_version: The path segment, `v1beta` for the features we use.
        policy: Retries, backoff and quota waits of one logical call.
        http: A shared client; one is made when None.
        timeout_seconds: Bound of one generateContent exchange (audio takes a while).
        upload_timeout_seconds: Bound of one Files API upload.
        sleep: How retries and polls wait (tests pass a recorder).
        name: The provider name in logs and errors.
    """

    def __init__(
        self,
        *,
        pool: KeyPool,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = "v1beta",
        policy: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        timeout_seconds: float | Timeouts = 600.0,
        upload_timeout_seconds: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "gemini",
    ) -> None:
        self.pool = pool
        self.name = name
        self.sleep = sleep
        self._base = base_url.rstrip("/")
        self._version = api_version
        self._policy = policy or RetryPolicy()
        self._http = http or httpx.Client()
        self._timeout = timeout_seconds
        self._upload_timeout = upload_timeout_seconds

    def key(self, fingerprint: str) -> ApiKey | None:
        """The configured key with this fingerprint (a file's owner), resting or not."""
        return next((k for k in self.pool.keys if k.fingerprint == fingerprint), None)

    def call(self, operation: str, attempt: Callable[[ApiKey], T]) -> T:
        """Run `attempt` under the key rotation and retry rules of `call_vendor`."""
        return call_vendor(
            self.pool,
            attempt,
            policy=self._policy,
            operation=operation,
            sleep=quota_bounded_sleep(self._policy, self.sleep),
        )

    # ------------------------------------------------------------ generateContent

    def generate(
        self, key: ApiKey, model: str, body: dict[str, Any], *, file_refs: bool = False
    ) -> dict[str, Any]:
        """One generateContent call; the response when it has a usable candidate.

        With `file_refs` (the body names uploaded files), a 404 is `FileGone`.
        """
        model_path = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        reply = send(
            self._http,
            "POST",
            f"{self._base}/{self._version}/{model_path}:generateContent",
            timeout_seconds=self._timeout,
            what=f"{self.name} generateContent",
            headers=self._headers(key),
            json_body=body,
        )
        if reply.status != 200:
            raise self.error(reply, key, file=file_refs)
        response = reply.json()
        if not isinstance(response, dict):
            raise Transient(
                f"{self.name}: malformed generateContent body ({len(reply.body)} bytes)"
            )
        feedback = response.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            raise CallerError(
                f"{self.name} blocked the prompt: {feedback['blockReason']}", reason=CONTENT_BLOCKED
            )
        candidates = response.get("candidates")
        if (
            not isinstance(candidates, list)
            or not candidates
            or not isinstance(candidates[0], dict)
        ):
            raise Transient(f"{self.name}: generateContent answered without candidates")
        finish = str(candidates[0].get("finishReason") or "")
        if finish in BLOCKED_FINISH_REASONS:
            raise CallerError(
                f"{self.name} stopped the answer: finishReason {finish}", reason=CONTENT_BLOCKED
            )
        return response

    # ------------------------------------------------------------ Files API

    def start_upload(self, key: ApiKey, *, size: int, mime_type: str, display_name: str) -> str:
        """Open a resumable upload; returns the session URL to send the bytes to."""
        headers = {
            **self._headers(key),
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime_type,
        }
        reply = send(
            self._http,
            "POST",
            f"{self._base}/upload/{self._version}/files",
            timeout_seconds=60.0,
            what=f"{self.name} upload start",
            headers=headers,
            json_body={"file": {"display_name": display_name}},
        )
        if reply.status != 200:
            raise self.error(reply, key)
        url = str(reply.headers.get("x-goog-upload-url", ""))
        if not url:
            raise Transient(f"{self.name}: upload start answered without X-Goog-Upload-URL")
        return url

    def upload(self, key: ApiKey, session_url: str, path: Path) -> dict[str, Any]:
        """Send the whole file and finalize; returns the File resource."""
        size = path.stat().st_size
        headers = {
            **self._headers(key),
            "Content-Length": str(size),
            "X-Goog-Upload-Offset": "0",
            "X-Goog-Upload-Command": "upload, finalize",
        }
        reply = send(
            self._http,
            "POST",
            session_url,
            timeout_seconds=self._upload_timeout,
            what=f"{self.name} upload",
            headers=headers,
            content=_chunks(path),
        )
        if reply.status != 200:
            raise self.error(reply, key)
        status = reply.headers.get("x-goog-upload-status", "final").lower()
        body = reply.json()
        file = body.get("file") if isinstance(body, dict) else None
        if status != "final" or not isinstance(file, dict) or not file.get("name"):
            raise Transient(f"{self.name}: upload not finalized (status {status!r})")
        return file

    def get_file(self, key: ApiKey, name: str) -> dict[str, Any]:
        reply = send(
            self._http,
            "GET",
            f"{self._base}/{self._version}/{name}",
            timeout_seconds=60.0,
            what=f"{self.name} get file",
            headers=self._headers(key),
        )
        if reply.status != 200:
            raise self.error(reply, key, file=True)
        body = reply.json()
        if not isinstance(body, dict):
            raise Transient(f"{self.name}: malformed File body")
        return body

    def delete_file(self, key: ApiKey, name: str) -> bool:
        """Delete a file with the key of the project that owns it; True when it is gone.

        Failures are logged only: the sweep (`GeminiFileSweep`) tries again later, and
        files expire after 48 h anyway. A file already gone (404, or 403 "may not
        exist") counts as deleted.
        """
        try:
            reply = send(
                self._http,
                "DELETE",
                f"{self._base}/{self._version}/{name}",
                timeout_seconds=60.0,
                what=f"{self.name} delete file",
                headers=self._headers(key),
            )
        except Transient as exc:
            logger.warning("%s: %s not deleted: %s", self.name, name, exc)
            return False
        if reply.status in (200, 204, 404):
            logger.info("%s: deleted %s (%s)", self.name, name, key.fingerprint)
            return True
        if reply.status == 403 and "exist" in str(_error_object(reply).get("message") or ""):
            return True
        logger.warning("%s: %s not deleted: HTTP %d", self.name, name, reply.status)
        return False

    def list_files(
        self, key: ApiKey, *, page_token: str = "", page_size: int = LIST_PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], str]:
        """One page of the files of the key's project, and the token of the next ("" at
        the end). `files.list`: pageSize at most 100, `{files, nextPageToken}`
        (ai.google.dev/api/rest/v1beta/files/list)."""
        params = {"pageSize": str(page_size), **({"pageToken": page_token} if page_token else {})}
        reply = send(
            self._http,
            "GET",
            f"{self._base}/{self._version}/files",
            timeout_seconds=60.0,
            what=f"{self.name} list files",
            headers=self._headers(key),
            params=params,
        )
        if reply.status != 200:
            raise self.error(reply, key)
        body = reply.json()
        if not isinstance(body, dict):
            raise Transient(f"{self.name}: malformed files.list body")
        files = [f for f in body.get("files") or () if isinstance(f, dict)]
        return files, str(body.get("nextPageToken") or "")

    # ------------------------------------------------------------ errors

    def error(self, reply: Reply, key: ApiKey, *, file: bool = False) -> Exception:
        """Classify a non-200 answer as the table in the module docstring says."""
        return answered(
            self._classify(reply, key, file=file),
            http_status=reply.status,
            vendor_code=str(_error_object(reply).get("status") or ""),
        )

    def _classify(self, reply: Reply, key: ApiKey, *, file: bool) -> Exception:
        error = _error_object(reply)
        status = str(error.get("status") or "")
        message = str(error.get("message") or f"{len(reply.body)} bytes")
        details = [d for d in error.get("details") or () if isinstance(d, dict)]
        text = redact(f"{self.name} HTTP {reply.status} {status}: {message}", key)[:500]
        code = reply.status
        if code == 429:
            quota_ids = [
                str(v.get("quotaId") or "")
                for d in details
                if d.get("@type") == _QUOTA_FAILURE
                for v in d.get("violations") or ()
                if isinstance(v, dict)
            ]
            # "...PerProjectPerModel...": the project's quota, so its other keys too.
            per_project = any("PerProject" in q for q in quota_ids)
            if any("PerDay" in q for q in quota_ids):
                return QuotaExceeded(text, scope="day", per_project=per_project)
            return QuotaExceeded(
                text,
                scope="minute",
                per_project=per_project,
                retry_after=_retry_delay(details, reply),
            )
        if code == 402:
            return QuotaExceeded(text, scope="day")
        reasons = {str(d.get("reason") or "") for d in details if d.get("@type") == _ERROR_INFO}
        if (
            file
            and code in (400, 403, 404)
            and "file" in message.lower()
            and status != "INVALID_ARGUMENT"
        ):
            # "You do not have permission to access the File x or it may not exist" (403),
            # "The File x is not in an ACTIVE state" (400 FAILED_PRECONDITION): the file,
            # not the key. Dropping the key for good here would be a costly mistake.
            return FileGone(text)
        if (
            code in (401, 403)
            or "API_KEY_INVALID" in reasons
            or (code == 400 and status == "FAILED_PRECONDITION")
        ):
            return KeyRejected(text)
        if code in (408, 499) or code >= 500:
            return Transient(text, retry_after=retry_after_seconds(reply.headers))
        logger.error("%s refused the request: %s", self.name, text)
        return Unavailable(text, reason=PROVIDER_REJECTED_REQUEST, metadata={"provider": self.name})

    @staticmethod
    def _headers(key: ApiKey) -> dict[str, str]:
        return {"x-goog-api-key": key.secret}


def _chunks(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    """The file in blocks, so an upload of hours of audio holds one block in memory."""
    with path.open("rb") as reader:
        while block := reader.read(size):
            yield block


def _error_object(reply: Reply) -> dict[str, Any]:
    body = reply.json()
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # some proxies answer with a one-element array
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return dict(body["error"])
    return {}


def _retry_delay(details: list[dict[str, Any]], reply: Reply) -> float | None:
    """RetryInfo.retryDelay ("47s", "10.67s"), else the Retry-After header."""
    for detail in details:
        if detail.get("@type") == _RETRY_INFO:
            match = _DURATION.match(str(detail.get("retryDelay") or ""))
            if match:
                return float(match.group(1))
    return retry_after_seconds(reply.headers)
