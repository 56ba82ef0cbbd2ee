/*
 * floats — NaN-producing float operations, returning raw bits so that a test sees
 * whether NaNs are canonicalized (x86 and arm64 produce different NaN bits natively).
 * All outputs are raw IEEE-754 bits, little-endian: f32 as 4 bytes, f64 as 8 bytes.
 *
 * Method `run`:
 *   input:  empty (any other input changes z, see below).
 *   work:   z = (float/double) input length (0.0 for empty input, computed at run time
 *           so that nothing is folded at compile time); inf = 1/z.
 *   output: 36 bytes: f32 z/z, f32 sqrt(z-1), f32 inf-inf,
 *                     f64 z/z, f64 sqrt(z-1), f64 inf-inf.
 *           With empty input all six are NaN.
 * Method `binops64`:
 *   input:  a (8 bytes LE f64 bits) || b (8 bytes LE f64 bits); else "bad input".
 *   output: 8 values of 8 bytes: a+b, a-b, a*b, a/b, f64.min(a,b), f64.max(a,b),
 *           f64.sqrt(a), f64.promote_f32(f32.demote_f64(a)).
 * Method `binops32`:
 *   input:  a (4 bytes LE f32 bits) || b (4 bytes LE f32 bits); else "bad input".
 *   output: 8 values of 4 bytes: a+b, a-b, a*b, a/b, f32.min(a,b), f32.max(a,b),
 *           f32.sqrt(a), f32.demote_f64(f64.promote_f32(a)).
 * Method `unops64`:
 *   input:  a (8 bytes LE f64 bits); else "bad input".
 *   output: 6 values of 8 bytes: f64.ceil, f64.floor, f64.trunc, f64.nearest, f64.abs,
 *           f64.neg of a (abs and neg only flip the sign bit, never canonicalized).
 * Method `unops32`: as `unops64` with f32 (4-byte input and values).
 */
#include "wnode.h"

static void put32(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (8 * i));
}

static void put64(unsigned char *p, double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  wnode_put_u64_le(p, u);
}

static float get32(const unsigned char *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static double get64(const unsigned char *p) {
  uint64_t u = wnode_get_u64_le(p);
  double d;
  memcpy(&d, &u, 8);
  return d;
}

WNODE_EXPORT(run) void run(void) {
  int32_t len = wnode_input_size();
  float zf = (float)len;
  double zd = (double)len;
  float inff = 1.0f / zf;
  double infd = 1.0 / zd;
  unsigned char out[36];
  put32(out + 0, zf / zf);
  put32(out + 4, __builtin_sqrtf(zf - 1.0f));
  put32(out + 8, inff - inff);
  put64(out + 12, zd / zd);
  put64(out + 20, __builtin_sqrt(zd - 1.0));
  put64(out + 28, infd - infd);
  wnode_return(out, sizeof out);
}

WNODE_EXPORT(binops64) void binops64(void) {
  unsigned char in[16], out[64];
  if (wnode_input_into(in, sizeof in) != 16) wnode_revert("bad input");
  double a = get64(in), b = get64(in + 8);
  put64(out + 0, a + b);
  put64(out + 8, a - b);
  put64(out + 16, a * b);
  put64(out + 24, a / b);
  put64(out + 32, __builtin_wasm_min_f64(a, b));
  put64(out + 40, __builtin_wasm_max_f64(a, b));
  put64(out + 48, __builtin_sqrt(a));
  put64(out + 56, (double)(float)a);
  wnode_return(out, sizeof out);
}

WNODE_EXPORT(binops32) void binops32(void) {
  unsigned char in[8], out[32];
  if (wnode_input_into(in, sizeof in) != 8) wnode_revert("bad input");
  float a = get32(in), b = get32(in + 4);
  put32(out + 0, a + b);
  put32(out + 4, a - b);
  put32(out + 8, a * b);
  put32(out + 12, a / b);
  put32(out + 16, __builtin_wasm_min_f32(a, b));
  put32(out + 20, __builtin_wasm_max_f32(a, b));
  put32(out + 24, __builtin_sqrtf(a));
  volatile double wide = (double)a; /* volatile: keeps clang from folding the round trip */
  put32(out + 28, (float)wide);
  wnode_return(out, sizeof out);
}

WNODE_EXPORT(unops64) void unops64(void) {
  unsigned char in[8], out[48];
  if (wnode_input_into(in, sizeof in) != 8) wnode_revert("bad input");
  double a = get64(in);
  put64(out + 0, __builtin_ceil(a));
  put64(out + 8, __builtin_floor(a));
  put64(out + 16, __builtin_trunc(a));
  put64(out + 24, __builtin_rint(a));
  put64(out + 32, __builtin_fabs(a));
  put64(out + 40, -a);
  wnode_return(out, sizeof out);
}

WNODE_EXPORT(unops32) void unops32(void) {
  unsigned char in[4], out[24];
  if (wnode_input_into(in, sizeof in) != 4) wnode_revert("bad input");
  float a = get32(in);
  put32(out + 0, __builtin_ceilf(a));
  put32(out + 4, __builtin_floorf(a));
  put32(out + 8, __builtin_truncf(a));
  put32(out + 12, __builtin_rintf(a));
  put32(out + 16, __builtin_fabsf(a));
  put32(out + 20, -a);
  wnode_return(out, sizeof out);
}
