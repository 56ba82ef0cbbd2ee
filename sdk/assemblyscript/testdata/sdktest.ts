// sdktest — exercises every function of the AssemblyScript SDK; run by
// examples/contracts_test.go with the same inputs and expected outputs as the Rust SDK's
// sdk/rust/testdata/sdktest.rs (see its comment for each method's format). One
// difference: `panic` indexes past the input, which AssemblyScript turns into abort, so it
// reverts with "Index out of range" (abort routed to revert with its message).
import * as w from "../assembly/index";

export function echo(): void {
  w.ret(w.input());
}

export function store(): void {
  const inp = w.input();
  if (inp.length == 0 || inp.length - 1 < <i32>inp[0]) w.revert("bad input");
  const key = inp.slice(1, 1 + inp[0]);
  const value = inp.slice(1 + inp[0]);
  w.storageSet(key, value);
  const v = w.storageGet(key);
  if (v === null) w.revert("lost");
  w.ret(v!);
}

export function load(): void {
  const v = w.storageGet(w.input());
  if (v === null) {
    w.ret(u8s(0));
    return;
  }
  w.ret(w.concat(u8s(1), v));
}

// "delete" is a keyword: export the function under that name.
function del(): void {
  w.storageDelete(w.input());
}
export { del as delete };

export function who(): void {
  w.ret(w.concat(w.concat(w.caller(), w.origin()), w.selfAddress()));
}

export function env(): void {
  const out = w.concat(w.concat(w.u64ToBytes(w.blockHeight()), w.u64ToBytes(<u64>w.blockTime())), w.value());
  w.ret(w.concat(out, u8s(w.gasLeft() > 0 ? 1 : 0)));
}

export function hashes(): void {
  const inp = w.input();
  w.ret(w.concat(w.sha256(inp), w.keccak256(inp)));
}

export function recover(): void {
  const inp = w.inputMax(97);
  if (inp.length != 97) w.revert("bad input");
  const a = w.ecrecover(inp.slice(0, 32), inp.slice(32));
  if (a === null) w.ret(u8s(0));
  else w.ret(w.concat(u8s(1), a));
}

export function emit(): void {
  w.emit(w.utf8("sdk"), w.input());
}

export function call(): void {
  const inp = w.input();
  if (inp.length < 21 || inp.length - 21 < <i32>inp[20]) w.revert("bad input");
  const to = inp.slice(0, 20);
  const method = w.text(inp.slice(21, 21 + inp[20]));
  const args = inp.slice(21 + inp[20]);
  const r = w.call(to, method, args, w.amountFromU64(0), 0);
  if (r.status == 0) {
    w.ret(w.concat(u8s(0), r.output));
    return;
  }
  w.ret(w.concat(w.concat(u8s(1), be32(<u32>r.status)), r.output));
}

export function amounts(): void {
  const inp = w.inputMax(64);
  if (inp.length != 64) w.revert("bad input");
  const a = inp.slice(0, 32), b = inp.slice(32);
  const ones = new Uint8Array(32);
  ones.fill(0xff);
  const s = w.amountAdd(a, b);
  const d = w.amountSub(a, b);
  w.ret(w.concat(s === null ? ones : s, d === null ? ones : d));
}

export function alloc(): void {
  const inp = w.inputMax(4);
  if (inp.length != 4) w.revert("bad input");
  const n = (<i32>inp[0] << 24) | (<i32>inp[1] << 16) | (<i32>inp[2] << 8) | <i32>inp[3];
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  let ok = a.dataStart + <usize>n <= b.dataStart && a.dataStart % 8 == 0 && b.dataStart % 8 == 0;
  for (let i = 0; i < n; i++) if (a[i] != 0 || b[i] != 0) ok = false;
  a.fill(1);
  for (let i = 0; i < n; i++) if (b[i] != 0) ok = false;
  w.ret(w.concat(be32(<u32>a.length), u8s(ok ? 1 : 0)));
}

export function panic(): void {
  const inp = w.input();
  w.ret(u8s(inp[inp.length]));
}

export function fail(): void {
  w.revertBytes(w.input());
}

export function transfer(): void {
  const inp = w.inputMax(52);
  if (inp.length != 52) w.revert("bad input");
  const s = w.transfer(inp.slice(0, 20), inp.slice(20));
  if (s == 0) {
    w.ret(u8s(0));
    return;
  }
  w.ret(w.concat(u8s(1), be32(<u32>s)));
}

export function balance(): void {
  const inp = w.inputMax(20);
  if (inp.length != 20) w.revert("bad input");
  w.ret(w.balance(inp));
}

function u8s(b: u8): Uint8Array {
  const a = new Uint8Array(1);
  a[0] = b;
  return a;
}

function be32(v: u32): Uint8Array {
  const a = new Uint8Array(4);
  a[0] = <u8>(v >> 24);
  a[1] = <u8>(v >> 16);
  a[2] = <u8>(v >> 8);
  a[3] = <u8>v;
  return a;
}
