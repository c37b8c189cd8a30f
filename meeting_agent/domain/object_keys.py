"""Object keys: the one syntax every object store accepts, and the layout of our objects.

A key is a relative POSIX path such as `tenants/acme/uploads/01J...`. Each segment is
made of `A-Z a-z 0-9 . _ -`, is not `.` or `..`, and is at most 255 characters long; the
whole key is at most 1024 characters. The service layer builds keys with the helpers
below and adapters check them with `validate_key`, so a key that passes can be joined
to a directory or sent to a bucket without escaping.

Layout:

    tenants/<tenant>/uploads/<upload_id>
    tenants/<tenant>/tasks/<task_id>/artifacts/<artifact_id>.<ext>

`<tenant>` is the tenant id encoded by `tenant_segment`.
"""

from __future__ import annotations

import re

from meeting_agent.errors import InvalidArgument
from meeting_agent.reasons import INVALID_OBJECT_KEY, OBJECT_OUTSIDE_TENANT

__all__ = [
    "INVALID_OBJECT_KEY",
    "MAX_KEY_LENGTH",
    "MAX_SEGMENT_LENGTH",
    "OBJECT_OUTSIDE_TENANT",
    "artifact_key",
    "ensure_in_tenant",
    "normalize_prefix",
    "task_prefix",
    "tenant_id_from_segment",
    "tenant_prefix",
    "tenant_segment",
    "upload_key",
    "validate_key",
]

MAX_KEY_LENGTH = 1024
# NAME_MAX on common filesystems; a longer segment could never be stored locally.
MAX_SEGMENT_LENGTH = 255

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,16}")
# Only lowercase letters pass through, so no two encodings differ by case alone and
# tenants stay apart on case-insensitive filesystems too.
_TENANT_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_TENANT_ESCAPE = re.compile(r"\.([0-9a-f]{2})")


def _invalid_key(description: str) -> InvalidArgument:
    # The key itself stays out of the message: it may be long, binary or attacker-made.
    return InvalidArgument(f"object key is not valid: {description}", reason=INVALID_OBJECT_KEY)


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a valid object key.

    Raises:
        InvalidArgument: reason `INVALID_OBJECT_KEY` when the key is empty, too long,
            absolute, or has an empty, `.`, `..` or otherwise unsafe segment.
    """
    if not key:
        raise _invalid_key("it is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise _invalid_key(f"it is longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/"):
        raise _invalid_key("it must be relative, not start with '/'")
    for segment in key.split("/"):
        _check_segment(segment)
    return key


def _check_segment(segment: str) -> None:
    if not segment:
        raise _invalid_key("it has an empty segment")
    if segment in (".", ".."):
        raise _invalid_key("'.' and '..' segments are not allowed")
    if len(segment) > MAX_SEGMENT_LENGTH:
        raise _invalid_key(f"a segment is longer than {MAX_SEGMENT_LENGTH} characters")
    # fullmatch, not `$`: `$` also matches before a trailing newline.
    if not _SEGMENT.fullmatch(segment):
        raise _invalid_key("segments may only contain A-Z, a-z, 0-9, '.', '_' and '-'")


def normalize_prefix(prefix: str) -> str:
    """Return a key prefix in its canonical form, ending in `/`.

    A prefix names a directory: `a/b` and `a/b/` both mean the objects under `a/b/`,
    never `a/bc`, so every store deletes the same set for the same prefix.

    Raises:
        InvalidArgument: reason `INVALID_OBJECT_KEY` when the prefix without its
            trailing `/` is not a valid key (in particular, the empty prefix).
    """
    stripped = prefix[:-1] if prefix.endswith("/") else prefix
    return validate_key(stripped) + "/"


def tenant_segment(tenant_id: str) -> str:
    """Encode a tenant id as one key segment, injectively.

    Lowercase ASCII letters, digits, `_` and `-` are kept; every other character becomes
    `.xx` for each byte of its UTF-8 encoding (lowercase hex). A `.` therefore always
    starts an escape, which makes decoding unambiguous: `tenant_id_from_segment` is the
    inverse, so distinct tenant ids never share a segment.

    Raises:
        InvalidArgument: reason `INVALID_OBJECT_KEY` when the id is empty or its
            encoding is longer than a segment may be.
    """
    if not tenant_id:
        raise _invalid_key("the tenant id is empty")
    parts: list[str] = []
    for char in tenant_id:
        if char in _TENANT_PLAIN:
            parts.append(char)
        else:
            # surrogatepass keeps lone surrogates (legal in JSON claims) encodable and distinct.
            parts.extend(f".{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
    segment = "".join(parts)
    _check_segment(segment)
    return segment


def tenant_id_from_segment(segment: str) -> str:
    """Decode a segment made by `tenant_segment` back into the tenant id.

    Raises:
        InvalidArgument: reason `INVALID_OBJECT_KEY` when `segment` is not an encoding
            that `tenant_segment` produces.
    """
    raw = bytearray()
    position = 0
    while position < len(segment):
        char = segment[position]
        if char == ".":
            match = _TENANT_ESCAPE.match(segment, position)
            if match is None:
                raise _invalid_key("malformed escape in tenant segment")
            raw.append(int(match.group(1), 16))
            position = match.end()
        elif char in _TENANT_PLAIN:
            raw.append(ord(char))
            position += 1
        else:
            raise _invalid_key("unexpected character in tenant segment")
    try:
        tenant_id = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise _invalid_key("tenant segment is not UTF-8") from exc
    # Reject non-canonical spellings (an escaped plain character), so decode stays a bijection.
    if not tenant_id or tenant_segment(tenant_id) != segment:
        raise _invalid_key("tenant segment is not in canonical form")
    return tenant_id


def tenant_prefix(tenant_id: str) -> str:
    """The prefix every object of a tenant lives under: `tenants/<tenant>/`."""
    return f"tenants/{tenant_segment(tenant_id)}/"


def _id_segment(value: str, what: str) -> str:
    if not value:
        raise _invalid_key(f"the {what} is empty")
    _check_segment(value)
    return value


def upload_key(tenant_id: str, upload_id: str) -> str:
    """The key of an uploaded audio file: `tenants/<tenant>/uploads/<upload_id>`."""
    key = f"{tenant_prefix(tenant_id)}uploads/{_id_segment(upload_id, 'upload id')}"
    return validate_key(key)


def task_prefix(tenant_id: str, task_id: str) -> str:
    """The prefix of everything a task stores: `tenants/<tenant>/tasks/<task_id>/`."""
    prefix = f"{tenant_prefix(tenant_id)}tasks/{_id_segment(task_id, 'task id')}/"
    return normalize_prefix(prefix)


def artifact_key(tenant_id: str, task_id: str, artifact_id: str, ext: str) -> str:
    """The key of one rendering of an artifact, for example `.../artifacts/<id>.md`.

    `ext` is the extension without a dot (`json`, `md`).
    """
    if not _EXTENSION.fullmatch(ext):
        raise _invalid_key("the extension must be 1-16 letters or digits, without a dot")
    artifact = _id_segment(artifact_id, "artifact id")
    return validate_key(f"{task_prefix(tenant_id, task_id)}artifacts/{artifact}.{ext}")


def ensure_in_tenant(key: str, tenant_id: str) -> str:
    """Return `key` if it is a valid key under the tenant's prefix.

    Raises:
        InvalidArgument: reason `INVALID_OBJECT_KEY` for a malformed key, or
            `OBJECT_OUTSIDE_TENANT` when the key belongs to no or another tenant.
    """
    validate_key(key)
    # Prefix matching is enough: the prefix ends in '/' and valid keys have no '..'.
    if not key.startswith(tenant_prefix(tenant_id)):
        raise InvalidArgument(
            "object key does not belong to the caller's tenant", reason=OBJECT_OUTSIDE_TENANT
        )
    return key
