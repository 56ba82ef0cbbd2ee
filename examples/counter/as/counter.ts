// counter — examples/counter written with the AssemblyScript SDK; behaves exactly like the
// Rust and C versions. State: key "count" holds a u64 as 8 bytes big-endian (absent = 0).
import { bytesToU64, ret, revert, storageGet, storageSet, u64ToBytes, utf8 } from "../../../sdk/assemblyscript/assembly/index";

const KEY = "count";

function load(): u64 {
  const v = storageGet(utf8(KEY));
  if (v === null) return 0;
  if (v.length != 8) revert("corrupt count");
  return bytesToU64(v);
}

// @wnode change none u64 Adds one to the count and returns it.
export function increment(): void {
  const n = load();
  if (n == u64.MAX_VALUE) revert("overflow");
  const b = u64ToBytes(n + 1);
  storageSet(utf8(KEY), b);
  ret(b);
}

// @wnode view none u64 Returns the count.
export function get(): void {
  ret(u64ToBytes(load()));
}
