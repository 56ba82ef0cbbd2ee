package vm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/holiman/uint256"
	"github.com/tetratelabs/wazero/api"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// BlockContext is the block a call executes in (or, for a read-only call, the block whose
// state it reads).
type BlockContext struct {
	ChainID uint64
	Height  uint64
	Time    uint64 // unix milliseconds
}

// TxContext is the transaction a call belongs to.
type TxContext struct {
	Origin types.Address // the tx signer
	TxHash types.Hash
}

// Env is everything a call may observe besides its own arguments.
type Env struct {
	State StateDB
	Block BlockContext
	Tx    TxContext
	// Debug keeps the contract's log lines in Result.Logs. Logging costs the same gas
	// either way, so Debug never changes a call's outcome.
	Debug bool
}

// Call is one method invocation.
type Call struct {
	Caller   types.Address // pays Value
	Contract types.Address
	Method   string
	Input    []byte
	Value    *uint256.Int // nil means zero
	Gas      uint64       // limit; values above math.MaxInt64 are capped
}

// Result is the outcome of a Call. When Err is nil the call's state changes stand;
// otherwise every change of the call was undone, Events is empty and Output is empty
// (a revert's message is in the *RevertError).
type Result struct {
	Output  []byte
	GasUsed uint64 // the whole limit on ErrOutOfGas and on a trap of a Wasm instruction
	Err     error
	Events  []types.Event
	Logs    []string // only with Env.Debug
	// Metadata is the called contract's metadata section (package vm/metadata), nil when
	// it has none or its code could not be loaded. Tools read the method's formats in it.
	Metadata *metadata.Metadata
}

// Reserved method names: run by the chain at deploy/upgrade, never by the call import.
const (
	methodInit    = "init"
	methodMigrate = "migrate"
)

// execution is what the frames of one top-level Call share.
type execution struct {
	vm         *VM
	env        *Env
	events     int    // events emitted so far, by any frame (bounded by MaxEvents)
	eventBytes uint64 // their topic and data bytes (bounded by MaxEventBytes)
	memory     uint64 // bytes of memory held by suspended frames (bounded by MaxCallMemory)
	logs       []string
	meta       *metadata.Metadata // of the top-level contract
	// The access sets (EIP-2929 style, see slotWarm and accountWarm): storage keys
	// (contract ‖ key) and accounts already accessed by this top-level call. Never reset
	// by a revert; allocated on first use. slotBuf builds a slot's map key.
	warmSlots    map[string]struct{}
	warmAccounts map[types.Address]struct{}
	slotBuf      []byte
}

// maxPooledWarm bounds the access sets an execution keeps (cleared) for the next Call: a
// larger one is dropped, so that one call with many keys does not pin its map.
const maxPooledWarm = 256

// putExecution clears x and keeps it for the next Call (its access sets' memory
// included). Nothing of x outlives Call: the Result takes its logs, the frames that
// point to it are dropped.
func (v *VM) putExecution(x *execution) {
	ws, wa, buf := x.warmSlots, x.warmAccounts, x.slotBuf
	if len(ws) > maxPooledWarm {
		ws = nil
	}
	if len(wa) > maxPooledWarm {
		wa = nil
	}
	clear(ws)
	clear(wa)
	*x = execution{warmSlots: ws, warmAccounts: wa, slotBuf: buf[:0]}
	v.executions.Put(x)
}

// slotWarm reports whether (contract, key) was already accessed in this top-level call:
// read, written or deleted by any frame, failed frames included, once its price was
// paid. The answer depends only on the sequence of accesses in the call: never on a
// cache, the engine or the node. It costs a map lookup and allocates nothing.
func (x *execution) slotWarm(contract types.Address, key []byte) bool {
	x.slotBuf = append(append(x.slotBuf[:0], contract[:]...), key...)
	_, ok := x.warmSlots[string(x.slotBuf)]
	return ok
}

// warmSlot records (contract, key) as accessed, after its price was charged (an access
// that ran out of gas loaded nothing, so it warms nothing). Its memory is bounded by
// gas: every new key has paid at least a cold read.
func (x *execution) warmSlot(contract types.Address, key []byte) {
	if x.warmSlots == nil {
		x.warmSlots = make(map[string]struct{})
	}
	x.slotBuf = append(append(x.slotBuf[:0], contract[:]...), key...)
	x.warmSlots[string(x.slotBuf)] = struct{}{}
}

// accountWarm reports whether addr was already accessed in this top-level call.
func (x *execution) accountWarm(addr types.Address) bool {
	_, ok := x.warmAccounts[addr]
	return ok
}

// warmAccount records addr as accessed (the VM or a host function has read it).
func (x *execution) warmAccount(addr types.Address) {
	if x.warmAccounts == nil {
		x.warmAccounts = make(map[types.Address]struct{})
	}
	x.warmAccounts[addr] = struct{}{}
}

// frame is one running contract. It is the context handed to wazero, so host functions
// find it with one ctx.Value lookup and a call allocates no separate context.
type frame struct {
	context.Context
	x        *execution
	caller   types.Address
	contract types.Address
	value    uint256.Int
	input    []byte
	output   []byte
	result   []byte // output of the last callee (or its revert message)
	events   []types.Event
	depth    int
	gas      api.MutableGlobal
	mem      api.Memory
	done     <-chan struct{} // ctx.Done(), nil for a context that is never done
	scratch  [32]byte
}

type frameKey struct{}

// Value returns the frame itself for frameKey, and otherwise the parent context's value.
func (f *frame) Value(key any) any {
	if _, ok := key.(frameKey); ok {
		return f
	}
	return f.Context.Value(key)
}

// Call runs call.Method of the contract at call.Contract. It takes a state snapshot,
// moves Value from Caller to Contract, instantiates the compiled module fresh, runs the
// method with call.Gas and collects output, events and logs. On any failure every state
// change of the call is reverted and Result.Err says why; GasUsed is still reported.
//
// One Call is one unit of warm/cold pricing (EIP-2929 style): the first storage_read of
// a (contract, key) in it pays Host.StorageRead, later ones Host.StorageReadWarm; a write
// or delete warms its key. Accounts likewise for balance and transfer (Host.Balance /
// BalanceWarm), with Env.Tx.Origin, Call.Caller and every contract a frame is started
// for warm from the start. Keys and accounts stay warm when the frame that warmed them
// fails (the state overlay keeps what it loaded across a revert). Each Call starts cold:
// the chain makes one Call per transaction.
//
// When the code is not in the memory cache (after a restart or an eviction) it is
// fetched from the state, prepared and compiled again: that work is not charged, since it
// depends on the node, not on the chain. Call is safe for concurrent use with distinct
// StateDBs.
func (v *VM) Call(ctx context.Context, env *Env, call Call) *Result {
	x := v.executions.Get().(*execution)
	x.vm, x.env = v, env
	defer v.putExecution(x)
	x.warmAccount(env.Tx.Origin)
	x.warmAccount(call.Caller)
	gasLimit := call.Gas
	if gasLimit > math.MaxInt64 {
		gasLimit = math.MaxInt64
	}
	var value uint256.Int
	if call.Value != nil {
		value = *call.Value
	}
	out, used, events, err := x.run(ctx, 1, call.Caller, call.Contract, call.Method, call.Input, &value, gasLimit)
	res := &Result{Output: out, GasUsed: used, Err: err, Events: events, Metadata: x.meta}
	if env.Debug {
		res.Logs = x.logs
	}
	return res
}

// run executes one frame at depth (1 for the top-level call) and returns its output,
// gas used, events (its own and its successful callees') and error. On error the frame's
// state changes are reverted and output and events are nil.
func (x *execution) run(ctx context.Context, depth int, caller, contract types.Address, method string,
	input []byte, value *uint256.Int, gasLimit uint64) (out []byte, used uint64, events []types.Event, err error) {
	v, st := x.vm, x.env.State
	if ctx.Err() != nil {
		return nil, 0, nil, fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
	}
	if depth > v.maxDepth {
		return nil, 0, nil, fmt.Errorf("%w: call depth above %d", ErrStackOverflow, v.maxDepth)
	}
	if len(input) > MaxInputSize {
		return nil, 0, nil, trap(fmt.Sprintf("input of %d bytes exceeds %d", len(input), MaxInputSize))
	}
	codeHash := st.GetCodeHash(contract)
	x.warmAccount(contract)
	if codeHash == (types.Hash{}) {
		return nil, 0, nil, ErrNoCode
	}
	e, inst, err := v.load(ctx, codeHash, func() ([]byte, bool) {
		code := st.GetCode(codeHash)
		return code, code != nil
	})
	if err != nil {
		return nil, 0, nil, err
	}
	// The instance goes back to the entry's idle ones only once reset, and only after a
	// call that ended as a contract can end (not aborted by the node), with its context
	// still live: with Config.Interruptible, wazero's watcher goroutine closes the
	// module when the context is done, possibly after the call returned if the context
	// was done before it did.
	reuse := false
	defer func() {
		if inst != nil && (!reuse || ctx.Err() != nil || !inst.reset(e)) {
			_ = inst.mod.Close(ctx)
			inst = nil
		}
		v.cache.releaseInstance(e, inst)
	}()
	if depth == 1 {
		x.meta = e.code.Metadata
	}
	if !e.methods[method] {
		reuse = true
		return nil, 0, nil, fmt.Errorf("%w: %q", ErrMethodNotFound, method)
	}

	snap := st.Snapshot()
	if !value.IsZero() {
		if st.GetBalance(caller).Lt(value) {
			reuse = true
			return nil, 0, nil, ErrInsufficientBalance
		}
		st.SubBalance(caller, value)
		st.AddBalance(contract, value)
	}

	// A fresh frame per call, never pooled: wazero's context watcher goroutine may still
	// hold it as its context after the call returns.
	f := &frame{Context: ctx, x: x, caller: caller, contract: contract, value: *value, input: input, depth: depth,
		done: ctx.Done()}

	if inst == nil {
		if inst, err = v.instantiate(f, e); err != nil {
			st.RevertToSnapshot(snap)
			if ctx.Err() != nil {
				return nil, 0, nil, fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
			}
			// prepare rejects modules whose instantiation can fail (segments out of
			// bounds, memory above the limit): this is the node's failure, not the
			// contract's.
			return nil, 0, nil, fmt.Errorf("%w: instantiate %s: %v", ErrInternal, codeHash, err)
		}
	}
	fn := inst.function(method)
	if fn == nil {
		st.RevertToSnapshot(snap)
		return nil, 0, nil, fmt.Errorf("%w: %s does not export %q", ErrInternal, codeHash, method)
	}
	gasG, trapG := inst.gas, inst.trap
	f.gas, f.mem = gasG, inst.mem
	gasG.Set(gasLimit)

	callErr := fn.CallWithStack(f, nil) // methods are () -> (): no stack needed

	// Only a charge leaves the gas negative; the instrumented code checks it at loop heads
	// and function entries, so a method can also return with it negative: out of gas.
	left := int64(gasG.Get())
	outOfGas := left < 0
	used = gasLimit - min(uint64(max(left, 0)), gasLimit)
	if callErr != nil || outOfGas {
		err = ErrOutOfGas
		if callErr != nil {
			err = classify(ctx, callErr, trapG.Get(), outOfGas)
		}
		reuse = !errors.Is(err, ErrCanceled) && !errors.Is(err, ErrInternal)
		// Out of gas, and any trap of a Wasm instruction, use the whole limit: the
		// instrumented code keeps the gas in a local and writes the global back only
		// around calls and returns. A host function fails with the global current (a
		// revert, a host trap): that gas stands.
		if errors.Is(err, ErrOutOfGas) || strings.HasPrefix(callErr.Error(), "wasm error: ") {
			used = gasLimit
		}
		st.RevertToSnapshot(snap)
		return nil, used, nil, err
	}
	reuse = true
	return f.output, used, f.events, nil
}
