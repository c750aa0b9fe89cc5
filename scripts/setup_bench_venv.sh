#!/usr/bin/env bash
# The benchmark-only environment with senko 0.2.2, the diarization peer (never the product's venv).
#   bash scripts/setup_bench_venv.sh [VENV]      (default .bench-venv)
# senko's wheel ships libfbank_extractor.so built with -march=native on an AVX-512 machine; on a
# CPU without AVX-512 (the 2-core AMD EPYC here) it dies with "Illegal instruction" in its fbank
# step. The same C++ sources from senko's own sdist are then compiled here, with its own flags.
set -euo pipefail
VENV="${1:-.bench-venv}"
PY="$(python3 -c 'import sys; print(sys.executable)')"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install "torch==2.13.0" "senko==0.2.2" pyannote.metrics
if ! grep -q avx512f /proc/cpuinfo; then
  tmp="$(mktemp -d)"
  "$VENV/bin/pip" download "senko==0.2.2" --no-deps --no-binary :all: -d "$tmp"
  tar xzf "$tmp"/senko-0.2.2.tar.gz -C "$tmp"
  src="$tmp/senko-0.2.2/senko/fbank_extractor"
  lib="$("$VENV/bin/python" -c 'import senko, pathlib; print(pathlib.Path(senko.__file__).parent)')/libfbank_extractor.so"
  g++ -O3 -march=native -ffast-math -funroll-loops -std=c++20 -shared -fPIC \
      -I"$src/include" -I"$src/cpp" -I"$src/cpp/feature" $(find "$src/cpp" -name '*.cpp') -o "$lib"
  rm -rf "$tmp"
fi
"$VENV/bin/python" -c "import senko; print('senko', senko.__version__ if hasattr(senko, '__version__') else 'ok')"
