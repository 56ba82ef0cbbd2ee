#!/usr/bin/env bash
# Builds every contract of the repository (examples/ and vm/testdata/c/) reproducibly.
#
#   scripts/build-contracts.sh          writes each .wasm next to its source
#   scripts/build-contracts.sh OUTDIR   writes them under OUTDIR/<same relative path>
#
# Needs clang and wasm-ld (LLVM 14), wabt (wasm2wat, wat2wasm, wasm-validate), Debian's
# rustc 1.63 and cargo with the wasm32 standard library (packages: clang lld wabt rustc
# cargo libstd-rust-dev-wasm32), Go, and the AssemblyScript compiler pinned in
# sdk/assemblyscript/package-lock.json (npm ci --prefix sdk/assemblyscript). Rust is always
# /usr/bin/rustc and /usr/bin/cargo: a rustup rustc on PATH usually lacks the
# wasm32-unknown-unknown target. Cargo runs --offline: the SDK has no dependencies.
#
# Every module is linked with fixed flags, then round-tripped through wasm2wat/wat2wasm,
# which drops all custom sections (name, producers, debug info), re-encodes LEB128s
# minimally and lets us drop the __heap_base/__data_end exports that rustc always adds
# and the funcref table wasm-ld always emits, when the code never uses it.
# The metadata section "wnode.meta" (docs/spec/metadata.md), when the source declares
# methods with the SDK's macros, is then copied back from the linker's output, at the end
# of the module (scripts/wasmmeta, built with the repository's Go toolchain).
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
CARGO="${CARGO:-/usr/bin/cargo}"
ASC="$ROOT/sdk/assemblyscript/node_modules/.bin/asc"
if [[ ! -x "$ASC" ]]; then
  echo "build-contracts: $ASC missing: run npm ci --prefix sdk/assemblyscript" >&2
  exit 1
fi
export SOURCE_DATE_EPOCH=0 LC_ALL=C

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
go build -o "$TMP/wasmmeta" ./scripts/wasmmeta

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
  "$TMP/wasmmeta" "$raw" "$dest"
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

# build_cargo DIR NAME: the Cargo project DIR (profile in its Cargo.toml) -> DIR/NAME.wasm
build_cargo() {
  local dir="$1" name="$2"
  (cd "$dir" && CARGO_TARGET_DIR="$TMP/target" RUSTC="$RUSTC" \
    RUSTFLAGS="-C target-cpu=mvp -C link-arg=-zstack-size=65536 -C link-arg=--strip-all -C link-arg=--gc-sections --remap-path-prefix=$ROOT=." \
    "$CARGO" build --quiet --offline --locked --release --target wasm32-unknown-unknown)
  finish "$TMP/target/wasm32-unknown-unknown/release/$name.wasm" "$OUT/$dir/$name.wasm"
}

# The AssemblyScript options every contract needs (sdk/assemblyscript/README.md): the
# SDK's runtime (no start function), abort routed to revert, the metadata transform, and
# WebAssembly MVP only.
ASFLAGS=(--runtime sdk/assemblyscript/assembly/runtime --transform ./sdk/assemblyscript/transform.js
  --use abort=sdk/assemblyscript/assembly/index/wnodeAbort -O3 --shrinkLevel 2 --converge
  --disable mutable-globals,sign-extension,nontrapping-f2i,bulk-memory)

# build_as SRC: SRC.ts -> SRC.wasm
build_as() {
  local src="$1" dest="$OUT/${1%.ts}.wasm"
  "$ASC" "$src" "${ASFLAGS[@]}" -o "$TMP/raw.wasm"
  finish "$TMP/raw.wasm" "$dest"
}

# Each example in C, Rust and AssemblyScript (examples/README.md); the first language
# of each is the one in the example's top directory.
build_c examples/hello/hello.c
build_cargo examples/hello/rust hello
build_as examples/hello/as/hello.ts
build_cargo examples/counter counter
build_c examples/counter/c/counter.c
build_as examples/counter/as/counter.ts
build_c examples/token/token.c
build_cargo examples/token/rust token
build_as examples/token/as/token.ts
build_rust sdk/rust/testdata/sdktest.rs
build_as sdk/assemblyscript/testdata/sdktest.ts
for src in vm/testdata/c/*.c; do
  build_c "$src"
done
