#!/usr/bin/env bash
# The README's run command: set up (idempotent), then the offline demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gkwatch demo "$@"
