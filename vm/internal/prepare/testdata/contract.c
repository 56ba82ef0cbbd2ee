// A test contract for vm/internal/prepare: real clang output with loops, a switch
// (br_table), function pointers (call_indirect), recursion, floats, 64-bit integers,
// bulk memory and the host ABI. Build with ./build.sh; the .wasm is committed.
#include <stdint.h>
#include <stddef.h>

#define IMPORT(name) __attribute__((import_module("wnode"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input_size") int32_t input_size(void);
IMPORT("input_read") void input_read(void *ptr);
IMPORT("return_data") void return_data(const void *ptr, int32_t len);
IMPORT("storage_write") void storage_write(const void *k, int32_t kl, const void *v, int32_t vl);
IMPORT("storage_read") int64_t storage_read(const void *k, int32_t kl, void *v, int32_t vcap);
IMPORT("sha256") void sha256(const void *p, int32_t len, void *out);
IMPORT("gas_left") int64_t gas_left(void);

static uint8_t buf[4096];
static uint8_t out[4096];

static int32_t read_input(void) {
	int32_t n = input_size();
	if (n > (int32_t)sizeof(buf)) n = sizeof(buf);
	input_read(buf);
	return n;
}

static void sort(uint32_t *a, int n) {
	for (int i = 1; i < n; i++) {
		uint32_t v = a[i];
		int j = i - 1;
		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

EXPORT("sort") void m_sort(void) {
	int n = read_input() / 4;
	uint32_t a[256];
	if (n > 256) n = 256;
	__builtin_memcpy(a, buf, (size_t)n * 4);
	sort(a, n);
	return_data(a, n * 4);
}

static uint64_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

EXPORT("fib") void m_fib(void) {
	read_input();
	uint64_t r = fib(buf[0] % 25);
	return_data(&r, 8);
}

typedef uint32_t (*op_fn)(uint32_t, uint32_t);
static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
static uint32_t op_rot(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - b) & 31)); }
static op_fn ops[] = {op_add, op_mul, op_xor, op_rot};

// A small bytecode interpreter: a switch and indirect calls.
EXPORT("interp") void m_interp(void) {
	int n = read_input();
	uint32_t acc = 1, reg = 7;
	for (int i = 0; i < n; i++) {
		uint8_t c = buf[i];
		switch (c % 11) {
		case 0: acc += c; break;
		case 1: acc -= reg; break;
		case 2: reg = acc * 3; break;
		case 3: acc = ops[c & 3](acc, reg); break;
		case 4: acc ^= acc >> 7; break;
		case 5: reg += (uint32_t)i; break;
		case 6: acc = (acc << 5) | (acc >> 27); break;
		case 7: if (reg) acc /= (reg | 1); break;
		case 8: acc = (uint32_t)(int32_t)(int8_t)acc; break;
		case 9: reg ^= 0x9e3779b9u; break;
		default: acc += reg * reg; break;
		}
	}
	uint32_t r[2] = {acc, reg};
	return_data(r, 8);
}

EXPORT("floats") void m_floats(void) {
	int n = read_input();
	double x = 1.0, y = 0.5;
	float f = 2.0f;
	for (int i = 0; i < n; i++) {
		double v = (double)buf[i] / 7.0;
		x = x * 0.999 + __builtin_sqrt(v + 1.0);
		y = ((y + v) < 1000.0 ? (y + v) : 1000.0) - __builtin_floor(v);
		f = f * 1.0001f + (float)v;
	}
	int64_t r[3] = {(int64_t)(x * 1e6), (int64_t)(y * 1e6), (int64_t)(f * 1e3f)};
	return_data(r, sizeof r);
}

EXPORT("bulk") void m_bulk(void) {
	int n = read_input();
	__builtin_memset(out, 0xab, sizeof out);
	__builtin_memmove(out + 3, buf, (size_t)n);
	__builtin_memmove(out + 1, out + 2, 100);
	return_data(out, n + 8);
}

EXPORT("hash") void m_hash(void) {
	int n = read_input();
	uint8_t h[32];
	sha256(buf, n, h);
	storage_write("h", 1, h, 32);
	uint8_t back[32];
	int64_t got = storage_read("h", 1, back, 32);
	uint64_t acc = 1469598103934665603ull;
	for (int i = 0; i < 32; i++) acc = (acc ^ back[i]) * 1099511628211ull;
	acc ^= (uint64_t)got;
	return_data(&acc, 8);
}

EXPORT("grow") void m_grow(void) {
	int32_t before = __builtin_wasm_memory_size(0);
	int32_t r = __builtin_wasm_memory_grow(0, 2);
	int32_t res[3] = {before, r, __builtin_wasm_memory_size(0)};
	return_data(res, sizeof res);
}

EXPORT("_gas") int64_t m_gas(void) { return gas_left(); }
