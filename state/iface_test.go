package state_test

import (
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/vm"
)

// The overlay is what the VM executes against.
var _ vm.StateDB = (*state.StateDB)(nil)
