#!/usr/bin/env bash
# Sets up everything from nothing and runs every check: lint, types, contract, schema,
# the Python test tiers (unit, integration on SQLite and PostgreSQL, end to end) and
# the Go client against a live server. Exits non-zero on the first failing stage.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.tools/bin:$PWD/.tools/node_modules/.bin:$PATH"

stage() { printf '\n======== %s ========\n' "$*"; }

stage "install tools"
scripts/install-tools.sh

stage "ruff"
.venv/bin/ruff check .

stage "mypy"
.venv/bin/mypy meeting_agent

stage "contract: buf lint, format, breaking; generated stubs up to date"
scripts/check-generated.sh

stage "go build and vet"
(cd clients/go && go build ./... && go vet ./...)

stage "alembic upgrade head and check on SQLite"
schema_dir=$(mktemp -d)
trap 'rm -rf "$schema_dir"' EXIT
.venv/bin/alembic -x url="sqlite:///$schema_dir/check.db" upgrade head
.venv/bin/alembic -x url="sqlite:///$schema_dir/check.db" check

stage "pytest: unit, integration (SQLite and PostgreSQL), end to end"
# PostgreSQL (and the other servers) are started by the test harness itself.
.venv/bin/pytest -p no:cacheprovider -q

stage "Go client and grpcurl against a live server"
scripts/run-go-e2e.sh
