/*
 * wnode.h — C SDK for wnode contracts (Contract ABI v1).
 *
 * A contract is a freestanding wasm32 module: no libc, no WASI. It imports only from
 * module "wnode" (declared below), exports its linear memory as "memory" and one
 * function of type () -> () per method (WNODE_EXPORT). A method reads its argument
 * bytes with wnode_input_*, sets its output with wnode_return and aborts with
 * wnode_revert, which undoes every change the call made and does not return.
 *
 * Build (see scripts/build-contracts.sh for the exact, reproducible flags):
 *
 *   clang --target=wasm32 -mcpu=mvp -O2 -ffreestanding -nostdlib -I sdk/c \
 *         -Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=65536 \
 *         -Wl,--strip-all -o hello.wasm hello.c
 *
 * Conventions of the ABI: pointers and lengths are i32 offsets into memory; addresses are
 * 20 bytes; amounts of the native coin are 32-byte big-endian unsigned integers.
 *
 * Memory: wnode_alloc is a bump allocator over the memory above the data section. Every
 * call runs in a fresh instance, so nothing is ever freed; memory grows on demand (each
 * new 64 KiB page costs gas).
 *
 * The compiler may turn loops and struct copies into calls to memcpy, memmove, memset
 * and memcmp even with -ffreestanding; this header defines them (weak, so several
 * translation units may include it). They are not exported.
 */
#ifndef WNODE_H
#define WNODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a function as a contract method exported under `name`. The function must have
 * type void(void). Names starting with '_' are not methods (the node never calls them). */
#define WNODE_EXPORT(name) __attribute__((export_name(#name), used))

/* Exports a method like WNODE_EXPORT and describes it in the module's metadata section
 * "wnode.meta" (docs/spec/metadata.md): kind is view or change; in and out are formats
 * (none, bytes, text, json, u64, u256, address); doc is a non-empty one-line string
 * literal without '"' or '\\'. The record goes straight into the custom section through
 * the assembler, so wasm-ld keeps it under --strip-all and joins the records of all
 * methods:
 *
 *   WNODE_METHOD(hello, view, text, text, "Returns hello, NAME.") void hello(void) { ... }
 */
#define WNODE_METHOD(name, kind, in, out, doc)                                     \
  enum { wnode_meta_check_##name = WNODE_KIND_##kind + WNODE_FORMAT_##in +          \
                                   WNODE_FORMAT_##out };                            \
  __asm__(".section .custom_section.wnode.meta,\"\",@\n"                          \
          ".ascii \"v1 method " #name " " #kind " " #in " " #out " " doc "\\n\"\n"); \
  WNODE_EXPORT(name)

/* The kinds and formats WNODE_METHOD accepts: any other is a compile error
 * ("undeclared identifier WNODE_KIND_..."). */
#define WNODE_KIND_view 0
#define WNODE_KIND_change 0
#define WNODE_FORMAT_none 0
#define WNODE_FORMAT_bytes 0
#define WNODE_FORMAT_text 0
#define WNODE_FORMAT_json 0
#define WNODE_FORMAT_u64 0
#define WNODE_FORMAT_u256 0
#define WNODE_FORMAT_address 0

#define WNODE_IMPORT(name) __attribute__((import_module("wnode"), import_name(#name)))
#define WNODE_NORETURN __attribute__((noreturn))

#define WNODE_ADDRESS_LEN 20
#define WNODE_AMOUNT_LEN 32
#define WNODE_HASH_LEN 32
#define WNODE_SIGNATURE_LEN 65

/* ---- raw host imports (module "wnode"), one per ABI function ---------------------- */

/* Length of the call's argument bytes. */
WNODE_IMPORT(input_size) int32_t wnode_input_size(void);
/* Copies all input_size() argument bytes to ptr. */
WNODE_IMPORT(input_read) void wnode_input_read(void *ptr);
/* Sets the method's output. */
WNODE_IMPORT(return_data) void wnode_return_data(const void *ptr, int32_t len);
/* Aborts the call with a message; all changes of this call are undone. Never returns. */
WNODE_IMPORT(revert) WNODE_NORETURN void wnode_revert_raw(const void *ptr, int32_t len);

/* Reads the value under key: returns its length, or -1 when absent, and copies
 * min(length, vcap) bytes to vptr. */
WNODE_IMPORT(storage_read)
int64_t wnode_storage_read(const void *kptr, int32_t klen, void *vptr, int32_t vcap);
WNODE_IMPORT(storage_write)
void wnode_storage_write(const void *kptr, int32_t klen, const void *vptr, int32_t vlen);
WNODE_IMPORT(storage_delete) void wnode_storage_delete(const void *kptr, int32_t klen);

/* 20-byte addresses: the immediate caller, the transaction signer, this contract. */
WNODE_IMPORT(caller) void wnode_caller(void *out20);
WNODE_IMPORT(origin) void wnode_origin(void *out20);
WNODE_IMPORT(self_address) void wnode_self_address(void *out20);

/* Native coin (32-byte big-endian amounts): the value attached to this call, the
 * balance of an address, and a transfer from this contract (0 on success). */
WNODE_IMPORT(value) void wnode_value(void *out32);
WNODE_IMPORT(balance) void wnode_balance(const void *addr20, void *out32);
WNODE_IMPORT(transfer) int32_t wnode_transfer(const void *addr20, const void *amount32);

/* Height and time (unix milliseconds) of the block being executed or queried. */
WNODE_IMPORT(block_height) int64_t wnode_block_height(void);
WNODE_IMPORT(block_time) int64_t wnode_block_time(void);

/* Emits an event {contract, topic, data} into the receipt. */
WNODE_IMPORT(emit)
void wnode_emit(const void *topic, int32_t topic_len, const void *data, int32_t data_len);

/* Calls method m of the contract at addr20 with args, attaching value32 (32-byte BE)
 * and at most `gas` gas (<= 0: as much as the host allows — all but 1/64 of what is
 * left, EIP-150 style). Returns 0 on success. A failed callee's changes are undone and
 * the caller goes on. The callee's output is then read with result_size/result_read. */
WNODE_IMPORT(call)
int32_t wnode_call(const void *addr20, const void *m, int32_t m_len, const void *args,
                   int32_t args_len, const void *value32, int64_t gas);
WNODE_IMPORT(result_size) int32_t wnode_result_size(void);
WNODE_IMPORT(result_read) void wnode_result_read(void *ptr);

/* Crypto: 32-byte digests; ecrecover takes a 32-byte hash and a 65-byte [R||S||V]
 * signature and writes the 20-byte signer address, returning 0 on success. */
WNODE_IMPORT(sha256) void wnode_sha256(const void *ptr, int32_t len, void *out32);
WNODE_IMPORT(keccak256) void wnode_keccak256(const void *ptr, int32_t len, void *out32);
WNODE_IMPORT(ecrecover)
int32_t wnode_ecrecover(const void *hash32, const void *sig65, void *out_addr20);

/* Remaining gas, and a debug line (kept in read-only calls and dev mode only). */
WNODE_IMPORT(gas_left) int64_t wnode_gas_left(void);
WNODE_IMPORT(log) void wnode_log(const void *ptr, int32_t len);

/* ---- memory functions the compiler may call ------------------------------------- */

/* no_builtin stops clang from recognising these loops as memcpy/memset and turning
 * them into calls to themselves. */
#define WNODE_LIBC_FN __attribute__((weak, no_builtin))

WNODE_LIBC_FN void *memcpy(void *__restrict dst, const void *__restrict src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  while (n--) *d++ = *s++;
  return dst;
}

WNODE_LIBC_FN void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
}

WNODE_LIBC_FN void *memset(void *dst, int c, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

WNODE_LIBC_FN int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = (const unsigned char *)a;
  const unsigned char *y = (const unsigned char *)b;
  for (; n; n--, x++, y++) {
    if (*x != *y) return *x - *y;
  }
  return 0;
}

/* ---- helpers --------------------------------------------------------------------- */

/* Length of a NUL-terminated string. */
static inline size_t wnode_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* Aborts the call with a NUL-terminated message. */
static inline WNODE_NORETURN void wnode_revert(const char *msg) {
  wnode_revert_raw(msg, (int32_t)wnode_strlen(msg));
}

/* Sets the method's output to len bytes at p. */
static inline void wnode_return(const void *p, size_t len) {
  wnode_return_data(p, (int32_t)len);
}

/* Sets the method's output to a NUL-terminated string (without the NUL). */
static inline void wnode_return_str(const char *s) {
  wnode_return_data(s, (int32_t)wnode_strlen(s));
}

/* Logs a NUL-terminated string as a debug line. */
static inline void wnode_log_str(const char *s) {
  wnode_log(s, (int32_t)wnode_strlen(s));
}

extern unsigned char __heap_base; /* provided by wasm-ld: first byte above data+stack */

/* End of the bump heap; 0 until the first allocation. Weak so that every translation
 * unit including this header shares one heap. */
__attribute__((weak)) uintptr_t wnode_heap_top;

/* Returns n bytes of fresh zeroed memory aligned to 8, growing the memory as needed;
 * reverts with "out of memory" when it cannot grow. Memory is never freed (every call
 * starts from a fresh instance). */
static inline void *wnode_alloc(size_t n) {
  if (wnode_heap_top == 0) wnode_heap_top = (uintptr_t)&__heap_base;
  uintptr_t p = (wnode_heap_top + 7u) & ~(uintptr_t)7u;
  if (n > UINTPTR_MAX - p) wnode_revert("out of memory");
  uintptr_t end = p + n;
  /* 64-bit: 65536 pages * 64 KiB is 2^32, which does not fit a wasm32 uintptr_t. */
  uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    size_t pages = (size_t)(((uint64_t)end - have + 65535u) / 65536u);
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) wnode_revert("out of memory");
  }
  wnode_heap_top = end;
  return (void *)p; /* memory above __heap_base starts zeroed and is never reused */
}

/* Reads the whole input into freshly allocated memory; stores its length in *len. */
static inline unsigned char *wnode_input(size_t *len) {
  size_t n = (size_t)wnode_input_size();
  unsigned char *buf = (unsigned char *)wnode_alloc(n);
  if (n) wnode_input_read(buf);
  *len = n;
  return buf;
}

/* Reads the input into buf of capacity cap; reverts with "input too long" if it does
 * not fit. Returns the input length. */
static inline size_t wnode_input_into(void *buf, size_t cap) {
  size_t n = (size_t)wnode_input_size();
  if (n > cap) wnode_revert("input too long");
  if (n) wnode_input_read(buf);
  return n;
}

/* Reads the callee's output of the last wnode_call into fresh memory. */
static inline unsigned char *wnode_result(size_t *len) {
  size_t n = (size_t)wnode_result_size();
  unsigned char *buf = (unsigned char *)wnode_alloc(n);
  if (n) wnode_result_read(buf);
  *len = n;
  return buf;
}

/* Big-endian and little-endian u64 encoding. */
static inline void wnode_put_u64_be(unsigned char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (unsigned char)v;
    v >>= 8;
  }
}

static inline uint64_t wnode_get_u64_be(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

static inline void wnode_put_u64_le(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (unsigned char)v;
    v >>= 8;
  }
}

static inline uint64_t wnode_get_u64_le(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* 32-byte big-endian amounts (uint256). */

/* Writes v as a 32-byte big-endian amount. */
static inline void wnode_amount_from_u64(unsigned char out[32], uint64_t v) {
  for (int i = 0; i < 24; i++) out[i] = 0;
  wnode_put_u64_be(out + 24, v);
}

/* Compares two amounts: <0, 0, >0 as a <, ==, > b. */
static inline int wnode_amount_cmp(const unsigned char a[32], const unsigned char b[32]) {
  return memcmp(a, b, 32); /* big-endian: byte order is numeric order */
}

/* out = a + b; returns 1 on overflow (out is then a + b mod 2^256). out may alias. */
static inline int wnode_amount_add(unsigned char out[32], const unsigned char a[32],
                                   const unsigned char b[32]) {
  unsigned carry = 0;
  for (int i = 31; i >= 0; i--) {
    unsigned s = (unsigned)a[i] + b[i] + carry;
    out[i] = (unsigned char)s;
    carry = s >> 8;
  }
  return (int)carry;
}

/* out = a - b; returns 1 on underflow (out is then a - b mod 2^256). out may alias. */
static inline int wnode_amount_sub(unsigned char out[32], const unsigned char a[32],
                                   const unsigned char b[32]) {
  unsigned borrow = 0;
  for (int i = 31; i >= 0; i--) {
    unsigned d = (unsigned)a[i] - b[i] - borrow;
    out[i] = (unsigned char)d;
    borrow = (d >> 8) & 1u;
  }
  return (int)borrow;
}

/* Reports whether an amount is zero. */
static inline int wnode_amount_is_zero(const unsigned char a[32]) {
  unsigned char acc = 0;
  for (int i = 0; i < 32; i++) acc |= a[i];
  return acc == 0;
}

#ifdef __cplusplus
}
#endif

#endif /* WNODE_H */
