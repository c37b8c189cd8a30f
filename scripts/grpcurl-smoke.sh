#!/usr/bin/env bash
# Runs the grpcurl commands of README.md against a running server, as CI does:
#   scripts/grpcurl-smoke.sh [ADDRESS]        (default 127.0.0.1:50051)
#
# It takes every ```sh block of the README section "## grpcurl", replaces the
# documented address 127.0.0.1:50051 with ADDRESS, and runs the blocks in order in one
# bash (-euo pipefail) from the repository root, echoing each line before it runs
# (bash -v: the token shows as $TOKEN). So the README is the script: whatever it
# documents runs here, and a command that fails, fails the script. Then it checks the
# output for what the documented commands must print.
#
# The README mints its token with `.venv/bin/meeting-agent dev-token`, which signs with
# the development key of MEETING_AGENT_DATA_DIR (default ./data): run the script with
# the server's data directory (scripts/run-go-e2e.sh exports it).
set -euo pipefail

if (($# > 1)); then
  printf 'usage: %s [ADDRESS]\n' "$0" >&2
  exit 2
fi
ADDRESS=${1:-127.0.0.1:50051}
DOCUMENTED_ADDRESS=127.0.0.1:50051
SECTION='## grpcurl'

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.tools/bin:$PATH"
for tool in grpcurl split base64 sha256sum; do
  command -v "$tool" >/dev/null || {
    echo "grpcurl-smoke: $tool not found (grpcurl: run scripts/install-tools.sh)" >&2
    exit 1
  }
done

die() {
  printf 'grpcurl-smoke: %s\n' "$*" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The section's sh blocks, in order, with the server's address.
awk -v section="$SECTION" -v from="$DOCUMENTED_ADDRESS" -v to="$ADDRESS" '
  $0 == section { inside = 1; next }
  inside && /^## / { inside = 0 }
  inside && /^```sh$/ { block = 1; next }
  inside && block && /^```$/ { block = 0; print ""; next }
  inside && block { gsub(from, to); print }
' README.md >"$work/commands.sh"

commands=$(grep -o 'grpcurl -plaintext' "$work/commands.sh" | wc -l)
((commands >= 5)) ||
  die "found $commands grpcurl commands in section '$SECTION' of README.md; has it moved?"

printf 'grpcurl-smoke: running the %d grpcurl commands of README.md against %s\n\n' \
  "$commands" "$ADDRESS" >&2
{
  printf 'set -euo pipefail\nset -v\n'
  cat "$work/commands.sh"
} >"$work/run.sh"
bash "$work/run.sh" | tee "$work/output" ||
  die "a command of README.md section '$SECTION' failed (it is the last one echoed above)"

# What the documented commands print: reflection, descriptions, health, an
# authenticated call, the upload, the task, its watch to the end, its minutes.
for expected in \
  meeting_agent.v1.TaskService grpc.health.v1.Health grpc.reflection \
  'rpc WatchTask' 'request_id' '"SERVING"' '"asrProviders"' \
  'uploads/' 'tasks/' '"TASK_EVENT_TYPE_STATE_CHANGED"' '"TASK_STATE_SUCCEEDED"' \
  '"ARTIFACT_STATE_SUCCEEDED"' '"summary"'; do
  grep -qF -- "$expected" "$work/output" ||
    die "expected $expected in the output of the README's grpcurl commands"
done

printf '\ngrpcurl-smoke: all %d README grpcurl commands succeeded against %s\n' "$commands" "$ADDRESS" >&2
