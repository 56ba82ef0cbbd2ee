// What a light client needs of package chain — the read-only call's execution and the
// shapes of witnesses and proofs — kept apart from the Pebble-backed Chain so that it
// builds for every platform, js/wasm included (the dashboard's in-browser verifier). The
// files holding the Chain are built with "!js"; nothing here may use them.

package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/metadata"
)

// Fixed texts of the call failures ExecCall decides itself (see exec.go's); they land in
// receipts, so they are consensus data and never change.
const (
	errTextReserved = "method is reserved"
	reservedInit    = "init"
	reservedMigrate = "migrate"
)

// CallMsg is a read-only invocation (Call) or an unsigned transaction to estimate
// (EstimateGas).
type CallMsg struct {
	From   types.Address // caller and tx origin; may be any address
	To     types.Address // the contract (zero for a deploy)
	Method string
	Args   []byte
	Value  *uint256.Int // nil means zero
	Gas    uint64       // 0 means the call gas cap; higher values are capped
	// Code is the code of a deploy (To zero) or an upgrade (To set); EstimateGas only.
	Code []byte
}

// CallResult is the outcome of a Call. Err is the execution's failure (revert, trap,
// out of gas, no such method); the state changes are discarded either way.
type CallResult struct {
	Output    []byte
	GasUsed   uint64
	Err       error
	Events    []types.Event
	Logs      []string // the contract's debug log lines
	Height    uint64   // the state the call read
	StateRoot types.Hash
	// Metadata is the called contract's metadata section, nil when it has none.
	Metadata *metadata.Metadata
}

// ExecCall runs the read-only call msg on the state r, which must be the state after the
// block of hdr, with exactly msg.Gas gas (no cap applied), and discards every change. It
// is Chain.Call without the chain: a light client re-executes a witnessed call with it,
// on the proven state the node read, and must get the same result. machine must use the
// chain's gas schedule.
//
// With witness set, the code of every contract entered is read from r even when machine
// has it compiled already, so that the keys read (which a node records into a witness, and
// a light client checks against one) do not depend on either side's code cache.
//
// The error is for a call that could not run (a failed read of r, a canceled context, a
// node fault); execution failures are in CallResult.Err.
func ExecCall(ctx context.Context, machine *vm.VM, hdr *types.Header, r state.Reader, msg CallMsg, witness bool) (*CallResult, error) {
	sdb := state.NewStateDB(r)
	res := &CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot}
	if msg.Method == reservedInit || msg.Method == reservedMigrate {
		res.Err = fmt.Errorf("%s: %q", errTextReserved, msg.Method)
		return res, nil
	}
	var st vm.StateDB = sdb
	if witness {
		st = codeReader{sdb}
	}
	rv := machine.Call(ctx, &vm.Env{
		State: st,
		Block: vm.BlockContext{ChainID: hdr.ChainID, Height: hdr.Height, Time: hdr.Time},
		Tx:    vm.TxContext{Origin: msg.From},
		Debug: true,
	}, vm.Call{
		Caller: msg.From, Contract: msg.To, Method: msg.Method, Input: msg.Args,
		Value: msg.Value, Gas: msg.Gas,
	})
	if err := sdb.Err(); err != nil {
		return nil, fmt.Errorf("chain: call: state: %w", err)
	}
	if nodeFault(rv.Err) {
		return nil, rv.Err
	}
	res.Output, res.GasUsed, res.Err, res.Events, res.Logs = rv.Output, rv.GasUsed, rv.Err, rv.Events, rv.Logs
	res.Metadata = rv.Metadata
	return res, nil
}

// codeReader reads a contract's code from the state whenever the VM looks up its code
// hash (see ExecCall's witness).
type codeReader struct{ *state.StateDB }

func (c codeReader) GetCodeHash(addr types.Address) types.Hash {
	h := c.StateDB.GetCodeHash(addr)
	if h != (types.Hash{}) {
		c.StateDB.GetCode(h)
	}
	return h
}

// nodeFault reports whether a VM error is the node's failure rather than the contract's:
// a cancelled context or an internal error (a module that passed validation but failed to
// instantiate, a Go panic below a host function). Such an error must never become a
// receipt — another node would not fail the same way — so the block is abandoned instead.
func nodeFault(err error) bool {
	return errors.Is(err, vm.ErrCanceled) || errors.Is(err, vm.ErrInternal)
}

// MaxWitnessKeys bounds the state keys one witnessed call may read. A call's gas already
// bounds its reads (every storage read and every contract entered costs gas), this bound
// keeps the answer's size in check whatever the gas schedule: 4,096 proofs of at most
// state.MaxProofSize each plus their values.
const MaxWitnessKeys = 4096

// ErrWitnessTooLarge: a witnessed call read more than MaxWitnessKeys keys.
var ErrWitnessTooLarge = fmt.Errorf("chain: call read more than %d state keys", MaxWitnessKeys)

// Witness is what a light client needs to re-execute a call: the header of the state it
// ran on and, for every state key the call read (accounts, code, storage, in nested calls
// too), its value at that height with a proof against the header's state root. Keys
// are in the order the call first read them.
type Witness struct {
	Header *types.Header
	Reads  []*StateProof
}

// ReceiptProof is a receipt with the Merkle audit path from its hash to the ReceiptRoot
// of the header of its block (types.VerifyMerkleProof).
type ReceiptProof struct {
	Receipt *types.Receipt
	Header  *types.Header
	Index   uint64 // the receipt's position in the block
	Total   uint64 // the number of receipts of the block
	Path    []types.Hash
}

// StateProof is a proof that a state tree key has Value (nil: is absent) in the state
// whose root is Root, the StateRoot of the header at Height.
type StateProof struct {
	Height uint64
	Root   types.Hash
	Key    []byte
	Value  []byte
	Proof  *state.Proof
}

// Verify checks the proof against its root (state.VerifyProof).
func (p *StateProof) Verify() error { return state.VerifyProof(p.Root, p.Key, p.Value, p.Proof) }
