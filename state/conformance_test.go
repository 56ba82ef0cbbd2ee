package state_test

import (
	"testing"

	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/vm"
)

// TestStateDBConformance runs vm.StateDB's conformance suite on the state's StateDB over
// a committed Pebble-backed store, the StateDB blocks execute on.
func TestStateDBConformance(t *testing.T) {
	statetest.RunStateDB(t, func(t *testing.T, w *statetest.World) vm.StateDB {
		return statetest.NewStateDB(t, w)
	})
}
