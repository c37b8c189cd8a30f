"""A fake iFlytek recorded-audio transcription API (`raasr` v2), from providers.md §2.

`POST /v2/api/upload` takes every parameter in the query string and the audio in the
body, and answers an `orderId`; `/v2/api/getResult` (GET or POST: the doc disagrees
with itself and the demo) answers the order's `status` (0 created, 3 processing, 4
done, -1 failed with a `failType`) and, when done, `orderResult`: a JSON string whose
`lattice[].json_1best` are JSON strings again. Errors are HTTP 200 with a string
`code` (`"26601"`…) and `descInfo`.

Every request is authenticated exactly: `signa` is recomputed from `appId` and `ts`
with the app's secret (Base64(HmacSHA1(secret, hex(MD5(appId + ts))))), and `ts` must
lie within `max_skew_seconds` of the fake's clock. The doc names no code for a bad
signature; the fake answers 26601 (bad app information).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tests.harness.vendors.audio import audio_duration_ms
from tests.harness.vendors.http_fake import FakeVendor, Fault, Recorded, Reply
from tests.harness.vendors.script import MEETING, Line

UPLOAD = "/v2/api/upload"
GET_RESULT = "/v2/api/getResult"
_ENDPOINTS = {UPLOAD: "upload", GET_RESULT: "getResult"}

LANGUAGES = frozenset(
    {
        "cn",
        "en",
        "ja",
        "ko",
        "ru",
        "fr",
        "es",
        "vi",
        "ar",
        "de",
        "it",
        "pt",
        "th",
        "hi",
        "cn_cantonese",
        "cn_uyghur",
        "cn_tibetan",
        "cn_xinanese",
        "cn_henanese",
    }
)
RESULT_TYPES = frozenset({"transfer", "translate", "predict", "transfer,predict"})
MAX_RESULT_CALLS = 100
_MAGIC = {"flac": (b"fLaC",), "wav": (b"RIFF",), "mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3")}
_DESCRIPTIONS = {
    "26601": "非法应用信息，检查下上传的appi是否正确",
    "26602": "任务ID不存在",
    "26603": "接口访问频率受限",
    "26604": "获取结果次数超过限制",
    "26605": "任务正在处理中，请稍后重试",
    "26606": "空音频，请检查",
    "26610": "请求参数错误",
    "26625": "预处理服务时长不足",
    "26635": "文件长度校验失败",
    "26680": "引擎错误",
}
# failType of each scripted outcome.
_FAIL_TYPES = {"upload_failed": 1, "undecodable": 2, "too_long": 4, "silent": 6}

Outcome = Literal["ok", "silent", "undecodable", "too_long", "upload_failed"]


def signa(app_id: str, secret: str, ts: str) -> str:
    """The doc's signature, computed independently of the adapter."""
    base = hashlib.md5(f"{app_id}{ts}".encode()).hexdigest().encode()
    return base64.b64encode(hmac.new(secret.encode(), base, hashlib.sha1).digest()).decode()


@dataclass
class Order:
    app_id: str
    params: dict[str, str]
    audio: bytes
    outcome: Outcome
    result_calls: int = 0


class IflytekFake(FakeVendor):
    """The fake API. Knobs:

    apps: appId → secretKey accepted.
    pending_polls: getResult calls of each order answered "not done" before the outcome;
        `pending_style` says how: "status" (code 000000, status 0 then 3, as the demo
        polls) or "code" (26605, "still processing").
    outcome: what every order ends as: "ok", "silent" (failType 6), "undecodable" (2),
        "too_long" (4), "upload_failed" (1). Audio whose bytes do not match the file
        name's extension fails with failType 2 on its own.
    roles_enabled: whether the account has role separation; without it `rl` is "0".
    estimate_ms: the `taskEstimateTime` answered.
    """

    def __init__(
        self,
        *,
        apps: Mapping[str, str] | None = None,
        max_skew_seconds: float = 300.0,
        now: Callable[[], float] = time.time,
        pending_polls: int = 0,
        pending_style: Literal["status", "code"] = "status",
        outcome: Outcome = "ok",
        roles_enabled: bool = True,
        estimate_ms: int = 28000,
        script: Sequence[Line] = MEETING,
    ) -> None:
        super().__init__()
        self.apps = dict(
            apps
            if apps is not None
            else {
                "595f23df": "d9f4aa7ea6d94faca62cd88a28fd5234",
                "3e79d91c": "0123456789abcdef0123456789abcdef",
            }
        )
        self.max_skew_seconds = max_skew_seconds
        self.now = now
        self.pending_polls = pending_polls
        self.pending_style = pending_style
        self.outcome: Outcome = outcome
        self.roles_enabled = roles_enabled
        self.estimate_ms = estimate_ms
        self.script = tuple(script)
        self.orders: dict[str, Order] = {}
        self.out_of_hours: set[str] = set()
        self._orders_lock = threading.Lock()

    def exhaust(self, app_id: str) -> None:
        """The app has no purchased hours left (26625)."""
        self.out_of_hours.add(app_id)

    # ------------------------------------------------------------------ dispatch

    def endpoint_of(self, request: Recorded) -> str | None:
        return _ENDPOINTS.get(request.path)

    def fault_reply(self, fault: Fault, endpoint: str | None) -> Reply:
        if fault.kind == "code":
            return _error(fault.code)
        return super().fault_reply(fault, endpoint)

    def handle(self, request: Recorded) -> Reply:
        endpoint = self.endpoint_of(request)
        if endpoint is None:
            return Reply(404)
        if endpoint == "upload" and request.method != "POST":
            return Reply(405)
        app_id = self._authenticate(request.query)
        if app_id is None:
            return _error("26601")
        if endpoint == "upload":
            return self._upload(request, app_id)
        return self._get_result(request, app_id)

    def _authenticate(self, query: Mapping[str, str]) -> str | None:
        app_id, ts, given = query.get("appId", ""), query.get("ts", ""), query.get("signa", "")
        secret = self.apps.get(app_id)
        if secret is None or not ts.isdigit() or not given:
            return None
        if abs(self.now() - int(ts)) > self.max_skew_seconds:
            return None
        return app_id if hmac.compare_digest(signa(app_id, secret, ts), given) else None

    # ------------------------------------------------------------------ endpoints

    def _upload(self, request: Recorded, app_id: str) -> Reply:
        query = request.query
        problem = _upload_problem(query)
        if problem is not None:
            return _error("26610", problem)
        if app_id in self.out_of_hours:
            return _error("26625")
        if not request.body:
            return _error("26606")
        if int(query["fileSize"]) != len(request.body):
            return _error("26635")
        order_id = f"DKHJQ{time.strftime('%Y%m%d%H%M%S')}{uuid.uuid4().hex[:16].upper()}"
        extension = query["fileName"].rsplit(".", 1)[1].lower()
        outcome = self.outcome
        if outcome == "ok" and not request.body.startswith(_MAGIC.get(extension, (b"",))):
            outcome = "undecodable"
        with self._orders_lock:
            self.orders[order_id] = Order(app_id, dict(query), request.body, outcome)
        return Reply.json(
            {
                "code": "000000",
                "descInfo": "success",
                "content": {"orderId": order_id, "taskEstimateTime": self.estimate_ms},
            }
        )

    def _get_result(self, request: Recorded, app_id: str) -> Reply:
        query = request.query
        order_id = query.get("orderId", "")
        if not order_id or query.get("resultType", "transfer") not in RESULT_TYPES:
            return _error("26610")
        with self._orders_lock:
            order = self.orders.get(order_id)
            if order is None or order.app_id != app_id:
                return _error("26602")
            order.result_calls += 1
            calls = order.result_calls
        if calls > MAX_RESULT_CALLS:
            return _error("26604")
        info: dict[str, Any] = {
            "orderId": order_id,
            "failType": 0,
            "status": 3,
            "originalDuration": int(order.params["duration"]),
            "realDuration": audio_duration_ms(order.audio) or 0,
        }
        if calls <= self.pending_polls:
            if self.pending_style == "code":
                return _error("26605")
            info["status"] = 0 if calls == 1 else 3
            return _success(info, "", self.estimate_ms)
        if order.outcome != "ok":
            info.update(status=-1, failType=_FAIL_TYPES[order.outcome])
            return _success(info, "", 0)
        info["status"] = 4
        roles = order.params.get("roleType") == "1" and self.roles_enabled
        return _success(info, self._order_result(roles), 0)

    def _order_result(self, roles: bool) -> str:
        lattice = [
            {"json_1best": json.dumps(_sentence(line, roles), ensure_ascii=False)}
            for line in self.script
        ]
        # The unsmoothed result: already objects, and with the filler the smoothed
        # `lattice` dropped, so a reader of the wrong list is caught.
        lattice2 = [
            {
                "lid": "0",
                "begin": str(line.start_ms),
                "end": str(line.end_ms),
                "json_1best": _sentence(line, roles, filler="嗯"),
                "spk": f"段落-{i}",
            }
            for i, line in enumerate(self.script)
        ]
        return json.dumps({"lattice": lattice, "lattice2": lattice2}, ensure_ascii=False)


def _sentence(line: Line, roles: bool, *, filler: str = "") -> dict[str, Any]:
    words: list[dict[str, Any]] = []
    if filler:
        words.append(_word(filler, "n", 0, 0))
    last = 0
    for token in line.tokens:
        if token.start_ms is None or token.end_ms is None:
            words.append(_word(token.text, "p", last, last))
            continue
        # Frames of 10 ms, relative to the sentence's `bg`.
        first = (token.start_ms - line.start_ms) // 10
        last = (token.end_ms - line.start_ms) // 10
        words.append(_word(token.text, "n", first, last))
    words.append(_word("", "g", last, last))  # the paragraph mark closing each sentence
    return {
        "st": {
            "sc": "0.86",
            "pa": "0",
            "rt": [{"ws": words}],
            "bg": str(line.start_ms),
            "ed": str(line.end_ms),
            "rl": line.speaker if roles else "0",
        }
    }


def _word(text: str, kind: str, first: int, last: int) -> dict[str, Any]:
    return {
        "cw": [{"w": text, "wp": kind, "wc": "1.0000" if kind == "n" else "0.0000"}],
        "wb": first,
        "we": last,
    }


def _upload_problem(query: Mapping[str, str]) -> str | None:
    """What the documented upload parameter rules find wrong, or None."""
    if not re.fullmatch(r".+\.[A-Za-z0-9]+", query.get("fileName", "")):
        return "fileName with an extension is required"
    for field in ("fileSize", "duration"):
        if not query.get(field, "").isdigit():
            return f"{field} is required and a whole number"
    if query.get("language", "cn") not in LANGUAGES:
        return "unknown language"
    if query.get("roleType", "0") not in ("0", "1"):
        return "roleType is 0 or 1"
    role_num = query.get("roleNum", "0")
    if not role_num.isdigit() or int(role_num) > 10:
        return "roleNum is 0-10"
    if "hotWord" in query:
        words = query["hotWord"].split("|")
        if len(words) > 200 or any(not 2 <= len(w) <= 16 for w in words):
            return "hotWord: at most 200 words of 2-16 characters, joined by |"
    return None


def _success(info: dict[str, Any], order_result: str, estimate_ms: int) -> Reply:
    return Reply.json(
        {
            "code": "000000",
            "descInfo": "success",
            "content": {
                "orderInfo": info,
                "orderResult": order_result,
                "taskEstimateTime": estimate_ms,
            },
        }
    )


def _error(code: str, description: str = "") -> Reply:
    return Reply.json(
        {"code": code, "descInfo": description or _DESCRIPTIONS.get(code, "转写业务通用错误")}
    )
