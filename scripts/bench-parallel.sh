#!/usr/bin/env bash
# Parallel block execution (issue 15): BenchmarkParallelExec of package chain, 5,000
# token transfers executed on 1 worker and on 2 (GOMAXPROCS 2), alternately in the same
# loop; independent transfers and half of them to one hot recipient. Optionally against
# an older commit of the repository, the two test binaries run in turn so that machine
# load falls on both alike. Prints the load average beside every run.
#
#   scripts/bench-parallel.sh [BASE_REV [ROUNDS]]
#
# BASE_REV is a commit whose chain/bench_test.go is replaced by this one's (from 86aa7a2
# on; 531683c is the one before the changes of docs/rationale/parallel-exec.md's
# session 5). Env: BENCHTIME (5x),
# COUNT (3), CPU (2: GOMAXPROCS; 1 shows the parallel path's overhead alone; a list such
# as "2 1" runs each in turn within every round), GOGC (unset: 100; a node runs at 50).
# Per run and block kind: speedup (median of the pairs' wall ratios), cpu-ratio (median
# of the pairs' 2-worker/1-worker CPU time ratios), the wall and CPU ms per block of
# each, the bytes allocated and the minor page faults per block of each.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${1:-}"
ROUNDS="${2:-3}"
BENCHTIME="${BENCHTIME:-5x}"
COUNT="${COUNT:-3}"
CPU="${CPU:-2}"
WORK="$(mktemp -d)"
. "$ROOT/scripts/lib.sh"
trap 'remove_worktrees; rm -rf "$WORK"' EXIT

build_test "" chain "" "$WORK/new.test"
bins=("$WORK/new.test")
if [ -n "$BASE" ]; then
	build_test "$BASE" chain chain/bench_test.go "$WORK/base.test"
	bins=("$WORK/base.test" "$WORK/new.test")
fi

for round in $(seq "$ROUNDS"); do
	for cpu in $CPU; do
		for bin in "${bins[@]}"; do
			echo "== $(basename "$bin" .test) round $round, GOMAXPROCS $cpu, load average $(cut -d' ' -f1-3 /proc/loadavg)"
			(cd "$ROOT/chain" && "$bin" -test.run XXX -test.bench BenchmarkParallelExec \
				-test.benchtime "$BENCHTIME" -test.count "$COUNT" -test.cpu "$cpu") | grep '^BenchmarkParallelExec' |
				awk '{printf "%s", $1; for (i = 3; i <= NF; i += 2) printf "  %s=%s", $(i+1), $i; print ""}'
		done
	done
done
