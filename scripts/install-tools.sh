#!/usr/bin/env bash
# Installs what the checks need on a Debian 12 machine, skipping whatever is already
# in place, so a second run takes a few seconds:
#   - apt packages (PostgreSQL, Redis, espeak-ng, sox, nginx, ...);
#   - the Python virtualenv .venv with `pip install -e '.[dev]'`;
#   - buf (npm) in .tools/node_modules, and protoc-gen-go, protoc-gen-go-grpc,
#     grpcurl and staticcheck (go install) in .tools/bin.
# Go (>= 1.21; go.mod toolchain lines are fetched from the Go module proxy) and Python 3.11
# must already be there; Node/npm come from apt when missing.
#
# Put the tools on PATH with:  export PATH="$PWD/.tools/bin:$PWD/.tools/node_modules/.bin:$PATH"
set -euo pipefail

# Pinned versions. The Go plugins must match the "versions:" header of the committed
# stubs in clients/go/meeting_agent/v1, or scripts/check-generated.sh reports a diff.
BUF_VERSION=1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPCURL_VERSION=v1.9.4
STATICCHECK_VERSION=v0.8.2
# Deployment checks (scripts/check-deploy.sh): kubeconform, and the Kubernetes JSON
# schemas it validates against, from the kubernetes-validate wheel on PyPI (kubeconform's
# default schema source on GitHub is not reachable from CI).
KUBECONFORM_VERSION=v0.7.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_SCHEMA_VERSION=v1.30.0
# Installed with --no-deps after the editable install (see install_venv).
RESEMBLYZER_VERSION=0.1.4

APT_PACKAGES=(
  ca-certificates git python3 python3-venv
  postgresql redis-server espeak-ng sox nginx
  shellcheck
  # `docker-compose config` validates docker-compose.yml where the compose plugin is absent.
  docker-compose openssl
)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
tools=$root/.tools

log() { printf '==> %s\n' "$*"; }
die() { printf 'install-tools: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# --- apt ------------------------------------------------------------------------
install_apt_packages() {
  local wanted=("${APT_PACKAGES[@]}") missing=() pkg
  command -v npm >/dev/null || wanted+=(nodejs npm)
  for pkg in "${wanted[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "apt packages: all present"
    return
  fi
  log "apt packages: installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# --- Python -----------------------------------------------------------------------
python_for_venv() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3; do
    if [[ -n $candidate ]] && command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      printf '%s\n' "$candidate"
      return
    fi
  done
  die "no Python >= 3.11 found (set PYTHON=/path/to/python3.11)"
}

install_venv() {
  # The stamp records the pyproject.toml (and resemblyzer pin) the venv was installed from.
  local stamp=$root/.venv/.install-tools-stamp wanted
  wanted=$({ cat pyproject.toml; echo "resemblyzer==$RESEMBLYZER_VERSION"; } | sha256sum | cut -d' ' -f1)
  if [[ -x .venv/bin/python && -f $stamp && $(<"$stamp") == "$wanted" ]]; then
    log ".venv: up to date with pyproject.toml"
    return
  fi
  if [[ ! -x .venv/bin/python ]]; then
    local python
    python=$(python_for_venv)
    log ".venv: creating with $python ($("$python" --version))"
    "$python" -m venv .venv
  fi
  log ".venv: pip install -e '.[dev]'"
  .venv/bin/python -m pip install --disable-pip-version-check --quiet --upgrade pip
  .venv/bin/python -m pip install --disable-pip-version-check --quiet -e '.[dev]'
  # The diarizer reads the voice-encoder weights resemblyzer ships; its declared
  # dependencies (torch, librosa, webrtcvad) are never imported, so they are skipped.
  # pyproject.toml cannot say --no-deps, hence this separate step.
  .venv/bin/python -m pip install --disable-pip-version-check --quiet --no-deps \
    "resemblyzer==$RESEMBLYZER_VERSION"
  printf '%s\n' "$wanted" >"$stamp"
}

# --- buf (npm) -----------------------------------------------------------------------
install_buf() {
  local buf=$tools/node_modules/.bin/buf
  if [[ -x $buf && $("$buf" --version 2>/dev/null) == "$BUF_VERSION" ]]; then
    log "buf $BUF_VERSION: present"
    return
  fi
  log "buf $BUF_VERSION: npm install --prefix .tools @bufbuild/buf@$BUF_VERSION"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    --save-exact "@bufbuild/buf@$BUF_VERSION"
  [[ $("$buf" --version) == "$BUF_VERSION" ]] || die "buf --version is not $BUF_VERSION after installing"
}

# --- Go tools --------------------------------------------------------------------------
# go_install PACKAGE MODULE VERSION: installs PACKAGE@VERSION into .tools/bin unless the
# binary there was already built from MODULE at VERSION.
go_install() {
  local package=$1 module=$2 version=$3 binary
  binary=$tools/bin/$(basename "$package")
  if [[ -x $binary ]] && go version -m "$binary" 2>/dev/null |
    awk -v m="$module" -v v="$version" '$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }'; then
    log "$(basename "$package") $version: present"
    return
  fi
  log "$(basename "$package") $version: go install $package@$version"
  GOBIN=$tools/bin go install "$package@$version"
}

install_go_tools() {
  command -v go >/dev/null || die "Go is not installed; install Go >= 1.25 from https://go.dev/dl/ first"
  local go_minor
  go_minor=$(go env GOVERSION | sed -nE 's/^go1\.([0-9]+).*/\1/p')
  if [[ -z $go_minor ]] || ((go_minor < 21)); then
    die "$(go env GOVERSION) is too old; install Go >= 1.25 from https://go.dev/dl/"
  fi
  mkdir -p "$tools/bin"
  go_install google.golang.org/protobuf/cmd/protoc-gen-go \
    google.golang.org/protobuf "$PROTOC_GEN_GO_VERSION"
  go_install google.golang.org/grpc/cmd/protoc-gen-go-grpc \
    google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
  go_install github.com/fullstorydev/grpcurl/cmd/grpcurl \
    github.com/fullstorydev/grpcurl "$GRPCURL_VERSION"
  go_install honnef.co/go/tools/cmd/staticcheck \
    honnef.co/go/tools "$STATICCHECK_VERSION"
  go_install github.com/yannh/kubeconform/cmd/kubeconform \
    github.com/yannh/kubeconform "$KUBECONFORM_VERSION"
}

# --- Kubernetes JSON schemas ----------------------------------------------------------
# One version's "-local-strict" schemas from the kubernetes-validate wheel. They refer to
# their shared definitions as "/api/_definitions.json", which only that package's own
# resolver understands; rewritten to an absolute file URL, kubeconform loads them as is.
install_k8s_schemas() {
  local dir=$tools/k8s-schemas/$KUBERNETES_SCHEMA_VERSION-local-strict
  local stamp=$dir/.stamp wanted="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION $dir"
  if [[ -f $stamp && $(<"$stamp") == "$wanted" ]]; then
    log "kubernetes schemas $KUBERNETES_SCHEMA_VERSION: present"
    return
  fi
  log "kubernetes schemas $KUBERNETES_SCHEMA_VERSION: from kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
  local download
  download=$(mktemp -d)
  .venv/bin/python -m pip download --disable-pip-version-check --quiet --no-deps \
    --dest "$download" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  rm -rf "$dir"
  mkdir -p "$dir"
  .venv/bin/python - "$download"/kubernetes_validate-*.whl "$dir" "$KUBERNETES_SCHEMA_VERSION" <<'PY'
import sys
import zipfile
from pathlib import Path

wheel, target, version = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
prefix = f"kubernetes_validate/kubernetes-json-schema/{version}-local-strict/"
definitions = (target / "_definitions.json").resolve().as_uri()
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"{wheel} has no {prefix}")
    for name in names:
        text = archive.read(name).decode("utf-8")
        (target / name[len(prefix):]).write_text(
            text.replace('"/api/_definitions.json', f'"{definitions}'), encoding="utf-8")
PY
  rm -rf "$download"
  printf '%s\n' "$wanted" >"$stamp"
}

# --python-only: what running the service needs (the README's first command), not the
# contract and Go tooling that the checks need.
if [[ ${1:-} == --python-only ]]; then
  APT_PACKAGES=(ca-certificates python3 python3-venv espeak-ng sox)
  install_apt_packages
  install_venv
  log "done"
  exit 0
fi

install_apt_packages
command -v npm >/dev/null || die "npm is still missing after installing nodejs and npm"
install_venv
install_buf
install_go_tools
install_k8s_schemas
log "done; tools are in .tools/bin and .tools/node_modules/.bin"
