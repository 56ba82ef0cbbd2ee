/*
 * counter — the storage example of examples/counter, written with the C SDK. It behaves
 * exactly like the Rust and AssemblyScript versions (same outputs, storage and reverts).
 *
 * State: key "count" holds a u64 as 8 bytes big-endian (absent = 0).
 * Methods (input is ignored by both):
 *   increment  count += 1; output: the new count, 8 bytes big-endian.
 *              Reverts with "overflow" at 2^64 - 1.
 *   get        output: the count, 8 bytes big-endian (0 when never incremented).
 */
#include "wnode.h"

static const char KEY[] = "count";

static uint64_t load(void) {
  unsigned char buf[8];
  int64_t n = wnode_storage_read(KEY, sizeof KEY - 1, buf, sizeof buf);
  if (n < 0) return 0;
  if (n != 8) wnode_revert("corrupt count");
  return wnode_get_u64_be(buf);
}

WNODE_METHOD(increment, change, none, u64, "Adds one to the count and returns it.")
void increment(void) {
  uint64_t n = load();
  if (n == UINT64_MAX) wnode_revert("overflow");
  unsigned char b[8];
  wnode_put_u64_be(b, n + 1);
  wnode_storage_write(KEY, sizeof KEY - 1, b, sizeof b);
  wnode_return(b, sizeof b);
}

WNODE_METHOD(get, view, none, u64, "Returns the count.")
void get(void) {
  unsigned char b[8];
  wnode_put_u64_be(b, load());
  wnode_return(b, sizeof b);
}
