package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

func newPool(tc *testutil.TestChain, a Accounts) *mempool.Pool { return testutil.NewPool(tc.Gen, a) }

// TestApp runs the Application the way consensus does on two nodes: one proposes a
// block from its mempool, the other validates it, both commit it with a certificate,
// and the transaction leaves both mempools.
func TestApp(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 2)
	val := tc.Vals[0]
	ca, cb := testutil.MemChain(t, tc.Gen), testutil.MemChain(t, tc.Gen)
	pa, pb := newPool(tc, Accounts{Chain: ca}), newPool(tc, Accounts{Chain: cb})
	a := NewApp(ca, pa, testutil.Addr(val), AppOptions{})
	b := NewApp(cb, pb, types.Address{}, AppOptions{})

	tx := testutil.SignTx(t, tc.Accounts[0], &types.Tx{GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(tc.Accounts[1]), Value: uint256.NewInt(9)})
	for _, p := range []*mempool.Pool{pa, pb} {
		if err := p.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	if !a.HasPendingTxs() {
		t.Fatal("a tx is pending but HasPendingTxs is false")
	}
	if _, _, err := a.ProposeBlock(ctx, 2, 0, 1); err == nil {
		t.Fatal("proposed a block for height 2 on top of genesis")
	}
	data, hash, err := a.ProposeBlock(ctx, 1, 0, tc.Gen.TimeMs()+1000)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := types.DecodeBlock(data)
	if err != nil {
		t.Fatal(err)
	}
	if blk.Hash() != hash || len(blk.Txs) != 1 || blk.Txs[0].Hash() != tx.Hash() || blk.Header.Proposer != testutil.Addr(val) {
		t.Fatalf("proposal: hash %s (returned %s), %d txs, proposer %s", blk.Hash(), hash, len(blk.Txs), blk.Header.Proposer)
	}
	if ca.Head().Height != 0 {
		t.Fatal("proposing changed the chain")
	}

	for _, c := range []struct {
		name   string
		height uint64
		data   []byte
	}{
		{"garbage", 1, []byte("not a block")},
		{"wrong height", 2, data},
		{"tampered state root", 1, tamper(blk, func(h *types.Header) { h.StateRoot[0] ^= 1 })},
		{"unknown proposer", 1, tamper(blk, func(h *types.Header) { h.Proposer[0] ^= 1 })},
	} {
		if _, err := b.ValidateBlock(ctx, c.height, c.data); err == nil {
			t.Errorf("%s: validated", c.name)
		}
	}
	got, err := b.ValidateBlock(ctx, 1, data)
	if err != nil || got != hash {
		t.Fatalf("validate: %s, %v; want %s", got, err, hash)
	}

	commit := testutil.Certify(t, 1, 0, hash, val)
	for _, x := range []struct {
		app  *App
		pool *mempool.Pool
	}{{a, pa}, {b, pb}} {
		if err := x.app.Commit(ctx, 1, data, commit); err != nil {
			t.Fatal(err)
		}
		if x.pool.Has(tx.Hash()) || x.app.HasPendingTxs() {
			t.Fatal("the committed tx is still pending")
		}
	}
	if ca.HeadHash() != hash || cb.HeadHash() != hash {
		t.Fatalf("heads %s and %s, want %s", ca.HeadHash(), cb.HeadHash(), hash)
	}
	if r, err := cb.Receipt(tx.Hash()); err != nil || !r.Succeeded() {
		t.Fatalf("receipt on the validating node: %+v, %v", r, err)
	}
	// The mempool's view follows the chain: the next nonce is 1.
	if n := (Accounts{Chain: cb}).Nonce(testutil.Addr(tc.Accounts[0])); n != 1 {
		t.Fatalf("nonce %d after the block, want 1", n)
	}
}

func tamper(b *types.Block, f func(*types.Header)) []byte {
	c := *b
	f(&c.Header)
	return c.Encode()
}

// TestProposalFitsTheWire: whatever the genesis allows for a block's transactions (up
// to 16 MiB), a proposed block fits a consensus proposal and a block sync frame.
func TestProposalFitsTheWire(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 1)
	tc.Gen.Params.MaxBlockBytes = genesis.MaxBlockBytesLimit
	if err := tc.Gen.Validate(); err != nil {
		t.Fatal(err)
	}
	c := testutil.MemChain(t, tc.Gen)
	pool := newPool(tc, Accounts{Chain: c})
	args := make([]byte, types.MaxArgsSize)
	for i := range 40 { // 40 × 256 KiB: more than a proposal holds
		tx := testutil.SignTx(t, tc.Accounts[0], &types.Tx{Nonce: uint64(i), GasLimit: 6_000_000, Kind: types.TxInvoke,
			To: types.Address{9}, Method: "m", Args: args})
		if err := pool.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	app := NewApp(c, pool, testutil.Addr(tc.Vals[0]), AppOptions{})
	data, hash, err := app.ProposeBlock(ctx, 1, 0, tc.Gen.TimeMs()+1)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := types.DecodeBlock(data)
	if len(blk.Txs) < 20 || len(blk.Txs) == 40 {
		t.Fatalf("block holds %d of 40 txs", len(blk.Txs))
	}
	p := &types.Proposal{Height: 1, POLRound: -1, BlockHash: hash, Block: data, Proposer: testutil.Addr(tc.Vals[0])}
	if err := p.Sign(testutil.ChainID, tc.Vals[0]); err != nil {
		t.Fatal(err)
	}
	wire, err := consensus.EncodeMessage(&consensus.Message{Proposal: p, Resend: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := consensus.DecodeMessage(wire); err != nil {
		t.Fatalf("proposal of a %d-byte block does not decode: %v", len(data), err)
	}
	commit := testutil.Certify(t, 1, 0, hash, tc.Vals[0])
	if n := len(data) + len(commit.Encode()) + 16; n > p2p.MaxFrameSize {
		t.Fatalf("block and commit take %d bytes, a sync frame %d", n, p2p.MaxFrameSize)
	}
	if err := app.Commit(ctx, 1, data, commit); err != nil {
		t.Fatal(err)
	}
	if p, _ := pool.Stats(); p != 40-len(blk.Txs) {
		t.Fatalf("%d txs pending after a block of %d", p, len(blk.Txs))
	}
}

func TestAccounts(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 1)
	c := testutil.MemChain(t, tc.Gen)
	a := Accounts{Chain: c}
	addr := testutil.Addr(tc.Accounts[0])
	if n, b := a.Nonce(addr), a.Balance(addr); n != 0 || b.Cmp(uint256.NewInt(1e18)) != 0 {
		t.Fatalf("nonce %d balance %s", n, b)
	}
	if b := a.Balance(types.Address{1}); b == nil || !b.IsZero() {
		t.Fatalf("absent account balance %v", b)
	}
}

// TestValidateRejectsFutureTime: a proposal timed more than MaxClockDrift ahead of the
// validator's clock gets a nil prevote (ValidateBlock fails); the same block is fine once
// the validator's clock has caught up.
func TestValidateRejectsFutureTime(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 1)
	ca, cb := testutil.MemChain(t, tc.Gen), testutil.MemChain(t, tc.Gen)
	a := NewApp(ca, newPool(tc, Accounts{Chain: ca}), testutil.Addr(tc.Vals[0]), AppOptions{})
	now := time.Now()
	future := uint64(now.Add(time.Hour).UnixMilli())
	data, hash, err := a.ProposeBlock(ctx, 1, 0, future)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	b := NewApp(cb, newPool(tc, Accounts{Chain: cb}), types.Address{}, AppOptions{
		MaxClockDrift: 10 * time.Second, Now: func() time.Time { return clock },
	})
	if _, err := b.ValidateBlock(ctx, 1, data); !errors.Is(err, ErrBlockFromFuture) {
		t.Fatalf("block an hour ahead: %v, want ErrBlockFromFuture", err)
	}
	clock = now.Add(time.Hour - 5*time.Second)
	if got, err := b.ValidateBlock(ctx, 1, data); err != nil || got != hash {
		t.Fatalf("block within the drift: %s, %v", got, err)
	}
}

// TestSyncedBlockIgnoresClock: a node whose clock is an hour behind still takes a block
// with a valid commit certificate through block sync (consensus.ApplySyncedBlock): a
// committed block is never refused for time, so the node catches up and the peer that
// served it is not blamed.
func TestSyncedBlockIgnoresClock(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 1)
	val := tc.Vals[0]
	ca, cb := testutil.MemChain(t, tc.Gen), testutil.MemChain(t, tc.Gen)
	a := NewApp(ca, newPool(tc, Accounts{Chain: ca}), testutil.Addr(val), AppOptions{})
	now := time.Now()
	data, hash, err := a.ProposeBlock(ctx, 1, 0, uint64(now.Add(time.Hour).UnixMilli()))
	if err != nil {
		t.Fatal(err)
	}
	commit := testutil.Certify(t, 1, 0, hash, val)
	behind := NewApp(cb, newPool(tc, Accounts{Chain: cb}), types.Address{}, AppOptions{
		MaxClockDrift: 10 * time.Second, Now: func() time.Time { return now },
	})
	// As a proposal it is refused (the drift check stays for voting)...
	if _, err := behind.ValidateBlock(ctx, 1, data); !errors.Is(err, ErrBlockFromFuture) {
		t.Fatalf("proposal an hour ahead: %v, want ErrBlockFromFuture", err)
	}
	// ...but certified, it is applied.
	wal, err := consensus.OpenWAL(filepath.Join(t.TempDir(), "wal"), consensus.FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wal.Close()
	r, err := consensus.NewRunner(consensus.DefaultConfig(tc.Gen.ChainID),
		consensus.Deps{App: behind, WAL: wal, Broadcaster: nopBroadcaster{}}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	if err := r.ApplySyncedBlock(ctx, data, commit); err != nil {
		t.Fatalf("certified block from an hour ahead refused: %v", err)
	}
	if cb.HeadHash() != hash {
		t.Fatalf("head %s, want the synced block %s", cb.HeadHash(), hash)
	}
}

type nopBroadcaster struct{}

func (nopBroadcaster) Broadcast(*consensus.Message) {}

// TestValidateNeverBorrowsAnotherSender: ValidateBlock takes a block tx's sender from the
// pool only for the pool's copy of the same bytes (same hash). A block tx that differs
// from a pooled one only by its signature, so by its sender, runs as its own signer: the
// validator reaches the proposer's state root, and the pooled tx stays pending.
func TestValidateNeverBorrowsAnotherSender(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 2)
	val := tc.Vals[0]
	ca, cb := testutil.MemChain(t, tc.Gen), testutil.MemChain(t, tc.Gen)
	pa, pb := newPool(tc, Accounts{Chain: ca}), newPool(tc, Accounts{Chain: cb})
	a := NewApp(ca, pa, testutil.Addr(val), AppOptions{})
	b := NewApp(cb, pb, types.Address{}, AppOptions{})

	to := testutil.Addr(tc.Accounts[1])
	fields := func() *types.Tx {
		return &types.Tx{GasLimit: 100_000, Kind: types.TxTransfer, To: to, Value: uint256.NewInt(9)}
	}
	mine := testutil.SignTx(t, tc.Accounts[0], fields())   // in b's pool, sender recovered by b
	theirs := testutil.SignTx(t, tc.Accounts[1], fields()) // the same fields signed by another key
	if err := pb.Add(decoded(t, mine)); err != nil {
		t.Fatal(err)
	}
	if err := pa.Add(decoded(t, theirs)); err != nil {
		t.Fatal(err)
	}
	data, hash, err := a.ProposeBlock(ctx, 1, 0, tc.Gen.TimeMs()+1000)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.ValidateBlock(ctx, 1, data); err != nil || got != hash {
		t.Fatalf("validate: %s, %v; want %s", got, err, hash)
	}
	if err := b.Commit(ctx, 1, data, testutil.Certify(t, 1, 0, hash, val)); err != nil {
		t.Fatal(err)
	}
	if cb.HeadHash() != hash {
		t.Fatalf("head %s, want %s", cb.HeadHash(), hash)
	}
	acc := Accounts{Chain: cb}
	if n0, n1 := acc.Nonce(testutil.Addr(tc.Accounts[0])), acc.Nonce(to); n0 != 0 || n1 != 1 {
		t.Fatalf("nonces after the block: %d and %d, want 0 (never sent) and 1", n0, n1)
	}
	if !pb.Has(mine.Hash()) {
		t.Fatal("the pooled tx of the other sender left the pool")
	}
}

// decoded is tx as a node receives it: decoded from its bytes, its sender not known.
func decoded(t *testing.T, tx *types.Tx) *types.Tx {
	t.Helper()
	d, err := types.DecodeTx(tx.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ValidateBasic(tx.ChainID); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestProposalFillsTheBlockByGasUsed: txs declare more gas than they use, and a proposal
// holds as many as the block's gas limit allows by the gas they use (more than their
// declared gas alone would admit), never more; a validator accepts it, and the txs left
// out stay pending.
func TestProposalFillsTheBlockByGasUsed(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 2)
	tc.Gen.Params.BlockGasLimit = genesis.MinBlockGasLimit
	if err := tc.Gen.Validate(); err != nil {
		t.Fatal(err)
	}
	ca, cb := testutil.MemChain(t, tc.Gen), testutil.MemChain(t, tc.Gen)
	pa, pb := newPool(tc, Accounts{Chain: ca}), newPool(tc, Accounts{Chain: cb})
	a := NewApp(ca, pa, testutil.Addr(tc.Vals[0]), AppOptions{})
	b := NewApp(cb, pb, types.Address{}, AppOptions{})
	const declared, n = 100_000, 60 // 10 such declarations fill the block
	for i := range n {
		tx := testutil.SignTx(t, tc.Accounts[0], &types.Tx{Nonce: uint64(i), GasLimit: declared, Kind: types.TxTransfer,
			To: testutil.Addr(tc.Accounts[1]), Value: uint256.NewInt(1)})
		if err := pa.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	data, hash, err := a.ProposeBlock(ctx, 1, 0, tc.Gen.TimeMs()+1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ValidateBlock(ctx, 1, data); err != nil {
		t.Fatalf("validate: %v", err)
	}
	blk, _ := types.DecodeBlock(data)
	limit := tc.Gen.Params.BlockGasLimit
	if len(blk.Txs) <= int(limit/declared) || len(blk.Txs) == n {
		t.Fatalf("block holds %d of %d txs; want more than the %d their declared gas admits", len(blk.Txs), n, limit/declared)
	}
	if err := a.Commit(ctx, 1, data, testutil.Certify(t, 1, 0, hash, tc.Vals[0])); err != nil {
		t.Fatal(err)
	}
	var used uint64
	for _, tx := range blk.Txs {
		r, err := ca.Receipt(tx.Hash())
		if err != nil || !r.Succeeded() {
			t.Fatalf("receipt: %+v, %v", r, err)
		}
		used += r.GasUsed
	}
	t.Logf("%d txs use %d gas of %d", len(blk.Txs), used, limit)
	if used > limit {
		t.Fatalf("%d txs used %d gas of %d", len(blk.Txs), used, limit)
	}
	if p, _ := pa.Stats(); p != n-len(blk.Txs) {
		t.Fatalf("%d txs pending after a block of %d, want %d", p, len(blk.Txs), n-len(blk.Txs))
	}
}
