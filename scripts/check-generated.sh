#!/usr/bin/env bash
# Checks the contract and its generated code:
#   1. regenerates the Python and Go stubs with `buf generate` (buf.gen.yaml) and fails
#      if they differ from the committed ones (stale stubs of deleted protos are removed,
#      so they show up too); after a failure the regenerated files are in the tree,
#      ready to commit;
#   2. buf lint, and buf format --diff --exit-code;
#   3. buf breaking against the local main branch, when it exists and has proto/.
# Needs the tools of scripts/install-tools.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.tools/bin:$PWD/.tools/node_modules/.bin:$PATH"
# Read-only git calls must not take .git/index.lock from under a concurrent git command.
export GIT_OPTIONAL_LOCKS=0

GENERATED_DIRS=(meeting_agent/v1 clients/go/meeting_agent)

log() { printf '==> %s\n' "$*"; }
die() { printf 'check-generated: %s\n' "$*" >&2; exit 1; }

for tool in buf protoc-gen-go protoc-gen-go-grpc git; do
  command -v "$tool" >/dev/null || die "$tool not found; run scripts/install-tools.sh"
done
[[ -x .venv/bin/python ]] || die ".venv is missing; run scripts/install-tools.sh"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "not a git work tree"

failures=()
fail() {
  printf '\nFAILED: %s\n\n' "$1" >&2
  failures+=("$1")
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- 1. generated code ---------------------------------------------------------
log "buf generate ($(buf --version); $(protoc-gen-go --version); $(protoc-gen-go-grpc --version))"
buf generate --output "$tmp/out"

# Generated files in the tree that buf no longer produces (their .proto is gone).
stale=()
while IFS= read -r -d '' file; do
  [[ -e $tmp/out/$file ]] || stale+=("$file")
done < <(find "${GENERATED_DIRS[@]}" -type f \
  \( -name '*_pb2.py' -o -name '*_pb2.pyi' -o -name '*_pb2_grpc.py' -o -name '*_pb2_grpc.pyi' \
  -o -name '*.pb.go' \) -print0)
if ((${#stale[@]} > 0)); then
  log "removing stale generated files: ${stale[*]}"
  rm -f -- "${stale[@]}"
fi
cp -R "$tmp/out/." .

changes=$(git status --porcelain -- "${GENERATED_DIRS[@]}")
if [[ -n $changes ]]; then
  printf '%s\n' "$changes"
  git --no-pager diff --stat -- "${GENERATED_DIRS[@]}"
  git --no-pager diff -- "${GENERATED_DIRS[@]}" | head -n 200
  fail "generated stubs in ${GENERATED_DIRS[*]} do not match proto/ and buf.gen.yaml.
They have been regenerated in your tree: review and commit them (git add ${GENERATED_DIRS[*]}).
If only the 'versions:' header lines differ, your protoc-gen-go/protoc-gen-go-grpc are not the
versions pinned in scripts/install-tools.sh; run it."
else
  log "generated stubs are up to date"
fi

# --- 2. lint and format ------------------------------------------------------------
log "buf lint"
buf lint || fail "buf lint reported problems (see above)"

log "buf format --diff --exit-code proto"
buf format --diff --exit-code proto ||
  fail "proto files are not formatted; run: buf format --write proto"

# --- 3. breaking changes -------------------------------------------------------------
if ! git rev-parse --verify --quiet 'refs/heads/main^{commit}' >/dev/null; then
  log "buf breaking: skipped, there is no local branch main (git fetch origin main:main to enable)"
elif [[ -z $(git ls-tree -d --name-only refs/heads/main proto) ]]; then
  log "buf breaking: skipped, branch main has no proto/ directory yet"
else
  log "buf breaking --against '.git#branch=main'"
  buf breaking --against '.git#branch=main' ||
    fail "buf breaking found changes that break the contract on main (see above)"
fi

if ((${#failures[@]} > 0)); then
  printf 'check-generated: %d check(s) failed\n' "${#failures[@]}" >&2
  exit 1
fi
log "all contract checks passed"
