package mempool

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

func newTestPool(cfg Config) (*Pool, *testState) {
	cfg.ChainID = testChainID
	st := newTestState()
	for _, n := range ddNames {
		st.set(addrOf(testKey(n)), 0, ddBalance)
	}
	return New(cfg, st), st
}

// TestAddRejects checks that each rejection reports its sentinel error and changes
// nothing: same length, nothing on the feed.
func TestAddRejects(t *testing.T) {
	alice, bob := testKey("alice"), testKey("bob")
	huge := new(uint256.Int).Lsh(uint256.NewInt(1), 255)
	cases := []struct {
		name  string
		cfg   Config
		setup func(t *testing.T, p *Pool, st *testState)
		tx    func(t *testing.T) *types.Tx
		want  error
	}{
		{name: "nil", tx: func(*testing.T) *types.Tx { return nil }, want: types.ErrInvalidTxField},
		{name: "oversized", cfg: Config{MaxTxBytes: 500},
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 1, pad: 500}) },
			want: ErrOversized},
		{name: "already known",
			setup: func(t *testing.T, p *Pool, _ *testState) { mustAdd(t, p, signedTx(t, alice, txSpec{price: 1})) },
			tx:    func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 1}) },
			want:  ErrAlreadyKnown},
		{name: "wrong chain",
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 1, chainID: 9}) },
			want: types.ErrWrongChainID},
		{name: "bad signature",
			tx: func(t *testing.T) *types.Tx {
				tx := signedTx(t, alice, txSpec{price: 1})
				tx.Sig[64] = 2
				return tx
			},
			want: types.ErrInvalidSig},
		{name: "gas limit above block", cfg: Config{MaxTxGas: 150_000},
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 1, gas: 150_001}) },
			want: ErrGasLimit},
		{name: "gas limit below intrinsic",
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 1, gas: 21_000}) },
			want: ErrIntrinsicGas},
		{name: "deploy gas limit below intrinsic gas of its code",
			tx: func(t *testing.T) *types.Tx {
				tx := rawTx(t, alice, txSpec{price: 1, gas: 200_000})
				tx.Kind, tx.To, tx.Code = types.TxDeploy, types.Address{}, make([]byte, 1000) // 250 gas per code byte
				if err := tx.Sign(alice); err != nil {
					t.Fatal(err)
				}
				return tx
			},
			want: ErrIntrinsicGas},
		{name: "underpriced", cfg: Config{MinGasPrice: uint256.NewInt(5)},
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 4}) },
			want: ErrUnderpriced},
		{name: "nonce too low",
			setup: func(_ *testing.T, _ *Pool, st *testState) { st.set(addrOf(alice), 3, ddBalance) },
			tx:    func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{nonce: 2, price: 1}) },
			want:  ErrNonceTooLow},
		{name: "nonce too far ahead", cfg: Config{MaxPerAccount: 4},
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{nonce: 4, price: 1}) },
			want: ErrTooManyForAccount},
		{name: "insufficient funds",
			tx:   func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 10_000, value: 1}) },
			want: ErrInsufficientFunds},
		{name: "cost overflows 256 bits",
			tx: func(t *testing.T) *types.Tx {
				tx := rawTx(t, alice, txSpec{})
				tx.GasPrice = huge
				if err := tx.Sign(alice); err != nil {
					t.Fatal(err)
				}
				return tx
			},
			want: ErrInsufficientFunds},
		{name: "replacement underpriced",
			setup: func(t *testing.T, p *Pool, _ *testState) { mustAdd(t, p, signedTx(t, alice, txSpec{price: 10})) },
			tx:    func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 10, value: 1}) },
			want:  ErrReplaceUnderpriced},
		{name: "pool full", cfg: Config{MaxTxs: 1},
			setup: func(t *testing.T, p *Pool, _ *testState) { mustAdd(t, p, signedTx(t, bob, txSpec{price: 10})) },
			tx:    func(t *testing.T) *types.Tx { return signedTx(t, alice, txSpec{price: 10}) },
			want:  ErrPoolFull},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, st := newTestPool(c.cfg)
			if c.setup != nil {
				c.setup(t, p, st)
			}
			feed, _ := p.Subscribe(8)
			before := p.Len()
			err := p.Add(c.tx(t))
			if !errors.Is(err, c.want) {
				t.Fatalf("Add: %v, want %v", err, c.want)
			}
			if p.Len() != before || len(feed) != 0 {
				t.Fatalf("rejected tx changed the pool: len %d -> %d, feed %d", before, p.Len(), len(feed))
			}
			if err := p.checkInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustAdd(t testing.TB, p *Pool, tx *types.Tx) {
	t.Helper()
	if err := p.Add(tx); err != nil {
		t.Fatalf("Add nonce %d: %v", tx.Nonce, err)
	}
}

func TestBumped(t *testing.T) {
	max := new(uint256.Int).SetAllOne()
	almost := new(uint256.Int).Sub(max, uint256.NewInt(1))
	cases := []struct {
		old, price *uint256.Int
		bump       uint64
		want       bool
	}{
		{uint256.NewInt(100), uint256.NewInt(110), 10, true},
		{uint256.NewInt(100), uint256.NewInt(109), 10, false},
		{uint256.NewInt(9), uint256.NewInt(10), 10, true}, // 9.9 rounds up, 10*100 >= 9*110
		{uint256.NewInt(10), uint256.NewInt(11), 10, true},
		{uint256.NewInt(11), uint256.NewInt(12), 10, false}, // needs 12.1
		{uint256.NewInt(0), uint256.NewInt(0), 10, true},    // zero stays zero
		{uint256.NewInt(1), uint256.NewInt(1), 1, false},
		{max, max, 10, false}, // the product overflows 256 bits: no rounding to "equal"
		{almost, max, 0, true},
		{new(uint256.Int).Rsh(max, 4), max, 1000, true},
	}
	for _, c := range cases {
		if got := bumped(c.old, c.price, c.bump); got != c.want {
			t.Errorf("bumped(%s, %s, %d%%) = %v, want %v", c.old, c.price, c.bump, got, c.want)
		}
	}
}

func TestGetHasStats(t *testing.T) {
	p, _ := newTestPool(Config{})
	alice := testKey("alice")
	tx0 := signedTx(t, alice, txSpec{nonce: 0, price: 1})
	tx2 := signedTx(t, alice, txSpec{nonce: 2, price: 1})
	if p.HasPending() || p.Len() != 0 {
		t.Fatal("new pool not empty")
	}
	mustAdd(t, p, tx2)
	if p.HasPending() {
		t.Fatal("HasPending with only a queued tx")
	}
	mustAdd(t, p, tx0)
	if !p.HasPending() || !p.Has(tx0.Hash()) || p.Get(tx2.Hash()) != tx2 || p.Len() != 2 {
		t.Fatal("added txs not visible")
	}
	if pend, queued := p.Stats(); pend != 1 || queued != 1 {
		t.Fatalf("Stats = %d, %d; want 1, 1", pend, queued)
	}
	if p.Get(types.Hash{1}) != nil || p.Has(types.Hash{1}) {
		t.Fatal("unknown hash found")
	}
}

// TestStale: only executable txs that arrived at least the given age ago, oldest first,
// at most max.
func TestStale(t *testing.T) {
	now := time.Unix(1000, 0)
	p, _ := newTestPool(Config{Now: func() time.Time { return now }})
	alice, bob := testKey("alice"), testKey("bob")
	a0 := signedTx(t, alice, txSpec{nonce: 0, price: 1})
	b0 := signedTx(t, bob, txSpec{nonce: 0, price: 9})
	a2 := signedTx(t, alice, txSpec{nonce: 2, price: 1}) // queued behind a gap
	mustAdd(t, p, a0)
	mustAdd(t, p, b0)
	mustAdd(t, p, a2)
	now = now.Add(30 * time.Second)
	a1 := signedTx(t, alice, txSpec{nonce: 1, price: 1}) // closes the gap, but is new
	mustAdd(t, p, a1)
	if got := p.Stale(time.Hour, 10); len(got) != 0 {
		t.Fatalf("%d txs older than an hour", len(got))
	}
	got := p.Stale(20*time.Second, 10)
	want := []*types.Tx{a0, b0, a2} // arrival order; a1 too young, a2 now executable
	if len(got) != len(want) {
		t.Fatalf("Stale gave %d txs, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Stale[%d] = nonce %d, want nonce %d", i, got[i].Nonce, want[i].Nonce)
		}
	}
	if got := p.Stale(0, 2); len(got) != 2 || got[0] != a0 || got[1] != b0 {
		t.Fatalf("Stale(0, 2) = %d txs", len(got))
	}
}

// TestSubscribe checks the feed's order, that a full subscriber never blocks Add and
// only misses txs, and that cancelling closes the channel once.
func TestSubscribe(t *testing.T) {
	p, _ := newTestPool(Config{})
	alice := testKey("alice")
	big, bigCancel := p.Subscribe(10)
	small, smallCancel := p.Subscribe(1)
	var sent []*types.Tx
	for n := range uint64(3) {
		tx := signedTx(t, alice, txSpec{nonce: n, price: 1})
		mustAdd(t, p, tx)
		sent = append(sent, tx)
	}
	replacement := signedTx(t, alice, txSpec{nonce: 1, price: 2})
	mustAdd(t, p, replacement)
	sent = append(sent, replacement)
	for i, want := range sent {
		if got := <-big; got != want {
			t.Fatalf("feed item %d: nonce %d, want nonce %d", i, got.Nonce, want.Nonce)
		}
	}
	if got := <-small; got != sent[0] {
		t.Fatal("small subscriber did not get the first tx")
	}
	if p.FeedDropped() != 3 {
		t.Fatalf("FeedDropped = %d, want 3", p.FeedDropped())
	}
	bigCancel()
	bigCancel()
	if _, ok := <-big; ok {
		t.Fatal("channel open after cancel")
	}
	mustAdd(t, p, signedTx(t, alice, txSpec{nonce: 3, price: 1}))
	if got := <-small; got.Nonce != 3 {
		t.Fatalf("small subscriber got nonce %d after draining, want 3", got.Nonce)
	}
	smallCancel()
}

// TestUpdateRemovesCommittedHashes checks that a committed tx leaves the pool even if the
// state passed to Update has not caught up with its nonce.
func TestUpdateRemovesCommittedHashes(t *testing.T) {
	p, st := newTestPool(Config{})
	alice := testKey("alice")
	tx0 := signedTx(t, alice, txSpec{nonce: 0, price: 1})
	tx1 := signedTx(t, alice, txSpec{nonce: 1, price: 1})
	mustAdd(t, p, tx0)
	mustAdd(t, p, tx1)
	p.Update(st.snapshot(), []*types.Tx{tx0})
	if p.Has(tx0.Hash()) || !p.Has(tx1.Hash()) {
		t.Fatal("committed tx still pooled, or the other one gone")
	}
	if got := p.Pending(0, 0, 0); len(got) != 0 {
		t.Fatalf("Pending returned %d txs behind the missing nonce 0", len(got))
	}
	if err := p.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestPendingDeterministic checks that Pending does not depend on map iteration order:
// with many equal prices, repeated selections from the same pool and from a twin pool fed
// the same txs in the same order are identical, and ties go to the earliest arrival.
func TestPendingDeterministic(t *testing.T) {
	var txs []*types.Tx
	st := newTestState()
	for a := range 40 {
		k := testKey(string(rune('A' + a)))
		st.set(addrOf(k), 0, ddBalance)
		for n := range uint64(1 + a%3) {
			txs = append(txs, rawTx(t, k, txSpec{nonce: n, price: 1 + uint64(a%2)}))
		}
	}
	build := func() *Pool {
		p := New(Config{ChainID: testChainID}, st)
		for _, tx := range txs {
			mustAdd(t, p, tx)
		}
		return p
	}
	p, twin := build(), build()
	want := p.Pending(0, 0, 50)
	for i := range 20 {
		for _, q := range []*Pool{p, twin} {
			got := q.Pending(0, 0, 50)
			if len(got) != len(want) {
				t.Fatalf("run %d: %d txs, want %d", i, len(got), len(want))
			}
			for j := range got {
				if got[j] != want[j] && got[j].Hash() != want[j].Hash() {
					t.Fatalf("run %d: tx %d differs", i, j)
				}
			}
		}
	}
	// Price 2 first; among equal prices, heads in arrival order: account B's nonce 0 came
	// before D's nonce 0.
	if want[0].GasPrice.Uint64() != 2 || want[len(want)-1].GasPrice.Uint64() != 1 {
		t.Fatal("not ordered by price")
	}
	first, _ := want[0].Sender()
	if first != addrOf(testKey("B")) {
		t.Fatalf("first tx from %s, want the earliest price-2 sender B", first)
	}
}

// blockDuringRead is an AccountState whose first read lets a block through (Update to
// next) before answering, as if the chain committed while Add read outside the lock.
type blockDuringRead struct {
	*testState
	p    *Pool
	next AccountState
	once sync.Once
}

func (s *blockDuringRead) Account(a types.Address) (uint64, *uint256.Int) {
	s.once.Do(func() { s.p.Update(s.next, nil) })
	return s.testState.Account(a)
}

// TestAddStateReadRaces: a sender's state read before Add takes the lock is not used
// when a block came in between: Add reads the new state instead.
func TestAddStateReadRaces(t *testing.T) {
	alice := testKey("alice")
	before, after := newTestState(), newTestState()
	before.set(addrOf(alice), 0, ddBalance)
	after.set(addrOf(alice), 5, ddBalance) // the block used nonces 0-4
	st := &blockDuringRead{testState: before, next: after}
	p := New(Config{ChainID: testChainID}, st)
	st.p = p
	if err := p.Add(signedTx(t, alice, txSpec{nonce: 0, price: 1})); !errors.Is(err, ErrNonceTooLow) {
		t.Fatalf("nonce 0 after a block moved the account to 5: %v", err)
	}
	mustAdd(t, p, signedTx(t, alice, txSpec{nonce: 5, price: 1}))
	if pend, _ := p.Stats(); pend != 1 {
		t.Fatalf("pending %d, want 1", pend)
	}
}

// TestCommitted: the txs given to Update are Committed for at least maxCommitted more txs,
// and forgotten after two generations.
func TestCommitted(t *testing.T) {
	p, st := newTestPool(Config{})
	alice := testKey("alice")
	tx := signedTx(t, alice, txSpec{nonce: 0, price: 1})
	if p.Committed(tx.Hash()) {
		t.Fatal("Committed before any block")
	}
	p.Update(st, []*types.Tx{tx})
	if !p.Committed(tx.Hash()) {
		t.Fatal("a tx of the last block is not Committed")
	}
	filler := func(n int) []*types.Tx {
		txs := make([]*types.Tx, n)
		for i := range txs {
			txs[i] = &types.Tx{ChainID: testChainID, Nonce: uint64(i), Method: "filler"} // only hashed
		}
		return txs
	}
	p.Update(st, filler(maxCommitted))
	if !p.Committed(tx.Hash()) {
		t.Fatalf("forgotten after %d txs", maxCommitted)
	}
	p.Update(st, filler(2*maxCommitted)) // two more generations
	p.Update(st, nil)
	if p.Committed(tx.Hash()) {
		t.Fatal("still Committed after two generations")
	}
}

// TestQueuedCaps: txs behind a nonce gap have their own caps, global and per sender, and
// an executable tx at the minimum price evicts queued txs, whatever their price, rather
// than being refused (the free-fill attack: gapped txs that never pay).
func TestQueuedCaps(t *testing.T) {
	alice, bob, carol, dave := testKey("alice"), testKey("bob"), testKey("carol"), testKey("dave")
	p, _ := newTestPool(Config{MaxTxs: 4, MaxQueued: 2, MaxQueuedPerAccount: 2, MinGasPrice: uint256.NewInt(1)})
	mustAdd(t, p, signedTx(t, alice, txSpec{nonce: 0, price: 1}))
	mustAdd(t, p, signedTx(t, bob, txSpec{nonce: 0, price: 1}))
	mustAdd(t, p, signedTx(t, carol, txSpec{nonce: 5, price: 50}))
	mustAdd(t, p, signedTx(t, carol, txSpec{nonce: 6, price: 50}))
	if err := p.Add(signedTx(t, carol, txSpec{nonce: 7, price: 50})); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third queued tx of carol: %v, want ErrQueueFull", err)
	}
	if err := p.Add(signedTx(t, dave, txSpec{nonce: 3, price: 90})); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("queued tx past the global queue cap: %v, want ErrQueueFull", err)
	}
	if pend, queued := p.Stats(); pend != 2 || queued != 2 || p.Len() != 4 {
		t.Fatalf("pool %d pending, %d queued", pend, queued)
	}
	// Full pool: dave's executable tx at the minimum price takes a queued slot.
	d0 := signedTx(t, dave, txSpec{nonce: 0, price: 1})
	mustAdd(t, p, d0)
	if pend, queued := p.Stats(); pend != 3 || queued != 1 {
		t.Fatalf("after the executable tx: %d pending, %d queued; want 3, 1", pend, queued)
	}
	if p.Has(signedTx(t, carol, txSpec{nonce: 6, price: 50}).Hash()) {
		t.Fatal("carol's highest queued nonce should have been evicted")
	}
	mustAdd(t, p, signedTx(t, dave, txSpec{nonce: 1, price: 1}))
	if pend, queued := p.Stats(); pend != 4 || queued != 0 {
		t.Fatalf("after a second executable tx: %d pending, %d queued; want 4, 0", pend, queued)
	}
	// Only executable txs left, none cheaper: an executable tx at the same price is refused.
	if err := p.Add(signedTx(t, dave, txSpec{nonce: 2, price: 1})); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("with no queued tx left: %v, want ErrPoolFull", err)
	}
	if err := p.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}
