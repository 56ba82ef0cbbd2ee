//go:build !js

package chain

import (
	"context"
	"fmt"
	"math"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// Call runs msg.Method of the contract msg.To against the state at height (LatestHeight
// for the head) and discards every change: a read-only invocation, as served by
// wn_call and the /fn/ gateway. The block context is the header at height (its height
// and time). Gas is capped by Options.CallGasCap; no intrinsic gas or fee is charged and
// no nonce is checked. The error is for a call that could not run (unknown height,
// canceled context); execution failures are in CallResult.Err. Safe for concurrent use.
func (c *Chain) Call(ctx context.Context, msg CallMsg, height uint64) (*CallResult, error) {
	hdr, view, err := c.stateAt(height)
	if err != nil {
		return nil, err
	}
	msg.Gas = c.capGas(msg.Gas)
	return ExecCall(ctx, c.readVM(), hdr, view, msg, false)
}

func (c *Chain) capGas(g uint64) uint64 {
	if g == 0 || g > c.opts.CallGasCap {
		return c.opts.CallGasCap
	}
	return g
}

// stateAt returns the header and state view at height, consistently (LatestHeight is
// resolved once).
func (c *Chain) stateAt(height uint64) (*types.Header, *state.View, error) {
	height = c.resolve(height)
	var hdr *types.Header
	if head := c.head.Load(); head.header.Height == height {
		h := head.header // the head's header, decoded once: most calls are at the head
		hdr = &h
	} else {
		var err error
		if hdr, err = c.readHeader(height); err != nil {
			return nil, nil, err
		}
	}
	view, err := c.view(height)
	if err != nil {
		return nil, nil, err
	}
	return hdr, view, nil
}

// EstimateGas returns the lowest gas limit with which msg, sent as a transaction by
// msg.From on top of the state at height, would succeed: the intrinsic gas (for the
// largest encoding such a tx can have) plus the execution's gas. The kind is inferred:
// Code with no To is a deploy, Code with To an upgrade, a Method an invoke, otherwise a
// transfer. Fees are not charged (gas price zero), nonces not checked. The search is
// capped by msg.Gas when set, by the block gas limit, and by the intrinsic gas plus the
// call gas cap. When the message fails even with the cap, the error wraps ErrExecution
// with the failure's text. It costs a few executions (a binary search that starts at the
// gas the first run used, stops within 1/64 of the answer and after burning
// Options.EstimateGasBudget in total, answering a limit that succeeded). Deploys and
// everything runs on Options.ReadVM.
func (c *Chain) EstimateGas(ctx context.Context, msg CallMsg, height uint64) (uint64, error) {
	hdr, view, err := c.stateAt(height)
	if err != nil {
		return 0, err
	}
	m := &message{from: msg.From, to: msg.To, value: u256(msg.Value), method: msg.Method, args: msg.Args, code: msg.Code,
		machine: c.readVM()}
	switch {
	case len(msg.Code) > 0 && msg.To == (types.Address{}):
		m.kind = types.TxDeploy
	case len(msg.Code) > 0:
		m.kind = types.TxUpgrade
	case msg.Method != "":
		m.kind = types.TxInvoke
	default:
		m.kind = types.TxTransfer
	}
	if len(msg.Args) > types.MaxArgsSize || len(msg.Code) > types.MaxCodeSize || len(msg.Method) > types.MaxMethodLen {
		return 0, fmt.Errorf("%w: message exceeds the tx size limits", ErrTxInvalid)
	}
	m.size = maxTxSize(m)
	acct, err := readAccount(view, msg.From)
	if err != nil {
		return 0, err
	}
	m.nonce = acct.Nonce
	bctx := vm.BlockContext{ChainID: c.chainID, Height: hdr.Height + 1, Time: hdr.Time + 1}

	// The cap bounds the execution, not the intrinsic gas a large deploy pays up front
	// (its size and its compilation, known once the code is validated; invalid code
	// fails in the runs below).
	intrinsic := c.sched.Intrinsic(m.size, uint64(len(m.code)))
	if m.kind == types.TxDeploy || m.kind == types.TxUpgrade {
		code, err := m.machine.Prepare(ctx, m.code)
		if nodeFault(err) {
			return 0, err
		}
		if err == nil {
			intrinsic = c.codeGas(m.size, uint64(len(m.code)), code)
		}
	}
	hi := min(c.params.BlockGasLimit, satAdd(intrinsic, c.opts.CallGasCap))
	if msg.Gas != 0 {
		hi = min(hi, msg.Gas)
	}
	var burned uint64 // over all runs, bounded by Options.EstimateGasBudget
	run := func(limit uint64) (*outcome, error) {
		m.gasLimit = limit
		o, err := c.applyMessage(ctx, state.NewStateDB(view), bctx, m, false)
		if o != nil {
			burned = satAdd(burned, o.gasUsed)
		}
		return o, err
	}
	out, err := run(hi)
	if err != nil {
		return 0, err
	}
	if out.err != nil {
		return 0, fmt.Errorf("%w: %v", ErrExecution, out.err)
	}
	// Execution may depend on the gas left (gas_left, gas forwarded to callees), so the
	// gas a run used is not always enough as a limit: if it is not, search (used, hi].
	used := out.gasUsed
	if o, err := run(used); err != nil {
		return 0, err
	} else if o.err == nil {
		return used, nil
	}
	// The search stops within 1/64 of the answer (rounding up: best always succeeded),
	// as go-ethereum's does, and when it has burned its budget: a method whose path
	// depends on the gas left burns up to the cap in every run.
	lo, best := used, hi // lo fails, best succeeds
	for lo+1 < best && best-lo > best/64 && burned < c.opts.EstimateGasBudget {
		mid := lo + (best-lo)/2
		o, err := run(mid)
		if err != nil {
			return 0, err
		}
		if o.err == nil {
			best = mid
		} else {
			lo = mid
		}
	}
	return best, nil
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// maxTxSize is the largest encoding a signed tx carrying m can have: every integer
// field at its widest.
func maxTxSize(m *message) uint64 {
	tx := &types.Tx{
		ChainID: math.MaxUint64, Nonce: math.MaxUint64, GasLimit: math.MaxUint64,
		GasPrice: new(uint256.Int).SetAllOne(), Kind: m.kind, To: m.to,
		Value: new(uint256.Int).SetAllOne(), Method: m.method, Args: m.args, Code: m.code,
		Sig: make([]byte, types.SignatureLen),
	}
	return uint64(tx.Size())
}

// CallGas returns the gas a Call asking for g runs with: g capped by Options.CallGasCap,
// the cap when g is 0.
func (c *Chain) CallGas(g uint64) uint64 { return c.capGas(g) }

// readVM is the VM of the work outside blocks (see Options.ReadVM).
func (c *Chain) readVM() *vm.VM {
	if c.opts.ReadVM != nil {
		return c.opts.ReadVM
	}
	return c.vm
}
