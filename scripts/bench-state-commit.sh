#!/usr/bin/env bash
# Compares state.BenchmarkCommit of two versions of package state on the same 10^6-key tree,
# in one run: the tree is built once by each version (the same keys and values, in each
# version's stored form: the two differ since format 2), then each round copies them and
# runs the old and the new code on their copies, alternating so machine load falls on both
# alike. The old code runs this checkout's bench_test.go (same harness, same blocks). Prints
# benchstat's comparison and each run's peak RSS.
#
#   scripts/bench-state-commit.sh [OLD_REV [ROUNDS [BENCHTIME]]]
#
# OLD_REV defaults to the commit that pinned the roots (before the commit path was
# optimized), ROUNDS to 3, BENCHTIME to 5x. Needs benchstat (golang.org/x/perf/cmd/benchstat)
# and about 2 GiB in $TMPDIR. OLD_TREE=dir and NEW_TREE=dir reuse trees built by an earlier
# run (kept in dir/16 by -state.benchdir dir; only copied, never written) instead of
# building them (3-6 minutes each on a loaded machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="${1:-680a580}"
ROUNDS="${2:-3}"
BENCHTIME="${3:-5x}"
WORK="$(mktemp -d)"
. "$ROOT/scripts/lib.sh"
trap 'remove_worktrees; rm -rf "$WORK"' EXIT

build_test "$OLD" state state/bench_test.go "$WORK/old.test"
build_test "" state "" "$WORK/new.test"

run() { # run BINARY TREE OUT: one benchmark run on a fresh copy of TREE
	rm -rf "$WORK/copy" && mkdir "$WORK/copy" && cp -a "$2/." "$WORK/copy/"
	/usr/bin/time -f "peak RSS %M KiB" -a -o "$3.rss" \
		"$1" -test.run '^$' -test.bench '^BenchmarkCommit$' -test.benchtime "$BENCHTIME" \
		-test.benchmem -state.benchdir "$WORK/copy" >>"$3"
}

build() { # build VERSION REUSE: the tree of VERSION (old or new) in $WORK/VERSION-tree
	if [ -n "$2" ]; then
		ln -s "$(cd "$2" && pwd)" "$WORK/$1-tree" # copied for each run, never written
	else
		echo "building the $1 tree..." >&2
		"$WORK/$1.test" -test.run '^$' -test.bench 'BenchmarkCommit/radix16/writes1000$' -test.benchtime 1x \
			-state.benchdir "$WORK/$1-tree" >/dev/null
	fi
}
build old "${OLD_TREE:-}"
build new "${NEW_TREE:-}"
for i in $(seq "$ROUNDS"); do
	echo "round $i/$ROUNDS" >&2
	run "$WORK/old.test" "$WORK/old-tree" "$WORK/old.txt"
	run "$WORK/new.test" "$WORK/new-tree" "$WORK/new.txt"
done
benchstat "$WORK/old.txt" "$WORK/new.txt"
echo "old: $(tr '\n' ' ' <"$WORK/old.txt.rss")"
echo "new: $(tr '\n' ' ' <"$WORK/new.txt.rss")"
