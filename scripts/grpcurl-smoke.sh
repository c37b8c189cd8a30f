#!/usr/bin/env bash
# Smoke test of a running server with grpcurl, as an engineer would debug it:
#   scripts/grpcurl-smoke.sh ADDRESS TOKEN
# e.g. scripts/grpcurl-smoke.sh 127.0.0.1:50051 "$(.venv/bin/meeting-agent dev-token)"
# Each command is printed before it runs (with the token shown as $TOKEN, so it stays
# out of logs); any failure stops the script.
set -euo pipefail

if (($# != 2)) || [[ -z $1 || -z $2 ]]; then
  printf 'usage: %s ADDRESS TOKEN\n' "$0" >&2
  exit 2
fi
ADDRESS=$1
TOKEN=$2

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.tools/bin:$PATH"
command -v grpcurl >/dev/null || {
  echo "grpcurl not found; run scripts/install-tools.sh" >&2
  exit 1
}

# run COMMAND [ARG...]: prints the command to stderr, then runs it.
run() {
  local arg line='$' placeholder="\$TOKEN"
  for arg in "$@"; do
    arg=${arg//"$TOKEN"/$placeholder}
    if [[ $arg == *[[:space:]]* ]]; then
      arg="\"$arg\""
    fi
    line+=" $arg"
  done
  printf '\n%s\n' "$line" >&2
  "$@"
}

# require OUTPUT TEXT...: fails unless OUTPUT contains every TEXT.
require() {
  local output=$1 text
  shift
  for text in "$@"; do
    if ! grep -qF -- "$text" <<<"$output"; then
      printf 'grpcurl-smoke: expected %s in the output above\n' "$text" >&2
      exit 1
    fi
  done
}

out=$(run grpcurl -plaintext "$ADDRESS" list)
printf '%s\n' "$out"
require "$out" meeting_agent.v1.TaskService grpc.health.v1.Health

out=$(run grpcurl -plaintext "$ADDRESS" describe meeting_agent.v1.TaskService)
printf '%s\n' "$out"
require "$out" 'rpc WatchTask'

out=$(run grpcurl -plaintext "$ADDRESS" describe meeting_agent.v1.CreateTaskRequest)
printf '%s\n' "$out"
require "$out" 'request_id'

out=$(run grpcurl -plaintext "$ADDRESS" grpc.health.v1.Health/Check)
printf '%s\n' "$out"
require "$out" '"SERVING"'

out=$(run grpcurl -plaintext -H "authorization: Bearer $TOKEN" "$ADDRESS" meeting_agent.v1.CapabilitiesService/GetCapabilities)
printf '%s\n' "$out"
require "$out" '"asrProviders"'

printf '\ngrpcurl-smoke: all commands succeeded against %s\n' "$ADDRESS" >&2
