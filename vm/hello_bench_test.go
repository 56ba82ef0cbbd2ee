package vm_test

import (
	"context"
	"testing"

	"github.com/wnode/wnode/vm"
)

// BenchmarkHelloCall: the VM's call path alone (instantiate, call, tear down) on the hello
// example, with its allocations. Most of both are wazero's instantiation: module instance,
// globals, and a 10 KiB stack per exported function object.
func BenchmarkHelloCall(b *testing.B) {
	v := newVM(b, vm.EngineCompiler)
	s := fullWorld(b)
	e := env(s)
	e.Debug = false
	c := vm.Call{Caller: alice, Contract: exHello, Method: "hello", Input: []byte("x"), Gas: 100_000}
	v.Call(context.Background(), e, c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.Call(context.Background(), e, c)
	}
}
