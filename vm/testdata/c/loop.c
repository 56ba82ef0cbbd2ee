/*
 * loop — a CPU-bound integer loop (gas metering, compiler speed).
 *
 * Method `run`:
 *   input:  empty (N = 1000000) or N as 8 bytes little-endian u64; other lengths revert
 *           "bad input".
 *   work:   x = 0; for i = 0 .. N-1: x = (x ^ (x >> 31)) * 6364136223846793005 + i
 *           (all u64, wrapping).
 *   output: x, 8 bytes little-endian.
 * Go baseline: the same loop on uint64. N = 0 gives 0.
 */
#include "wnode.h"

WNODE_EXPORT(run) void run(void) {
  unsigned char buf[8];
  uint64_t n = 1000000;
  size_t len = wnode_input_into(buf, sizeof buf);
  if (len == 8) {
    n = wnode_get_u64_le(buf);
  } else if (len != 0) {
    wnode_revert("bad input");
  }
  uint64_t x = 0;
  for (uint64_t i = 0; i < n; i++) {
    x = (x ^ (x >> 31)) * 6364136223846793005ull + i;
  }
  wnode_put_u64_le(buf, x);
  wnode_return(buf, 8);
}
