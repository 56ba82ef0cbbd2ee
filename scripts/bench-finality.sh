#!/usr/bin/env bash
# Finality and memory of a 4-validator localnet, old binary against new, interleaved so
# that machine load falls on both alike (issue 15). For each binary and each round: a
# fresh `wnode localnet --nodes 4`, then `wnode bench --localnet` (open loop at RATE tx/s
# for DURATION: submit → final p50/p95, block interval, peak RSS per node, the nodes' CPU
# per finalized tx), then where
# the time of a height goes, from the nodes' "committed" log lines: the median over
# heights of when each step happened, counted from the start of the height on that
# node, for the proposer and for the other validators.
#
#   scripts/bench-finality.sh NEW_WNODE [OLD_WNODE [ROUNDS]]
#
# Binaries are `go build -o X ./cmd/wnode` of the two versions. Env: RATE (1000; 0 for
# the closed-loop ramp, e.g. RATE=0 DURATION=10s BENCH="--txs 150000"), DURATION (20s;
# per step in the closed loop), PORT (28000: RPC on PORT..PORT+3, p2p on PORT+4..PORT+7),
# BENCH (extra `wnode bench` flags), LOCALNET_NEW / LOCALNET_OLD (extra flags of the new /
# old binary's `wnode localnet --init`, which creates the network: e.g.
# LOCALNET_NEW="--consensus.block-interval 25ms" compares two intervals with one binary
# given twice; a restart ignores such flags), WORK (a temporary directory), KEEP (set: keep each
# run's network directory; by default it is removed after the run). Prints the load
# average beside every run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEW="$1"
OLD="${2:-}"
ROUNDS="${3:-2}"
RATE="${RATE:-1000}"
DURATION="${DURATION:-20s}"
PORT="${PORT:-28000}"
WORK="${WORK:-$(mktemp -d)}"
LPID=""
trap '[ -n "$LPID" ] && kill -INT "$LPID" 2>/dev/null; wait 2>/dev/null || true' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }

cpu() { # clock ticks of user+system time of the processes given
	local t=0 p
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# timeline DIR: medians of the steps of a height from the nodes' "committed" lines
# (durations as slog prints them: 850µs, 12.5ms, 1.2s).
timeline() {
	cat "$1"/node*.log | awk '
	function ms(v) {
		if (v ~ /µs$/) return substr(v, 1, length(v)-2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v)-2) + 0
		if (v ~ /ns$/) return substr(v, 1, length(v)-2) / 1e6
		if (v ~ /s$/) return substr(v, 1, length(v)-1) * 1000
		return v + 0
	}
	/msg=committed/ && / took=/ {
		role = "other"
		for (i = 1; i <= NF; i++) if ($i ~ /^build=/ && $i != "build=0s") role = "proposer"
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] ~ /^(took|build|proposal|validated|prevote|precommit|decided|propose|sign|wal|commit|reset|durable)$/ && kv[2] != "0s") {
				n[role, kv[1]]++; v[role, kv[1], n[role, kv[1]]] = ms(kv[2])
			}
		}
	}
	function median(role, k,    m, i, j, t, a) {
		m = n[role, k]; if (m == 0) return "-"
		for (i = 1; i <= m; i++) a[i] = v[role, k, i]
		for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
		return sprintf("%.1f", a[int((m + 1) / 2)])
	}
	END {
		printf "    height timeline, median ms from the height start: %-9s %6s %9s %10s %8s %10s %8s %6s | %7s %6s %6s %6s %6s %7s\n", "", "build", "proposal", "validated", "prevote", "precommit", "decided", "took", "propose", "sign", "wal", "commit", "reset", "durable"
		split("proposer other", roles, " ")
		for (r = 1; r <= 2; r++) {
			printf "    %-58s %6s %9s %10s %8s %10s %8s %6s | %7s %6s %6s %6s %6s %7s\n", roles[r] " (" n[roles[r], "took"] " heights)", median(roles[r], "build"), median(roles[r], "proposal"),
				median(roles[r], "validated"), median(roles[r], "prevote"), median(roles[r], "precommit"), median(roles[r], "decided"), median(roles[r], "took"),
				median(roles[r], "propose"), median(roles[r], "sign"), median(roles[r], "wal"), median(roles[r], "commit"), median(roles[r], "reset"), median(roles[r], "durable")
		}
	}'
}

run() { # run LABEL BINARY ROUND EXTRA_LOCALNET_FLAGS
	local d="$WORK/$1-$3"
	rm -rf "$d"
	# shellcheck disable=SC2086
	"$2" localnet --nodes 4 --datadir "$d" --base-port "$PORT" --init ${4:-} >/dev/null 2>&1
	"$2" localnet --datadir "$d" >"$d.log" 2>&1 &
	LPID=$!
	for _ in $(seq 100); do # until every node serves (the supervisor prints its summary)
		grep -q 'Ctrl-C stops' "$d.log" && break
		sleep 0.3
	done
	echo "== $1${4:+ ($4)}, round $3, $(date -u +%H:%M:%S) UTC, load average $(load)"
	local rate=()
	[ "$RATE" != 0 ] && rate=(--rate "$RATE")
	local lines=5 # open loop: the summary; closed loop: every step
	[ "$RATE" = 0 ] && lines=100
	local pids=() c0
	mapfile -t pids < <(pgrep -f -- "start --datadir $d/node" || true)
	c0=$(cpu "${pids[@]}")
	# shellcheck disable=SC2086
	"$2" bench --localnet "$d" --wasm "$ROOT/examples/counter/counter.wasm" "${rate[@]}" --duration "$DURATION" ${BENCH:-} >"$d.bench" 2>&1 || true
	{ grep -E 'committed|submit|blocks|RSS|maximum|rror' "$d.bench" || true; } | awk -v n="$lines" 'NR <= n'
	# Node CPU per finalized tx: user+system of the four `wnode start` processes over the
	# bench (its setup included), divided by the txs it sent less those rejected or not
	# finalized.
	awk -v c="$(($(cpu "${pids[@]}") - c0))" -v hz="$(getconf CLK_TCK)" -v p="${#pids[@]}" '
		match($0, /sent [0-9]+, rejected [0-9]+, not finalized [0-9]+/) {
			split(substr($0, RSTART, RLENGTH), f, /[^0-9]+/); n = f[2] - f[3] - f[4] }
		END { if (n > 0) printf "    node CPU        %.1f s for %d nodes, %.0f µs per finalized tx\n", c / hz, p, c / hz * 1e6 / n }' "$d.bench"
	kill -INT "$LPID" && wait "$LPID" || true
	LPID=""
	[ "$RATE" != 0 ] && timeline "$d"
	echo "   load average at the end $(load)"
	# Each node's Pebble preallocates its logs: a run leaves hundreds of MB per node.
	[ -n "${KEEP:-}" ] || rm -rf "$d" "$d.log" "$d.bench"
}

for r in $(seq 1 "$ROUNDS"); do
	run new "$NEW" "$r" "${LOCALNET_NEW:-}"
	[ -n "$OLD" ] && run old "$OLD" "$r" "${LOCALNET_OLD:-}"
done
