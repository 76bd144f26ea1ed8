#!/usr/bin/env bash
# Every benchmark, one after the other: `scripts/bench.sh` (full) or `scripts/bench.sh --quick`.
# Each prints its figures and the ratio to a baseline measured in the same run. bench_workers needs
# PostgreSQL (GKWATCH_TEST_PG, default 127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for b in parse reparse ocr crawl workers check alerts web; do
  echo "== bench/bench_$b.py $*"
  .venv/bin/python "bench/bench_$b.py" "$@"
done
