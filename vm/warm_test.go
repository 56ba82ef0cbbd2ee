package vm_test

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

var (
	warmAddr = common.HexToAddress("0xc0de000000000000000000000000000000000e01")
	carol    = common.HexToAddress("0xca201000000000000000000000000000000000c3")
	dave     = common.HexToAddress("0xda7e000000000000000000000000000000000d4")
)

// Script ops of testdata/wat/warm.wat.
func opRead(k byte) []byte             { return []byte{'r', k} }
func opWrite(k byte) []byte            { return []byte{'w', k} }
func opDelete(k byte) []byte           { return []byte{'d', k} }
func opBalance(a types.Address) []byte { return append([]byte{'b'}, a[:]...) }
func opTransfer(a types.Address) []byte {
	return append([]byte{'t'}, a[:]...)
}
func opCall(ops ...[]byte) []byte {
	sub := cat(ops...)
	return append([]byte{'c', byte(len(sub))}, sub...)
}

var opFail = []byte{'f'}

// warmWorld has warm.wasm at warmAddr with keys '1', '2' and '3' present (1-byte
// values) and '8', '9' absent.
func warmWorld(t testing.TB) *vmtest.State {
	s := world(t)
	s.SetCode(warmAddr, wasmFile(t, "testdata/wat/warm.wasm"))
	for _, k := range []byte("123") {
		s.SetStorage(warmAddr, []byte{k}, []byte{k})
	}
	return s
}

// runScript runs the script in a new top-level call on s and returns its gas.
func runScript(t *testing.T, v *vm.VM, s vm.StateDB, ops ...[]byte) uint64 {
	t.Helper()
	r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: warmAddr, Method: "ops",
		Input: cat(ops...), Gas: testGas})
	if r.Err != nil {
		t.Fatalf("script %q: %v", cat(ops...), r.Err)
	}
	return r.GasUsed
}

// TestWarmCold checks EIP-2929-style pricing: pairs of scripts that execute the same
// instructions, one whose last access is warm and one whose last access is cold, differ
// by exactly the cold price minus the warm price; raising a warm price raises exactly
// the warm scripts; both engines charge the same.
func TestWarmCold(t *testing.T) {
	h := gas.Default().Host
	readDiff := h.StorageRead.Cost(1) - h.StorageReadWarm.Cost(1)
	acctDiff := h.Balance.Base - h.BalanceWarm.Base
	cases := []struct {
		name       string
		warm, cold [][]byte
		diff       uint64
		warmReads  uint64 // warm storage reads in the warm script
		warmAccts  uint64 // warm balance/transfer accesses in the warm script
		coldReads  uint64 // ... and in the cold script
		coldAccts  uint64
	}{
		{"read again", [][]byte{opRead('1'), opRead('1')}, [][]byte{opRead('1'), opRead('2')}, readDiff, 1, 0, 0, 0},
		{"read absent again", [][]byte{opRead('9'), opRead('9')}, [][]byte{opRead('9'), opRead('8')}, readDiff, 1, 0, 0, 0},
		{"write warms", [][]byte{opWrite('1'), opRead('1')}, [][]byte{opWrite('2'), opRead('1')}, readDiff, 1, 0, 0, 0},
		{"delete warms", [][]byte{opDelete('9'), opRead('9')}, [][]byte{opDelete('8'), opRead('9')}, readDiff, 1, 0, 0, 0},
		{"callee warms", [][]byte{opCall(opRead('1')), opRead('1')}, [][]byte{opCall(opRead('2')), opRead('1')}, readDiff, 1, 0, 0, 0},
		{"reverted callee warms", [][]byte{opCall(opRead('1'), opFail), opRead('1')},
			[][]byte{opCall(opRead('2'), opFail), opRead('1')}, readDiff, 1, 0, 0, 0},
		{"caller warms callee", [][]byte{opRead('1'), opCall(opRead('1'))}, [][]byte{opRead('2'), opCall(opRead('1'))}, readDiff, 1, 0, 0, 0},
		{"balance again", [][]byte{opBalance(carol), opBalance(carol)}, [][]byte{opBalance(carol), opBalance(dave)}, acctDiff, 0, 1, 0, 0},
		{"origin is warm", [][]byte{opBalance(alice)}, [][]byte{opBalance(carol)}, acctDiff, 0, 1, 0, 0},
		{"self is warm", [][]byte{opBalance(warmAddr)}, [][]byte{opBalance(carol)}, acctDiff, 0, 1, 0, 0},
		{"transfer warms", [][]byte{opTransfer(carol), opBalance(carol)}, [][]byte{opTransfer(carol), opBalance(dave)}, acctDiff, 0, 1, 0, 0},
		{"transfer to a warm account", [][]byte{opBalance(carol), opTransfer(carol)}, [][]byte{opBalance(carol), opTransfer(dave)}, acctDiff, 0, 1, 0, 0},
		{"reverted balance warms", [][]byte{opCall(opBalance(carol), opFail), opBalance(carol)},
			[][]byte{opCall(opBalance(dave), opFail), opBalance(carol)}, acctDiff, 0, 1, 0, 0},
	}
	// dear: warm prices raised by 1 000 (still below the cold ones).
	dear := gas.Default()
	dear.Host.StorageReadWarm.Base += 1000
	dear.Host.BalanceWarm.Base += 1000
	gasOf := map[vm.Engine][]uint64{}
	for _, e := range engines {
		v := newVM(t, e)
		vd, err := vm.New(context.Background(), vm.Config{Engine: e, Schedule: dear})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { vd.Close(context.Background()) })
		for _, c := range cases {
			w, cl := runScript(t, v, warmWorld(t), c.warm...), runScript(t, v, warmWorld(t), c.cold...)
			if cl-w != c.diff {
				t.Errorf("%s, %s: cold %d - warm %d = %d, want %d", e, c.name, cl, w, cl-w, c.diff)
			}
			wd, cd := runScript(t, vd, warmWorld(t), c.warm...), runScript(t, vd, warmWorld(t), c.cold...)
			if want := w + 1000*(c.warmReads+c.warmAccts); wd != want {
				t.Errorf("%s, %s: warm script with dearer warm prices: %d, want %d", e, c.name, wd, want)
			}
			if want := cl + 1000*(c.coldReads+c.coldAccts); cd != want {
				t.Errorf("%s, %s: cold script with dearer warm prices: %d, want %d", e, c.name, cd, want)
			}
			gasOf[e] = append(gasOf[e], w, cl)
		}
	}
	for i, g := range gasOf[vm.EngineCompiler] {
		if g != gasOf[vm.EngineInterpreter][i] {
			t.Errorf("%s: compiler charged %d, interpreter %d", cases[i/2].name, g, gasOf[vm.EngineInterpreter][i])
		}
	}
}

// TestWarmPerCall checks that warmth lasts one top-level call: the same script run again
// on the same state (whose overlay now holds every key) and on the same VM (whose caches
// are warm) pays exactly the same, cold first accesses included; a VM with cold caches
// agrees.
func TestWarmPerCall(t *testing.T) {
	script := [][]byte{opRead('1'), opRead('1'), opBalance(carol), opWrite('2'), opRead('2')}
	var want uint64
	for _, e := range engines {
		s := warmWorld(t)
		v := newVM(t, e)
		first := runScript(t, v, s, script...)
		if want == 0 {
			want = first
		}
		if again := runScript(t, v, s, script...); again != first || first != want {
			t.Fatalf("%s: first call %d, same script again %d, compiler %d", e, first, again, want)
		}
		if fresh := runScript(t, newVM(t, e), warmWorld(t), script...); fresh != want {
			t.Fatalf("%s: fresh VM %d, want %d", e, fresh, want)
		}
	}
	// The first read of every call is cold: two calls of one read cost two cold reads.
	v := newVM(t, vm.EngineCompiler)
	s := warmWorld(t)
	one := runScript(t, v, s, opRead('1'))
	if two := runScript(t, v, s, opRead('1'), opRead('1')); two-one >= gas.Default().Host.StorageRead.Base {
		t.Fatalf("second read in a call cost %d, not warm", two-one)
	}
	if again := runScript(t, v, s, opRead('1')); again != one {
		t.Fatalf("read in a new call %d, first call %d", again, one)
	}
}
