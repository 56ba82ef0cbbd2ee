#!/usr/bin/env bash
# Peak RSS per node of a 4-validator localnet for several wnode binaries, interleaved so
# that machine load falls on all alike (issue 15). For each round and each binary: a
# fresh `wnode localnet --nodes 4`, then `wnode bench --localnet` (open loop at RATE tx/s
# for DURATION; RATE=0: the closed-loop ramp), printing the bench's summary (committed,
# submit → final, peak RSS per node) and each node's peak RSS (VmHWM), anonymous memory
# (RssAnon) and resident file pages (the binary's mapped code and data, RssFile) at the
# end of the run. RATE=idle runs no load: the nodes' memory DURATION after start, the
# fixed cost of a binary, which the machine's load hardly moves.
#
#   scripts/bench-rss.sh LABEL=WNODE [LABEL=WNODE ...]
#
# e.g. the README's build (`go generate ./ui` first: the dashboard's verifier embedded)
# against a build from `git archive` (no verifier):
#
#   scripts/bench-rss.sh readme=/tmp/wnode-readme archive=/tmp/wnode-archive
#
# Env: ROUNDS (3), RATE (1000; 0 for the closed loop, e.g. RATE=0 DURATION=10s
# BENCH="--txs 150000"; idle), DURATION (20s), PORT (28100: RPC on PORT..PORT+3, p2p on
# PORT+4..PORT+7), BENCH (extra `wnode bench` flags), WORK (a temporary directory,
# removed at the end). Prints the load average beside every run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 LABEL=WNODE [LABEL=WNODE ...]" >&2; exit 2; }
ROUNDS="${ROUNDS:-3}"
RATE="${RATE:-1000}"
DURATION="${DURATION:-20s}"
PORT="${PORT:-28100}"
WORK="${WORK:-$(mktemp -d)}"
LPID=""
trap '[ -n "$LPID" ] && kill -INT "$LPID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }

run() { # run LABEL BINARY ROUND
	local d="$WORK/$1-$3"
	rm -rf "$d"
	"$2" localnet --nodes 4 --datadir "$d" --base-port "$PORT" --init >/dev/null 2>&1
	"$2" localnet --datadir "$d" >"$d.log" 2>&1 &
	LPID=$!
	for _ in $(seq 100); do # until every node serves (the supervisor prints its summary)
		grep -q 'Ctrl-C stops' "$d.log" && break
		sleep 0.3
	done
	local pids
	pids=$(pgrep -f -- "start --datadir $d/node" || true)
	echo "== $1, round $3, $(date -u +%H:%M:%S) UTC, load average $(load)"
	local rate=()
	[ "$RATE" != 0 ] && rate=(--rate "$RATE")
	local lines=5 # open loop: the summary; closed loop: every step
	[ "$RATE" = 0 ] && lines=100
	if [ "$RATE" = idle ]; then
		sleep "$DURATION"
	else
		# shellcheck disable=SC2086
		"$2" bench --localnet "$d" --wasm "$ROOT/examples/counter/counter.wasm" "${rate[@]}" --duration "$DURATION" ${BENCH:-} 2>&1 |
			{ grep -E 'committed|submit|RSS|maximum|rror' || true; } | awk -v n="$lines" 'NR <= n'
	fi
	local p line=""
	for p in $pids; do
		line="$line $(awk '/^VmHWM/{h=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{printf "%.1f/%.1f/%.1f", h*1024/1e6, a*1024/1e6, f*1024/1e6}' "/proc/$p/status" 2>/dev/null)"
	done
	echo "   per node, peak RSS / anonymous / file pages at the end (MB):$line; load average $(load)"
	kill -INT "$LPID" && wait "$LPID" || true
	LPID=""
	rm -rf "$d" "$d.log" # each node's Pebble preallocates its logs: hundreds of MB
}

for r in $(seq 1 "$ROUNDS"); do
	for lb in "$@"; do
		run "${lb%%=*}" "${lb#*=}" "$r"
	done
done
