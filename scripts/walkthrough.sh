#!/usr/bin/env bash
# The long end-to-end tests (marker `walkthrough`), deselected from the default run to keep it short:
# the browser's 20 s network drop, server kill, ended login and second-tab/offline-pause/offline-end recordings in
# real time, a degraded live session getting its labels back, and a whole hearing through the live pass and the second pass alongside it (with a
# kill -9 resume). About 15 minutes on 2 idle cores. Models are installed, never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test.sh -m walkthrough "$@"
