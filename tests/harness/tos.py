"""A local server that speaks enough of the TOS protocol for `TosObjectStore`.

Objects live in memory. Every request is authenticated the way TOS does it: the
TOS4-HMAC-SHA256 signature (header or presigned query) is recomputed from the request
as received, `x-tos-content-sha256` is checked against the body when it is not
`UNSIGNED-PAYLOAD`, and responses carry `x-tos-hash-crc64ecma` (CRC-64/ECMA-182 as the
SDK computes it with crcmod) so that the SDK's CRC checks run for real.

Virtual hosts without DNS: the SDK always puts the bucket in the host name
(`<bucket>.tos.localhost:<port>`), which nothing resolves offline (Debian's default
`hosts: files dns` has no `*.localhost` rule). The server therefore also acts as the
HTTP forward proxy for its own virtual hosts: clients are given `proxy_host`/`proxy_port`
(the SDK's own settings; `httpx.Client(proxy=...)` for presigned URLs), send the
absolute URL, and the server reads the bucket from it. No `/etc/hosts` edit, no root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import crcmod

HOST_SUFFIX = "tos.localhost"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_ALGORITHM = "TOS4-HMAC-SHA256"
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_MAX_SKEW = dt.timedelta(minutes=15)

crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


class TosError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    etag: str = ""
    crc: int = 0
    # LastModified in listings; tests move it back to plant an old object.
    modified: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.md5(self.data).hexdigest() + '"'
        self.crc = crc64(self.data)


@dataclass
class MultipartUpload:
    bucket: str
    key: str
    content_type: str
    parts: dict[int, StoredObject] = field(default_factory=dict)


# ---------------------------------------------------------------- signature


def _canonical_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{quote(name, safe='-_.~')}={quote(params[name], safe='-_.~')}"
        for name in sorted(params)
        if name.lower() != "x-tos-signature"
    )


def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = secret.encode()
    for part in (day, region, "tos", "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(
    *,
    secret: str,
    region: str,
    date: str,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    signed: list[str],
    payload_hash: str,
) -> str:
    """The TOS4-HMAC-SHA256 signature of a request, computed independently of the SDK."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '')}\n" for name in signed)
    canonical_request = "\n".join(
        [
            method.upper(),
            quote(path, safe="/~"),
            _canonical_query(params),
            canonical_headers,
            ";".join(signed),
            payload_hash,
        ]
    )
    scope = f"{date[:8]}/{region}/tos/request"
    string_to_sign = "\n".join(
        [_ALGORITHM, date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    return hmac.new(
        _signing_key(secret, date[:8], region), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()


# ---------------------------------------------------------------- server


class FakeTos:
    """The server; `start()` binds 127.0.0.1 on a free port, `stop()` shuts it down.

    Knobs for tests: `corrupt_crc` makes responses report a wrong CRC-64, and
    `fail_after_puts` answers 503 once that many objects (single or multipart) exist.
    """

    def __init__(
        self,
        *,
        access_key: str = "AKTEST",
        secret_key: str = "test-secret",
        region: str = "cn-test",
    ) -> None:
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.buckets: dict[str, dict[str, StoredObject]] = {}
        self.uploads: dict[str, MultipartUpload] = {}
        self.corrupt_crc = False
        self.fail_after_puts: int | None = None
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeTos:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeTos:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://{HOST_SUFFIX}:{self.port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bucket(self, name: str) -> dict[str, StoredObject]:
        with self.lock:
            return self.buckets.setdefault(name, {})

    def object_count(self) -> int:
        with self.lock:
            return sum(len(objects) for objects in self.buckets.values())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: FakeTos

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing

    def _dispatch(self, method: str) -> None:
        request_id = secrets.token_hex(8)
        try:
            body = self._read_body()
            target = urlsplit(self.path)
            # Absolute form: the client used us as its proxy; the URL carries the host.
            host = target.netloc or self.headers.get("Host", "")
            path = unquote(target.path or "/")
            params = dict(parse_qsl(target.query, keep_blank_values=True))
            self._authenticate(method, path, params, body)
            bucket = self._bucket_of(host.split(":")[0])
            key = path[1:]
            self.server_state.requests.append((method, self.path))
            status, headers, payload = _Operations(self.server_state, bucket).run(
                method, key, params, body, self.headers.get("Content-Type", "")
            )
        except TosError as exc:
            status, headers = exc.status, {"Content-Type": "application/json"}
            payload = (
                b""
                if method == "HEAD"
                else json.dumps(
                    {
                        "Code": exc.code,
                        "Message": exc.message,
                        "RequestId": request_id,
                        "HostId": "fake",
                        "Resource": self.path,
                    }
                ).encode()
            )
        self.send_response(status)
        headers = {"x-tos-request-id": request_id, **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _bucket_of(self, host: str) -> str:
        suffix = "." + HOST_SUFFIX
        if not host.endswith(suffix):
            raise TosError(400, "InvalidBucketName", f"host {host!r} names no bucket")
        return host[: -len(suffix)]

    def _authenticate(self, method: str, path: str, params: dict[str, str], body: bytes) -> None:
        state = self.server_state
        headers = {name.lower(): value for name, value in self.headers.items()}
        if "X-Tos-Signature" in params:
            credential = params.get("X-Tos-Credential", "")
            date = params.get("X-Tos-Date", "")
            signed = params.get("X-Tos-SignedHeaders", "").split(";")
            given = params["X-Tos-Signature"]
            payload_hash = UNSIGNED_PAYLOAD
            if params.get("X-Tos-Algorithm") != _ALGORITHM:
                raise TosError(400, "InvalidArgument", "unsupported algorithm")
            issued = dt.datetime.strptime(date, _DATE_FORMAT).replace(tzinfo=dt.UTC)
            expires = dt.timedelta(seconds=int(params.get("X-Tos-Expires", "0")))
            if dt.datetime.now(dt.UTC) > issued + expires:
                raise TosError(403, "AccessDenied", "Request has expired")
        else:
            authorization = headers.get("authorization", "")
            if not authorization.startswith(_ALGORITHM + " "):
                raise TosError(403, "AccessDenied", "missing Authorization")
            fields = dict(
                part.strip().split("=", 1)
                for part in authorization[len(_ALGORITHM) + 1 :].split(",")
            )
            credential, given = fields.get("Credential", ""), fields.get("Signature", "")
            signed = fields.get("SignedHeaders", "").split(";")
            date = headers.get("x-tos-date", "")
            payload_hash = headers.get("x-tos-content-sha256", UNSIGNED_PAYLOAD)
            if payload_hash != UNSIGNED_PAYLOAD and (
                payload_hash != hashlib.sha256(body).hexdigest()
            ):
                raise TosError(400, "BadDigest", "x-tos-content-sha256 does not match the body")
            issued = dt.datetime.strptime(date, _DATE_FORMAT).replace(tzinfo=dt.UTC)
            if abs(dt.datetime.now(dt.UTC) - issued) > _MAX_SKEW:
                raise TosError(403, "RequestTimeTooSkewed", "x-tos-date is too far off")
        for required in ("host",) if "X-Tos-Signature" in params else ("host", "x-tos-date"):
            if required not in signed:
                raise TosError(403, "AccessDenied", f"{required} must be signed")
        access_key, day, region, service, terminal = (credential.split("/") + [""] * 5)[:5]
        if access_key != state.access_key:
            raise TosError(403, "InvalidAccessKeyId", "unknown access key")
        if day != date[:8] or region != state.region or (service, terminal) != ("tos", "request"):
            raise TosError(403, "SignatureDoesNotMatch", "credential scope is wrong")
        expected = signature(
            secret=state.secret_key,
            region=region,
            date=date,
            method=method,
            path=path,
            params=params,
            headers=headers,
            signed=signed,
            payload_hash=payload_hash,
        )
        if not hmac.compare_digest(expected, given):
            raise TosError(403, "SignatureDoesNotMatch", "signature does not match")


class _Operations:
    """The object operations, on already authenticated requests."""

    def __init__(self, state: FakeTos, bucket: str) -> None:
        self.state, self.bucket = state, bucket

    def run(
        self, method: str, key: str, params: dict[str, str], body: bytes, content_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        if not key:
            if method == "GET" and params.get("list-type") == "2":
                return self._list(params)
            raise TosError(405, "MethodNotAllowed", "bucket operation not supported")
        if method == "POST" and "uploads" in params:
            return self._create_upload(key, content_type)
        if method == "PUT" and "uploadId" in params:
            return self._upload_part(params, body)
        if method == "POST" and "uploadId" in params:
            return self._complete(key, params, body)
        if method == "DELETE" and "uploadId" in params:
            with self.state.lock:
                self.state.uploads.pop(params["uploadId"], None)
            return 204, {}, b""
        if method == "PUT":
            return self._store(key, StoredObject(body, content_type or "application/octet-stream"))
        if method in ("GET", "HEAD"):
            return self._get(key)
        if method == "DELETE":
            with self.state.lock:
                self.state.buckets.setdefault(self.bucket, {}).pop(key, None)
            return 204, {}, b""
        raise TosError(405, "MethodNotAllowed", f"{method} not supported")

    def _crc_header(self, crc: int) -> dict[str, str]:
        reported = crc ^ 1 if self.state.corrupt_crc else crc
        return {"x-tos-hash-crc64ecma": str(reported)}

    def _store(self, key: str, stored: StoredObject) -> tuple[int, dict[str, str], bytes]:
        limit = self.state.fail_after_puts
        with self.state.lock:
            objects = self.state.buckets.setdefault(self.bucket, {})
            if (
                limit is not None
                and key not in objects
                and (sum(len(o) for o in self.state.buckets.values()) >= limit)
            ):
                raise TosError(503, "ServiceUnavailable", "injected failure")
            objects[key] = stored
        return 200, {"ETag": stored.etag, **self._crc_header(stored.crc)}, b""

    def _get(self, key: str) -> tuple[int, dict[str, str], bytes]:
        with self.state.lock:
            stored = self.state.buckets.get(self.bucket, {}).get(key)
        if stored is None:
            raise TosError(404, "NoSuchKey", "The specified key does not exist.")
        return (
            200,
            {
                "Content-Type": stored.content_type,
                "Content-Length": str(len(stored.data)),
                "ETag": stored.etag,
                "Last-Modified": formatdate(usegmt=True),
                **self._crc_header(stored.crc),
            },
            stored.data,
        )

    def _list(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        prefix = params.get("prefix", "")
        limit = int(params.get("max-keys", "1000"))
        after = params.get("continuation-token") or params.get("start-after") or ""
        with self.state.lock:
            keys = sorted(
                k
                for k in self.state.buckets.get(self.bucket, {})
                if k.startswith(prefix) and k > after
            )
            objects = self.state.buckets.get(self.bucket, {})
            page = [(k, objects[k]) for k in keys[:limit]]
        truncated = len(keys) > limit
        document: dict[str, Any] = {
            "Name": self.bucket,
            "Prefix": prefix,
            "MaxKeys": limit,
            "KeyCount": len(page),
            "IsTruncated": truncated,
            "EncodingType": "",
            "Contents": [
                {
                    "Key": k,
                    "Size": len(o.data),
                    "ETag": o.etag,
                    "LastModified": o.modified.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "HashCrc64ecma": str(o.crc),
                    "StorageClass": "STANDARD",
                }
                for k, o in page
            ],
        }
        if truncated:
            document["NextContinuationToken"] = page[-1][0]
        return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()

    def _create_upload(self, key: str, content_type: str) -> tuple[int, dict[str, str], bytes]:
        upload_id = secrets.token_hex(12)
        with self.state.lock:
            self.state.uploads[upload_id] = MultipartUpload(
                self.bucket, key, content_type or "application/octet-stream"
            )
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"Bucket": self.bucket, "Key": key, "UploadId": upload_id}).encode(),
        )

    def _upload(self, params: dict[str, str]) -> MultipartUpload:
        with self.state.lock:
            upload = self.state.uploads.get(params["uploadId"])
        if upload is None or upload.bucket != self.bucket:
            raise TosError(404, "NoSuchUpload", "The specified upload does not exist.")
        return upload

    def _upload_part(
        self, params: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        upload = self._upload(params)
        part = StoredObject(body, "")
        upload.parts[int(params["partNumber"])] = part
        return 200, {"ETag": part.etag, **self._crc_header(part.crc)}, b""

    def _complete(
        self, key: str, params: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        upload = self._upload(params)
        listed = json.loads(body or b"{}").get("Parts", [])
        numbers = [int(p["PartNumber"]) for p in listed]
        if (
            not listed
            or numbers != sorted(numbers)
            or any(
                # The SDK strips the quotes from ETags; TOS accepts either form.
                n not in upload.parts or upload.parts[n].etag.strip('"') != p["ETag"].strip('"')
                for n, p in zip(numbers, listed, strict=True)
            )
        ):
            raise TosError(400, "InvalidPart", "parts do not match the uploaded parts")
        stored = StoredObject(b"".join(upload.parts[n].data for n in numbers), upload.content_type)
        status, headers, _ = self._store(key, stored)
        with self.state.lock:
            self.state.uploads.pop(params["uploadId"], None)
        return (
            status,
            {**headers, "Content-Type": "application/json"},
            json.dumps(
                {"Bucket": self.bucket, "Key": key, "ETag": stored.etag, "Location": f"/{key}"}
            ).encode(),
        )
