#!/usr/bin/env bash
# Checks the committed contract binaries:
#   1. rebuilding every contract (scripts/build-contracts.sh) into a temporary directory
#      gives byte-identical .wasm files, and no committed .wasm lacks a source;
#   2. each module follows Contract ABI v1 as far as a static look can tell: imports only
#      from module "wnode", exports "memory" and functions of type () -> () only, no start
#      function, no custom section but the metadata (wnode.meta), MVP instructions only (no bulk memory, saturating
#      truncation, SIMD, reference types), and no floats at all in examples/.
# Exits non-zero with a message naming the file on the first kind of failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

"$ROOT/scripts/build-contracts.sh" "$TMP/out" >/dev/null

fail=0
err() {
  echo "check-contracts: $*" >&2
  fail=1
}

mapfile -t built < <(cd "$TMP/out" && find . -name '*.wasm' | sed 's|^\./||' | sort)
mapfile -t committed < <(git ls-files -- 'examples/*.wasm' 'vm/testdata/c/*.wasm' 'sdk/*.wasm' | sort)

for f in "${built[@]}"; do
  if [[ ! -f "$f" ]]; then
    err "$f: missing (run scripts/build-contracts.sh and commit it)"
  elif ! cmp -s "$f" "$TMP/out/$f"; then
    err "$f: differs from a fresh build (run scripts/build-contracts.sh and commit it)"
  fi
done
for f in "${committed[@]}"; do
  [[ -f "$TMP/out/$f" ]] || err "$f: committed but built from no source"
done

for f in "${built[@]}"; do
  m="$TMP/out/$f"
  details="$(wasm-objdump -x "$m")"
  code="$(wasm-objdump -d "$m")"

  if grep -q '^Start' <<<"$details"; then err "$f: has a start function"; fi
  if wasm-objdump -h "$m" | grep '^ *Custom' | grep -vq '"wnode.meta"$'; then
    err "$f: has custom sections other than wnode.meta"
  fi

  # Import lines look like: " - func[0] sig=0 <wnode.input_size> <- wnode.input_size".
  while read -r line; do
    [[ "$line" =~ \<-\ wnode\.[a-z0-9_]+$ ]] || err "$f: import not from wnode: $line"
    [[ "$line" =~ ^-\ func ]] || err "$f: import is not a function: $line"
  done < <(sed -n '/^Import\[/,/^[A-Z]/p' <<<"$details" | grep '^ - ' || true)

  # Exports: memory "memory" and functions of type () -> nil.
  mapfile -t types < <(sed -n '/^Type\[/,/^[A-Z]/p' <<<"$details" | grep '^ - type' || true)
  mapfile -t funcs < <(sed -n '/^Function\[/,/^[A-Z]/p' <<<"$details" | grep '^ - func' || true)
  have_memory=0
  while read -r line; do
    if [[ "$line" =~ ^-\ memory\[0\]\ -\>\ \"memory\"$ ]]; then
      have_memory=1
    elif [[ "$line" =~ ^-\ func\[([0-9]+)\].*-\>\ \"([^\"]+)\"$ ]]; then
      idx="${BASH_REMATCH[1]}" name="${BASH_REMATCH[2]}"
      sig="$(printf '%s\n' "${funcs[@]}" | grep -E "^ - func\[$idx\] " | sed -E 's/.*sig=([0-9]+).*/\1/')"
      t="$(printf '%s\n' "${types[@]}" | grep -E "^ - type\[$sig\] " || true)"
      [[ "$t" == *"() -> nil" ]] || err "$f: export $name has type ${t#* - type\[$sig\] }"
    else
      err "$f: unexpected export: $line"
    fi
  done < <(sed -n '/^Export\[/,/^[A-Z]/p' <<<"$details" | grep '^ - ' || true)
  [[ $have_memory == 1 ]] || err "$f: does not export memory as \"memory\""

  if grep -Eq '\| (memory\.(copy|fill|init)|data\.drop|[a-z0-9]+\.trunc_sat|v128|[a-z0-9]+x[0-9]+\.|ref\.|table\.)' <<<"$code"; then
    err "$f: uses instructions beyond Wasm MVP"
  fi
  if [[ "$f" == examples/* ]] && grep -Eq '\| f(32|64)\.' <<<"$code"; then
    err "$f: an example must not use floats"
  fi
done

if [[ $fail != 0 ]]; then
  exit 1
fi
echo "check-contracts: ${#built[@]} contracts reproducible and ABI v1 conformant"
