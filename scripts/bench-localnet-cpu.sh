#!/usr/bin/env bash
# CPU per committed tx of a 4-validator localnet under a closed-loop load, beside the
# committed rate: the figure of merit for throughput work on a shared machine, where the
# wall-clock rate moves with other load but the nodes' CPU seconds per tx do not (much).
#
#   scripts/bench-localnet-cpu.sh BINARY [BASE_PORT] [INFLIGHT] [DURATION]
#
# Creates a fresh localnet in a temporary directory, starts it, runs
# `wnode bench --localnet` with one closed-loop step (INFLIGHT txs in flight, default
# 4000, for DURATION, default 20s), and prints the user+system CPU seconds the four node
# processes spent during the bench (setup included), the txs committed, their ratio
# in µs per tx, and the load average. Extra bench flags can be given in BENCH_FLAGS.
set -euo pipefail
bin=${1:?usage: $0 BINARY [BASE_PORT] [INFLIGHT] [DURATION]}
port=${2:-27000}
inflight=${3:-4000}
dur=${4:-20s}
dir=$(mktemp -d /tmp/wnode-cpu.XXXXXX)
here=$(cd "$(dirname "$0")/.." && pwd)
"$bin" localnet --nodes 4 --datadir "$dir/net" --base-port "$port" --init >/dev/null
"$bin" localnet --datadir "$dir/net" ${LOCALNET_FLAGS:-} >"$dir/localnet.log" 2>&1 &
sup=$!
trap 'kill $sup 2>/dev/null; wait $sup 2>/dev/null; rm -rf "$dir"' EXIT
# The node processes: `wnode start --datadir DIR/netI`.
pids=()
for _ in $(seq 100); do
	mapfile -t pids < <(pgrep -f -- "start --datadir $dir/net/node" || true)
	[ "${#pids[@]}" -eq 4 ] && break
	sleep 0.2
done
[ "${#pids[@]}" -eq 4 ] || { echo "nodes did not start"; cat "$dir/localnet.log"; exit 1; }
cpu() { # clock ticks of user+system time of the node processes
	local t=0 p
	for p in "${pids[@]}"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
sleep 2
c0=$(cpu)
"$bin" bench --localnet "$dir/net" --wasm "$here/examples/counter/counter.wasm" \
	--inflight "$inflight" --duration "$dur" --txs "${TXS:-150000}" ${BENCH_FLAGS:-} > >(tee "$dir/bench.log") 2>&1 &
bench=$!
# The bench's own CPU while it loads the network (from its first closed-loop line on;
# signing comes before).
b0=
while kill -0 $bench 2>/dev/null; do
	if [ -z "$b0" ] && grep -q '^closed loop:' "$dir/bench.log"; then
		b0=$(awk '{print $14 + $15}' /proc/$bench/stat)
		l0=$(cpu)
	fi
	[ -n "$b0" ] && b1=$(awk '{print $14 + $15}' /proc/$bench/stat 2>/dev/null || echo "$b1")
	sleep 0.5
done
wait $bench
c1=$(cpu)
hz=$(getconf CLK_TCK)
# Committed increments: sent, less rejected and not finalized (the bench checks the
# counter moved by exactly that).
txs=$(sed -nE 's/^sent ([0-9]+), rejected ([0-9]+), not finalized ([0-9]+).*/\1 \2 \3/p' "$dir/bench.log" |
	awk '{print $1 - $2 - $3}')
awk -v c="$((c1 - c0))" -v hz="$hz" -v n="${txs:-0}" 'BEGIN {
	s = c / hz; printf "node CPU %.1f s, committed %d txs", s, n
	if (n > 0) printf ", %.0f µs of node CPU per tx (4 nodes)", s * 1e6 / n
	printf "\n" }'
awk -v b="$((b1 - b0))" -v l="$((c1 - l0))" -v hz="$hz" -v n="${txs:-0}" 'BEGIN {
	printf "during the load: node CPU %.1f s, bench client CPU %.1f s", l / hz, b / hz
	if (n > 0) printf " (%.0f µs per tx)", b / hz * 1e6 / n
	printf "\n" }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
