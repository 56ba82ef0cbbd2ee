#!/bin/sh
# Rebuilds contract.wasm from contract.c (clang with the wasm32 target and wasm-ld).
set -eu
cd "$(dirname "$0")"
clang --target=wasm32 -O2 -nostdlib -mbulk-memory -msign-ext -mnontrapping-fptoint \
	-Wl,--no-entry -Wl,--initial-memory=131072 -Wl,-z,stack-size=65536 \
	-Wl,--strip-all -o contract.wasm contract.c
