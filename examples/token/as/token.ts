// token — examples/token written with the AssemblyScript SDK; behaves exactly like
// token.c (same outputs, events, storage keys and revert messages). See ../README.md.
import {
  amountAdd, amountFromU64, amountIsZero, amountSub, bytesToU64, caller, concat, emit,
  inputMax, ret, revert, storageDelete, storageGet, storageHas, storageSet, utf8,
} from "../../../sdk/assemblyscript/assembly/index";

const SUPPLY_KEY = "supply";
const TOPIC = "transfer";

/** Parses an 8- or 32-byte big-endian amount. */
function parseAmount(b: Uint8Array): Uint8Array {
  if (b.length == 8) return amountFromU64(bytesToU64(b));
  if (b.length != 32) revert("bad input");
  return b;
}

function balanceKey(addr: Uint8Array): Uint8Array {
  const k = new Uint8Array(21);
  k[0] = 0x62; // 'b'
  k.set(addr, 1);
  return k;
}

/** Reads a 32-byte amount under key (zero when absent). */
function loadAmount(key: Uint8Array): Uint8Array {
  const v = storageGet(key);
  if (v === null) return new Uint8Array(32);
  if (v.length != 32) revert("corrupt amount");
  return v;
}

function storeBalance(addr: Uint8Array, bal: Uint8Array): void {
  if (amountIsZero(bal)) storageDelete(balanceKey(addr));
  else storageSet(balanceKey(addr), bal);
}

function emitTransfer(from: Uint8Array, to: Uint8Array, amount: Uint8Array): void {
  emit(utf8(TOPIC), concat(concat(from, to), amount));
}

// @wnode change u256 none Mints the whole supply (the input) to the deployer.
export function init(): void {
  const amount = parseAmount(inputMax(32));
  if (storageHas(utf8(SUPPLY_KEY))) revert("already initialized");
  const owner = caller();
  storageSet(utf8(SUPPLY_KEY), amount);
  storeBalance(owner, amount);
  emitTransfer(new Uint8Array(20), owner, amount);
}

// @wnode change bytes none Moves an amount to an address: input to (20 bytes) then amount (8 or 32 bytes).
export function transfer(): void {
  const input = inputMax(52);
  if (input.length < 20) revert("bad input");
  const to = input.slice(0, 20);
  const amount = parseAmount(input.slice(20));
  const from = caller();

  const debited = amountSub(loadAmount(balanceKey(from)), amount);
  if (debited === null) revert("insufficient balance");
  storeBalance(from, debited!);
  // Read the recipient after the debit so that a transfer to oneself is a no-op.
  const credited = amountAdd(loadAmount(balanceKey(to)), amount);
  if (credited === null) revert("overflow");
  storeBalance(to, credited!);
  emitTransfer(from, to, amount);
}

// @wnode view address u256 Returns the balance of an address.
export function balance_of(): void {
  const addr = inputMax(20);
  if (addr.length != 20) revert("bad input");
  ret(loadAmount(balanceKey(addr)));
}

// @wnode view none u256 Returns the total supply.
export function total_supply(): void {
  ret(loadAmount(utf8(SUPPLY_KEY)));
}
