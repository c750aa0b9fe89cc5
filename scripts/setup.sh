#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine (run from the checkout, as root or with sudo).
#
#   bash scripts/setup.sh          system packages, .venv, torch==2.13.0 (CPU) first, the
#                                  package with pinned dependencies, and the locked models
#   bash scripts/setup.sh --dev    the same plus what the tests need
#   bash scripts/setup.sh --llama  (with or without --dev) also llama.cpp's OpenAI-compatible
#                                  server (llama-cpp-python, built from source: 29 min measured on
#                                  2 shared cores the first time, then from pip's wheel cache) and the
#                                  optional GGUF model it serves in the drafting tests/benchmark
#                                  (SCRIBE_SETUP_LLAMA=1 does the same)
#
# Safe to run again: every step checks before it works.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
LLAMA=${SCRIBE_SETUP_LLAMA:-0}
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    --llama) LLAMA=1 ;;
    *) echo "setup: unknown option $arg (use --dev and/or --llama)"; exit 2 ;;
  esac
done
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
(( LLAMA )) && want+=(cmake g++ ninja-build)  # llama-cpp-python compiles llama.cpp
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
if (( LLAMA )); then
  echo "==> llama-cpp-python[server] (llama.cpp's OpenAI-compatible server; compiles on first install)"
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "${PIP[@]}" install -c constraints.txt "llama-cpp-python[server]==0.3.36" 2>&1 | grep -v "is ignored" || true
  "$VENV/bin/python" -c "import llama_cpp.server" \
    || { echo "setup: llama-cpp-python did not install (see above)"; exit 1; }
fi
"$VENV/bin/python" -c "import torch, faster_whisper, pyannote.audio, scribe" \
  || { echo "setup: the Python environment is incomplete (see above)"; exit 1; }

# --- models ---------------------------------------------------------------------------
echo "==> models from models.lock"
"$VENV/bin/scribe" models install
(( LLAMA )) && "$VENV/bin/scribe" models install gemma-3-270m-q4
"$VENV/bin/scribe" models list
echo "==> set-up complete"
