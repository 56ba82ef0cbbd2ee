package network

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/holiman/uint256"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/app"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// testHandler returns a handler over a chain of tc at height `height` (committed with
// certificates of every validator) and an empty pool, and a counter of syncer wake-ups.
func testHandler(t testing.TB, tc *testutil.TestChain, height int) (*handler, *int) {
	t.Helper()
	c := testutil.MemChain(t, tc.Gen)
	commitTestBlocks(t, c, tc.Vals, height)
	pool := mempool.New(mempool.Config{ChainID: testutil.ChainID, MinGasPrice: tc.Gen.Params.MinGasPrice.Int(),
		MaxTxGas: tc.Gen.Params.BlockGasLimit}, app.Accounts{Chain: c})
	wakes := 0
	h := &handler{chain: c, pool: pool, chainID: testutil.ChainID, genesisHash: tc.Gen.Hash(),
		stats: &stats{}, ahead: func() { wakes++ }}
	return h, &wakes
}

type verdict int

const (
	accept verdict = iota
	ignore
	reject
)

func (v verdict) String() string { return [...]string{"accept", "ignore", "reject"}[v] }

func verdictOf(err error) verdict {
	switch {
	case err == nil:
		return accept
	case errors.Is(err, p2p.ErrIgnore):
		return ignore
	}
	return reject
}

// testPeer stands for the peer a gossiped message came from.
const testPeer = peer.ID("test-peer")

func TestCheckTx(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 2)
	h, _ := testHandler(t, tc, 0)
	alice, bob := tc.Accounts[0], tc.Accounts[1]
	transfer := func(nonce uint64, mod func(*types.Tx)) *types.Tx {
		tx := &types.Tx{Nonce: nonce, GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob), Value: uint256.NewInt(5)}
		if mod != nil {
			mod(tx)
		}
		return testutil.SignTx(t, alice, tx)
	}
	good := transfer(0, nil)
	badSig := transfer(1, nil)
	badSig.Sig = append([]byte(nil), badSig.Sig...)
	badSig.Sig[64] = 7       // recovery id out of range
	broke := testutil.Key(t) // no funds
	cases := []struct {
		name string
		data []byte
		want verdict
	}{
		{"garbage", []byte{0xde, 0xad, 0xbe, 0xef}, reject},
		{"empty", nil, reject},
		{"valid", good.Encode(), accept},
		{"known", good.Encode(), ignore},
		{"bad signature", badSig.Encode(), reject},
		{"wrong chain", transfer(2, func(tx *types.Tx) { tx.ChainID = testutil.ChainID + 1 }).Encode(), reject},
		{"gas below intrinsic", transfer(2, func(tx *types.Tx) { tx.GasLimit = 1 }).Encode(), reject},
		{"gas above block", transfer(2, func(tx *types.Tx) { tx.GasLimit = tc.Gen.Params.BlockGasLimit + 1 }).Encode(), reject},
		{"replacement without a price bump", transfer(0, func(tx *types.Tx) { tx.Value = uint256.NewInt(6) }).Encode(), ignore},
		{"no funds", testutil.SignTx(t, broke, &types.Tx{GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob)}).Encode(), ignore},
		{"underpriced", transfer(1, func(tx *types.Tx) { tx.GasPrice = new(uint256.Int) }).Encode(), ignore},
		{"next nonce", transfer(1, nil).Encode(), accept},
	}
	for _, c := range cases {
		v, err := h.CheckTx(testPeer, c.data)
		if got := verdictOf(err); got != c.want {
			t.Errorf("%s: %v (%v), want %v", c.name, got, err, c.want)
			continue
		}
		if c.want == accept {
			txs := v.([]*types.Tx)
			if len(txs) != 1 {
				t.Fatalf("%s: %d txs accepted", c.name, len(txs))
			}
			if !h.pool.Has(txs[0].Hash()) {
				t.Errorf("%s: accepted but not in the pool", c.name)
			}
			if !h.gossiped.take(txs[0]) {
				t.Errorf("%s: not marked as taken from gossip", c.name)
			}
		}
	}
	if p, _ := h.pool.Stats(); p != 2 {
		t.Errorf("pool holds %d pending txs, want 2", p)
	}
	st := h.stats
	if st.txsAccepted.Load() != 2 || st.txsIgnored.Load() != 4 || st.txsRejected.Load() != 6 {
		t.Errorf("counters accepted=%d ignored=%d rejected=%d", st.txsAccepted.Load(), st.txsIgnored.Load(), st.txsRejected.Load())
	}
}

// TestCheckTxBatch checks the verdicts on batches: a batch adds every tx the pool takes;
// one invalid tx rejects the whole batch, which then adds nothing; a batch of known txs
// is ignored.
func TestCheckTxBatch(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 2)
	h, _ := testHandler(t, tc, 0)
	alice, bob := tc.Accounts[0], tc.Accounts[1]
	transfer := func(nonce uint64) *types.Tx {
		return testutil.SignTx(t, alice, &types.Tx{Nonce: nonce, GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob), Value: uint256.NewInt(1)})
	}
	badSig := transfer(3)
	badSig.Sig = append([]byte(nil), badSig.Sig...)
	badSig.Sig[64] = 7
	wrongChain := testutil.SignTx(t, alice, &types.Tx{ChainID: testutil.ChainID + 1, Nonce: 3, GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob)})

	for name, bad := range map[string]*types.Tx{"bad signature": badSig, "wrong chain": wrongChain} {
		if _, err := h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{transfer(0), transfer(1), bad})); verdictOf(err) != reject {
			t.Errorf("batch with a %s: %v, want reject", name, err)
		}
		if h.pool.Len() != 0 {
			t.Fatalf("a rejected batch left %d txs in the pool", h.pool.Len())
		}
	}
	v, err := h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{transfer(0), transfer(1)}))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.([]*types.Tx); len(got) != 2 || h.pool.Len() != 2 {
		t.Fatalf("valid batch: %d accepted, pool holds %d", len(got), h.pool.Len())
	}
	if _, err := h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{transfer(0), transfer(1)})); verdictOf(err) != ignore {
		t.Errorf("known batch: %v, want ignore", err)
	}
	v, err = h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{transfer(1), transfer(2)}))
	if err != nil {
		t.Fatalf("batch with one new tx: %v", err)
	}
	if got := v.([]*types.Tx); len(got) != 1 || got[0].Nonce != 2 {
		t.Fatalf("batch with one new tx: accepted %d", len(got))
	}

	// A batch the pool takes only in part is not relayed (ignored): the network would carry
	// a tx this pool refused. The tx it took is this node's to publish (the gossip mark is
	// gone, so the feed loop publishes it).
	broke := testutil.Key(t)
	unfunded := testutil.SignTx(t, broke, &types.Tx{GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob)})
	next := transfer(3)
	if _, err := h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{next, unfunded})); verdictOf(err) != ignore {
		t.Fatalf("batch with an unfunded tx: %v, want ignore", err)
	}
	if !h.pool.Has(next.Hash()) || h.pool.Has(unfunded.Hash()) {
		t.Fatal("the pool did not take the funded tx alone")
	}
	if h.gossiped.take(next) {
		t.Fatal("a tx of a batch not relayed is still marked as relayed by gossip")
	}
	// The refused tx, replayed within refusedTTL, is skipped without a second look, and
	// still keeps its batch from being relayed; the new tx of that batch is taken, for
	// this node to publish.
	fourth := transfer(4)
	if _, err := h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{unfunded, fourth})); verdictOf(err) != ignore {
		t.Fatalf("batch of a refused tx and a new one: %v, want ignore", err)
	}
	if !h.pool.Has(fourth.Hash()) || h.gossiped.take(fourth) {
		t.Fatal("the new tx of a batch hiding a refused one is not this node's to publish")
	}

	// A tx of a recent block, gossiped late, is known: ignored without a refusal, so it
	// neither blocks relaying nor counts against the peer.
	late := transfer(9) // a nonce gap here, but what matters is that a block had it
	h.pool.Update(app.Accounts{Chain: h.chain}, []*types.Tx{late})
	before := h.budget.used[testPeer]
	if _, err := h.CheckTx(testPeer, late.Encode()); verdictOf(err) != ignore {
		t.Fatalf("late tx of a block: %v, want ignore", err)
	}
	fifth := transfer(5)
	if _, err := h.CheckTx(testPeer, types.EncodeTxs([]*types.Tx{late, fifth})); err != nil {
		t.Fatalf("batch of a committed tx and a new one: %v, want accept", err)
	}
	if h.budget.used[testPeer] != before {
		t.Fatal("a committed tx counted against the peer")
	}
}

// TestCheckTxPeerBudget: a peer whose txs the pool refused maxRefusedPerPeer times has
// its batches ignored unchecked until the window ends, even when they are validated
// concurrently; txs the pool takes are not counted; other peers are not affected.
func TestCheckTxPeerBudget(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 2)
	h, _ := testHandler(t, tc, 0)
	clock := testutil.NewClock(time.Unix(1000, 0))
	h.clk = clock
	alice, bob := tc.Accounts[0], tc.Accounts[1]
	transfer := func(nonce uint64) []byte {
		return testutil.SignTx(t, alice, &types.Tx{Nonce: nonce, GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob), Value: uint256.NewInt(1)}).Encode()
	}
	broke := testutil.Key(t)
	var junk [][]byte
	for b := range 4 { // 4 batches of unfundable txs, more than the budget
		var txs []*types.Tx
		for i := range types.MaxTxBatchLen {
			txs = append(txs, testutil.SignTx(t, broke, &types.Tx{Nonce: uint64(b*types.MaxTxBatchLen + i), GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(bob)}))
		}
		junk = append(junk, types.EncodeTxs(txs))
	}
	evil, honest := peer.ID("evil"), peer.ID("honest")

	// Txs the pool takes are refunded: they never count against a peer.
	for i := range 3 {
		if _, err := h.CheckTx(honest, transfer(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if used := h.budget.used[honest]; used != 0 {
		t.Fatalf("accepted txs left %d on the peer's budget", used)
	}
	// Concurrent junk batches: the budget is taken before the checks, so at most one
	// batch beyond it gets checked.
	var wg sync.WaitGroup
	for _, b := range junk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.CheckTx(evil, b); verdictOf(err) != ignore {
				t.Errorf("unfundable batch: %v, want ignore", err)
			}
		}()
	}
	wg.Wait()
	if used := h.budget.used[evil]; used > maxRefusedPerPeer+types.MaxTxBatchLen {
		t.Fatalf("%d refused txs checked for one peer, budget %d", used, maxRefusedPerPeer)
	}
	if _, err := h.CheckTx(evil, transfer(3)); verdictOf(err) != ignore || h.pool.Len() != 3 {
		t.Fatalf("a good tx from a peer over its budget: %v, pool %d; want ignored unchecked", err, h.pool.Len())
	}
	if _, err := h.CheckTx(honest, transfer(3)); err != nil {
		t.Fatalf("the same tx from another peer: %v", err)
	}
	clock.Advance(budgetWindow)
	if _, err := h.CheckTx(evil, transfer(4)); err != nil {
		t.Fatalf("a good tx from the peer after the window: %v", err)
	}
}

func TestCheckConsensus(t *testing.T) {
	tc := testutil.NewTestChain(t, 4, 0)
	const head = 5 // consensus decides height 6
	h, wakes := testHandler(t, tc, head)
	v0, v1 := tc.Vals[0], tc.Vals[1]
	outsider := testutil.Key(t)
	hash := types.Hash{1, 2, 3}
	prevote := func(height uint64) []byte {
		return testutil.EncodeMsg(t, &consensus.Message{Vote: testutil.SignVote(t, v1, types.PrevoteType, height, 0, hash)})
	}
	wrongSig := testutil.SignVote(t, v1, types.PrevoteType, head+1, 0, hash)
	wrongSig.Validator = testutil.Addr(v0) // v1's signature claimed by v0
	vals := h.chain.Validators()
	proposer := func(height uint64, round int32) int {
		a := vals.Proposer(height, round).Address
		for i, k := range tc.Vals {
			if testutil.Addr(k) == a {
				return i
			}
		}
		t.Fatal("proposer not among the keys")
		return -1
	}
	proposal := func(signer int, height uint64) []byte {
		k := tc.Vals[signer]
		p := &types.Proposal{Height: height, Round: 0, POLRound: -1, BlockHash: hash, Block: []byte("block"), Proposer: testutil.Addr(k)}
		if err := p.Sign(testutil.ChainID, k); err != nil {
			t.Fatal(err)
		}
		return testutil.EncodeMsg(t, &consensus.Message{Proposal: p})
	}
	right := proposer(head+1, 0)
	wrong := (right + 1) % len(tc.Vals)
	commit := func(height uint64, keys ...int) []byte {
		var ks = tc.Vals[:0:0]
		for _, i := range keys {
			ks = append(ks, tc.Vals[i])
		}
		return testutil.EncodeMsg(t, &consensus.Message{Commit: testutil.Certify(t, height, 0, hash, ks...)})
	}
	// resent stamps a message as a re-send: new bytes, same content.
	resent := func(data []byte) []byte {
		m, err := consensus.DecodeMessage(data)
		if err != nil {
			t.Fatal(err)
		}
		m.Resend = 1234
		return testutil.EncodeMsg(t, m)
	}
	forged := func(data []byte) []byte {
		m, _ := consensus.DecodeMessage(data)
		m.Vote.Sig = append([]byte(nil), m.Vote.Sig...)
		m.Vote.Sig[10] ^= 1
		return testutil.EncodeMsg(t, m)
	}
	cases := []struct {
		name  string
		data  []byte
		want  verdict
		wakes int
	}{
		{"garbage", []byte("not rlp at all"), reject, 0},
		{"unknown kind", []byte{0xc2, 0x09, 0x80}, reject, 0},
		{"prevote at the current height", prevote(head + 1), accept, 0},
		{"prevote one height back", prevote(head), accept, 0},
		{"prevote at the next height", prevote(head + 2), accept, 0},
		{"prevote decided long ago", prevote(head - 1), ignore, 0},
		{"prevote far ahead", prevote(head + 3), ignore, 1},
		{"forged prevote far ahead", forged(prevote(head + 4)), reject, 0},
		{"prevote signed by another validator", testutil.EncodeMsg(t, &consensus.Message{Vote: wrongSig}), reject, 0},
		{"prevote of a non-validator", testutil.EncodeMsg(t, &consensus.Message{Vote: testutil.SignVote(t, outsider, types.PrevoteType, head+1, 0, hash)}), reject, 0},
		{"precommit of a non-validator", testutil.EncodeMsg(t, &consensus.Message{Vote: testutil.SignVote(t, outsider, types.PrecommitType, head+1, 0, hash)}), reject, 0},
		{"proposal by the proposer", proposal(right, head+1), accept, 0},
		{"proposal by another validator", proposal(wrong, head+1), reject, 0},
		{"commit far ahead", commit(head+20, 0, 1, 2), accept, 0},
		{"commit far ahead without quorum", commit(head+20, 0, 1), ignore, 0}, // the set may change by then
		{"commit of the current height", commit(head+1, 0, 1, 2, 3), accept, 0},
		{"commit decided long ago", commit(head-2, 0, 1, 2), ignore, 0},
		{"prevote re-sent at once", resent(prevote(head + 1)), ignore, 0},
		{"re-sent prevote with a forged signature", resent(forged(prevote(head + 1))), reject, 0},
	}
	for _, c := range cases {
		before := *wakes
		v, err := h.CheckConsensus(c.data)
		if got := verdictOf(err); got != c.want {
			t.Errorf("%s: %v (%v), want %v", c.name, got, err, c.want)
			continue
		}
		if got := *wakes - before; got != c.wakes {
			t.Errorf("%s: woke the syncer %d times, want %d", c.name, got, c.wakes)
		}
		if c.want == accept {
			m := v.(*consensus.Message)
			if b, _ := consensus.EncodeMessage(m); string(b) != string(c.data) {
				t.Errorf("%s: delivered message does not encode to the gossiped bytes", c.name)
			}
		}
	}
}

// TestCheckConsensusResendGap: a consensus message re-sent (same content, another
// Resend stamp) is relayed again only once resendGap has passed on the handler's clock
// since it was last relayed.
func TestCheckConsensusResendGap(t *testing.T) {
	tc := testutil.NewTestChain(t, 4, 0)
	h, _ := testHandler(t, tc, 2)
	clock := testutil.NewClock(time.Unix(1000, 0))
	h.clk = clock
	vote := testutil.SignVote(t, tc.Vals[1], types.PrevoteType, 3, 0, types.Hash{7})
	send := func(stamp uint64) verdict {
		_, err := h.CheckConsensus(testutil.EncodeMsg(t, &consensus.Message{Vote: vote, Resend: stamp}))
		return verdictOf(err)
	}
	if v := send(0); v != accept {
		t.Fatalf("first copy: %v", v)
	}
	clock.Advance(resendGap - time.Millisecond)
	if v := send(1); v != ignore {
		t.Fatalf("re-sent within the gap: %v, want ignore", v)
	}
	clock.Advance(time.Millisecond)
	if v := send(2); v != accept {
		t.Fatalf("re-sent after the gap: %v, want accept", v)
	}
	if v := send(3); v != ignore {
		t.Fatalf("re-sent right after the second relay: %v, want ignore", v)
	}
}

func TestStatusAndSyncBlocks(t *testing.T) {
	tc := testutil.NewTestChain(t, 3, 0)
	h, _ := testHandler(t, tc, 7)
	st := h.Status()
	head := h.chain.Head()
	if st.ChainID != testutil.ChainID || st.GenesisHash != tc.Gen.Hash() || st.Height != 7 || st.BlockHash != head.Hash() {
		t.Fatalf("status %+v, head %d %s", st, head.Height, head.Hash())
	}
	for _, c := range []struct {
		from     uint64
		max      int
		first, n uint64
	}{
		{0, 64, 1, 7}, // the genesis block has no commit and is never sent
		{1, 3, 1, 3},
		{5, 64, 5, 3},
		{7, 1, 7, 1},
		{8, 64, 0, 0},
		{1 << 60, 64, 0, 0},
	} {
		blocks, err := h.SyncBlocks(c.from, c.max)
		if err != nil {
			t.Fatalf("SyncBlocks(%d, %d): %v", c.from, c.max, err)
		}
		if uint64(len(blocks)) != c.n {
			t.Fatalf("SyncBlocks(%d, %d): %d blocks, want %d", c.from, c.max, len(blocks), c.n)
		}
		for i, sb := range blocks {
			want := c.first + uint64(i)
			b, err := types.DecodeBlock(sb.Block)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := types.DecodeCommit(sb.Commit)
			if err != nil {
				t.Fatal(err)
			}
			if b.Height() != want || cm.Height != want || cm.BlockHash != b.Hash() {
				t.Fatalf("block %d: got block %d, commit %d for %s", want, b.Height(), cm.Height, cm.BlockHash)
			}
			if err := cm.Verify(testutil.ChainID, h.chain.Validators()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRecentMessages(t *testing.T) {
	var r recentMessages
	t0 := time.Unix(1000, 0)
	a, b := types.Hash{1}, types.Hash{2}
	if v := r.check(a, t0); v != recentUnknown {
		t.Fatalf("unseen content: %v", v)
	}
	r.accepted(a, t0)
	if v := r.check(a, t0.Add(resendGap-time.Millisecond)); v != recentFresh {
		t.Fatalf("re-sent within the gap: %v", v)
	}
	if v := r.check(a, t0.Add(resendGap)); v != recentStale {
		t.Fatalf("re-sent after the gap: %v", v)
	}
	// Two generations: an entry survives one rotation, not two.
	for i := range maxRecent {
		r.accepted(types.Hash{3, byte(i), byte(i >> 8)}, t0)
	}
	if v := r.check(a, t0.Add(time.Hour)); v != recentStale {
		t.Fatalf("after one rotation: %v", v)
	}
	for i := range maxRecent {
		r.accepted(types.Hash{4, byte(i), byte(i >> 8)}, t0)
	}
	if v := r.check(a, t0.Add(time.Hour)); v != recentUnknown {
		t.Fatalf("after two rotations: %v", v)
	}
	if v := r.check(b, t0); v != recentUnknown {
		t.Fatalf("other content: %v", v)
	}
}

func TestGossipSetBounded(t *testing.T) {
	var g gossipSet
	first := &types.Tx{}
	g.add(first)
	for range maxGossiped - 1 {
		g.add(&types.Tx{})
	}
	if !g.take(first) || g.take(first) {
		t.Fatal("take must find an added tx once")
	}
	g.add(first)
	g.add(&types.Tx{}) // the set is full: it starts over
	if g.take(first) || len(g.txs) != 1 {
		t.Fatalf("set not bounded: %d entries", len(g.txs))
	}
}

// TestCheckConsensusAheadSignerRemoved: a vote two heights ahead passes the check
// against the newest known set; its signer is then voted out from that height on. Once
// this node knows the set of the vote's height, a copy is checked again and refused,
// not relayed on the strength of the first check.
func TestCheckConsensusAheadSignerRemoved(t *testing.T) {
	tc := testutil.NewTestChain(t, 4, 0)
	for _, k := range tc.Vals { // they pay for their validator txs
		tc.Gen.Accounts = append(tc.Gen.Accounts, genesis.Account{Address: testutil.Addr(k), Balance: genesis.AmountOf(1e18)})
	}
	const head = 2 // consensus decides 3; the sets up to 4 are known
	h, _ := testHandler(t, tc, head)
	clock := testutil.NewClock(time.Unix(1000, 0))
	h.clk = clock
	leaving := tc.Vals[3]
	vote := testutil.SignVote(t, leaving, types.PrevoteType, head+3, 0, types.Hash{7})
	send := func(stamp uint64) (verdict, error) {
		_, err := h.CheckConsensus(testutil.EncodeMsg(t, &consensus.Message{Vote: vote, Resend: stamp}))
		return verdictOf(err), err
	}
	if v, err := send(0); v != ignore {
		t.Fatalf("vote of height %d at head %d: %v (%v), want ignore (verified, not relayed)", head+3, head, v, err)
	}
	// Block 3 passes the removal (30 of 40): the set of 5 = head+3 no longer has it.
	remove := &types.ValidatorChange{Op: types.ValidatorRemove, Address: testutil.Addr(leaving)}
	tx := func(k int, kind types.TxKind, args []byte) *types.Tx {
		return testutil.SignTx(t, tc.Vals[k], &types.Tx{Kind: kind, GasLimit: 1_000_000, Args: args})
	}
	voteTx := (&types.ValidatorVote{ProposalID: 1}).Encode()
	commitTestBlockTxs(t, h.chain, tc.Vals, tx(0, types.TxValidatorPropose, remove.Encode()),
		tx(1, types.TxValidatorVote, voteTx), tx(2, types.TxValidatorVote, voteTx))
	commitTestBlocks(t, h.chain, tc.Vals[:3], 1)
	vs, err := h.chain.ValidatorsAt(head + 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := vs.Index(testutil.Addr(leaving)); ok {
		t.Fatal("the removal did not pass")
	}
	clock.Advance(time.Second)
	if v, err := send(1); v != reject {
		t.Fatalf("copy of the vote at head %d, its signer removed at %d: %v (%v), want reject", h.chain.Head().Height, head+3, v, err)
	}
	// A vote of a remaining validator, checked the same way, is relayed once its
	// height is current.
	stay := testutil.SignVote(t, tc.Vals[1], types.PrevoteType, head+5, 0, types.Hash{7})
	if _, err := h.CheckConsensus(testutil.EncodeMsg(t, &consensus.Message{Vote: stay})); verdictOf(err) != ignore {
		t.Fatalf("vote of height %d: %v", head+5, err)
	}
	commitTestBlocks(t, h.chain, tc.Vals[:3], 2)
	clock.Advance(time.Second)
	if _, err := h.CheckConsensus(testutil.EncodeMsg(t, &consensus.Message{Vote: stay, Resend: 1})); err != nil {
		t.Fatalf("vote of a remaining validator at its height: %v", err)
	}
}
