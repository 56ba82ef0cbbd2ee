package vmtest_test

import (
	"testing"

	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

// TestStateDBConformance runs vm.StateDB's conformance suite on the in-memory State the
// VM's tests use.
func TestStateDBConformance(t *testing.T) {
	statetest.RunStateDB(t, func(t *testing.T, w *statetest.World) vm.StateDB {
		s := vmtest.New()
		for a, b := range w.Balances {
			s.SetBalance(a, b)
		}
		for a, code := range w.Code {
			s.SetCode(a, code)
		}
		for c, kv := range w.Storage {
			for k, v := range kv {
				s.SetStorage(c, []byte(k), v)
			}
		}
		return s
	})
}
