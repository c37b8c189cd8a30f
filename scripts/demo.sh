#!/usr/bin/env bash
# Sets up the embedded default and runs a short client session against a real server:
# mint a development token, upload a recording, create a task, read it back.
#   scripts/demo.sh [AUDIO_FILE]      (default: tests/data/jfk.flac)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
audio=${1:-tests/data/jfk.flac}
[[ -f $audio ]] || { echo "demo: no such file: $audio" >&2; exit 2; }

scripts/install-tools.sh --python-only >&2

work=$(mktemp -d)
export MEETING_AGENT_DATA_DIR=$work/data
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export MEETING_AGENT_SERVER__LISTEN_ADDRESS=127.0.0.1:$port
export MEETING_AGENT_ADDRESS=127.0.0.1:$port

.venv/bin/meeting-agent serve 2>"$work/server.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 100); do
  .venv/bin/python - "$MEETING_AGENT_ADDRESS" <<'PY' && break
import sys, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
try:
    with grpc.insecure_channel(sys.argv[1]) as ch:
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status
    sys.exit(0 if status == health_pb2.HealthCheckResponse.SERVING else 1)
except grpc.RpcError:
    sys.exit(1)
PY
  sleep 0.2
done

MEETING_AGENT_TOKEN=$(.venv/bin/meeting-agent dev-token)
export MEETING_AGENT_TOKEN
echo "== capabilities" >&2
.venv/bin/meeting-agent client capabilities
echo "== create a task from $audio" >&2
task=$(.venv/bin/meeting-agent client create-task "$audio" --title "Demo meeting")
echo "$task"
name=$(printf '%s' "$task" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["name"])')
echo "== read it back" >&2
.venv/bin/meeting-agent client get-task "$name"
