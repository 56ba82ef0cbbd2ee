package vm_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/internal/prepare"
	"github.com/wnode/wnode/vm/vmtest"
)

func TestPrepare(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	ctx := context.Background()
	code := wasmFile(t, "../examples/token/token.wasm")
	c, err := v.Prepare(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != types.Hash(crypto.Keccak256Hash(code)) || !c.HasInit || c.HasMigrate ||
		len(c.Methods) != 3 || c.Methods[0] != "balance_of" || string(c.Original) != string(code) {
		t.Fatalf("code %+v", c)
	}
	// Preparing again is a cache hit with the same answer.
	c2, err := v.Prepare(ctx, code)
	if err != nil || c2 != c {
		t.Fatalf("second Prepare: %v %p %p", err, c, c2)
	}
	// A gzip deploy names the uncompressed code and shares its cache entry.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(code)
	zw.Close()
	c3, err := v.Prepare(ctx, gz.Bytes())
	if err != nil || c3 != c {
		t.Fatalf("gzip Prepare: %v, same entry %v", err, c3 == c)
	}
	v2 := newVM(t, vm.EngineCompiler)
	c4, err := v2.Prepare(ctx, gz.Bytes())
	if err != nil || c4.Hash != c.Hash || !bytes.Equal(c4.Original, code) {
		t.Fatalf("gzip Prepare on a fresh VM: %v %+v", err, c4)
	}
	// Blocks (what the chain charges compilation by) is prepare's count, the same from
	// a compilation, a cache hit, and gzip on another VM.
	pm, err := prepare.Prepare(code, v.Schedule(), prepare.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if c.Blocks == 0 || c.Blocks != pm.Blocks || c4.Blocks != c.Blocks {
		t.Fatalf("blocks %d, prepare counts %d, gzip on a fresh VM %d", c.Blocks, pm.Blocks, c4.Blocks)
	}
	for name, c := range map[string]struct {
		code []byte
		rule vm.CodeRule
	}{
		"garbage":   {[]byte("not wasm at all"), vm.RuleMalformed},
		"empty":     {nil, vm.RuleMalformed},
		"truncated": {code[:len(code)/2], vm.RuleMalformed},
		"start":     {watStart, vm.RuleStart},
	} {
		_, err := v.Prepare(ctx, c.code)
		var ce *vm.CodeError
		if !errors.Is(err, vm.ErrInvalidCode) || !errors.As(err, &ce) || ce.Rule != c.rule {
			t.Errorf("%s: err %v, want a CodeError of rule %q", name, err, c.rule)
		}
	}
}

// TestPrepareIf: the afford check sees the validated code before compilation; refused,
// nothing is compiled or cached; on a cache hit it is not consulted.
func TestPrepareIf(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	ctx := context.Background()
	code := wasmFile(t, "../examples/token/token.wasm")
	var seen *vm.Code
	c, err := v.PrepareIf(ctx, code, func(c *vm.Code) bool { seen = c; return false })
	if err != nil || c != seen || c.Blocks == 0 || c.Hash != types.Hash(crypto.Keccak256Hash(code)) || !c.HasInit {
		t.Fatalf("refused: %v %+v", err, c)
	}
	if n := v.CachedModules(); n != 0 {
		t.Fatalf("%d modules cached after a refusal", n)
	}
	c2, err := v.PrepareIf(ctx, code, func(*vm.Code) bool { return true })
	if err != nil || c2.Blocks != c.Blocks || v.CachedModules() != 1 {
		t.Fatalf("accepted: %v, blocks %d vs %d, %d cached", err, c2.Blocks, c.Blocks, v.CachedModules())
	}
	c3, err := v.PrepareIf(ctx, code, func(*vm.Code) bool { t.Fatal("afford called on a cache hit"); return false })
	if err != nil || c3 != c2 {
		t.Fatalf("cache hit: %v", err)
	}
	if _, err := v.PrepareIf(ctx, []byte("junk"), func(*vm.Code) bool { return true }); !errors.Is(err, vm.ErrInvalidCode) {
		t.Fatalf("invalid code: %v", err)
	}
}

// watStart is (module (memory (export "memory") 1) (func $s) (start $s)).
var watStart = []byte{0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1,
	7, 0x0a, 1, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 8, 1, 0, 0x0a, 4, 1, 2, 0, 0x0b}

func TestNewErrors(t *testing.T) {
	if _, err := vm.New(context.Background(), vm.Config{Engine: vm.Engine(9)}); err == nil {
		t.Fatal("unknown engine accepted")
	}
	bad := *newVM(t, vm.EngineCompiler).Schedule()
	bad.Instr.Call = 1 << 40
	if _, err := vm.New(context.Background(), vm.Config{Schedule: &bad}); err == nil {
		t.Fatal("invalid schedule accepted")
	}
}

func TestGasLimitCapped(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	r := v.Call(context.Background(), env(world(t)), vm.Call{Caller: alice, Contract: abiAddr, Method: "echo", Gas: ^uint64(0)})
	mustOK(t, r)
	if r.GasUsed == 0 || r.GasUsed > 10_000 {
		t.Fatalf("gas %d", r.GasUsed)
	}
}

// TestDiskCache: compiled code lands in CacheDir/<version> and a new VM (a restarted
// node) runs from it with the same results.
func TestDiskCache(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var want []string
	for round := 0; round < 2; round++ {
		v, err := vm.New(ctx, vm.Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		s := fullWorld(t)
		var got []string
		for _, c := range []struct {
			to     types.Address
			method string
			in     []byte
		}{{exHello, "hello", []byte("x")}, {abiAddr, "env", nil}, {cLoop, "run", le64(100)}} {
			got = append(got, digest(call(t, v, s, c.to, c.method, c.in)))
		}
		if err := v.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			want = got
			entries, err := os.ReadDir(filepath.Join(dir, v.VersionString()))
			if err != nil || len(entries) == 0 {
				t.Fatalf("cache dir: %v, %d entries", err, len(entries))
			}
		} else if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("after restart:\n%q\n%q", got, want)
		}
	}
}

// TestCompileFailureIsInternal: when this node fails to compile code that validation
// accepts (here because its on-disk cache is unusable), Prepare, Call and a nested call
// fail with ErrInternal: the failure is the node's, so it must not become a receipt (an
// invalid-code or trap receipt would differ from every other node's).
func TestCompileFailureIsInternal(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	v, err := vm.New(ctx, vm.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	abi := wasmFile(t, "testdata/wat/abi.wasm")
	if _, err := v.Prepare(ctx, abi); err != nil { // compiled while the cache works
		t.Fatal(err)
	}
	// The cache folder becomes a file: every later cache write fails.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	internal := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, vm.ErrInternal) || errors.Is(err, vm.ErrInvalidCode) || errors.Is(err, vm.ErrTrap) {
			t.Fatalf("%s: %v, want ErrInternal only", what, err)
		}
	}
	_, err = v.Prepare(ctx, wasmFile(t, "testdata/c/loop.wasm"))
	internal("Prepare", err)

	s := vmtest.New()
	s.SetCode(cEcho, wasmFile(t, "testdata/c/echo.wasm"))
	s.SetCode(abiAddr, abi)
	s.SetCode(fltAddr, wasmFile(t, "testdata/wat/floats.wasm"))
	internal("Call", call(t, v, s, cEcho, "echo", nil).Err)
	// The callee's compile failure aborts the whole call: the caller contract never sees
	// it as a result code.
	r := call(t, v, s, abiAddr, "call", callInput(fltAddr, 0, 0, "anything", nil))
	internal("nested call", r.Err)

	// Code that validation refuses is still the code's fault.
	if _, err := v.Prepare(ctx, []byte("not wasm")); !errors.Is(err, vm.ErrInvalidCode) {
		t.Fatalf("invalid code: %v", err)
	}
}

// TestConcurrentCalls runs many calls on many goroutines against one VM with a tiny code
// cache (so entries are evicted while in use) and compares them with a sequential run.
// Run with -race.
func TestConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	v, err := vm.New(ctx, vm.Config{CacheEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	type job struct {
		to     types.Address
		method string
		in     []byte
	}
	jobs := []job{
		{exHello, "hello", []byte("a")}, {cLoop, "run", le64(2000)}, {abiAddr, "call", callInput(abiAddr2, 0, 0, "emit_n", le32(2))},
		{cCalls, "depth", le64(10)}, {exCount, "increment", nil}, {advAddr, "loop", nil}, {cSha, "run", le64(5)},
		{fltAddr, "nans", nil}, {abiAddr, "fail", []byte("x")},
	}
	run := func() []string {
		s := fullWorld(t)
		var out []string
		for _, j := range jobs {
			r := v.Call(ctx, env(s), vm.Call{Caller: alice, Contract: j.to, Method: j.method, Input: j.in, Gas: 500_000})
			out = append(out, digest(r))
		}
		return out
	}
	want := run()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				got := run()
				for k := range got {
					if got[k] != want[k] {
						errs <- got[k] + " != " + want[k]
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := v.CachedModules(); n != 2 {
		t.Fatalf("%d modules cached, bound 2", n)
	}
}

// TestValueToPlainAccount: value sent with a call must stay with the contract, and a
// failed call gives it back.
func TestValueRefundOnFailure(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	s := world(t)
	before := s.Copy()
	for _, m := range []string{"fail", "trap", "missing"} {
		r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: m, Value: uint256.NewInt(5), Gas: testGas})
		if r.Err == nil || !s.Equal(before) || s.JournalLen() != 0 {
			t.Fatalf("%s: err %v, state changed", m, r.Err)
		}
	}
	r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: advAddr, Method: "loop", Value: uint256.NewInt(5), Gas: 10_000})
	if !errors.Is(r.Err, vm.ErrOutOfGas) || !s.Equal(before) {
		t.Fatalf("loop: err %v", r.Err)
	}
}

var _ = vmtest.New

// TestMemoryFresh: memory buffers are recycled between calls, but a call never sees what
// an earlier call left in memory.
func TestMemoryFresh(t *testing.T) {
	for _, e := range engines {
		v := newVM(t, e)
		s := world(t)
		for i := 0; i < 3; i++ {
			mustOK(t, call(t, v, s, abiAddr, "env", nil)) // writes 108 bytes at 0x10000
			r := call(t, v, s, abiAddr, "raw_return", le32(0x10000, 108))
			mustOK(t, r)
			if !bytes.Equal(r.Output, make([]byte, 108)) {
				t.Fatalf("%v: memory of an earlier call visible: %x", e, r.Output)
			}
			// fill_loop sets the first page to 1s until out of gas; return_huge then grows
			// to 3 pages and returns them: only its data segments may be non-zero.
			r = v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: advAddr, Method: "fill_loop", Gas: 50_000})
			mustErr(t, r, vm.ErrOutOfGas, "")
			r = call(t, v, s, advAddr, "return_huge", le32(2))
			mustOK(t, r)
			if len(r.Output) != 3*65536 || bytes.Count(r.Output[0x300:], []byte{0}) != 3*65536-0x300 {
				t.Fatalf("%v: grown memory not zero", e)
			}
		}
	}
}
