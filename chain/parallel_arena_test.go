package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// TestParallelArenaReuse: parallel executions that reuse one arena (after a failed one,
// one after another, and two at once) each give the sequential execution's write set
// and receipts, and a write set handed out stays intact while the next execution reuses
// the arena it was taken from.
func TestParallelArenaReuse(t *testing.T) {
	w := newParWorld(t)
	c := w.builders[1].c // 2 workers, minParallel 1
	ctx := context.Background()
	head := c.Head()
	h := &types.Header{ChainID: testChainID, Height: head.Height + 1, Time: head.Time + 1000,
		ParentHash: c.HeadHash(), Proposer: addrOf("v0"), ValidatorsHash: c.Validators().Hash()}
	// Blocks of token transfers from every sender, of different sizes and recipients,
	// all on the head's state: some recipients shared (conflicts), the proposer among
	// the senders.
	block := func(salt string, perSender int) []*types.Tx {
		var txs []*types.Tx
		for j := range perSender {
			for i, n := range parSenders[1:] {
				to := addrOf(fmt.Sprint(salt, "-", (i+j)%3))
				txs = append(txs, signTx(t, n, &types.Tx{Kind: types.TxInvoke, To: w.token, Method: "transfer",
					Args: tokenArgs(to, uint64(1+j)), GasLimit: 1_000_000, Nonce: uint64(j)}))
			}
		}
		return txs
	}
	type outcome struct {
		changes  []state.Change
		receipts []byte
		arena    *parArena
	}
	// execute runs txs on a new executor (on any goroutine: it does not call t).
	execute := func(txs []*types.Tx, workers int) (outcome, error) {
		hh := *h
		e, err := c.newExecutor(ctx, &hh)
		if err != nil {
			return outcome{}, err
		}
		if err := e.executeAll(txs, workers); err != nil {
			return outcome{}, err
		}
		o := outcome{arena: e.arena}
		if o.changes, err = e.changes(); err != nil {
			return outcome{}, err
		}
		if again, err := e.changes(); workers > 1 && (err != nil || len(again) != len(o.changes) || (len(again) > 0 && &again[0] != &o.changes[0])) {
			return outcome{}, fmt.Errorf("a second changes call gives another write set (%v)", err)
		}
		for _, r := range e.receipts {
			o.receipts = append(o.receipts, r.Encode()...)
		}
		return o, nil
	}
	same := func(t *testing.T, what string, got, want outcome) {
		t.Helper()
		if !bytes.Equal(got.receipts, want.receipts) {
			t.Fatalf("%s: receipts differ from the sequential execution's", what)
		}
		if len(got.changes) != len(want.changes) {
			t.Fatalf("%s: %d changes, sequential %d", what, len(got.changes), len(want.changes))
		}
		for i := range got.changes {
			g, w := got.changes[i], want.changes[i]
			if !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) {
				t.Fatalf("%s: change %d is %x=%x, sequential %x=%x", what, i, g.Key, g.Value, w.Key, w.Value)
			}
		}
	}
	clone := func(cs []state.Change) []state.Change {
		out := make([]state.Change, len(cs))
		for i, c := range cs {
			out[i] = state.Change{Key: bytes.Clone(c.Key), Value: bytes.Clone(c.Value)}
		}
		return out
	}

	// A failed execution (a replayed nonce) gives its arena back too.
	bad := block("bad", 2)
	bad[len(bad)-1] = bad[0]
	if _, err := execute(bad, 2); !errors.Is(err, types.ErrInvalidBlock) {
		t.Fatalf("replayed nonce: %v", err)
	}
	if len(c.arenas.idle) != 1 {
		t.Fatalf("%d idle arenas after a failed execution, want 1", len(c.arenas.idle))
	}

	var held []outcome // write sets handed out, with copies taken at once
	var copies [][]state.Change
	for i, size := range []int{3, 1, 5, 2} {
		txs := block(fmt.Sprint("b", i), size)
		want, err := execute(txs, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := execute(txs, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got.arena == nil || len(c.arenas.idle) != 1 || c.arenas.idle[0] != got.arena {
			t.Fatalf("block %d: the execution's arena is not the one kept for the next", i)
		}
		same(t, fmt.Sprint("block ", i), got, want)
		held, copies = append(held, got), append(copies, clone(got.changes))
	}
	for i := range held {
		same(t, fmt.Sprint("write set of block ", i, " after the arena's reuse"), held[i], outcome{changes: copies[i], receipts: held[i].receipts})
	}

	// Two executions at once take two arenas.
	txs := block("together", 4)
	want, err := execute(txs, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]outcome, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = execute(txs, 2)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		same(t, fmt.Sprint("concurrent execution ", i), got[i], want)
	}
	// The two may or may not have overlapped; an execution while another holds an arena
	// must take a second one, and both are kept.
	busy := c.arenas.get(state.Empty, 1, 1)
	o, err := execute(txs, 2)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "execution beside a held arena", o, want)
	if o.arena == busy {
		t.Fatal("an execution took the arena another one holds")
	}
	c.arenas.put(busy)
	if n := len(c.arenas.idle); n != maxIdleArenas {
		t.Fatalf("%d idle arenas, want %d", n, maxIdleArenas)
	}
}
