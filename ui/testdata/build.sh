#!/bin/sh
# Rebuilds every .wasm of this folder from its .wat (needs wabt's wat2wasm).
set -e
cd "$(dirname "$0")"
for f in *.wat; do wat2wasm "$f" -o "${f%.wat}.wasm"; done
