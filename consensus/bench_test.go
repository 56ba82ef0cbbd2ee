package consensus

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wnode/wnode/types"
)

// BenchmarkDevHeight measures one height of a single-validator chain (--dev) with the
// WAL and the guard on real files with fsync: propose, prevote, precommit (each signed,
// guard-persisted and WAL-synced), commit. It is the floor of a transaction's latency in
// dev mode, on top of execution.
func BenchmarkDevHeight(b *testing.B) {
	keys := testKeys(b, 1)
	vals := testValidators(b, keys, equalPowers(1))
	dir := b.TempDir()
	wal, err := OpenWAL(filepath.Join(dir, "consensus.wal"), FileOptions{NoSync: benchNoSync})
	if err != nil {
		b.Fatal(err)
	}
	defer wal.Close()
	guard, err := OpenFileGuardStore(filepath.Join(dir, "guard"), FileOptions{NoSync: benchNoSync})
	if err != nil {
		b.Fatal(err)
	}
	defer guard.Close()
	cfg := DevConfig(testChainID)
	cfg.MinBlockInterval = 0
	app, clock := newTestApp(vals), newManualClock()
	st, err := New(cfg, Deps{App: app, Signer: NewKeySigner(keys[0]), Guard: guard, WAL: wal,
		Broadcaster: &captureBroadcaster{}, Clock: clock}, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		app.pending = true
		if err := st.TxsAvailable(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := app.height(); got != uint64(b.N) {
		b.Fatalf("%d heights committed for %d iterations", got, b.N)
	}
}

// BenchmarkHandleVote measures counting a prevote from the network in a 7-validator
// network: a new one (signature recovery, WAL append in memory, tally) and a duplicate
// (what most re-broadcast traffic is: dropped before any signature check).
func BenchmarkHandleVote(b *testing.B) {
	keys := testKeys(b, 7)
	vals := testValidators(b, keys, equalPowers(7))
	var votes []*Message
	for _, k := range keys {
		votes = append(votes, &Message{Vote: signVote(b, k, types.PrevoteType, 1, 0, testBlockHash("A", 1))})
	}
	ctx := context.Background()
	newState := func() *State {
		st, err := New(DefaultConfig(testChainID), Deps{App: newTestApp(vals), WAL: &memWAL{},
			Broadcaster: &captureBroadcaster{}, Clock: newManualClock()}, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Start(ctx); err != nil {
			b.Fatal(err)
		}
		return st
	}
	b.Run("new", func(b *testing.B) {
		st := newState()
		for i := range b.N {
			if i%len(votes) == 0 {
				b.StopTimer()
				st = newState()
				b.StartTimer()
			}
			if err := st.HandleMessage(ctx, votes[i%len(votes)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		st := newState()
		for _, m := range votes {
			_ = st.HandleMessage(ctx, m)
		}
		b.ResetTimer()
		for i := range b.N {
			if err := st.HandleMessage(ctx, votes[i%len(votes)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchNoSync (WNODE_BENCH_NOSYNC=1) runs BenchmarkDevHeight without fsync, to separate
// the cost of the disk from the cost of the code.
var benchNoSync = os.Getenv("WNODE_BENCH_NOSYNC") != ""
