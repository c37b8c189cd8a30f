#!/usr/bin/env bash
# Sets up the embedded default and processes a real meeting recording end to end:
# decode, transcribe with the bundled Whisper model, write the minutes, print both.
#   scripts/demo.sh [AUDIO_FILE...] [-- meeting-agent process options]
# Without a file it synthesizes a short three-voice meeting with espeak-ng.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh --python-only >&2

files=()
while (($#)) && [[ $1 != -- ]]; do files+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift

if ((${#files[@]} == 0)); then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "== synthesizing a three-voice meeting with espeak-ng" >&2
  .venv/bin/python -m bench.synth_meeting "$work" --meeting launch-sync >&2
  files=("$work/launch-sync.wav")
fi

echo "== meeting-agent process ${files[*]} $*" >&2
exec .venv/bin/meeting-agent process "${files[@]}" "$@"
