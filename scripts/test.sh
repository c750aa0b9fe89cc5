#!/usr/bin/env bash
# Set up (with test extras) and run the test suite. Models are installed, never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"
