package mempool

import (
	"crypto/ecdsa"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wnode/wnode/types"
)

// TestConcurrentAddPendingUpdate runs, at once, senders adding their txs (in shuffled
// nonce order, so some wait behind gaps), readers, and a chain that proposes from Pending,
// executes the txs and calls Update, until every tx is committed. Under -race it checks
// the locking; in any mode it checks that every proposed tx executes and none is lost.
func TestConcurrentAddPendingUpdate(t *testing.T) {
	const senders, perSender = 4, 60
	st := newTestState()
	var keys []*ecdsa.PrivateKey
	txs := make([][]*types.Tx, senders)
	for s := range senders {
		k := testKey(fmt.Sprintf("concurrent %d", s))
		keys = append(keys, k)
		st.set(addrOf(k), 0, ddBalance)
		for n := range uint64(perSender) {
			// Swap neighbours so every other tx arrives before its predecessor.
			m := n ^ 1
			txs[s] = append(txs[s], signedTx(t, k, txSpec{nonce: m, price: 1 + m%3}))
		}
	}
	p := New(Config{ChainID: testChainID, MaxPerAccount: perSender}, st.snapshot())
	feed, cancel := p.Subscribe(senders * perSender)
	defer cancel()

	var adders, others sync.WaitGroup
	var addsDone atomic.Bool
	errs := make(chan error, senders+2)
	var failed atomic.Bool
	fail := func(err error) {
		failed.Store(true)
		errs <- err
	}
	for s := range senders {
		adders.Go(func() {
			for _, tx := range txs[s] {
				if err := p.Add(tx); err != nil {
					fail(fmt.Errorf("sender %d nonce %d: %w", s, tx.Nonce, err))
					return
				}
			}
		})
	}
	others.Go(func() { // readers
		for !addsDone.Load() {
			p.Stats()
			p.HasPending()
			p.Len()
			p.Has(txs[0][0].Hash())
		}
	})
	var committed atomic.Int64
	others.Go(func() { // the chain
		deadline := time.Now().Add(time.Minute)
		for committed.Load() < senders*perSender && !failed.Load() {
			if time.Now().After(deadline) {
				fail(fmt.Errorf("chain: only %d of %d txs committed", committed.Load(), senders*perSender))
				return
			}
			block := p.Pending(1_000_000, 0, 0)
			for _, tx := range block {
				if err := st.apply(tx); err != nil {
					fail(fmt.Errorf("chain: proposed tx fails: %w", err))
					return
				}
			}
			committed.Add(int64(len(block)))
			p.Update(st.snapshot(), block)
			if len(block) == 0 {
				time.Sleep(time.Millisecond) // waiting for senders; not synchronisation
			}
		}
	})
	adders.Wait()
	addsDone.Store(true)
	others.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if p.Len() != 0 {
		t.Errorf("pool holds %d txs after everything was committed", p.Len())
	}
	for s, k := range keys {
		if n := st.Nonce(addrOf(k)); n != perSender {
			t.Errorf("sender %d nonce %d, want %d", s, n, perSender)
		}
	}
	if len(feed) != senders*perSender || p.FeedDropped() != 0 {
		t.Errorf("feed carried %d txs, dropped %d; want %d, 0", len(feed), p.FeedDropped(), senders*perSender)
	}
	if err := p.checkInvariants(); err != nil {
		t.Error(err)
	}
}
