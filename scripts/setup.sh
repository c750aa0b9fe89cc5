#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine (run from the checkout, as root or with sudo).
#
#   bash scripts/setup.sh          system packages, .venv, torch==2.13.0 (CPU) first, the
#                                  package with pinned dependencies, and the locked models
#   bash scripts/setup.sh --dev    the same plus what the tests need
#
# Safe to run again: every step checks before it works.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PY=${PYTHON:-python3}
VENV=${SCRIBE_VENV:-.venv}

# --- system packages ------------------------------------------------------------------
# libportaudio2: microphone capture (sounddevice); libsndfile1: soundfile;
# libreoffice-writer + fonts-noto-cjk: PDF rendering of the Chinese documents;
# poppler-utils: PDF -> PNG for checking documents; postgresql: the city-wide database
# (the tests start their own throwaway server); chromium: the browser tests.
APT_RUNTIME=(libportaudio2 libsndfile1 libasound2-plugins fonts-noto-cjk libreoffice-writer-nogui)
APT_DEV=(poppler-utils postgresql chromium sox)
want=("${APT_RUNTIME[@]}")
(( DEV )) && want+=("${APT_DEV[@]}")
missing=()
for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "==> apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment ---------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "==> creating $VENV"
  $PY -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip -q --disable-pip-version-check)
"${PIP[@]}" install --upgrade pip setuptools wheel 2>&1 | grep -v "is ignored" || true
# torch first: anything that wants torch and finds it missing would pull the CUDA build (GBs).
echo "==> torch==2.13.0 (CPU)"
"${PIP[@]}" install "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
extra=""; (( DEV )) && extra="[dev]"
echo "==> mediation-scribe$extra with pinned dependencies"
"${PIP[@]}" install -c constraints.txt -e ".$extra" 2>&1 | grep -v "is ignored" || true
# CAM++ network code. Its wheel declares modelscope (hundreds of MB, unused here): no deps.
"${PIP[@]}" install --no-deps "speakerlab-slim==0.1.0" 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" scripts/fix_torchaudio_cpu.py
"$VENV/bin/python" -c "import torch, faster_whisper, pyannote.audio, scribe" \
  || { echo "setup: the Python environment is incomplete (see above)"; exit 1; }

# --- models ---------------------------------------------------------------------------
echo "==> models from models.lock"
"$VENV/bin/scribe" models install
"$VENV/bin/scribe" models list
echo "==> set-up complete"
