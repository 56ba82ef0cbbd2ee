/*
 * host — one method per host import, for the VM's host-function tests.
 * Integers in outputs are little-endian; amounts are 32 bytes big-endian (as in the ABI).
 *
 *   caller        input ignored. output: caller() (20 bytes).
 *   origin        input ignored. output: origin() (20 bytes).
 *   self_address  input ignored. output: self_address() (20 bytes).
 *   value         input ignored. output: value() (32 bytes).
 *   balance       input: address (20 bytes). output: balance(address) (32 bytes).
 *   transfer      input: to (20) || amount (32). output: status of transfer() as
 *                 4 bytes LE i32.
 *   block_height  input ignored. output: block_height() as 8 bytes LE i64.
 *   block_time    input ignored. output: block_time() as 8 bytes LE i64.
 *   gas_left      input ignored. output: gas_left() as 8 bytes LE i64.
 *   emit          input: tlen (1 byte) || topic (tlen bytes) || data (rest).
 *                 emits (topic, data). output: empty.
 *   log           input: a message. log(message). output: empty.
 *   sha256        input: data. output: sha256(data) (32 bytes).
 *   keccak256     input: data. output: keccak256(data) (32 bytes).
 *   ecrecover     input: hash (32) || signature (65, [R||S||V]) = 97 bytes.
 *                 output: status (4 bytes LE i32) || the 20-byte address buffer after
 *                 the call (zero-filled before it).
 *   revert        input: a message. reverts with exactly the input bytes.
 *   storage_read  input: vcap (4 bytes LE u32, at most 65536) || key.
 *                 output: the i64 returned (8 bytes LE) || the first min(max(ret,0),
 *                 vcap) bytes of the value buffer.
 *   storage_write input: klen (1 byte) || key (klen bytes) || value (rest). output: empty.
 *   storage_delete input: key. output: empty.
 *   return_then_revert  input ignored. return_data("ignored"), then revert("after
 *                 return"): the output must be discarded and the call failed.
 * Every method with a fixed input length reverts "bad input" on any other length.
 */
#include "wnode.h"

static void need(size_t got, size_t want) {
  if (got != want) wnode_revert("bad input");
}

static void ret_i64(int64_t v) {
  unsigned char out[8];
  wnode_put_u64_le(out, (uint64_t)v);
  wnode_return(out, 8);
}

static void ret_i32(int32_t v) {
  unsigned char out[4];
  for (int i = 0; i < 4; i++) out[i] = (unsigned char)((uint32_t)v >> (8 * i));
  wnode_return(out, 4);
}

WNODE_EXPORT(caller) void m_caller(void) {
  unsigned char a[20];
  wnode_caller(a);
  wnode_return(a, 20);
}

WNODE_EXPORT(origin) void m_origin(void) {
  unsigned char a[20];
  wnode_origin(a);
  wnode_return(a, 20);
}

WNODE_EXPORT(self_address) void m_self_address(void) {
  unsigned char a[20];
  wnode_self_address(a);
  wnode_return(a, 20);
}

WNODE_EXPORT(value) void m_value(void) {
  unsigned char v[32];
  wnode_value(v);
  wnode_return(v, 32);
}

WNODE_EXPORT(balance) void m_balance(void) {
  unsigned char a[20], v[32];
  need(wnode_input_into(a, sizeof a), 20);
  wnode_balance(a, v);
  wnode_return(v, 32);
}

WNODE_EXPORT(transfer) void m_transfer(void) {
  unsigned char in[52];
  need(wnode_input_into(in, sizeof in), 52);
  ret_i32(wnode_transfer(in, in + 20));
}

WNODE_EXPORT(block_height) void m_block_height(void) { ret_i64(wnode_block_height()); }

WNODE_EXPORT(block_time) void m_block_time(void) { ret_i64(wnode_block_time()); }

WNODE_EXPORT(gas_left) void m_gas_left(void) { ret_i64(wnode_gas_left()); }

WNODE_EXPORT(emit) void m_emit(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  if (n < 1 || n - 1 < in[0]) wnode_revert("bad input");
  size_t tlen = in[0];
  wnode_emit(in + 1, (int32_t)tlen, in + 1 + tlen, (int32_t)(n - 1 - tlen));
}

WNODE_EXPORT(log) void m_log(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  wnode_log(in, (int32_t)n);
}

WNODE_EXPORT(sha256) void m_sha256(void) {
  size_t n;
  unsigned char *in = wnode_input(&n), h[32];
  wnode_sha256(in, (int32_t)n, h);
  wnode_return(h, 32);
}

WNODE_EXPORT(keccak256) void m_keccak256(void) {
  size_t n;
  unsigned char *in = wnode_input(&n), h[32];
  wnode_keccak256(in, (int32_t)n, h);
  wnode_return(h, 32);
}

WNODE_EXPORT(ecrecover) void m_ecrecover(void) {
  unsigned char in[97], out[24] = {0};
  need(wnode_input_into(in, sizeof in), 97);
  int32_t status = wnode_ecrecover(in, in + 32, out + 4);
  for (int i = 0; i < 4; i++) out[i] = (unsigned char)((uint32_t)status >> (8 * i));
  wnode_return(out, sizeof out);
}

WNODE_EXPORT(revert) void m_revert(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  wnode_revert_raw(in, (int32_t)n);
}

WNODE_EXPORT(storage_read) void m_storage_read(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  if (n < 4) wnode_revert("bad input");
  uint32_t vcap = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                  (uint32_t)in[3] << 24;
  if (vcap > 65536) wnode_revert("bad input");
  unsigned char *out = (unsigned char *)wnode_alloc(8 + vcap);
  int64_t r = wnode_storage_read(in + 4, (int32_t)(n - 4), out + 8, (int32_t)vcap);
  wnode_put_u64_le(out, (uint64_t)r);
  size_t copied = r < 0 ? 0 : ((uint64_t)r < vcap ? (size_t)r : vcap);
  wnode_return(out, 8 + copied);
}

WNODE_EXPORT(storage_write) void m_storage_write(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  if (n < 1 || n - 1 < in[0]) wnode_revert("bad input");
  size_t klen = in[0];
  wnode_storage_write(in + 1, (int32_t)klen, in + 1 + klen, (int32_t)(n - 1 - klen));
}

WNODE_EXPORT(storage_delete) void m_storage_delete(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  wnode_storage_delete(in, (int32_t)n);
}

WNODE_EXPORT(return_then_revert) void return_then_revert(void) {
  wnode_return_str("ignored");
  wnode_revert("after return");
}
