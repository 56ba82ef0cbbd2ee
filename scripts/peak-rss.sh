#!/usr/bin/env bash
# Peak RSS (VmHWM) of every process whose command line matches PATTERN, sampled every
# 2 s while COMMAND runs, e.g. the nodes of a peer benchmark:
#
#   scripts/peak-rss.sh 'cometbft start' ./run.sh
#
# Prints one line per process seen: its pid and its highest VmHWM, in MB (10^6 bytes),
# the unit of `wnode bench`'s "peak RSS/node".
set -euo pipefail
pat=${1:?usage: $0 PATTERN COMMAND [ARGS...]}
shift
"$@" &
cmd=$!
declare -A hwm
while kill -0 "$cmd" 2>/dev/null; do
	for p in $(pgrep -f -- "$pat" || true); do
		[ "$p" = "$$" ] && continue
		h=$(awk '/^VmHWM/{print $2}' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$h" ] && hwm[$p]=$h
	done
	sleep 2
done
wait "$cmd" || true
for p in "${!hwm[@]}"; do echo "pid $p peak RSS $((hwm[$p] * 1024 / 1000000)) MB"; done
