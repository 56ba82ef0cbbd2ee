package vm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

// brokenState panics on storage reads, like a StateDB with a bug or a failing disk.
type brokenState struct{ *vmtest.State }

func (brokenState) GetStorage(types.Address, []byte) ([]byte, bool) { panic("disk on fire") }

// TestNodeFailureIsInternal: a panic below a host function is the node's failure
// (ErrInternal), never a deterministic-looking trap, also when it happens in a callee.
func TestNodeFailureIsInternal(t *testing.T) {
	for _, e := range engines {
		v := newVM(t, e)
		s := brokenState{world(t)}
		r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "sread", Input: []byte("k"), Gas: testGas})
		if !errors.Is(r.Err, vm.ErrInternal) || errors.Is(r.Err, vm.ErrTrap) {
			t.Fatalf("%v: err %v", e, r.Err)
		}
		r = v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "call",
			Input: callInput(abiAddr2, 0, 0, "sread", []byte("k")), Gas: testGas})
		if !errors.Is(r.Err, vm.ErrInternal) {
			t.Fatalf("%v nested: err %v", e, r.Err)
		}
	}
}
