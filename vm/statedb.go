package vm

import (
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// StateDB is what the VM needs of the world state. The chain implements it over the
// Pebble-backed state with a journal; tests use an in-memory implementation.
//
// All changes go through the StateDB so that Snapshot/RevertToSnapshot can undo them
// precisely (the go-ethereum journal model): the VM takes a snapshot before every contract
// frame and reverts it when the frame traps, reverts or runs out of gas.
type StateDB interface {
	// GetBalance returns the balance of addr (zero for an absent account). The caller
	// must not modify the returned value.
	GetBalance(addr types.Address) *uint256.Int
	// SubBalance and AddBalance move native coin. SubBalance never underflows: the VM
	// checks the balance first.
	SubBalance(addr types.Address, amount *uint256.Int)
	AddBalance(addr types.Address, amount *uint256.Int)

	// GetCodeHash returns the keccak256 of the contract's original code, or the zero
	// hash when addr has no code.
	GetCodeHash(addr types.Address) types.Hash
	// GetCode returns the original (uninstrumented, uncompressed) code by its hash.
	GetCode(codeHash types.Hash) []byte

	// GetStorage returns the value under key in contract's storage and whether it exists.
	GetStorage(contract types.Address, key []byte) ([]byte, bool)
	// SetStorage writes a value; DeleteStorage removes the key.
	SetStorage(contract types.Address, key, value []byte)
	DeleteStorage(contract types.Address, key []byte)

	// Snapshot returns an identifier of the current state for RevertToSnapshot.
	Snapshot() int
	// RevertToSnapshot undoes every change made since Snapshot returned id.
	RevertToSnapshot(id int)
}
