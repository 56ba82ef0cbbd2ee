/*
 * calls — cross-contract calls, call depth and revert isolation.
 *
 * Gas passed to every call: g - g/64 where g = gas_left() read just before the call
 * (the caller keeps 1/64 to finish). Value attached: zero unless said.
 *
 * Method `forward`:
 *   input:  target (20 bytes) || mlen (1 byte) || method (mlen bytes) || args (rest).
 *   work:   call(target, method, args, value 0).
 *   output: the callee's output. When call returns non-zero, reverts with the message
 *           "forward: callee failed: " || the callee's output (result_read).
 *   Too short an input reverts "bad input".
 * Method `forward_value`:
 *   input:  target (20) || amount (32 bytes BE) || mlen (1) || method || args.
 *   work/output: as `forward`, attaching amount (which this contract must hold).
 * Method `try_forward`:
 *   input:  as `forward`.
 *   work:   first writes key "tried" = the 1 byte 0x01, then calls as `forward`.
 *   output: status (4 bytes LE, the i32 returned by call) || callee's output. Never
 *           reverts because of the callee, so the write of "tried" survives its failure.
 * Method `fail_after_write`:
 *   input:  ignored. work: writes key "fail" = "written", then reverts with the message
 *           "fail_after_write". The write must never be visible.
 * Method `set`:
 *   input:  klen (1 byte) || key (klen bytes) || value (rest, may be empty).
 *   work:   storage_write(key, value). output: empty.
 * Method `get`:
 *   input:  key (all of it). output: 0x00 when absent, else 0x01 || value.
 * Method `depth`:
 *   input:  n (8 bytes LE u64).
 *   work:   n == 0: output 1. Otherwise call this contract's `depth` with n-1; if that
 *           succeeds with an 8-byte output r, output r+1, else output 1.
 *   output: 8 bytes LE u64: the number of nested frames of `depth` that ran, i.e.
 *           min(n+1, how many frames the depth limit (or gas) allowed).
 */
#include "wnode.h"

static int64_t call_gas(void) {
  int64_t g = wnode_gas_left();
  return g - g / 64;
}

static const unsigned char ZERO[32] = {0};

struct fwd {
  const unsigned char *target, *amount, *method, *args;
  size_t mlen, alen;
};

/* Parses target || [amount] || mlen || method || args. */
static struct fwd parse_fwd(int with_amount) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  struct fwd f;
  size_t off = 20 + (with_amount ? 32 : 0);
  if (n < off + 1) wnode_revert("bad input");
  f.target = in;
  f.amount = with_amount ? in + 20 : ZERO;
  f.mlen = in[off];
  off++;
  if (n - off < f.mlen) wnode_revert("bad input");
  f.method = in + off;
  f.args = in + off + f.mlen;
  f.alen = n - off - f.mlen;
  return f;
}

static int32_t do_call(const struct fwd *f) {
  return wnode_call(f->target, f->method, (int32_t)f->mlen, f->args, (int32_t)f->alen,
                    f->amount, call_gas());
}

static void forward_common(int with_amount) {
  struct fwd f = parse_fwd(with_amount);
  int32_t status = do_call(&f);
  size_t rn;
  unsigned char *r = wnode_result(&rn);
  if (status != 0) {
    static const char prefix[] = "forward: callee failed: ";
    size_t pn = sizeof prefix - 1;
    unsigned char *msg = (unsigned char *)wnode_alloc(pn + rn);
    memcpy(msg, prefix, pn);
    memcpy(msg + pn, r, rn);
    wnode_revert_raw(msg, (int32_t)(pn + rn));
  }
  wnode_return(r, rn);
}

WNODE_EXPORT(forward) void forward(void) { forward_common(0); }

WNODE_EXPORT(forward_value) void forward_value(void) { forward_common(1); }

WNODE_EXPORT(try_forward) void try_forward(void) {
  struct fwd f = parse_fwd(0);
  static const unsigned char one = 1;
  wnode_storage_write("tried", 5, &one, 1);
  int32_t status = do_call(&f);
  size_t rn = (size_t)wnode_result_size();
  unsigned char *out = (unsigned char *)wnode_alloc(4 + rn);
  for (int i = 0; i < 4; i++) out[i] = (unsigned char)((uint32_t)status >> (8 * i));
  if (rn) wnode_result_read(out + 4);
  wnode_return(out, 4 + rn);
}

WNODE_EXPORT(fail_after_write) void fail_after_write(void) {
  wnode_storage_write("fail", 4, "written", 7);
  wnode_revert("fail_after_write");
}

WNODE_EXPORT(set) void set(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  if (n < 1 || n - 1 < in[0]) wnode_revert("bad input");
  size_t klen = in[0];
  wnode_storage_write(in + 1, (int32_t)klen, in + 1 + klen, (int32_t)(n - 1 - klen));
}

WNODE_EXPORT(get) void get(void) {
  size_t kn;
  unsigned char *key = wnode_input(&kn);
  int64_t vn = wnode_storage_read(key, (int32_t)kn, 0, 0);
  if (vn < 0) {
    static const unsigned char absent = 0;
    wnode_return(&absent, 1);
    return;
  }
  unsigned char *out = (unsigned char *)wnode_alloc(1 + (size_t)vn);
  out[0] = 1;
  wnode_storage_read(key, (int32_t)kn, out + 1, (int32_t)vn);
  wnode_return(out, 1 + (size_t)vn);
}

WNODE_EXPORT(depth) void depth(void) {
  unsigned char in[8];
  if (wnode_input_into(in, sizeof in) != 8) wnode_revert("bad input");
  uint64_t n = wnode_get_u64_le(in);
  uint64_t frames = 1;
  if (n > 0) {
    unsigned char self[20], arg[8];
    wnode_self_address(self);
    wnode_put_u64_le(arg, n - 1);
    int32_t status = wnode_call(self, "depth", 5, arg, 8, ZERO, call_gas());
    if (status == 0 && wnode_result_size() == 8) {
      wnode_result_read(arg);
      frames = wnode_get_u64_le(arg) + 1;
    }
  }
  wnode_put_u64_le(in, frames);
  wnode_return(in, 8);
}
