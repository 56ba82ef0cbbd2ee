#!/usr/bin/env bash
# Compares metering's cost (vm.BenchmarkMeteringOverhead and vm.BenchmarkMeteringLayouts:
# metered against raw wazero on the loop, sha256 and insertion-sort contracts) of two
# versions of the instrumentation, in one run: the old and the new test binaries are
# built once, then run alternately ROUNDS times so machine load falls on both alike.
# Read x-tuned (one layout, metered VM call against tuned raw wazero) and x-layouts (the
# instrumented module against the original, averaged over 16 code layouts; see
# docs/rationale/vm-prepare.md, "Code layout"). Each run also prints its CPU time (user, sys).
#
#   scripts/bench-metering.sh [OLD_REV [ROUNDS [BENCHTIME]]]
#
# OLD_REV defaults to 476be39, main at the end of session 6 (vm.Version 6: the gas in a
# local, each charge at its block's start); 17b3a99 is the last commit with the gas in
# the global (version 5). ROUNDS defaults to 2, BENCHTIME to 60x. The old binary runs this checkout's vm/layout_bench_test.go.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="${1:-476be39}"
ROUNDS="${2:-2}"
BENCHTIME="${3:-60x}"
WORK="$(mktemp -d)"
. "$ROOT/scripts/lib.sh"
trap 'remove_worktrees; rm -rf "$WORK"' EXIT

build_test "$OLD" vm vm/layout_bench_test.go "$WORK/old.test"
build_test "" vm "" "$WORK/new.test"

for r in $(seq "$ROUNDS"); do
	for v in old new; do
		echo "== $v ($([ $v = old ] && echo "$OLD" || git -C "$ROOT" rev-parse --short HEAD)), round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
		TIMEFORMAT="   (this run: %U s user, %S s sys CPU, %R s wall)"
		time (cd "$ROOT/vm" && "$WORK/$v.test" -test.run '^$' \
			-test.bench 'BenchmarkMeteringOverhead|BenchmarkMeteringLayouts' -test.benchtime "$BENCHTIME" |
			grep '^Benchmark')
	done
done
