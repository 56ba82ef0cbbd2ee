//go:build !js

package chain

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// Fixed texts of the failures the chain itself decides; they land in receipts, so they
// are consensus data and never change.
const (
	errTextNoContract   = "no contract at address"
	errTextNotAdmin     = "sender is not the contract's admin"
	errTextAddressInUse = "contract address already in use"
	errTextArgsWithout  = "args given but the code exports no init/migrate"
	errTextInsufficient = "insufficient balance for value"
	errTextIntrinsicOOG = "out of gas: intrinsic gas of the code exceeds the gas limit"
)

// results is the outcome of executing a block on top of the head.
type results struct {
	block    *types.Block
	hash     types.Hash
	receipts []*types.Receipt
	update   *state.Update
	gasUsed  uint64
	newSet   *types.ValidatorSet // the set of height+2, when a change passed in the block
}

// executor runs a block's transactions on one StateDB.
type executor struct {
	c         *Chain
	ctx       context.Context
	sdb       *state.StateDB
	base      state.Reader // the parent state
	header    *types.Header
	bctx      vm.BlockContext
	gasLeft   uint64 // block gas not yet used
	bytesUsed uint64
	receipts  []*types.Receipt
	txs       []*types.Tx
	gasUsed   uint64
	mv        *mvMemory      // set by a parallel execution: the block's writes
	committed int            // parallel: positions of the tx list executed and decided
	arena     *parArena      // parallel: where mv lives, given back by changes (parallel_arena.go)
	mvChanges []state.Change // parallel: the write set, once taken from mv
	mvErr     error
}

func (c *Chain) newExecutor(ctx context.Context, h *types.Header) (*executor, error) {
	parent := h.Height - 1
	view, err := c.st.Reader(parent)
	if err != nil {
		return nil, fmt.Errorf("chain: state of %d: %w", parent, err)
	}
	return &executor{
		c: c, ctx: ctx, sdb: state.NewStateDB(view), base: view, header: h,
		bctx:    vm.BlockContext{ChainID: c.chainID, Height: h.Height, Time: h.Time},
		gasLeft: c.params.BlockGasLimit,
	}, nil
}

// inOrder makes the executor's StateDB read the parent state through one Pebble iterator
// (state.Cursor) kept for the block, for the execution of its txs in order on this
// goroutine: a View's Get sets up Pebble's read path afresh for every key. Called before
// the StateDB's first read; the returned func closes the cursor once the txs ran (the
// write set and finish read no more state).
func (e *executor) inOrder() (func(), error) {
	v, ok := e.base.(*state.View)
	if !ok {
		return func() {}, nil
	}
	cur, err := v.Cursor()
	if err != nil {
		return nil, fmt.Errorf("chain: state of %d: %w", e.header.Height-1, err)
	}
	e.sdb = state.NewStateDB(cur)
	return func() { cur.Close() }, nil
}

// precheck checks that tx may be included next: everything docs/spec/wire.md requires
// before execution, plus the block's gas and size budgets and the minimum gas price. It
// returns the sender and the encoded size. The error wraps ErrTxInvalid.
func (e *executor) precheck(tx *types.Tx) (types.Address, uint64, error) {
	return e.precheckOn(e.sdb, tx, e.bytesUsed, e.gasLeft)
}

// precheckOn is precheck against sdb with the given block budgets (bytes already used,
// gas left); the parallel execution checks a tx without budgets first (bytesUsed 0,
// gasLeft max) and the budgets when it commits the tx in order.
func (e *executor) precheckOn(sdb *state.StateDB, tx *types.Tx, bytesUsed, gasLeft uint64) (types.Address, uint64, error) {
	c := e.c
	bad := func(format string, args ...any) (types.Address, uint64, error) {
		return types.Address{}, 0, fmt.Errorf("%w: "+format, append([]any{ErrTxInvalid}, args...)...)
	}
	if err := tx.ValidateBasic(c.chainID); err != nil {
		return bad("%v", err)
	}
	sender, _ := tx.Sender() // cached by ValidateBasic
	size := uint64(tx.Size())
	if size > c.params.MaxTxBytes {
		return bad("%d bytes, limit %d", size, c.params.MaxTxBytes)
	}
	if bytesUsed+size > c.params.MaxBlockBytes {
		return bad("does not fit in the block: %d + %d bytes > %d", bytesUsed, size, c.params.MaxBlockBytes)
	}
	if u256(tx.GasPrice).Lt(&c.minGas) {
		return bad("gas price %s below the minimum %s", u256(tx.GasPrice).Dec(), c.minGas.Dec())
	}
	if tx.GasLimit > gasLeft {
		return bad("gas limit %d exceeds the block's remaining gas %d", tx.GasLimit, gasLeft)
	}
	if n := sdb.GetNonce(sender); tx.Nonce != n {
		return bad("nonce %d, account %s expects %d", tx.Nonce, sender, n)
	}
	if ig := c.sched.Intrinsic(size, uint64(len(tx.Code))); tx.GasLimit < ig {
		return bad("gas limit %d below the intrinsic gas %d", tx.GasLimit, ig)
	}
	cost, overflow := new(uint256.Int).MulOverflow(uint256.NewInt(tx.GasLimit), u256(tx.GasPrice))
	if !overflow {
		_, overflow = cost.AddOverflow(cost, u256(tx.Value))
	}
	if bal := sdb.GetBalance(sender); overflow || bal.Lt(cost) {
		return bad("account %s cannot pay value + gas limit × gas price", sender)
	}
	return sender, size, nil
}

// apply executes tx (which passed precheck) and appends it and its receipt. It returns
// an error only when the block must be abandoned (context canceled, state I/O error).
func (e *executor) apply(tx *types.Tx, sender types.Address, size uint64) error {
	sdb := e.sdb
	r, logs, err := e.execTx(e.ctx, sdb, tx, sender, size, func(fee *uint256.Int) { sdb.AddBalance(e.header.Proposer, fee) })
	if err != nil {
		return err
	}
	sdb.Finalise() // a tx's changes are never undone once it is in the block
	e.record(tx, r, logs, size)
	return nil
}

// execTx executes tx (which passed precheck) on sdb: nonce, gas purchase, the message,
// refund, then payFee with the fee owed to the proposer when it is not zero. It returns
// the receipt (Index not set) and the contract's log lines. The error means the block
// must be abandoned (context canceled, state I/O error).
func (e *executor) execTx(ctx context.Context, sdb *state.StateDB, tx *types.Tx, sender types.Address, size uint64, payFee func(*uint256.Int)) (*types.Receipt, []string, error) {
	price := u256(tx.GasPrice)
	sdb.SetNonce(sender, tx.Nonce+1)
	// Buy the whole gas limit up front and refund the rest afterwards, so the fee is paid
	// whatever the execution does to the sender's balance.
	maxFee := new(uint256.Int).Mul(uint256.NewInt(tx.GasLimit), price)
	sdb.SubBalance(sender, maxFee)

	m := &message{
		kind: tx.Kind, from: sender, to: tx.To, nonce: tx.Nonce, value: u256(tx.Value),
		method: tx.Method, args: tx.Args, code: tx.Code, gasLimit: tx.GasLimit, size: size,
		txHash: tx.Hash(),
	}
	out, err := e.c.applyMessage(ctx, sdb, e.bctx, m, e.c.opts.DebugLogs)
	if err != nil {
		return nil, nil, err
	}
	if err := sdb.Err(); err != nil {
		return nil, nil, fmt.Errorf("chain: state: %w", err)
	}

	if refund := tx.GasLimit - out.gasUsed; refund > 0 && !price.IsZero() {
		sdb.AddBalance(sender, new(uint256.Int).Mul(uint256.NewInt(refund), price))
	}
	if fee := new(uint256.Int).Mul(uint256.NewInt(out.gasUsed), price); !fee.IsZero() {
		payFee(fee)
	}

	r := &types.Receipt{
		TxHash:  m.txHash,
		Status:  types.ReceiptSuccess,
		GasUsed: out.gasUsed,
		Output:  out.output,
		Events:  out.events,
		Height:  e.header.Height,
	}
	if out.err != nil {
		r.Status, r.Error, r.Output, r.Events = types.ReceiptFailed, out.err.Error(), nil, nil
	} else {
		r.ContractAddress = out.contract
	}
	return r, out.logs, nil
}

// record appends tx and its receipt to the block and charges the block's budgets.
func (e *executor) record(tx *types.Tx, r *types.Receipt, logs []string, size uint64) {
	for _, l := range logs {
		e.c.log.Debug("contract log", "height", e.header.Height, "tx", r.TxHash, "line", l)
	}
	r.Index = uint64(len(e.receipts))
	e.gasLeft -= r.GasUsed
	e.gasUsed += r.GasUsed
	e.bytesUsed += size
	e.receipts = append(e.receipts, r)
	e.txs = append(e.txs, tx)
}

// changes returns the block's write set: the parallel execution's merged writes, or
// the sequential StateDB's.
func (e *executor) changes() ([]state.Change, error) {
	if e.mv != nil {
		return e.parallelChanges()
	}
	if err := e.sdb.Err(); err != nil {
		return nil, err
	}
	return e.sdb.Changes(), nil
}

// finish computes the state update and fills the header's roots.
func (e *executor) finish() (*results, error) {
	changes, err := e.changes()
	if err != nil {
		return nil, fmt.Errorf("chain: state: %w", err)
	}
	u, err := e.c.st.Prepare(e.header.Height, changes)
	if err != nil {
		return nil, fmt.Errorf("chain: prepare state of %d: %w", e.header.Height, err)
	}
	e.header.TxRoot = types.TxRoot(e.txs)
	e.header.StateRoot = u.Root()
	e.header.ReceiptRoot = types.ReceiptRoot(e.receipts)
	newSet, err := e.c.passedSet(e.header.Height, changes)
	if err != nil {
		return nil, err
	}
	return &results{receipts: e.receipts, update: u, gasUsed: e.gasUsed, newSet: newSet}, nil
}

// message is a transaction reduced to what execution needs; EstimateGas builds one
// without a signature.
type message struct {
	kind     types.TxKind
	from, to types.Address
	nonce    uint64
	value    *uint256.Int
	method   string
	args     []byte
	code     []byte
	gasLimit uint64
	size     uint64 // encoded tx size, for intrinsic gas
	txHash   types.Hash
	machine  *vm.VM // the VM to run it on; nil: the chain's (see Options.ReadVM)
}

// outcome is what a message's execution produced. err is the tx's failure (its state
// changes were undone); gasUsed includes the intrinsic gas and is at most gasLimit.
type outcome struct {
	gasUsed  uint64
	output   []byte
	events   []types.Event
	logs     []string
	contract types.Address
	err      error
}

// applyMessage runs m on sdb: intrinsic gas, then the transfer, deploy, invoke or
// upgrade, undoing every change of a failed execution. It neither checks nor bumps the
// nonce and moves no fees. The returned error is not the tx's failure but a reason to
// abandon the whole execution (context canceled).
func (c *Chain) applyMessage(ctx context.Context, sdb *state.StateDB, bctx vm.BlockContext, m *message, debug bool) (*outcome, error) {
	codeLen := uint64(len(m.code))
	intrinsic := c.sched.Intrinsic(m.size, codeLen)
	if intrinsic > m.gasLimit {
		return &outcome{gasUsed: m.gasLimit, err: errors.New("out of gas: intrinsic gas exceeds the gas limit")}, nil
	}
	out := &outcome{gasUsed: intrinsic}
	snap := sdb.Snapshot()
	fail := func(err error) (*outcome, error) {
		sdb.RevertToSnapshot(snap)
		out.err, out.output, out.events = err, nil, nil
		return out, nil
	}
	env := &vm.Env{State: sdb, Block: bctx, Tx: vm.TxContext{Origin: m.from, TxHash: m.txHash}, Debug: debug}
	machine := c.vm
	if m.machine != nil {
		machine = m.machine
	}
	call := func(contract types.Address, method string, gasLeft uint64) (*outcome, error) {
		res := machine.Call(ctx, env, vm.Call{
			Caller: m.from, Contract: contract, Method: method, Input: m.args, Value: m.value, Gas: gasLeft,
		})
		out.gasUsed += min(res.GasUsed, gasLeft)
		out.logs = res.Logs
		if res.Err != nil {
			if nodeFault(res.Err) {
				return nil, res.Err
			}
			return fail(res.Err)
		}
		out.output, out.events = res.Output, res.Events
		return out, nil
	}
	transfer := func(to types.Address) bool {
		if m.value.IsZero() {
			return true
		}
		if sdb.GetBalance(m.from).Lt(m.value) {
			return false
		}
		sdb.SubBalance(m.from, m.value)
		sdb.AddBalance(to, m.value)
		return true
	}

	switch m.kind {
	case types.TxTransfer:
		if !transfer(m.to) {
			return fail(errors.New(errTextInsufficient))
		}
		return out, nil

	case types.TxInvoke:
		if sdb.GetCodeHash(m.to) == (types.Hash{}) {
			return fail(errors.New(errTextNoContract))
		}
		if m.method == reservedInit || m.method == reservedMigrate {
			return fail(fmt.Errorf("%s: %q", errTextReserved, m.method))
		}
		return call(m.to, m.method, m.gasLimit-intrinsic)

	case types.TxDeploy, types.TxUpgrade:
		target := m.to
		if m.kind == types.TxDeploy {
			target = types.ContractAddress(m.from, m.nonce)
			if sdb.GetCodeHash(target) != (types.Hash{}) {
				return fail(errors.New(errTextAddressInUse))
			}
		} else {
			if sdb.GetCodeHash(target) == (types.Hash{}) {
				return fail(errors.New(errTextNoContract))
			}
			if sdb.GetAdmin(target) != m.from {
				return fail(errors.New(errTextNotAdmin))
			}
		}
		afford := func(code *vm.Code) bool { return c.codeGas(m.size, codeLen, code) <= m.gasLimit }
		code, err := machine.PrepareIf(ctx, m.code, afford)
		if err != nil {
			if nodeFault(err) {
				return nil, err
			}
			return fail(err)
		}
		if !afford(code) { // then the VM did not compile it either
			out.gasUsed = m.gasLimit
			return fail(errors.New(errTextIntrinsicOOG))
		}
		intrinsic = c.codeGas(m.size, codeLen, code)
		out.gasUsed = intrinsic
		sdb.SetCode(target, code.Original)
		hook, has := reservedInit, code.HasInit
		if m.kind == types.TxDeploy {
			sdb.SetAdmin(target, m.from)
			out.contract = target
		} else {
			hook, has = reservedMigrate, code.HasMigrate
		}
		if has {
			return call(target, hook, m.gasLimit-intrinsic)
		}
		if len(m.args) != 0 {
			return fail(errors.New(errTextArgsWithout))
		}
		if !transfer(target) {
			return fail(errors.New(errTextInsufficient))
		}
		return out, nil

	case types.TxValidatorPropose, types.TxValidatorVote:
		events, failure, err := c.valTx(sdb, bctx.Height, m.kind, m.from, m.args)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			return fail(failure)
		}
		out.events = events
		return out, nil
	}
	return fail(fmt.Errorf("%w: %d", types.ErrInvalidKind, m.kind))
}

// codeGas is the intrinsic gas of a deploy or upgrade of code, known once the VM has
// validated it: the intrinsic gas of the tx with the code's uncompressed size (gzipped
// code pays for what is stored and compiled, and never less than its sent size, which
// the pre-checks charged), plus the compile gas of its control instructions. It is a
// function of the code alone, the same on a node that compiles it and on one that finds
// it in its cache.
func (c *Chain) codeGas(txSize, sentLen uint64, code *vm.Code) uint64 {
	n := max(sentLen, uint64(len(code.Original)))
	return satAdd(c.sched.Intrinsic(txSize, n), c.sched.CompileGas(code.Blocks))
}

func u256(v *uint256.Int) *uint256.Int {
	if v == nil {
		return new(uint256.Int)
	}
	return v
}

// recoverSenders recovers the senders of txs on the configured number of goroutines,
// so the sequential execution finds them cached. Failures are left for precheck.
func (c *Chain) recoverSenders(txs []*types.Tx) {
	workers := min(c.opts.RecoveryWorkers, len(txs)/16+1)
	if workers <= 1 {
		for _, tx := range txs {
			_, _ = tx.Sender()
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(txs); i += workers {
				_, _ = txs[i].Sender()
			}
		}()
	}
	wg.Wait()
}
