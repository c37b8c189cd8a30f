#!/usr/bin/env bash
# End-to-end check of the server from its Go callers' side:
#   1. starts `python server.py` on a free port with a throwaway data directory and
#      waits until its health check says SERVING;
#   2. mints a development token (and an expired one) and runs `gofmt -l`, `go vet`,
#      `staticcheck` and `go test` in clients/go with MEETING_AGENT_ADDRESS,
#      MEETING_AGENT_TOKEN and MEETING_AGENT_EXPIRED_TOKEN set;
#   3. builds the Go program of README.md (the meetingagent package's Example) as a
#      fresh module that requires clients/go, and runs it on the sample recording;
#   4. runs scripts/grpcurl-smoke.sh, which executes the README's grpcurl commands;
#   5. stops the server with SIGTERM and requires a clean exit (status 0) within 30 s.
# Needs the tools of scripts/install-tools.sh. SERVER_START_TIMEOUT (seconds, default
# 120) bounds the wait for the server.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
export PATH="$root/.tools/bin:$root/.tools/node_modules/.bin:$PATH"

START_TIMEOUT=${SERVER_START_TIMEOUT:-120}
STOP_TIMEOUT=30

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'run-go-e2e: %s\n' "$*" >&2; exit 1; }

for tool in go grpcurl staticcheck; do
  command -v "$tool" >/dev/null || die "$tool not found; run scripts/install-tools.sh"
done
[[ -x .venv/bin/python && -x .venv/bin/meeting-agent ]] ||
  die ".venv is missing or incomplete; run scripts/install-tools.sh"

work=$(mktemp -d)
server_log=$work/server.log
server_pid=

show_server_log() {
  printf '\n---- server log (%s) ----\n' "$server_log" >&2
  cat "$server_log" >&2 || true
  printf -- '---- end of server log ----\n' >&2
}

cleanup() {
  local status=$?
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 "$STOP_TIMEOUT"); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if ((status != 0)) && [[ -s $server_log ]]; then
    show_server_log
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(.venv/bin/python -c '
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])')
address=127.0.0.1:$port
export MEETING_AGENT_SERVER__LISTEN_ADDRESS=$address
export MEETING_AGENT_DATA_DIR=$work/data

# --- 1. server ------------------------------------------------------------------------
log "starting the server on $address (data in $MEETING_AGENT_DATA_DIR)"
.venv/bin/python server.py >"$server_log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + START_TIMEOUT))
until grpcurl -plaintext -connect-timeout 1 -max-time 2 "$address" grpc.health.v1.Health/Check 2>/dev/null |
  grep -qF '"SERVING"'; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && rc=0 || rc=$?
    server_pid=
    die "the server exited with status $rc before it was healthy"
  fi
  ((SECONDS < deadline)) || die "the server was not SERVING after ${START_TIMEOUT}s"
  sleep 0.5
done
log "the server is SERVING (pid $server_pid)"

token=$(.venv/bin/meeting-agent dev-token --user go-e2e --tenant go-e2e)
# Expired beyond the server's 30 s leeway: the client must get TOKEN_EXPIRED and refresh.
expired_token=$(.venv/bin/meeting-agent dev-token --user go-e2e --tenant go-e2e --ttl -120)

# --- 2. Go ------------------------------------------------------------------------------
(
  cd clients/go
  log "gofmt -l ."
  unformatted=$(gofmt -l .)
  [[ -z $unformatted ]] || die "not gofmt-formatted (run gofmt -w in clients/go): $unformatted"
  log "go vet ./..."
  go vet ./...
  log "staticcheck ./..."
  staticcheck ./...
  log "go test ./... (MEETING_AGENT_ADDRESS=$address)"
  # GO_TEST_LOG, when set, keeps the verbose output for a caller that tallies results.
  MEETING_AGENT_ADDRESS=$address MEETING_AGENT_TOKEN=$token MEETING_AGENT_EXPIRED_TOKEN=$expired_token \
    go test -count=1 -v ./... | tee "${GO_TEST_LOG:-/dev/null}"
)

# --- 3. the README's Go program, as a Go developer would build it ----------------------
# The README says `go mod tidy`; this takes clients/go's go.sum instead, so that the
# step needs no network once clients/go has been built.
log "the README's Go program as a fresh module"
module=$work/readme-example
mkdir -p "$module"
.venv/bin/python - clients/go/meetingagent/example_test.go "$module/main.go" <<'PY'
import re
import sys

source = open(sys.argv[1]).read()
program = "package main\n" + re.sub(r"(?m)^(//.*\n)*func Example\(\) \{$", "func main() {",
                                    source[source.index("\nimport ("):])
open(sys.argv[2], "w").write(program)
PY
cp clients/go/go.sum "$module/"
(
  cd "$module"
  go mod init example.com/minutes >/dev/null 2>&1
  go mod edit -require=github.com/meeting-agent/meeting-agent/clients/go@v0.0.0 \
    -replace=github.com/meeting-agent/meeting-agent/clients/go="$root/clients/go"
  go build -mod=mod -o minutes .
)
MEETING_AGENT_ADDRESS=$address MEETING_AGENT_TOKEN=$token \
  "$module/minutes" clients/go/e2e/testdata/jfk.flac >"$work/minutes.md"
cat "$work/minutes.md"
grep -qi 'ask not what your country' "$work/minutes.md" || die "the README's Go program printed no minutes"

# --- 4. grpcurl ---------------------------------------------------------------------------
log "scripts/grpcurl-smoke.sh (the README's grpcurl commands)"
scripts/grpcurl-smoke.sh "$address"

# --- 5. graceful shutdown --------------------------------------------------------------
log "stopping the server with SIGTERM"
kill -TERM "$server_pid"
deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$server_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || die "the server did not exit within ${STOP_TIMEOUT}s of SIGTERM"
  sleep 0.5
done
wait "$server_pid" && rc=0 || rc=$?
server_pid=
((rc == 0)) || die "the server exited with status $rc after SIGTERM, want 0"
log "the server exited with status 0; Go e2e passed"
