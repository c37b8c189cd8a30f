#!/usr/bin/env bash
# Sets up everything from nothing and runs every check: lint, types, layers, contract, schema,
# the Python test tiers (unit, integration on SQLite and PostgreSQL, end to end) and
# the Go client against a live server. Exits non-zero on the first failing stage.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.tools/bin:$PWD/.tools/node_modules/.bin:$PATH"

stage() { printf '\n======== %s ========\n' "$*"; }

stage "install tools"
scripts/install-tools.sh

stage "ruff: lint and format"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

stage "mypy: the service, its tests, bench and scripts"
.venv/bin/mypy meeting_agent tests bench scripts

stage "import-linter: layers, protobuf at the edge, no cycles"
.venv/bin/lint-imports --no-cache

stage "contract: buf lint, format, breaking; generated stubs up to date"
scripts/check-generated.sh

stage "error reasons: docs/errors.md and the Go reason constants up to date"
.venv/bin/python scripts/gen-errors.py --check

stage "deployment files: nginx -t, compose config, kubeconform, systemd-analyze, Dockerfile"
scripts/check-deploy.sh

stage "go build and vet"
(cd clients/go && go build ./... && go vet ./...)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stage "alembic upgrade head and check on SQLite"
.venv/bin/alembic -x url="sqlite:///$work/check.db" upgrade head
.venv/bin/alembic -x url="sqlite:///$work/check.db" check

stage "pytest: unit, integration (SQLite and PostgreSQL), end to end"
# PostgreSQL (and the other servers) are started by the test harness itself.
.venv/bin/pytest -p no:cacheprovider -q --junitxml="$work/pytest.xml"

stage "Go client and grpcurl against a live server"
GO_TEST_LOG=$work/go-test.log scripts/run-go-e2e.sh

# One closing line for both runners; any failure has already stopped the script.
.venv/bin/python - "$work/pytest.xml" "$work/go-test.log" <<'PY'
import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[1]).getroot().find("testsuite")
py_total, py_failed = int(suite.get("tests")), int(suite.get("failures")) + int(suite.get("errors"))
py_skipped = int(suite.get("skipped"))
go_log = open(sys.argv[2]).read().splitlines()
go_passed = sum(line.startswith("--- PASS") for line in go_log)
go_failed = sum(line.startswith("--- FAIL") for line in go_log)
passed = py_total - py_failed - py_skipped + go_passed
print(f"{passed} passed, {py_failed + go_failed} failed, {py_skipped} skipped")
PY
