/*
 * token — a fungible token written with the C SDK (sdk/c/wnode.h).
 *
 * Amounts are unsigned 256-bit integers. On input an amount is either 8 bytes (u64) or
 * 32 bytes, big-endian in both cases; on output it is always 32 bytes big-endian.
 * Addresses are 20 bytes.
 *
 * Storage: "supply" -> total supply (32 bytes); "b" || address -> balance (32 bytes;
 * the key is deleted when the balance drops to zero, absent means zero).
 *
 * Methods:
 *   init          input: amount (8 or 32 bytes). Mints the whole supply to the caller
 *                 (the deployer when run at deploy) and emits "transfer" with
 *                 from = 20 zero bytes. Output: empty. Reverts "already initialized" if
 *                 called again, "bad input" on a wrong input length.
 *   transfer      input: to (20 bytes) || amount (8 or 32 bytes) = 28 or 52 bytes.
 *                 Moves amount from the caller to `to`. Emits event topic "transfer",
 *                 data from (20) || to (20) || amount (32) = 72 bytes. Output: empty.
 *                 Reverts "insufficient balance", or "bad input" on a wrong length.
 *   balance_of    input: address (20 bytes). Output: its balance (32 bytes).
 *   total_supply  input: ignored. Output: the total supply (32 bytes; 0 before init).
 */
#include "wnode.h"

static const char SUPPLY_KEY[] = "supply";
static const char TOPIC[] = "transfer";

/* Parses an 8- or 32-byte big-endian amount. */
static void parse_amount(unsigned char out[32], const unsigned char *p, size_t n) {
  if (n == 8) {
    wnode_amount_from_u64(out, wnode_get_u64_be(p));
  } else if (n == 32) {
    memcpy(out, p, 32);
  } else {
    wnode_revert("bad input");
  }
}

static void balance_key(unsigned char key[21], const unsigned char addr[20]) {
  key[0] = 'b';
  memcpy(key + 1, addr, 20);
}

/* Reads a 32-byte amount under key (zero when absent). */
static void load_amount(const void *key, int32_t klen, unsigned char out[32]) {
  int64_t n = wnode_storage_read(key, klen, out, 32);
  if (n < 0) {
    memset(out, 0, 32);
  } else if (n != 32) {
    wnode_revert("corrupt amount");
  }
}

static void load_balance(const unsigned char addr[20], unsigned char out[32]) {
  unsigned char key[21];
  balance_key(key, addr);
  load_amount(key, sizeof key, out);
}

static void store_balance(const unsigned char addr[20], const unsigned char bal[32]) {
  unsigned char key[21];
  balance_key(key, addr);
  if (wnode_amount_is_zero(bal)) {
    wnode_storage_delete(key, sizeof key);
  } else {
    wnode_storage_write(key, sizeof key, bal, 32);
  }
}

static void emit_transfer(const unsigned char from[20], const unsigned char to[20],
                          const unsigned char amount[32]) {
  unsigned char data[72];
  memcpy(data, from, 20);
  memcpy(data + 20, to, 20);
  memcpy(data + 40, amount, 32);
  wnode_emit(TOPIC, sizeof TOPIC - 1, data, sizeof data);
}

WNODE_METHOD(init, change, u256, none, "Mints the whole supply (the input) to the deployer.")
void init(void) {
  unsigned char in[32], amount[32], buf[32], owner[20], zero[20] = {0};
  size_t n = wnode_input_into(in, sizeof in);
  parse_amount(amount, in, n);
  if (wnode_storage_read(SUPPLY_KEY, sizeof SUPPLY_KEY - 1, buf, 0) >= 0) {
    wnode_revert("already initialized");
  }
  wnode_caller(owner);
  wnode_storage_write(SUPPLY_KEY, sizeof SUPPLY_KEY - 1, amount, 32);
  store_balance(owner, amount);
  emit_transfer(zero, owner, amount);
}

WNODE_METHOD(transfer, change, bytes, none, "Moves an amount to an address: input to (20 bytes) then amount (8 or 32 bytes).")
void transfer(void) {
  unsigned char in[52], amount[32], from[20], bal[32];
  size_t n = wnode_input_into(in, sizeof in);
  if (n < 20) wnode_revert("bad input");
  const unsigned char *to = in;
  parse_amount(amount, in + 20, n - 20);
  wnode_caller(from);

  load_balance(from, bal);
  if (wnode_amount_sub(bal, bal, amount)) wnode_revert("insufficient balance");
  store_balance(from, bal);
  /* Read the recipient after the debit so that a transfer to oneself is a no-op. */
  load_balance(to, bal);
  if (wnode_amount_add(bal, bal, amount)) wnode_revert("overflow");
  store_balance(to, bal);

  emit_transfer(from, to, amount);
}

WNODE_METHOD(balance_of, view, address, u256, "Returns the balance of an address.")
void balance_of(void) {
  unsigned char addr[20], bal[32];
  if (wnode_input_into(addr, sizeof addr) != 20) wnode_revert("bad input");
  load_balance(addr, bal);
  wnode_return(bal, 32);
}

WNODE_METHOD(total_supply, view, none, u256, "Returns the total supply.")
void total_supply(void) {
  unsigned char supply[32];
  load_amount(SUPPLY_KEY, sizeof SUPPLY_KEY - 1, supply);
  wnode_return(supply, 32);
}
