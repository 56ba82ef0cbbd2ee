// The wnode contract SDK for AssemblyScript: contract ABI v1 (docs/spec/abi.md) as typed
// functions. Byte strings are Uint8Array; addresses are 20 bytes, amounts and hashes 32
// bytes, numbers big-endian. Memory comes from AssemblyScript's stub runtime (a bump
// allocator that never frees: a call's instance lives for one call).
//
// A method is an exported function of type () => void, with a // @wnode comment that the
// SDK's transform (transform.js) turns into the method's metadata record
// (docs/spec/metadata.md):
//
//   // @wnode view text text Returns hello, NAME.
//   export function hello(): void { ret(input()); }

// ---- raw host imports -------------------------------------------------------------------

@external("wnode", "input_size") declare function input_size(): i32;
@external("wnode", "input_read") declare function input_read(ptr: usize): void;
@external("wnode", "return_data") declare function return_data(ptr: usize, len: i32): void;
@external("wnode", "revert") declare function revert_raw(ptr: usize, len: i32): void;
@external("wnode", "storage_read") declare function storage_read(k: usize, kl: i32, v: usize, vcap: i32): i64;
@external("wnode", "storage_write") declare function storage_write(k: usize, kl: i32, v: usize, vl: i32): void;
@external("wnode", "storage_delete") declare function storage_delete(k: usize, kl: i32): void;
@external("wnode", "caller") declare function caller_raw(out: usize): void;
@external("wnode", "origin") declare function origin_raw(out: usize): void;
@external("wnode", "self_address") declare function self_address_raw(out: usize): void;
@external("wnode", "value") declare function value_raw(out: usize): void;
@external("wnode", "balance") declare function balance_raw(addr: usize, out: usize): void;
@external("wnode", "transfer") declare function transfer_raw(addr: usize, amount: usize): i32;
@external("wnode", "block_height") declare function block_height(): i64;
@external("wnode", "block_time") declare function block_time(): i64;
@external("wnode", "emit") declare function emit_raw(t: usize, tl: i32, d: usize, dl: i32): void;
@external("wnode", "call") declare function call_raw(addr: usize, m: usize, ml: i32, a: usize, al: i32, value: usize, gas: i64): i32;
@external("wnode", "result_size") declare function result_size(): i32;
@external("wnode", "result_read") declare function result_read(ptr: usize): void;
@external("wnode", "sha256") declare function sha256_raw(p: usize, l: i32, out: usize): void;
@external("wnode", "keccak256") declare function keccak256_raw(p: usize, l: i32, out: usize): void;
@external("wnode", "ecrecover") declare function ecrecover_raw(hash: usize, sig: usize, out: usize): i32;
@external("wnode", "gas_left") declare function gas_left_raw(): i64;
@external("wnode", "log") declare function log_raw(p: usize, l: i32): void;

// ---- sizes ------------------------------------------------------------------------------

export const ADDRESS_LEN: i32 = 20;
export const AMOUNT_LEN: i32 = 32;
export const HASH_LEN: i32 = 32;
export const SIGNATURE_LEN: i32 = 65;

// ---- bytes and text ---------------------------------------------------------------------

/** The UTF-8 bytes of s. */
export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** s decoded as UTF-8. */
export function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

/** The concatenation of a and b. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Whether a and b hold the same bytes. */
export function equal(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return memory.compare(a.dataStart, b.dataStart, a.length) == 0;
}

/** v as 8 bytes big-endian. */
export function u64ToBytes(v: u64): Uint8Array {
  const out = new Uint8Array(8);
  store<u64>(out.dataStart, bswap<u64>(v));
  return out;
}

/** The u64 of 8 big-endian bytes (reverts "bad input" on another length). */
export function bytesToU64(b: Uint8Array): u64 {
  if (b.length != 8) revert("bad input");
  return bswap<u64>(load<u64>(b.dataStart));
}

// ---- input, output, revert --------------------------------------------------------------

/** The call's argument bytes. */
export function input(): Uint8Array {
  const n = input_size();
  const b = new Uint8Array(n);
  if (n > 0) input_read(b.dataStart);
  return b;
}

/** The call's argument bytes, reverting with "input too long" when there are more than max. */
export function inputMax(max: i32): Uint8Array {
  if (input_size() > max) revert("input too long");
  return input();
}

/** The call's argument as UTF-8 text. */
export function inputText(): string {
  return text(input());
}

/** Sets the method's output. */
export function ret(data: Uint8Array): void {
  return_data(data.dataStart, data.length);
}

/** Sets the method's output to the UTF-8 bytes of s. */
export function retText(s: string): void {
  ret(utf8(s));
}

/** Aborts the call with msg: every change of this call is undone. Never returns. */
export function revert(msg: string): void {
  const b = utf8(msg);
  revert_raw(b.dataStart, b.length);
  unreachable();
}

/** Aborts the call with a binary message. Never returns. */
export function revertBytes(msg: Uint8Array): void {
  revert_raw(msg.dataStart, msg.length);
  unreachable();
}

/**
 * AssemblyScript's abort (failed assert, array index out of range, explicit throw),
 * routed to revert with the message; asconfig.json sets --use abort=this.
 */
export function wnodeAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  revert(message !== null ? message : "abort");
}

// ---- storage ----------------------------------------------------------------------------

/** The value under key in this contract's storage, or null when absent. */
export function storageGet(key: Uint8Array): Uint8Array | null {
  let buf = new Uint8Array(64);
  const n = storage_read(key.dataStart, key.length, buf.dataStart, buf.length);
  if (n < 0) return null;
  if (n <= 64) return buf.subarray(0, <i32>n);
  buf = new Uint8Array(<i32>n);
  storage_read(key.dataStart, key.length, buf.dataStart, buf.length);
  return buf;
}

/** Whether key has a value, without copying it. */
export function storageHas(key: Uint8Array): bool {
  return storage_read(key.dataStart, key.length, 0, 0) >= 0;
}

/** Writes value under key. */
export function storageSet(key: Uint8Array, value: Uint8Array): void {
  storage_write(key.dataStart, key.length, value.dataStart, value.length);
}

/** Deletes key (a no-op when absent). */
export function storageDelete(key: Uint8Array): void {
  storage_delete(key.dataStart, key.length);
}

// ---- context ----------------------------------------------------------------------------

/** The immediate caller: the transaction signer, or the calling contract. */
export function caller(): Uint8Array {
  const a = new Uint8Array(ADDRESS_LEN);
  caller_raw(a.dataStart);
  return a;
}

/** The transaction signer. */
export function origin(): Uint8Array {
  const a = new Uint8Array(ADDRESS_LEN);
  origin_raw(a.dataStart);
  return a;
}

/** This contract's address. */
export function selfAddress(): Uint8Array {
  const a = new Uint8Array(ADDRESS_LEN);
  self_address_raw(a.dataStart);
  return a;
}

/** The height of the block being executed or queried. */
export function blockHeight(): u64 {
  return <u64>block_height();
}

/** The time of the block being executed or queried, unix milliseconds. */
export function blockTime(): i64 {
  return block_time();
}

/** The gas left to this call. */
export function gasLeft(): u64 {
  return <u64>gas_left_raw();
}

/** Writes msg to the node's log (debugging; costs gas like any host call). */
export function log(msg: string): void {
  const b = utf8(msg);
  log_raw(b.dataStart, b.length);
}

/** Emits the event {this contract, topic, data} into the receipt. */
export function emit(topic: Uint8Array, data: Uint8Array): void {
  emit_raw(topic.dataStart, topic.length, data.dataStart, data.length);
}

// ---- native coin ------------------------------------------------------------------------

/** The value (32 bytes) attached to this call. */
export function value(): Uint8Array {
  const a = new Uint8Array(AMOUNT_LEN);
  value_raw(a.dataStart);
  return a;
}

/** The balance (32 bytes) of addr. */
export function balance(addr: Uint8Array): Uint8Array {
  const a = new Uint8Array(AMOUNT_LEN);
  balance_raw(addr.dataStart, a.dataStart);
  return a;
}

/** Sends amount (32 bytes) from this contract to `to`; returns the host's status (0: done). */
export function transfer(to: Uint8Array, amount: Uint8Array): i32 {
  return transfer_raw(to.dataStart, amount.dataStart);
}

// ---- calls ------------------------------------------------------------------------------

/** The outcome of call: status 0 and the callee's output, or its failure status and data. */
export class CallResult {
  constructor(public status: i32, public output: Uint8Array) {}
}

/**
 * Calls method of the contract at `to` with args, attaching value (32 bytes) and at most
 * gas (0: all the host allows). A failed callee's changes are undone; this contract goes on.
 */
export function call(to: Uint8Array, method: string, args: Uint8Array, value: Uint8Array, gas: u64): CallResult {
  const m = utf8(method);
  const status = call_raw(to.dataStart, m.dataStart, m.length, args.dataStart, args.length, value.dataStart, <i64>gas);
  const out = new Uint8Array(result_size());
  if (out.length > 0) result_read(out.dataStart);
  return new CallResult(status, out);
}

// ---- crypto -----------------------------------------------------------------------------

/** SHA-256 of data. */
export function sha256(data: Uint8Array): Uint8Array {
  const h = new Uint8Array(HASH_LEN);
  sha256_raw(data.dataStart, data.length, h.dataStart);
  return h;
}

/** Keccak-256 of data. */
export function keccak256(data: Uint8Array): Uint8Array {
  const h = new Uint8Array(HASH_LEN);
  keccak256_raw(data.dataStart, data.length, h.dataStart);
  return h;
}

/** The address that signed hash (32 bytes) with sig (65 bytes, R||S||V), or null. */
export function ecrecover(hash: Uint8Array, sig: Uint8Array): Uint8Array | null {
  if (hash.length != HASH_LEN || sig.length != SIGNATURE_LEN) return null;
  const a = new Uint8Array(ADDRESS_LEN);
  return ecrecover_raw(hash.dataStart, sig.dataStart, a.dataStart) == 0 ? a : null;
}

// ---- amounts (32-byte big-endian unsigned) ----------------------------------------------

/** The 32-byte amount of v. */
export function amountFromU64(v: u64): Uint8Array {
  const a = new Uint8Array(AMOUNT_LEN);
  store<u64>(a.dataStart + 24, bswap<u64>(v));
  return a;
}

/** a + b, or null on overflow past 2^256 - 1. */
export function amountAdd(a: Uint8Array, b: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(AMOUNT_LEN);
  let carry: u32 = 0;
  for (let i = AMOUNT_LEN - 1; i >= 0; i--) {
    const s = <u32>a[i] + <u32>b[i] + carry;
    out[i] = <u8>s;
    carry = s >> 8;
  }
  return carry == 0 ? out : null;
}

/** a - b, or null when b > a. */
export function amountSub(a: Uint8Array, b: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(AMOUNT_LEN);
  let borrow: i32 = 0;
  for (let i = AMOUNT_LEN - 1; i >= 0; i--) {
    let d = <i32>a[i] - <i32>b[i] - borrow;
    borrow = 0;
    if (d < 0) {
      d += 256;
      borrow = 1;
    }
    out[i] = <u8>d;
  }
  return borrow == 0 ? out : null;
}

/** Whether a is zero. */
export function amountIsZero(a: Uint8Array): bool {
  for (let i = 0; i < a.length; i++) if (a[i] != 0) return false;
  return true;
}
