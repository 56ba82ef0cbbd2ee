/*
 * sha256 — SHA-256 computed inside the contract vs. by the host.
 *
 * Method `run` (SHA-256 implemented here, in Wasm):
 *   input:  empty (N = 1000) or N as 8 bytes LE u64; other lengths revert "bad input".
 *   work:   h = 32 zero bytes; repeat N times: h = SHA-256(h).
 *   output: h (32 bytes). N = 0 gives 32 zero bytes.
 * Method `run_host`: the same, each step calling the host import `sha256`.
 *   Same input, same output as `run` for the same N.
 * Go baseline: the same chain with crypto/sha256.Sum256.
 */
#include "wnode.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress(uint32_t st[8], const unsigned char blk[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
           (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  st[0] += a; st[1] += b; st[2] += c; st[3] += d;
  st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

/* SHA-256 of exactly 32 bytes: one block (message, 0x80, zeros, bit length 256). */
static void sha256_32(unsigned char out[32], const unsigned char in[32]) {
  uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char blk[64];
  memcpy(blk, in, 32);
  blk[32] = 0x80;
  memset(blk + 33, 0, 29);
  blk[62] = 0x01; /* 256 bits = 0x0100 */
  blk[63] = 0x00;
  compress(st, blk);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(st[i] >> 24);
    out[4 * i + 1] = (unsigned char)(st[i] >> 16);
    out[4 * i + 2] = (unsigned char)(st[i] >> 8);
    out[4 * i + 3] = (unsigned char)st[i];
  }
}

static uint64_t parse_n(void) {
  unsigned char in[8];
  size_t len = wnode_input_into(in, sizeof in);
  if (len == 0) return 1000;
  if (len != 8) wnode_revert("bad input");
  return wnode_get_u64_le(in);
}

WNODE_EXPORT(run) void run(void) {
  uint64_t n = parse_n();
  unsigned char h[32] = {0};
  for (uint64_t i = 0; i < n; i++) sha256_32(h, h);
  wnode_return(h, 32);
}

WNODE_EXPORT(run_host) void run_host(void) {
  uint64_t n = parse_n();
  unsigned char h[32] = {0};
  for (uint64_t i = 0; i < n; i++) wnode_sha256(h, 32, h);
  wnode_return(h, 32);
}
