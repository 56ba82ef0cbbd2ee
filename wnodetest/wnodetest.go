// Package wnodetest runs contracts on a real wnode chain inside a Go test: the chain
// package's state-transition function over an in-memory Pebble database and the real VM
// (wazero, the deploy pipeline, the gas schedule), with funded accounts and one
// validator that commits a block per transaction. Deploy, Invoke and Upgrade send signed
// transactions and return their receipts; Call is a read-only call like wn_call;
// AdvanceTime moves the next block's clock; Balance and Storage read the state; every
// transaction's gas is recorded for GasReport.
//
// Everything is real except the network and consensus rounds: a transaction is in a block
// as soon as it is sent, so a test sees exactly the receipts, events, gas and state a node
// would, in milliseconds.
//
//	c := wnodetest.New(t)
//	hello := c.Deploy(c.Account(0), code, nil)
//	out := c.MustCall(hello, "hello", []byte("world")) // "hello, world"
package wnodetest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// ChainID is the chain id of a test chain.
const ChainID = 31337

// DefaultBalance is what each account of a test chain holds at genesis: 1e24 (a million
// coins of 1e18).
var DefaultBalance = new(uint256.Int).Mul(uint256.NewInt(1e6), uint256.NewInt(1e18))

// DefaultGas is the gas limit of every transaction a test chain sends (Options.Gas).
const DefaultGas = 100_000_000

// BlockInterval is how far each block's time is after the previous one's, unless
// AdvanceTime moves it further.
const BlockInterval = time.Second

// TB is what the kit needs of a test: *testing.T, *testing.B and testing.TB satisfy it.
// Every failure to run something (a tx the chain refuses, a failed Deploy, a MustCall
// that fails) is reported with Fatalf.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Options configure New. The zero value is the default.
type Options struct {
	// Accounts is the number of funded accounts (default 3).
	Accounts int
	// Balance is each account's genesis balance (default DefaultBalance).
	Balance *uint256.Int
	// Gas is the gas limit of every transaction (default DefaultGas).
	Gas uint64
	// Genesis, when set, may change the genesis before the chain starts (params, more
	// accounts).
	Genesis func(*genesis.Genesis)
}

// Chain is a test chain. It is not safe for concurrent use.
type Chain struct {
	t        TB
	c        *chain.Chain
	val      *ecdsa.PrivateKey
	accounts []types.Address
	keys     map[types.Address]*ecdsa.PrivateKey
	gas      uint64
	commit   *types.Commit
	skew     uint64 // ms added to the next block's time by AdvanceTime
	report   []GasEntry
}

// GasEntry is the gas of one transaction or call, for GasReport.
type GasEntry struct {
	Kind     string // deploy, invoke, upgrade, transfer, call
	Contract types.Address
	Method   string
	Gas      uint64
	Failed   bool
}

// New starts a test chain, closed when the test ends. It fails the test if the chain
// cannot start.
func New(t TB, opts ...Options) *Chain {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Accounts <= 0 {
		o.Accounts = 3
	}
	if o.Balance == nil {
		o.Balance = DefaultBalance
	}
	if o.Gas == 0 {
		o.Gas = DefaultGas
	}
	c := &Chain{t: t, keys: map[types.Address]*ecdsa.PrivateKey{}, gas: o.Gas}
	c.val = mustKey(t)
	g := genesis.Dev(ChainID, &c.val.PublicKey)
	g.Accounts = nil
	bal, err := genesis.AmountFromBig(o.Balance.ToBig())
	if err != nil {
		t.Fatalf("wnodetest: balance: %v", err)
	}
	for range o.Accounts {
		k := mustKey(t)
		a := crypto.PubkeyToAddress(k.PublicKey)
		c.keys[a] = k
		c.accounts = append(c.accounts, a)
		g.Accounts = append(g.Accounts, genesis.Account{Address: a, Balance: bal})
	}
	if o.Genesis != nil {
		o.Genesis(g)
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("wnodetest: genesis: %v", err)
	}
	db, err := state.OpenMemPebble()
	if err != nil {
		t.Fatalf("wnodetest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := state.New(db, state.Options{})
	if err != nil {
		t.Fatalf("wnodetest: %v", err)
	}
	m, err := vm.New(context.Background(), vm.Config{})
	if err != nil {
		t.Fatalf("wnodetest: %v", err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if c.c, err = chain.New(db, st, m, g, chain.Options{}); err != nil {
		t.Fatalf("wnodetest: %v", err)
	}
	return c
}

func mustKey(t TB) *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("wnodetest: %v", err)
	}
	return k
}

// Account returns the address of funded account i (0-based).
func (c *Chain) Account(i int) types.Address {
	c.t.Helper()
	if i < 0 || i >= len(c.accounts) {
		c.t.Fatalf("wnodetest: account %d of %d", i, len(c.accounts))
	}
	return c.accounts[i]
}

// Chain returns the underlying chain, for reads this package does not wrap (blocks,
// receipts by hash, proofs).
func (c *Chain) Chain() *chain.Chain { return c.c }

// Height returns the height of the last block.
func (c *Chain) Height() uint64 { return c.c.Head().Height }

// Time returns the time of the last block, unix milliseconds.
func (c *Chain) Time() uint64 { return c.c.Head().Time }

// AdvanceTime makes the next block's time d later than it would be (BlockInterval after
// the last block). Contracts see block time in milliseconds.
func (c *Chain) AdvanceTime(d time.Duration) {
	if d > 0 {
		c.skew += uint64(d.Milliseconds())
	}
}

// Send signs tx with from's key (filling in chain id, nonce, gas price 1, the gas limit
// and a zero value where unset), puts it alone in a new block, commits the block and
// returns the receipt. A failed transaction (revert, trap, out of gas) is a receipt with
// Status types.ReceiptFailed; a transaction the chain refuses to include fails the test.
func (c *Chain) Send(from types.Address, tx *types.Tx) *types.Receipt {
	c.t.Helper()
	key, ok := c.keys[from]
	if !ok {
		c.t.Fatalf("wnodetest: %s is not an account of this chain", from)
	}
	acct, err := c.c.Account(from, chain.LatestHeight)
	if err != nil {
		c.t.Fatalf("wnodetest: %v", err)
	}
	tx.ChainID = ChainID
	tx.Nonce = acct.Nonce
	if tx.GasPrice == nil {
		tx.GasPrice = uint256.NewInt(1)
	}
	if tx.GasLimit == 0 {
		tx.GasLimit = c.gas
	}
	if tx.Value == nil {
		tx.Value = new(uint256.Int)
	}
	if err := tx.Sign(key); err != nil {
		c.t.Fatalf("wnodetest: sign: %v", err)
	}
	r := c.block(tx)
	entry := GasEntry{Kind: tx.Kind.String(), Contract: tx.To, Method: tx.Method, Gas: r.GasUsed, Failed: r.Status != types.ReceiptSuccess}
	if tx.Kind == types.TxDeploy {
		entry.Contract = r.ContractAddress
	}
	c.report = append(c.report, entry)
	return r
}

// block builds, certifies and commits a block holding tx, and returns tx's receipt.
func (c *Chain) block(tx *types.Tx) *types.Receipt {
	c.t.Helper()
	ctx := context.Background()
	head := c.c.Head()
	at := head.Time + uint64(BlockInterval.Milliseconds()) + c.skew
	c.skew = 0
	blk, err := c.c.BuildBlock(ctx, []*types.Tx{tx}, at, crypto.PubkeyToAddress(c.val.PublicKey), c.commit)
	if err != nil {
		c.t.Fatalf("wnodetest: build block: %v", err)
	}
	if len(blk.Txs) != 1 {
		c.t.Fatalf("wnodetest: the chain did not include the %s tx (nonce, balance or gas limit)", tx.Kind)
	}
	vote := &types.Vote{Type: types.PrecommitType, Height: blk.Height(), BlockHash: blk.Hash(), Validator: crypto.PubkeyToAddress(c.val.PublicKey)}
	if err := vote.Sign(ChainID, c.val); err != nil {
		c.t.Fatalf("wnodetest: %v", err)
	}
	cm, err := types.NewCommit([]*types.Vote{vote})
	if err != nil {
		c.t.Fatalf("wnodetest: %v", err)
	}
	if err := c.c.CommitBlock(ctx, blk, cm); err != nil {
		c.t.Fatalf("wnodetest: commit block: %v", err)
	}
	c.commit = cm
	r, err := c.c.Receipt(tx.Hash())
	if err != nil {
		c.t.Fatalf("wnodetest: receipt: %v", err)
	}
	return r
}

// Deploy deploys code (raw Wasm or gzip) from `from`, running its init with args, and
// returns the new contract's address. A deploy that fails fails the test; use
// DeployReceipt to look at a failure.
func (c *Chain) Deploy(from types.Address, code, args []byte) types.Address {
	c.t.Helper()
	r := c.DeployReceipt(from, code, args)
	if r.Status != types.ReceiptSuccess {
		c.t.Fatalf("wnodetest: deploy: %s", r.Error)
	}
	return r.ContractAddress
}

// DeployReceipt deploys code and returns the receipt, whatever its status.
func (c *Chain) DeployReceipt(from types.Address, code, args []byte) *types.Receipt {
	c.t.Helper()
	return c.Send(from, &types.Tx{Kind: types.TxDeploy, Code: code, Args: args})
}

// Invoke sends a transaction calling method of contract with args and returns its
// receipt: Status, Output, Events, GasUsed, Error. A revert is a failed receipt, not a
// test failure.
func (c *Chain) Invoke(from, contract types.Address, method string, args []byte) *types.Receipt {
	c.t.Helper()
	return c.Send(from, &types.Tx{Kind: types.TxInvoke, To: contract, Method: method, Args: args})
}

// InvokeValue is Invoke with value attached to the call.
func (c *Chain) InvokeValue(from, contract types.Address, method string, args []byte, value *uint256.Int) *types.Receipt {
	c.t.Helper()
	return c.Send(from, &types.Tx{Kind: types.TxInvoke, To: contract, Method: method, Args: args, Value: value})
}

// MustInvoke is Invoke that fails the test unless the transaction succeeds, and returns
// its output.
func (c *Chain) MustInvoke(from, contract types.Address, method string, args []byte) []byte {
	c.t.Helper()
	r := c.Invoke(from, contract, method, args)
	if r.Status != types.ReceiptSuccess {
		c.t.Fatalf("wnodetest: invoke %s: %s", method, r.Error)
	}
	return r.Output
}

// Upgrade replaces contract's code (from must be its admin), running the new code's
// migrate with args, and returns the receipt.
func (c *Chain) Upgrade(from, contract types.Address, code, args []byte) *types.Receipt {
	c.t.Helper()
	return c.Send(from, &types.Tx{Kind: types.TxUpgrade, To: contract, Code: code, Args: args})
}

// Transfer sends amount from `from` to `to` and returns the receipt.
func (c *Chain) Transfer(from, to types.Address, amount *uint256.Int) *types.Receipt {
	c.t.Helper()
	return c.Send(from, &types.Tx{Kind: types.TxTransfer, To: to, Value: amount})
}

// Call runs method of contract read-only against the last block's state, as wn_call and
// the /fn/ gateway do (caller: account 0), and records its gas. Execution failures are in
// the result's Err.
func (c *Chain) Call(contract types.Address, method string, args []byte) *chain.CallResult {
	c.t.Helper()
	return c.CallFrom(c.accounts[0], contract, method, args)
}

// CallFrom is Call with another caller (any address).
func (c *Chain) CallFrom(from, contract types.Address, method string, args []byte) *chain.CallResult {
	c.t.Helper()
	r, err := c.c.Call(context.Background(), chain.CallMsg{From: from, To: contract, Method: method, Args: args}, chain.LatestHeight)
	if err != nil {
		c.t.Fatalf("wnodetest: call %s: %v", method, err)
	}
	c.report = append(c.report, GasEntry{Kind: "call", Contract: contract, Method: method, Gas: r.GasUsed, Failed: r.Err != nil})
	return r
}

// MustCall is Call that fails the test when the call fails, and returns its output.
func (c *Chain) MustCall(contract types.Address, method string, args []byte) []byte {
	c.t.Helper()
	r := c.Call(contract, method, args)
	if r.Err != nil {
		c.t.Fatalf("wnodetest: call %s: %v", method, r.Err)
	}
	return r.Output
}

// Balance returns addr's balance at the last block.
func (c *Chain) Balance(addr types.Address) *uint256.Int {
	c.t.Helper()
	a, err := c.c.Account(addr, chain.LatestHeight)
	if err != nil {
		c.t.Fatalf("wnodetest: %v", err)
	}
	if a.Balance == nil {
		return new(uint256.Int)
	}
	return a.Balance
}

// Storage returns the value under key in contract's storage at the last block, and
// whether it exists.
func (c *Chain) Storage(contract types.Address, key []byte) ([]byte, bool) {
	c.t.Helper()
	v, ok, err := c.c.Storage(contract, key, chain.LatestHeight)
	if err != nil {
		c.t.Fatalf("wnodetest: %v", err)
	}
	return v, ok
}

// Admin returns the address that may upgrade contract (zero for none).
func (c *Chain) Admin(contract types.Address) types.Address {
	c.t.Helper()
	a, err := c.c.Account(contract, chain.LatestHeight)
	if err != nil {
		c.t.Fatalf("wnodetest: %v", err)
	}
	return a.Admin
}

// GasReport returns the gas of every transaction sent and call made, in order.
func (c *Chain) GasReport() []GasEntry { return append([]GasEntry(nil), c.report...) }

// WriteGasReport writes GasReport as a table, naming contracts by the given names where
// known.
func (c *Chain) WriteGasReport(w io.Writer, names map[types.Address]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcontract\tmethod\tgas\tstatus\t")
	for _, e := range c.report {
		name, ok := names[e.Contract]
		if !ok {
			name = e.Contract.Hex()
		}
		status := "ok"
		if e.Failed {
			status = "failed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t\n", e.Kind, name, strings.TrimSpace(e.Method), e.Gas, status)
	}
	return tw.Flush()
}
