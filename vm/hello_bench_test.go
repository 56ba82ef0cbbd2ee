package vm_test

import (
	"context"
	"testing"

	"github.com/wnode/wnode/internal/cputime"
	"github.com/wnode/wnode/vm"
)

// BenchmarkHelloCall: the VM's call path alone on the hello example (a reused instance:
// call, reset), with its allocations. Config.FreshInstances (fresh) instantiates the
// module for every call, as the VM did before instance reuse: wazero's module instance,
// globals, and a 10 KiB stack per exported function object.
func BenchmarkHelloCall(b *testing.B) {
	for _, fresh := range []bool{false, true} {
		name := "reused"
		if fresh {
			name = "fresh"
		}
		b.Run(name, func(b *testing.B) {
			v, err := vm.New(context.Background(), vm.Config{FreshInstances: fresh})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close(context.Background())
			s := fullWorld(b)
			e := env(s)
			e.Debug = false
			c := vm.Call{Caller: alice, Contract: exHello, Method: "hello", Input: []byte("x"), Gas: 100_000}
			v.Call(context.Background(), e, c)
			benchCalls(b, v, e, c)
		})
	}
}

// benchCalls times b.N calls of c, reporting allocations and the CPU time per call next
// to the wall time.
func benchCalls(b *testing.B, v *vm.VM, e *vm.Env, c vm.Call) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; i < b.N; i++ {
		v.Call(context.Background(), e, c)
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
}
