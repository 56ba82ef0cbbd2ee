/*
 * traps — methods that fail in each way the VM must contain.
 *
 *   unreachable  input ignored. Executes the `unreachable` instruction (a trap).
 *   div_zero     input must be empty: computes 7 / input_size() with i32.div_s (a trap).
 *   oob          input ignored. Loads 4 bytes at address 0xFFFFFFF0 (out of bounds trap).
 *   infinite     input ignored. Loops forever: only the gas limit stops it.
 *   recurse      input: n (8 bytes LE u64). Recurses n Wasm frames deep, using only
 *                Wasm locals (no shadow-stack memory): r(0) = 0, r(k) = 3*r(k-1) + 1.
 *                output: r(n) as 8 bytes LE u64 (wrapping), i.e. (3^n - 1)/2 mod 2^64.
 *                Deep enough n must hit the VM's stack/call-depth limit (a trap).
 *   grow         input: pages (4 bytes LE u32). Executes memory.grow(pages).
 *                output: its i32 result (old size in pages, or -1) as 4 bytes LE.
 *   return_then_trap  input ignored. return_data("ignored") then `unreachable`: the
 *                output must be discarded.
 * "bad input" reverts on a wrong input length where a length is fixed.
 */
#include "wnode.h"

WNODE_EXPORT(unreachable) void m_unreachable(void) { __builtin_trap(); }

WNODE_EXPORT(div_zero) void div_zero(void) {
  volatile int32_t seven = 7;
  int32_t q = seven / wnode_input_size();
  wnode_return(&q, 4);
}

WNODE_EXPORT(oob) void oob(void) {
  volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)0xFFFFFFF0u;
  uint32_t v = *p;
  wnode_return(&v, 4);
}

WNODE_EXPORT(infinite) void infinite(void) {
  static volatile uint32_t spins;
  for (;;) spins++;
}

__attribute__((noinline)) static uint64_t rec(uint64_t n) {
  if (n == 0) return 0;
  return rec(n - 1) * 3 + 1;
}

WNODE_EXPORT(recurse) void recurse(void) {
  unsigned char in[8];
  if (wnode_input_into(in, sizeof in) != 8) wnode_revert("bad input");
  wnode_put_u64_le(in, rec(wnode_get_u64_le(in)));
  wnode_return(in, 8);
}

WNODE_EXPORT(grow) void grow(void) {
  unsigned char in[4];
  if (wnode_input_into(in, sizeof in) != 4) wnode_revert("bad input");
  uint32_t pages = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                   (uint32_t)in[3] << 24;
  int32_t r = (int32_t)__builtin_wasm_memory_grow(0, pages);
  for (int i = 0; i < 4; i++) in[i] = (unsigned char)((uint32_t)r >> (8 * i));
  wnode_return(in, 4);
}

WNODE_EXPORT(return_then_trap) void return_then_trap(void) {
  wnode_return_str("ignored");
  __builtin_trap();
}
