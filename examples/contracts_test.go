package examples

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

const testdata = "../vm/testdata/c/"

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func amount(v uint64) []byte { return append(make([]byte, 24), be64(v)...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func wantBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s = %x, want %x", what, got, want)
	}
}

// languages runs test once per language version of an example: the C, Rust and
// AssemblyScript builds must behave identically (outputs, reverts, events, storage).
func languages(t *testing.T, paths []string, test func(t *testing.T, path string)) {
	for _, p := range paths {
		t.Run(p, func(t *testing.T) { test(t, p) })
	}
}

var (
	helloBuilds   = []string{"hello/hello.wasm", "hello/rust/hello.wasm", "hello/as/hello.wasm"}
	counterBuilds = []string{"counter/counter.wasm", "counter/c/counter.wasm", "counter/as/counter.wasm"}
	tokenBuilds   = []string{"token/token.wasm", "token/rust/token.wasm", "token/as/token.wasm"}
)

func TestHello(t *testing.T) { languages(t, helloBuilds, testHello) }

func testHello(t *testing.T, path string) {
	c := newChain(t)
	h := addr{1}
	c.deploy(h, path)
	for _, tc := range []struct{ in, want string }{
		{"", "hello, world"},
		{"world", "hello, world"},
		{"wnode", "hello, wnode"},
		{strings.Repeat("x", 200000), "hello, " + strings.Repeat("x", 200000)}, // grows memory
	} {
		if got := c.mustCall(h, "hello", []byte(tc.in)); string(got) != tc.want {
			t.Fatalf("hello(%.20q) = %.30q, want %.30q", tc.in, got, tc.want)
		}
	}
}

func TestCounter(t *testing.T) { languages(t, counterBuilds, testCounter) }

func testCounter(t *testing.T, path string) {
	c := newChain(t)
	k := addr{2}
	c.deploy(k, path)
	wantBytes(t, "get", c.mustCall(k, "get", nil), be64(0))
	for i := uint64(1); i <= 3; i++ {
		wantBytes(t, "increment", c.mustCall(k, "increment", []byte("ignored")), be64(i))
	}
	wantBytes(t, "get", c.mustCall(k, "get", nil), be64(3))
	wantBytes(t, "storage count", c.storage[k]["count"], be64(3))

	c.storage[k]["count"] = be64(math.MaxUint64)
	c.mustRevert(k, "increment", nil, "overflow")
	wantBytes(t, "count after failed increment", c.storage[k]["count"], be64(math.MaxUint64))
	c.storage[k]["count"] = []byte{1, 2, 3}
	c.mustRevert(k, "get", nil, "corrupt count")
}

func TestToken(t *testing.T) { languages(t, tokenBuilds, testToken) }

func testToken(t *testing.T, path string) {
	c := newChain(t)
	tok := addr{3}
	alice, bob := addr{0xa1}, addr{0xb0}
	c.deploy(tok, path)

	c.mustRevert(tok, "init", []byte{1, 2, 3}, "bad input")
	if _, err := c.callFrom(alice, tok, "init", be64(1000)); err != nil {
		t.Fatal(err)
	}
	c.mustRevert(tok, "init", be64(5), "already initialized")
	wantBytes(t, "total_supply", c.mustCall(tok, "total_supply", nil), amount(1000))
	wantBytes(t, "balance alice", c.mustCall(tok, "balance_of", alice[:]), amount(1000))
	wantBytes(t, "balance bob", c.mustCall(tok, "balance_of", bob[:]), amount(0))
	if len(c.events) != 1 || c.events[0].topic != "transfer" {
		t.Fatalf("events after init: %+v", c.events)
	}
	wantBytes(t, "mint event", c.events[0].data, cat(make([]byte, 20), alice[:], amount(1000)))

	// 8-byte and 32-byte amounts.
	if _, err := c.callFrom(alice, tok, "transfer", cat(bob[:], be64(300))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.callFrom(alice, tok, "transfer", cat(bob[:], amount(200))); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, "balance alice", c.mustCall(tok, "balance_of", alice[:]), amount(500))
	wantBytes(t, "balance bob", c.mustCall(tok, "balance_of", bob[:]), amount(500))
	wantBytes(t, "transfer event", c.events[2].data, cat(alice[:], bob[:], amount(200)))
	if c.events[2].contract != tok {
		t.Fatalf("event contract %x", c.events[2].contract)
	}

	// Insufficient balance changes nothing and emits nothing.
	n := len(c.events)
	_, err := c.callFrom(bob, tok, "transfer", cat(alice[:], be64(501)))
	var re *revertError
	if !errors.As(err, &re) || string(re.msg) != "insufficient balance" {
		t.Fatalf("overdraft: %v", err)
	}
	if len(c.events) != n {
		t.Fatal("failed transfer left an event")
	}
	wantBytes(t, "balance bob", c.mustCall(tok, "balance_of", bob[:]), amount(500))

	// To oneself: a no-op that still emits.
	if _, err := c.callFrom(bob, tok, "transfer", cat(bob[:], be64(500))); err != nil {
		t.Fatal(err)
	}
	wantBytes(t, "balance bob", c.mustCall(tok, "balance_of", bob[:]), amount(500))

	// Emptying an account deletes its key.
	if _, err := c.callFrom(bob, tok, "transfer", cat(alice[:], be64(500))); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.storage[tok][string(cat([]byte("b"), bob[:]))]; ok {
		t.Fatal("zero balance still stored")
	}
	wantBytes(t, "balance alice", c.mustCall(tok, "balance_of", alice[:]), amount(1000))

	c.mustRevert(tok, "transfer", cat(bob[:], be64(1), []byte{0}), "bad input")
	c.mustRevert(tok, "transfer", bob[:19], "bad input")
	c.mustRevert(tok, "balance_of", bob[:19], "bad input")
}

func TestEcho(t *testing.T) {
	c := newChain(t)
	e := addr{4}
	c.deploy(e, testdata+"echo.wasm")
	for _, in := range [][]byte{nil, {0}, []byte("abc"), bytes.Repeat([]byte{0xff}, 100000)} {
		wantBytes(t, "echo", c.mustCall(e, "echo", in), in)
	}
}

func loopBaseline(n uint64) uint64 {
	var x uint64
	for i := uint64(0); i < n; i++ {
		x = (x^(x>>31))*6364136223846793005 + i
	}
	return x
}

func TestLoop(t *testing.T) {
	c := newChain(t)
	l := addr{5}
	c.deploy(l, testdata+"loop.wasm")
	wantBytes(t, "run()", c.mustCall(l, "run", nil), le64(loopBaseline(1000000)))
	for _, n := range []uint64{0, 1, 2, 10, 12345} {
		wantBytes(t, "run(n)", c.mustCall(l, "run", le64(n)), le64(loopBaseline(n)))
	}
	c.mustRevert(l, "run", []byte{1}, "bad input")
}

func sha256Chain(n uint64) []byte {
	h := make([]byte, 32)
	for i := uint64(0); i < n; i++ {
		s := sha256.Sum256(h)
		h = s[:]
	}
	return h
}

func TestSHA256(t *testing.T) {
	c := newChain(t)
	s := addr{6}
	c.deploy(s, testdata+"sha256.wasm")
	for _, m := range []string{"run", "run_host"} {
		wantBytes(t, m+"()", c.mustCall(s, m, nil), sha256Chain(1000))
		for _, n := range []uint64{0, 1, 2, 77} {
			wantBytes(t, m+"(n)", c.mustCall(s, m, le64(n)), sha256Chain(n))
		}
		c.mustRevert(s, m, []byte{1, 2}, "bad input")
	}
}

func sortBaseline(seed, n uint64) uint64 {
	a := make([]uint32, n)
	x := seed
	for i := range a {
		x = x*6364136223846793005 + 1442695040888963407
		a[i] = uint32(x >> 32)
	}
	slices.Sort(a)
	var sum uint64
	for _, v := range a {
		sum = sum*31 + uint64(v)
	}
	return sum
}

func TestSort(t *testing.T) {
	c := newChain(t)
	s := addr{7}
	c.deploy(s, testdata+"sort.wasm")
	wantBytes(t, "run()", c.mustCall(s, "run", nil), le64(sortBaseline(0, 1000)))
	wantBytes(t, "run(seed)", c.mustCall(s, "run", le64(42)), le64(sortBaseline(42, 1000)))
	for _, n := range []uint64{0, 1, 2, 3000} {
		wantBytes(t, "run(seed, n)", c.mustCall(s, "run", cat(le64(99), le64(n))), le64(sortBaseline(99, n)))
	}
	c.mustRevert(s, "run", cat(le64(1), le64(100001)), "bad input")
	c.mustRevert(s, "run", []byte{1}, "bad input")
}

func TestStorage(t *testing.T) {
	c := newChain(t)
	s := addr{8}
	c.deploy(s, testdata+"storage.wasm")
	key := func(i uint64) string { return "w" + string(be64(i)) }
	minus5 := int64(-5)
	wantBytes(t, "reads absent", c.mustCall(s, "reads", le64(5)), le64(uint64(minus5)))

	c.mustCall(s, "writes", le64(10))
	c.mustCall(s, "writes", cat(le64(3), le64(100)))
	if len(c.storage[s]) != 13 {
		t.Fatalf("%d keys after writes, want 13", len(c.storage[s]))
	}
	wantBytes(t, "value 101", c.storage[s][key(101)], bytes.Repeat(be64(101), 4))
	wantBytes(t, "reads", c.mustCall(s, "reads", le64(7)), le64(7*32))
	wantBytes(t, "reads 102", c.mustCall(s, "reads", cat(le64(2), le64(102))), le64(64))
	wantBytes(t, "reads 0 times", c.mustCall(s, "reads", le64(0)), le64(0))

	c.mustCall(s, "deletes", cat(le64(5), le64(0)))
	if len(c.storage[s]) != 8 {
		t.Fatalf("%d keys after deletes, want 8", len(c.storage[s]))
	}
	c.mustRevert(s, "writes", nil, "bad input")
	c.mustRevert(s, "reads", []byte{1, 2, 3}, "bad input")
}

func TestCalls(t *testing.T) {
	c := newChain(t)
	a, b, e := addr{9}, addr{10}, addr{11}
	c.deploy(a, testdata+"calls.wasm")
	c.deploy(b, testdata+"calls.wasm")
	c.deploy(e, testdata+"echo.wasm")
	fwd := func(target addr, method string, args []byte) []byte {
		return cat(target[:], []byte{byte(len(method))}, []byte(method), args)
	}

	// set/get.
	c.mustCall(a, "set", cat([]byte{3}, []byte("keyvalue")))
	wantBytes(t, "storage", c.storage[a]["key"], []byte("value"))
	wantBytes(t, "get", c.mustCall(a, "get", []byte("key")), []byte("\x01value"))
	wantBytes(t, "get absent", c.mustCall(a, "get", []byte("nope")), []byte{0})
	c.mustCall(a, "set", []byte{2, 'e', 'k'})
	wantBytes(t, "get empty", c.mustCall(a, "get", []byte("ek")), []byte{1})
	c.mustRevert(a, "set", []byte{5, 'a'}, "bad input")

	// forward: the callee's output comes back; the callee sees a as its caller.
	wantBytes(t, "forward echo", c.mustCall(a, "forward", fwd(e, "echo", []byte("ping"))), []byte("ping"))
	wantBytes(t, "forward get", c.mustCall(b, "forward", fwd(a, "get", []byte("key"))), []byte("\x01value"))
	c.mustRevert(a, "forward", fwd(b, "fail_after_write", nil), "forward: callee failed: fail_after_write")
	c.mustRevert(a, "forward", e[:], "bad input")
	c.mustRevert(a, "forward", cat(e[:], []byte{9, 'x'}), "bad input")

	// try_forward: a failed callee's write is undone, the caller's survives.
	out := c.mustCall(a, "try_forward", fwd(b, "fail_after_write", nil))
	if binary.LittleEndian.Uint32(out) == 0 || string(out[4:]) != "fail_after_write" {
		t.Fatalf("try_forward = %q", out)
	}
	wantBytes(t, "tried", c.storage[a]["tried"], []byte{1})
	if _, ok := c.storage[b]["fail"]; ok {
		t.Fatal("failed callee's write survived")
	}
	out = c.mustCall(a, "try_forward", fwd(e, "echo", []byte("x")))
	wantBytes(t, "try_forward ok", out, []byte("\x00\x00\x00\x00x"))

	// fail_after_write alone.
	c.mustRevert(b, "fail_after_write", nil, "fail_after_write")
	if _, ok := c.storage[b]["fail"]; ok {
		t.Fatal("reverted write survived")
	}

	// forward_value with a zero amount (the fake host keeps no coin accounting).
	in := cat(e[:], make([]byte, 32), []byte{4}, []byte("echo"), []byte("v"))
	wantBytes(t, "forward_value", c.mustCall(a, "forward_value", in), []byte("v"))

	// depth: the number of frames, capped by the depth limit.
	wantBytes(t, "depth 0", c.mustCall(a, "depth", le64(0)), le64(1))
	wantBytes(t, "depth 10", c.mustCall(a, "depth", le64(10)), le64(11))
	wantBytes(t, "depth 1000", c.mustCall(a, "depth", le64(1000)), le64(maxFrames))
}

func f64bits(v float64) []byte { return le64(math.Float64bits(v)) }
func f32bits(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)) }

func TestFloats(t *testing.T) {
	c := newChain(t)
	f := addr{12}
	c.deploy(f, testdata+"floats.wasm")

	out := c.mustCall(f, "run", nil)
	if len(out) != 36 {
		t.Fatalf("run: %d bytes", len(out))
	}
	for i := 0; i < 3; i++ {
		if v := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:])); v == v {
			t.Fatalf("run f32 #%d = %v, want NaN", i, v)
		}
		if v := math.Float64frombits(binary.LittleEndian.Uint64(out[12+8*i:])); !math.IsNaN(v) {
			t.Fatalf("run f64 #%d = %v, want NaN", i, v)
		}
	}
	// Non-empty input: z = 1, so 1/1, sqrt(0), inf-inf with inf = 1/1 = 1 -> 0.
	wantBytes(t, "run(x)", c.mustCall(f, "run", []byte{0}),
		cat(f32bits(1), f32bits(0), f32bits(0), f64bits(1), f64bits(0), f64bits(0)))

	a, b := 2.25, -0.5
	wantBytes(t, "binops64", c.mustCall(f, "binops64", cat(f64bits(a), f64bits(b))),
		cat(f64bits(a+b), f64bits(a-b), f64bits(a*b), f64bits(a/b), f64bits(b), f64bits(a),
			f64bits(1.5), f64bits(a)))
	x := 0.1
	got := c.mustCall(f, "binops64", cat(f64bits(x), f64bits(x)))
	wantBytes(t, "binops64 demote", got[56:], f64bits(float64(float32(x))))
	var a32, b32 float32 = 6.25, 4
	wantBytes(t, "binops32", c.mustCall(f, "binops32", cat(f32bits(a32), f32bits(b32))),
		cat(f32bits(a32+b32), f32bits(a32-b32), f32bits(a32*b32), f32bits(a32/b32),
			f32bits(b32), f32bits(a32), f32bits(2.5), f32bits(a32)))
	wantBytes(t, "unops64", c.mustCall(f, "unops64", f64bits(-2.5)),
		cat(f64bits(-2), f64bits(-3), f64bits(-2), f64bits(-2), f64bits(2.5), f64bits(2.5)))
	wantBytes(t, "unops32", c.mustCall(f, "unops32", f32bits(3.5)),
		cat(f32bits(4), f32bits(3), f32bits(3), f32bits(4), f32bits(3.5), f32bits(-3.5)))
	// abs/neg of a NaN with a payload flip only the sign bit.
	nan := le64(0x7ff8_0000_0000_1234)
	got = c.mustCall(f, "unops64", nan)
	wantBytes(t, "abs NaN", got[32:40], nan)
	wantBytes(t, "neg NaN", got[40:48], le64(0xfff8_0000_0000_1234))
	c.mustRevert(f, "binops64", nil, "bad input")
	c.mustRevert(f, "unops32", nil, "bad input")
}

func TestHostMethods(t *testing.T) {
	c := newChain(t)
	h := addr{13}
	c.deploy(h, testdata+"host.wasm")
	caller := addr{0xca}
	callAs := func(method string, in []byte) []byte {
		t.Helper()
		out, err := c.callFrom(caller, h, method, in)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return out
	}
	wantBytes(t, "caller", callAs("caller", nil), caller[:])
	wantBytes(t, "origin", callAs("origin", nil), c.origin[:])
	wantBytes(t, "self_address", callAs("self_address", nil), h[:])
	wantBytes(t, "value", callAs("value", nil), make([]byte, 32))
	c.balances[addr{1}] = [32]byte(amount(77))
	wantBytes(t, "balance", callAs("balance", []byte("\x01"+strings.Repeat("\x00", 19))), amount(77))
	wantBytes(t, "transfer 0", callAs("transfer", cat(caller[:], amount(0))), []byte{0, 0, 0, 0})
	wantBytes(t, "transfer 5", callAs("transfer", cat(caller[:], amount(5))), []byte{1, 0, 0, 0})
	wantBytes(t, "block_height", callAs("block_height", nil), le64(uint64(c.height)))
	wantBytes(t, "block_time", callAs("block_time", nil), le64(uint64(c.time)))
	wantBytes(t, "gas_left", callAs("gas_left", nil), le64(fakeGasLeft))

	callAs("emit", []byte("\x03topdata"))
	if ev := c.events[len(c.events)-1]; ev.topic != "top" || string(ev.data) != "data" || ev.contract != h {
		t.Fatalf("event %+v", ev)
	}
	callAs("log", []byte("hi"))
	if c.logs[len(c.logs)-1] != "hi" {
		t.Fatalf("logs %q", c.logs)
	}
	s := sha256.Sum256([]byte("abc"))
	wantBytes(t, "sha256", callAs("sha256", []byte("abc")), s[:])
	wantBytes(t, "keccak256", callAs("keccak256", []byte("abc")), crypto.Keccak256([]byte("abc")))

	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	hash := crypto.Keccak256([]byte("message"))
	sig, err := crypto.Sign(hash, key)
	if err != nil {
		t.Fatal(err)
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	wantBytes(t, "ecrecover", callAs("ecrecover", cat(hash, sig)), cat([]byte{0, 0, 0, 0}, signer[:]))
	sig[64] = 9
	out := callAs("ecrecover", cat(hash, sig))
	if binary.LittleEndian.Uint32(out) == 0 || !bytes.Equal(out[4:], make([]byte, 20)) {
		t.Fatalf("ecrecover of a bad signature = %x", out)
	}

	c.mustRevert(h, "revert", []byte("\x00binary\xff"), "\x00binary\xff")
	callAs("storage_write", []byte("\x01kvalue"))
	wantBytes(t, "storage_read", callAs("storage_read", cat([]byte{10, 0, 0, 0}, []byte("k"))),
		cat(le64(5), []byte("value")))
	wantBytes(t, "storage_read short", callAs("storage_read", cat([]byte{2, 0, 0, 0}, []byte("k"))),
		cat(le64(5), []byte("va")))
	wantBytes(t, "storage_read absent", callAs("storage_read", cat([]byte{2, 0, 0, 0}, []byte("x"))),
		le64(math.MaxUint64))
	callAs("storage_delete", []byte("k"))
	wantBytes(t, "storage_read deleted", callAs("storage_read", cat([]byte{2, 0, 0, 0}, []byte("k"))),
		le64(math.MaxUint64))
	c.mustRevert(h, "return_then_revert", nil, "after return")
	c.mustRevert(h, "balance", nil, "bad input")
}

func TestTraps(t *testing.T) {
	c := newChain(t)
	tr := addr{14}
	c.deploy(tr, testdata+"traps.wasm")
	for _, m := range []string{"unreachable", "div_zero", "oob", "return_then_trap"} {
		_, err := c.call(tr, m, nil)
		var re *revertError
		if err == nil || errors.As(err, &re) {
			t.Fatalf("%s: want a trap, got %v", m, err)
		}
	}
	if _, err := c.callWithin(200*time.Millisecond, c.origin, tr, "infinite", nil); err == nil {
		t.Fatal("infinite: returned")
	}
	r := uint64(0)
	for i := 0; i < 20; i++ {
		r = 3*r + 1
	}
	wantBytes(t, "recurse 20", c.mustCall(tr, "recurse", le64(20)), le64(r))
	if _, err := c.call(tr, "recurse", le64(1<<40)); err == nil {
		t.Fatal("recurse 2^40: no stack overflow")
	}
	wantBytes(t, "grow 1", c.mustCall(tr, "grow", []byte{1, 0, 0, 0}), []byte{2, 0, 0, 0})
	wantBytes(t, "grow too much", c.mustCall(tr, "grow", []byte{0, 0, 1, 0}), []byte{0xff, 0xff, 0xff, 0xff})
}

// TestExports pins what each module exports: memory and exactly its documented methods.
func TestExports(t *testing.T) {
	c := newChain(t)
	for path, want := range map[string][]string{
		"hello/hello.wasm":        {"hello"},
		"hello/rust/hello.wasm":   {"hello"},
		"hello/as/hello.wasm":     {"hello"},
		"counter/counter.wasm":    {"get", "increment"},
		"counter/c/counter.wasm":  {"get", "increment"},
		"counter/as/counter.wasm": {"get", "increment"},
		"token/token.wasm":        {"balance_of", "init", "total_supply", "transfer"},
		"token/rust/token.wasm":   {"balance_of", "init", "total_supply", "transfer"},
		"token/as/token.wasm":     {"balance_of", "init", "total_supply", "transfer"},
		testdata + "echo.wasm":    {"echo"},
		testdata + "loop.wasm":    {"run"},
		testdata + "sha256.wasm":  {"run", "run_host"},
		testdata + "sort.wasm":    {"run"},
		testdata + "storage.wasm": {"deletes", "reads", "writes"},
		testdata + "calls.wasm":   {"depth", "fail_after_write", "forward", "forward_value", "get", "set", "try_forward"},
		testdata + "floats.wasm":  {"binops32", "binops64", "run", "unops32", "unops64"},
		testdata + "traps.wasm":   {"div_zero", "grow", "infinite", "oob", "recurse", "return_then_trap", "unreachable"},
		testdata + "host.wasm": {"balance", "block_height", "block_time", "caller", "ecrecover", "emit",
			"gas_left", "keccak256", "log", "origin", "return_then_revert", "revert", "self_address",
			"sha256", "storage_delete", "storage_read", "storage_write", "transfer", "value"},
	} {
		a := addr{0xee}
		c.deploy(a, path)
		cm := c.code[a]
		var got []string
		for name, fd := range cm.ExportedFunctions() {
			if len(fd.ParamTypes()) != 0 || len(fd.ResultTypes()) != 0 {
				t.Errorf("%s: export %s is not () -> ()", path, name)
			}
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s exports %v, want %v", path, got, want)
		}
		mems := cm.ExportedMemories()
		if len(mems) != 1 || mems["memory"] == nil {
			t.Errorf("%s: memories %v", path, mems)
		}
		for _, fd := range cm.ImportedFunctions() {
			if mod, _, _ := fd.Import(); mod != "wnode" {
				t.Errorf("%s imports from %q", path, mod)
			}
		}
	}
}

// TestRustSDK runs sdk/rust/testdata/sdktest.wasm, which calls every wrapper of the
// Rust SDK.
func TestRustSDK(t *testing.T) { testSDK(t, "../sdk/rust/testdata/sdktest.wasm", "panic") }

// TestAssemblyScriptSDK runs sdk/assemblyscript/testdata/sdktest.wasm, the same methods
// written with the AssemblyScript SDK: same inputs, same outputs. An index out of range
// goes through abort, which the SDK routes to revert with abort's message.
func TestAssemblyScriptSDK(t *testing.T) {
	testSDK(t, "../sdk/assemblyscript/testdata/sdktest.wasm", "Index out of range")
}

func testSDK(t *testing.T, path, panicMsg string) {
	c := newChain(t)
	s, e := addr{15}, addr{16}
	c.deploy(s, path)
	c.deploy(e, testdata+"echo.wasm")
	caller := addr{0xcc}
	callAs := func(method string, in []byte) []byte {
		t.Helper()
		out, err := c.callFrom(caller, s, method, in)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return out
	}

	big := bytes.Repeat([]byte("0123456789"), 1000)
	wantBytes(t, "echo", callAs("echo", big), big)
	wantBytes(t, "echo empty", callAs("echo", nil), nil)
	for _, v := range [][]byte{nil, []byte("small"), bytes.Repeat([]byte{7}, 64), bytes.Repeat([]byte{8}, 65), big} {
		wantBytes(t, "store", callAs("store", cat([]byte{2, 'k', '1'}, v)), v)
		wantBytes(t, "storage", c.storage[s]["k1"], v)
		wantBytes(t, "load", callAs("load", []byte("k1")), cat([]byte{1}, v))
	}
	callAs("delete", []byte("k1"))
	wantBytes(t, "load deleted", callAs("load", []byte("k1")), []byte{0})

	wantBytes(t, "who", callAs("who", nil), cat(caller[:], c.origin[:], s[:]))
	wantBytes(t, "env", callAs("env", nil), cat(be64(uint64(c.height)), be64(uint64(c.time)), make([]byte, 32), []byte{1}))

	sh := sha256.Sum256([]byte("abc"))
	wantBytes(t, "hashes", callAs("hashes", []byte("abc")), cat(sh[:], crypto.Keccak256([]byte("abc"))))

	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	hash := crypto.Keccak256([]byte("m"))
	sig, err := crypto.Sign(hash, key)
	if err != nil {
		t.Fatal(err)
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	wantBytes(t, "recover", callAs("recover", cat(hash, sig)), cat([]byte{1}, signer[:]))
	sig[64] = 7
	wantBytes(t, "recover bad", callAs("recover", cat(hash, sig)), []byte{0})

	callAs("emit", []byte("payload"))
	if ev := c.events[len(c.events)-1]; ev.topic != "sdk" || string(ev.data) != "payload" || ev.contract != s {
		t.Fatalf("event %+v", ev)
	}

	wantBytes(t, "call ok", callAs("call", cat(e[:], []byte{4}, []byte("echo"), []byte("hi"))), []byte("\x00hi"))
	wantBytes(t, "call revert", callAs("call", cat(s[:], []byte{4}, []byte("fail"), []byte("no"))),
		[]byte("\x01\x00\x00\x00\x01no"))
	c.mustRevert(s, "call", cat(e[:], []byte{9}), "bad input")

	ones := bytes.Repeat([]byte{0xff}, 32)
	wantBytes(t, "amounts", callAs("amounts", cat(amount(5), amount(3))), cat(amount(8), amount(2)))
	wantBytes(t, "amounts overflow", callAs("amounts", cat(ones, amount(1))), cat(ones, bytes.Repeat([]byte{0xff}, 31), []byte{0xfe}))
	wantBytes(t, "amounts underflow", callAs("amounts", cat(amount(3), amount(5))), cat(amount(8), ones))
	carry := cat(make([]byte, 23), []byte{1}, make([]byte, 8))
	wantBytes(t, "amounts carry", callAs("amounts", cat(amount(math.MaxUint64), amount(1))), cat(carry, amount(math.MaxUint64-1)))
	wantBytes(t, "amounts borrow", callAs("amounts", cat(carry, amount(1))), cat(cat(make([]byte, 23), []byte{1}, amount(1)[24:]), amount(math.MaxUint64)))

	for _, n := range []uint32{0, 1, 9, 70000, 300000} {
		wantBytes(t, "alloc", callAs("alloc", binary.BigEndian.AppendUint32(nil, n)), cat(binary.BigEndian.AppendUint32(nil, n), []byte{1}))
	}
	c.mustRevert(s, "panic", []byte("x"), panicMsg)
	c.mustRevert(s, "fail", []byte("why"), "why")
	wantBytes(t, "transfer", callAs("transfer", cat(caller[:], amount(0))), []byte{0})
	wantBytes(t, "transfer fails", callAs("transfer", cat(caller[:], amount(1))), []byte{1, 0, 0, 0, 1})
	c.balances[caller] = [32]byte(amount(9))
	wantBytes(t, "balance", callAs("balance", caller[:]), amount(9))
}
