"""The reason catalogue is the whole truth: every reason the code raises is in it, with
the status code its raising class maps to, and every entry in it is raised somewhere.

Reasons are found by reading the source (`ast`), not by running it: a `reason=`
keyword whose value is a literal, a module constant (followed through imports) or a
lookup in a module-level dict of them; an error class called without `reason=` (its
`default_reason`); a `warning(...)` call given an UPPER_SNAKE literal; and any
`reasons.CONSTANT` read of a reason module (the JWT refusals sit in a table).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from meeting_agent import errors, reasons
from meeting_agent.reasons import CATALOGUE, Surface

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "meeting_agent"
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")

ERROR_CLASSES: dict[str, type[errors.MeetingAgentError]] = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.MeetingAgentError)
}
# A `reason=` value that reads a reason from elsewhere (`exc.reason`, a parameter, a
# stored row) passes it on; it raises none of its own.
PASSED_ON = re.compile(r"\breason\b|\.reason\b|'reason'")


@dataclass(frozen=True)
class Site:
    reason: str
    # The `google.rpc.Code` name, where the raising class makes it known.
    code: str | None
    where: str
    warning: bool = False


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


TREES = {_module_name(p): ast.parse(p.read_text(), str(p)) for p in PACKAGE.rglob("*.py")}

# A module-level name is a string, a list of the strings in a dict's values, or a module.
Value = str | list[str] | tuple[str, str]


def _names(module: str, seen: frozenset[str] = frozenset()) -> dict[str, Value]:
    out: dict[str, Value] = {}
    tree = TREES.get(module)
    if tree is None or module in seen:
        return out
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("meeting_agent"):
            source = node.module or ""
            imported = _names(source, seen | {module})
            for alias in node.names:
                if alias.name in imported:
                    out[alias.asname or alias.name] = imported[alias.name]
                elif f"{source}.{alias.name}" in TREES:
                    out[alias.asname or alias.name] = ("module", f"{source}.{alias.name}")
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                value = node.value
                if _is_catalogue_entry(value):
                    value = value.args[0]
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    out[target.id] = value.value
                elif isinstance(value, ast.Dict):
                    out[target.id] = [
                        s for v in value.values for s in _strings(v, out) if s is not None
                    ]
    return out


def _is_catalogue_entry(value: ast.expr) -> TypeGuard[ast.Call]:
    """`NAME = _reason("NAME", ...)` in `meeting_agent.reasons`."""
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "_reason"
        and bool(value.args)
    )


def _strings(expr: ast.expr | None, names: dict[str, Value]) -> list[str | None]:
    """The strings `expr` may be; [None] when it cannot be told from the source."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.Name):
        value = names.get(expr.id)
        if isinstance(value, str):
            return [value]
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        value = names.get(expr.value.id)
        if isinstance(value, tuple):
            constant = _names(value[1]).get(expr.attr)
            if isinstance(constant, str):
                return [constant]
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        value = names.get(expr.value.id)
        if isinstance(value, list):
            return list(value)
    if isinstance(expr, ast.IfExp):
        return _strings(expr.body, names) + _strings(expr.orelse, names)
    return [None]


def _raising_class(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id in ERROR_CLASSES:
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr in ERROR_CLASSES:
            return func.attr
        # `InvalidArgument.field(...)`
        if isinstance(func.value, ast.Name) and func.value.id in ERROR_CLASSES:
            return func.value.id
    return None


def _code_of(call: ast.Call, cls: str | None) -> str | None:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name == "CallerError":
        # A vendor's refusal of the input; `call_vendor` raises it as one of these two.
        precondition = any(k.arg == "precondition" for k in call.keywords)
        return "FAILED_PRECONDITION" if precondition else "INVALID_ARGUMENT"
    if cls is None:
        return None
    return errors.canonical_code(ERROR_CLASSES[cls]("x")).name


def _scan() -> tuple[list[Site], list[str], set[str]]:
    """Raise sites, unresolved `reason=` values, and reasons read as `reasons.CONSTANT`."""
    sites: list[Site] = []
    unresolved: list[str] = []
    read: set[str] = set()
    for module, tree in TREES.items():
        if module == "meeting_agent.reasons":
            continue
        names = _names(module)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                imported = names.get(node.value.id)
                if isinstance(imported, tuple) and imported[1].endswith(".reasons"):
                    read.update(s for s in _strings(node, names) if s is not None)
            if not isinstance(node, ast.Call):
                continue
            where = f"{module}:{node.lineno}"
            cls = _raising_class(node)
            keyword = next((k for k in node.keywords if k.arg == "reason"), None)
            if keyword is not None:
                for reason in _strings(keyword.value, names):
                    if reason is None:
                        unresolved.append(f"{where}: {ast.unparse(keyword.value)}")
                    else:
                        sites.append(Site(reason, _code_of(node, cls), where))
            elif cls is not None and cls != "MeetingAgentError":
                sites.append(Site(ERROR_CLASSES[cls].default_reason, _code_of(node, cls), where))
            func = node.func
            if getattr(func, "attr", getattr(func, "id", None)) in ("warning", "record_warning"):
                sites.extend(
                    Site(arg.value, None, where, warning=True)
                    for arg in node.args
                    if isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and UPPER_SNAKE.match(arg.value)
                )
    return sites, unresolved, read


SITES, UNRESOLVED, READ = _scan()


def test_the_scan_finds_the_known_kinds_of_raise_site() -> None:
    found = {s.reason for s in SITES} | READ
    # A literal, a constant imported across modules, a dict lookup, a class default,
    # a warning, a JWT table entry.
    assert {
        "UPLOAD_SIZE_MISMATCH",
        "OBJECT_NOT_FOUND",
        "AUDIO_TOO_LARGE",
        "NOT_FOUND",
        "HOTWORDS_NOT_SENT",
        "TOKEN_EXPIRED",
    } <= found


def test_every_reason_value_is_a_known_string_or_passed_on() -> None:
    surprising = [u for u in UNRESOLVED if not PASSED_ON.search(u.split(": ", 1)[1])]
    assert surprising == [], "reason= values the catalogue test cannot read"


def test_every_raised_reason_is_catalogued() -> None:
    missing = sorted({f"{s.reason} ({s.where})" for s in SITES if s.reason not in CATALOGUE})
    missing += sorted(r for r in READ if UPPER_SNAKE.match(r) and r not in CATALOGUE)
    assert missing == [], "add these to meeting_agent/reasons.py"


def test_every_catalogued_reason_is_raised() -> None:
    raised = {s.reason for s in SITES} | READ
    assert sorted(set(CATALOGUE) - raised) == []


def test_the_catalogue_has_the_code_of_each_raise_site() -> None:
    wrong = [
        f"{s.reason} is {s.code} at {s.where}"
        for s in SITES
        if s.code is not None and s.reason in CATALOGUE and s.code not in CATALOGUE[s.reason].codes
    ]
    assert wrong == []


def test_warnings_are_exactly_the_reasons_of_warning_events() -> None:
    warned = {s.reason for s in SITES if s.warning}
    catalogued = {r.name for r in CATALOGUE.values() if Surface.WARNING in r.surfaces}
    assert warned == catalogued
    assert all(
        not CATALOGUE[r].codes and CATALOGUE[r].surfaces == (Surface.WARNING,) for r in warned
    )


def test_entries_are_well_formed() -> None:
    code_names = {c.name for c in errors.CanonicalCode}
    for name, entry in CATALOGUE.items():
        assert getattr(reasons, name) == name == entry.name
        assert UPPER_SNAKE.match(name) or name in code_names
        assert set(entry.codes) <= code_names
        assert entry.surfaces and entry.meaning.endswith(".") and entry.action.endswith(".")
        if Surface.WARNING not in entry.surfaces:
            assert entry.codes, name


def test_the_generated_docs_and_go_constants_are_current() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-errors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_the_go_constants_keep_their_published_names() -> None:
    go = (ROOT / "clients" / "go" / "meetingagent" / "reasons.go").read_text()
    published = {
        "ReasonMissingCredentials": "MISSING_CREDENTIALS",
        "ReasonMalformedToken": "MALFORMED_TOKEN",
        "ReasonTokenExpired": "TOKEN_EXPIRED",
        "ReasonInvalidSignature": "INVALID_SIGNATURE",
        "ReasonInvalidArgument": "INVALID_ARGUMENT",
        "ReasonNotFound": "NOT_FOUND",
        "ReasonUploadChecksumMismatch": "UPLOAD_CHECKSUM_MISMATCH",
        "ReasonUploadSizeMismatch": "UPLOAD_SIZE_MISMATCH",
        "ReasonRequestIDReused": "REQUEST_ID_REUSED",
        "ReasonEtagMismatch": "ETAG_MISMATCH",
        "ReasonTranscriptNotReady": "TRANSCRIPT_NOT_READY",
        "ReasonTaskAlreadyFinished": "TASK_ALREADY_FINISHED",
        "ReasonAudioTooLong": "AUDIO_TOO_LONG",
    }
    for name, reason in published.items():
        assert f'\t{name} = "{reason}"\n' in go


def test_the_catalogue_imports_nothing_of_the_package() -> None:
    # Any layer, the lowest included, may name a reason.
    imported = {
        node.module or ""
        for node in ast.walk(TREES["meeting_agent.reasons"])
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(TREES["meeting_agent.reasons"])
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not {m for m in imported if m.startswith("meeting_agent")}
