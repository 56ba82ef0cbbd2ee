#!/usr/bin/env bash
# Builds every contract of the repository (examples/ and vm/testdata/c/) reproducibly.
#
#   scripts/build-contracts.sh          writes each .wasm next to its source
#   scripts/build-contracts.sh OUTDIR   writes them under OUTDIR/<same relative path>
#
# Needs clang and wasm-ld (LLVM 14), wabt (wasm2wat, wat2wasm, wasm-validate) and Debian's
# rustc 1.63 with the wasm32 standard library (packages: clang lld wabt rustc
# libstd-rust-dev-wasm32). Rust is always /usr/bin/rustc: a rustup rustc on PATH usually
# lacks the wasm32-unknown-unknown target.
#
# Every module is linked with fixed flags, then round-tripped through wasm2wat/wat2wasm,
# which drops all custom sections (name, producers, debug info), re-encodes LEB128s
# minimally and lets us drop the __heap_base/__data_end exports that rustc always adds
# and the funcref table wasm-ld always emits, when the code never uses it.
# The output depends only on the sources and the toolchain versions, not on the
# checkout's path or the time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"

CLANG="${CLANG:-clang}"
RUSTC="${RUSTC:-/usr/bin/rustc}"
export SOURCE_DATE_EPOCH=0 LC_ALL=C

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# MVP Wasm only (-mcpu=mvp: no sign-ext, bulk memory, SIMD, ...); no libc; 64 KiB stack
# placed below the data so that an overflow traps instead of corrupting data.
CFLAGS=(--target=wasm32-unknown-unknown -mcpu=mvp -O2 -std=c11 -ffreestanding -nostdlib
  -fno-ident -Wall -Wextra -Werror -ffile-prefix-map="$ROOT"=. -I sdk/c)
LDFLAGS=(-Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=65536 -Wl,--strip-all
  -Wl,--gc-sections)
RUSTFLAGS=(--edition 2021 --target wasm32-unknown-unknown -C opt-level=s -C codegen-units=1
  -C debuginfo=0 -C panic=abort -C target-cpu=mvp --remap-path-prefix="$ROOT"=.)

# finish RAW DEST: minimal re-encoding without custom sections or toolchain exports.
finish() {
  local raw="$1" dest="$2"
  mkdir -p "$(dirname "$dest")"
  wasm2wat "$raw" -o "$TMP/m.wat"
  local drop='^ *\(export "__(heap_base|data_end)" \(global [0-9]+\)\)$'
  # wasm-ld always emits a funcref table; drop it when nothing uses it.
  if ! grep -Eq 'call_indirect|\(elem|table\.' "$TMP/m.wat"; then
    drop="$drop|^ *\(table \(;0;\) [0-9]+ [0-9]+ funcref\)$"
  fi
  grep -Ev "$drop" "$TMP/m.wat" >"$TMP/m2.wat" || true
  wat2wasm "$TMP/m2.wat" -o "$dest"
  wasm-validate "$dest"
  echo "built $(realpath --relative-to="$OUT" "$dest") ($(wc -c <"$dest") bytes)"
}

# build_c SRC: SRC.c -> SRC.wasm
build_c() {
  local src="$1" dest="$OUT/${1%.c}.wasm"
  "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$TMP/raw.wasm" "$src"
  finish "$TMP/raw.wasm" "$dest"
}

# The Rust SDK, built once as an rlib, then each Rust contract as a cdylib.
"$RUSTC" "${RUSTFLAGS[@]}" --crate-type rlib --crate-name wnode sdk/rust/src/lib.rs \
  -o "$TMP/libwnode.rlib"

# build_rust SRC: SRC.rs -> SRC.wasm
build_rust() {
  local src="$1" dest="$OUT/${1%.rs}.wasm"
  # -C lto lets LLVM see that the panic handler ignores its message, so libcore's
  # formatting code is not linked in through bounds checks.
  "$RUSTC" "${RUSTFLAGS[@]}" --crate-type cdylib -C lto --extern wnode="$TMP/libwnode.rlib" \
    -C link-arg=-zstack-size=65536 -C link-arg=--strip-all -C link-arg=--gc-sections \
    -o "$TMP/raw.wasm" "$src"
  finish "$TMP/raw.wasm" "$dest"
}

build_c examples/hello/hello.c
build_rust examples/counter/counter.rs
build_rust sdk/rust/testdata/sdktest.rs
build_c examples/token/token.c
for src in vm/testdata/c/*.c; do
  build_c "$src"
done
