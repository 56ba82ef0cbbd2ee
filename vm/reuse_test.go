package vm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

var (
	reuseAddr = common.HexToAddress("0xc0de000000000000000000000000000000000e01")
	dropAddr  = common.HexToAddress("0xc0de000000000000000000000000000000000e02")
)

func reuseWorld(t testing.TB) *vmtest.State {
	t.Helper()
	s := vmtest.New()
	s.SetCode(reuseAddr, wasmFile(t, "testdata/wat/reuse.wasm"))
	s.SetCode(dropAddr, wasmFile(t, "testdata/wat/dropseg.wasm"))
	s.SetBalance(alice, uint256.NewInt(1_000_000))
	return s
}

// reuse.wat's report: the marker at 0x800, the data segment's bytes, $g, $h, the pages.
func reuseReport(marker uint64, data string, g uint64, h, pages uint32) []byte {
	b := binary.LittleEndian.AppendUint64(nil, marker)
	b = append(b, data...)
	b = binary.LittleEndian.AppendUint64(b, g)
	return append(b, le32(h, pages)...)
}

var (
	pristine = reuseReport(0, "DATADATA", 7, 3, 1)
	dirtied  = reuseReport(0xaaaaaaaaaaaaaaaa, "XXXXXXXX", 0x1234, 99, 1)
)

// reuseScript alternates calls that change every piece of an instance's state (and end
// in every way a call can end) with calls that report that state, which must always be
// the state right after instantiation.
var reuseScript = []struct {
	method string
	out    []byte // nil: do not check
	err    error  // nil: must succeed
	gas    uint64 // 0: testGas
}{
	{"peek", pristine, nil, 0},
	{"poke", dirtied, nil, 0},
	{"peek", pristine, nil, 0},
	{"poke_trap", nil, vm.ErrTrap, 0},
	{"peek", pristine, nil, 0},
	{"poke_revert", nil, &vm.RevertError{}, 0},
	{"peek", pristine, nil, 0},
	{"poke_oog", nil, vm.ErrOutOfGas, 300_000},
	{"peek", pristine, nil, 0},
	{"grow", reuseReport(0xaaaaaaaaaaaaaaaa, "XXXXXXXX", 0x1234, 99, 2), nil, 0},
	{"peek", pristine, nil, 0},
	{"poke_call", pristine, nil, 0}, // the nested frame of the same code sees a fresh state
	{"peek", pristine, nil, 0},
	{"poke_deep", nil, vm.ErrStackOverflow, 0},
	{"rec", pristine, nil, 0}, // 500 frames: fails if the stack height leaked
	{"peek", pristine, nil, 0},
}

func reuseCall(v *vm.VM, s vm.StateDB, method string, gas uint64) *vm.Result {
	if gas == 0 {
		gas = testGas
	}
	return v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: reuseAddr, Method: method, Gas: gas})
}

func checkStep(t *testing.T, i int, method string, want []byte, wantErr error, r *vm.Result) {
	t.Helper()
	switch {
	case wantErr == nil && r.Err != nil:
		t.Fatalf("step %d %s: %v", i, method, r.Err)
	case wantErr != nil:
		var rev *vm.RevertError
		if _, isRev := wantErr.(*vm.RevertError); isRev && !errors.As(r.Err, &rev) || !isRev && !errors.Is(r.Err, wantErr) {
			t.Fatalf("step %d %s: error %v, want %v", i, method, r.Err, wantErr)
		}
	case want != nil && !bytes.Equal(r.Output, want):
		t.Fatalf("step %d %s: output\n%x, want\n%x", i, method, r.Output, want)
	}
}

// TestInstanceReuse: a reused instance is observably identical to a fresh one. The script
// runs three times on one VM (so that every step but the first runs on instances that
// served earlier steps), and once on a VM that instantiates every frame afresh; outputs,
// gas and errors must match step for step, on both engines.
func TestInstanceReuse(t *testing.T) {
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) {
			fresh, err := vm.New(context.Background(), vm.Config{Engine: e, FreshInstances: true})
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close(context.Background())
			v := newVM(t, e)
			var want []*vm.Result
			s := reuseWorld(t)
			for _, st := range reuseScript {
				want = append(want, reuseCall(fresh, s, st.method, st.gas))
			}
			for round := range 3 {
				s := reuseWorld(t)
				for i, st := range reuseScript {
					r := reuseCall(v, s, st.method, st.gas)
					checkStep(t, i, st.method, st.out, st.err, r)
					w := want[i]
					if !bytes.Equal(r.Output, w.Output) || r.GasUsed != w.GasUsed || fmt.Sprint(r.Err) != fmt.Sprint(w.Err) {
						t.Fatalf("round %d step %d %s: reused (%x, %d, %v), fresh (%x, %d, %v)",
							round, i, st.method, r.Output, r.GasUsed, r.Err, w.Output, w.GasUsed, w.Err)
					}
				}
			}
		})
	}
}

// TestInstanceReuseDataDrop: data.drop changes an instance for good, so instances of a
// module containing it are not reused: a call after one that dropped the segment still
// reads it.
func TestInstanceReuseDataDrop(t *testing.T) {
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) {
			v := newVM(t, e)
			s := reuseWorld(t)
			for i := range 3 {
				if r := call(t, v, s, dropAddr, "load", nil); r.Err != nil || string(r.Output) != "SEGM" {
					t.Fatalf("round %d: load gave %q, %v", i, r.Output, r.Err)
				}
				if r := call(t, v, s, dropAddr, "drop_load", nil); !errors.Is(r.Err, vm.ErrTrap) {
					t.Fatalf("round %d: drop_load gave %v, want a trap", i, r.Err)
				}
			}
		})
	}
}

// TestInstanceReuseConcurrent: calls of the same code from several goroutines (as the
// workers of a parallel block execution make them), each dirtying its instance or
// checking that the one it got is clean.
func TestInstanceReuseConcurrent(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	const goroutines, calls = 4, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := reuseWorld(t)
			for i := range calls {
				method, want := "peek", pristine
				switch (g + i) % 4 {
				case 1:
					method, want = "poke", dirtied
				case 2:
					method, want = "poke_call", pristine
				case 3:
					method = "poke_trap"
				}
				r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: reuseAddr, Method: method, Gas: testGas})
				if method == "poke_trap" {
					if !errors.Is(r.Err, vm.ErrTrap) {
						errs <- fmt.Errorf("goroutine %d call %d: poke_trap gave %v", g, i, r.Err)
						return
					}
					continue
				}
				if r.Err != nil || !bytes.Equal(r.Output, want) {
					errs <- fmt.Errorf("goroutine %d call %d: %s gave %x, %v; want %x", g, i, method, r.Output, r.Err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestInstanceReuseBounds: the idle instances stay within their bounds (count, memory
// bytes, per code) while calls of several contracts, nested calls of the same code and
// evictions from a small code cache come and go; and instances do get reused.
func TestInstanceReuseBounds(t *testing.T) {
	v, err := vm.New(context.Background(), vm.Config{CacheEntries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(context.Background())
	// reuse.wat has 1 page, the examples 2: at most 3 instances, 4 pages, 2 per code.
	vm.SetIdleBounds(v, 3, 4<<16, 2)
	s := fullWorld(t)
	s.SetCode(reuseAddr, wasmFile(t, "testdata/wat/reuse.wasm"))
	s.SetCode(abiAddr, wasmFile(t, "testdata/wat/abi.wasm"))
	calls := []vm.Call{
		{Contract: reuseAddr, Method: "poke_call"}, // two instances of the same code at once
		{Contract: exHello, Method: "hello", Input: []byte("x")},
		{Contract: reuseAddr, Method: "peek"},
		{Contract: abiAddr, Method: "call", Input: callInput(reuseAddr, 0, 0, "poke_call", nil)}, // three
		{Contract: exCount, Method: "increment"},
		{Contract: exHello, Method: "hello", Input: []byte("y")},
	}
	maxSeen := 0
	for i := range 30 {
		c := calls[i%len(calls)]
		c.Caller, c.Gas = alice, testGas
		if r := v.Call(context.Background(), env(s), c); r.Err != nil {
			t.Fatalf("call %d %s: %v", i, c.Method, r.Err)
		}
		n, _, err := vm.IdleInstances(v)
		if err != nil {
			t.Fatalf("after call %d: %v", i, err)
		}
		maxSeen = max(maxSeen, n)
	}
	if maxSeen == 0 {
		t.Fatal("no instance was ever kept for reuse")
	}
	// A peek after all that still sees an instance as after instantiation.
	if r := call(t, v, s, reuseAddr, "peek", nil); r.Err != nil || !bytes.Equal(r.Output, pristine) {
		t.Fatalf("peek: %x, %v", r.Output, r.Err)
	}
}

// TestInstanceReuseAfterCancel: with Config.Interruptible, wazero closes the module of a
// call whose context is done (in the middle of a loop, or, if the context was done before
// the call returned, possibly after it returned): such an instance is never reused, and
// later calls see a fresh one. Three guards keep it out (a call that failed for the node,
// a closed module, a context done when the call returned); the test fails when all are
// removed. (The after-return interleaving, which only the last guard catches, cannot be
// forced; the mid-call one is.)
func TestInstanceReuseAfterCancel(t *testing.T) {
	v, err := vm.New(context.Background(), vm.Config{Interruptible: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(context.Background())
	s := reuseWorld(t)
	for i := range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(time.Millisecond, cancel)
		// poke, then loop until the gas runs out: far longer than a millisecond.
		r := v.Call(ctx, env(s), vm.Call{Caller: alice, Contract: reuseAddr, Method: "poke_oog", Gas: 1 << 40})
		timer.Stop()
		cancel()
		if !errors.Is(r.Err, vm.ErrCanceled) {
			t.Fatalf("call %d canceled mid-loop: %v", i, r.Err)
		}
		for range 2 {
			if r := call(t, v, s, reuseAddr, "peek", nil); r.Err != nil || !bytes.Equal(r.Output, pristine) {
				t.Fatalf("peek after call %d: %x, %v", i, r.Output, r.Err)
			}
		}
	}
}

// TestInstanceReuseLargeMemory: a reused instance of a memory above the size that reset
// zeroes in place (its pages past 256 KiB go back to the kernel) reads zero there again,
// and its data segment past 256 KiB is restored, after a call that wrote or trapped.
func TestInstanceReuseLargeMemory(t *testing.T) {
	addr := common.HexToAddress("0xc0de000000000000000000000000000000000e03")
	pristine := append(make([]byte, 16), "BIGDATA!"...)
	dirtied := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), 0xaaaaaaaaaaaaaaaa)
	dirtied = append(dirtied, "XXXXXXXX"...)
	script := []struct {
		method string
		out    []byte
		err    error
	}{
		{"peek", pristine, nil}, {"poke", dirtied, nil}, {"peek", pristine, nil},
		{"poke_trap", nil, vm.ErrTrap}, {"peek", pristine, nil}, {"poke", dirtied, nil}, {"peek", pristine, nil},
	}
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) {
			v := newVM(t, e)
			s := vmtest.New()
			s.SetCode(addr, wasmFile(t, "testdata/wat/reusebig.wasm"))
			for round := range 2 {
				for i, st := range script {
					r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: addr, Method: st.method, Gas: testGas})
					checkStep(t, round*len(script)+i, st.method, st.out, st.err, r)
				}
			}
		})
	}
}
