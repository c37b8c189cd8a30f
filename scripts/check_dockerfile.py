#!/usr/bin/env python3
"""Structural checks of the Dockerfile, since no Docker engine runs in CI to build it.

Checks: a multi-stage build on a slim Python 3.11 image; a final stage that runs as a
non-root numeric user, has a HEALTHCHECK with scripts/health_probe.py and starts
`python server.py`; every COPY source exists and is not excluded by .dockerignore.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _included(path: str, patterns: list[str]) -> bool:
    # .dockerignore semantics: the last matching pattern wins; "!" re-includes.
    included = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            included = negate
    return included


def main() -> int:
    errors: list[str] = []
    steps = _instructions((ROOT / "Dockerfile").read_text())
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    args = dict(rest.split("=", 1) for kind, rest in steps if kind == "ARG" and "=" in rest)
    stages = [rest for kind, rest in steps if kind == "FROM"]
    if len(stages) < 2:
        errors.append("not a multi-stage build")
    for stage in stages:
        image = stage.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
        if not re.fullmatch(r"python:3\.11-slim(-\w+)?", image):
            errors.append(f"stage image {image} is not python:3.11-slim")
    final = steps[max(i for i, (kind, _) in enumerate(steps) if kind == "FROM") :]
    users = [rest for kind, rest in final if kind == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        errors.append("the final stage does not switch to a non-root user")
    health = [rest for kind, rest in final if kind == "HEALTHCHECK"]
    if not health or "scripts/health_probe.py" not in health[-1]:
        errors.append("no HEALTHCHECK running scripts/health_probe.py")
    entry = " ".join(rest for kind, rest in final if kind in ("ENTRYPOINT", "CMD"))
    if '"python"' not in entry or '"server.py"' not in entry:
        errors.append("the image does not start `python server.py`")
    for kind, rest in steps:
        if kind != "COPY" or rest.startswith("--from"):
            continue
        for source in rest.split()[:-1]:
            if not (ROOT / source).exists():
                errors.append(f"COPY source {source} does not exist")
            elif not _included(source.rstrip("/"), ignore):
                errors.append(f"COPY source {source} is excluded by .dockerignore")
    for error in errors:
        print(f"Dockerfile: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
