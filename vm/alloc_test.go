package vm_test

import (
	"context"
	"testing"

	"github.com/wnode/wnode/vm"
)

// TestCallAllocations keeps the call path lean: a hello call allocates a bounded number of
// objects. It reuses an instance of the contract (7 allocations: the execution, its access
// set, the frame, the output, the Result); instantiating one per call took 32.
func TestCallAllocations(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	s := fullWorld(t)
	e := env(s)
	e.Debug = false
	c := vm.Call{Caller: alice, Contract: exHello, Method: "hello", Input: []byte("x"), Gas: 100_000}
	v.Call(context.Background(), e, c)
	n := testing.AllocsPerRun(100, func() { v.Call(context.Background(), e, c) })
	t.Logf("%.0f allocations per hello call", n)
	if n > 12 {
		t.Fatalf("%.0f allocations per hello call, want <= 12", n)
	}
}
