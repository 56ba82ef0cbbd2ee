/*
 * sort — insertion sort of pseudo-random u32 (memory-heavy loop).
 *
 * Method `run`:
 *   input:  empty (seed = 0, n = 1000), or seed as 8 bytes LE u64 (n = 1000), or seed
 *           (8 bytes LE) || n (8 bytes LE u64, at most 100000); anything else reverts
 *           "bad input".
 *   work:   x = seed; for i = 0 .. n-1:
 *             x = x * 6364136223846793005 + 1442695040888963407  (u64, wrapping)
 *             a[i] = uint32(x >> 32)
 *           sort a ascending (insertion sort), then
 *           c = 0; for i = 0 .. n-1: c = c * 31 + a[i]  (u64, wrapping)
 *   output: c, 8 bytes little-endian.
 * Go baseline: generate a the same way, sort.Slice (or slices.Sort), fold the checksum.
 */
#include "wnode.h"

WNODE_EXPORT(run) void run(void) {
  unsigned char in[16];
  uint64_t seed = 0, n = 1000;
  size_t len = wnode_input_into(in, sizeof in);
  if (len >= 8) seed = wnode_get_u64_le(in);
  if (len == 16) n = wnode_get_u64_le(in + 8);
  if ((len != 0 && len != 8 && len != 16) || n > 100000) wnode_revert("bad input");

  uint32_t *a = (uint32_t *)wnode_alloc((size_t)n * sizeof(uint32_t));
  uint64_t x = seed;
  for (uint64_t i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    a[i] = (uint32_t)(x >> 32);
  }
  for (uint64_t i = 1; i < n; i++) {
    uint32_t v = a[i];
    uint64_t j = i;
    while (j > 0 && a[j - 1] > v) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
  uint64_t c = 0;
  for (uint64_t i = 0; i < n; i++) c = c * 31 + a[i];

  unsigned char out[8];
  wnode_put_u64_le(out, c);
  wnode_return(out, 8);
}
