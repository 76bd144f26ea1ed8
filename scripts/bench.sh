#!/usr/bin/env bash
# Every benchmark, one after the other: `scripts/bench.sh` (full) or `scripts/bench.sh --quick`.
# Each prints its figures and the ratio to a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for b in parse crawl check alerts web; do
  echo "== bench/bench_$b.py $*"
  .venv/bin/python "bench/bench_$b.py" "$@"
done
