#!/usr/bin/env bash
# shellcheck disable=SC2317  # the checks are functions that `check` runs by name
# Validates the deployment files without a Docker engine or a cluster:
#   - nginx -t on deploy/nginx/meeting-agent.conf rendered for a temporary prefix;
#   - docker-compose.yml with `docker compose config -q` (the plugin) or Debian's
#     `docker-compose config -q`, with the values of .env.example;
#   - deploy/k8s/*.yaml with kubeconform -strict against Kubernetes 1.30 JSON schemas
#     taken from the kubernetes-validate wheel (scripts/install-tools.sh puts both in
#     .tools), so nothing is downloaded from GitHub;
#   - deploy/systemd/*.service with systemd-analyze verify in a scratch root;
#   - the Dockerfile's structure (scripts/check_dockerfile.py): images cannot be built here.
# Every check runs; the script fails if any failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$PWD
export PATH="$root/.tools/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

check() {  # check NAME COMMAND...: runs COMMAND, reports, remembers failures
  local name=$1
  shift
  if "$@"; then
    printf 'ok    %s\n' "$name"
  else
    printf 'FAIL  %s\n' "$name"
    failed=1
  fi
}

nginx_test() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=meeting-agent.test \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null || return 1
  local conf
  conf=$(.venv/bin/python scripts/render_nginx_conf.py "$work/nginx" \
    --cert "$work/tls.crt" --key "$work/tls.key") || return 1
  nginx -q -p "$work/nginx" -c "$conf" -t
}

compose_config() {
  if docker compose version >/dev/null 2>&1; then
    docker compose --env-file .env.example -f docker-compose.yml config -q
  elif command -v docker-compose >/dev/null; then
    docker-compose --env-file .env.example -f docker-compose.yml config -q
  else
    echo "neither 'docker compose' nor 'docker-compose' is installed" >&2
    return 1
  fi
}

kubeconform_check() {
  local schemas=$root/.tools/k8s-schemas/v1.30.0-local-strict
  [[ -f $schemas/_definitions.json ]] || { echo "no schemas in $schemas" >&2; return 1; }
  kubeconform -strict -summary \
    -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" deploy/k8s/
}

systemd_verify() {
  # A scratch root: the units name /opt/meeting-agent binaries that this checkout does
  # not have there, and verify resolves ExecStart= against the root.
  local sysroot=$work/systemd-root out
  mkdir -p "$sysroot/etc/systemd/system" "$sysroot/usr/lib/systemd" \
    "$sysroot/opt/meeting-agent/.venv/bin"
  cp -a /usr/lib/systemd/system "$sysroot/usr/lib/systemd/"
  for binary in python alembic; do
    printf '#!/bin/sh\n' >"$sysroot/opt/meeting-agent/.venv/bin/$binary"
    chmod +x "$sysroot/opt/meeting-agent/.venv/bin/$binary"
  done
  cp deploy/systemd/*.service "$sysroot/etc/systemd/system/"
  # verify exits 0 on unknown or malformed settings and only prints them: any output fails.
  out=$(systemd-analyze verify --root="$sysroot" meeting-agent.service \
    meeting-agent-worker@1.service meeting-agent-migrate.service 2>&1)
  local status=$?
  [[ -z $out ]] || printf '%s\n' "$out" >&2
  [[ $status -eq 0 && -z $out ]]
}

check "nginx -t deploy/nginx/meeting-agent.conf" nginx_test
check "compose config docker-compose.yml" compose_config
check "kubeconform deploy/k8s" kubeconform_check
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify deploy/systemd" systemd_verify
else
  echo "skip  systemd-analyze is not installed"
fi
check "Dockerfile structure" .venv/bin/python scripts/check_dockerfile.py
exit "$failed"
