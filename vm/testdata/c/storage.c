/*
 * storage — host storage throughput.
 *
 * Key i is the 9 bytes "w" || i as 8 bytes big-endian; its value is i as 8 bytes
 * big-endian repeated 4 times (32 bytes).
 *
 * Method `writes`:
 *   input:  N (8 bytes LE u64) [|| start (8 bytes LE u64), default 0]; else "bad input".
 *   work:   storage_write of keys start .. start+N-1 with their values.
 *   output: empty.
 * Method `reads`:
 *   input:  N (8 bytes LE u64) [|| i (8 bytes LE u64), default 0]; else "bad input".
 *   work:   N calls storage_read(key i, vcap = 32).
 *   output: the sum of the N returned lengths as 8 bytes LE i64: 32*N when key i
 *           exists (as written by `writes`), -N when it is absent.
 * Method `deletes`:
 *   input:  as `writes`. work: storage_delete of keys start .. start+N-1. output: empty.
 */
#include "wnode.h"

static void parse(uint64_t *n, uint64_t *start) {
  unsigned char in[16];
  size_t len = wnode_input_into(in, sizeof in);
  if (len != 8 && len != 16) wnode_revert("bad input");
  *n = wnode_get_u64_le(in);
  *start = len == 16 ? wnode_get_u64_le(in + 8) : 0;
}

static void make_key(unsigned char key[9], uint64_t i) {
  key[0] = 'w';
  wnode_put_u64_be(key + 1, i);
}

WNODE_EXPORT(writes) void writes(void) {
  uint64_t n, start;
  parse(&n, &start);
  unsigned char key[9], val[32];
  for (uint64_t i = start; i != start + n; i++) {
    make_key(key, i);
    for (int k = 0; k < 32; k += 8) wnode_put_u64_be(val + k, i);
    wnode_storage_write(key, sizeof key, val, sizeof val);
  }
}

WNODE_EXPORT(reads) void reads(void) {
  uint64_t n, i;
  parse(&n, &i);
  unsigned char key[9], val[32];
  make_key(key, i);
  int64_t sum = 0;
  for (uint64_t k = 0; k < n; k++) {
    sum += wnode_storage_read(key, sizeof key, val, sizeof val);
  }
  unsigned char out[8];
  wnode_put_u64_le(out, (uint64_t)sum);
  wnode_return(out, 8);
}

WNODE_EXPORT(deletes) void deletes(void) {
  uint64_t n, start;
  parse(&n, &start);
  unsigned char key[9];
  for (uint64_t i = start; i != start + n; i++) {
    make_key(key, i);
    wnode_storage_delete(key, sizeof key);
  }
}
