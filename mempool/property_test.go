package mempool

import (
	"testing"

	"pgregory.net/rapid"
)

// TestPoolProperties runs random sequences of adds, blocks and outside state changes
// against small caps and tight balances. After every step: a rejected Add changes nothing,
// an executable tx is never refused while evicting queued txs would make room for it, the
// queue caps hold,
// Pending stays within its limits and returns, per account, consecutive nonces from the
// account nonce that execute in order without a nonce or balance failure, Len <= MaxTxs,
// and the pool's counters match a recount.
func TestPoolProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			MaxTxs:        rapid.IntRange(1, 24).Draw(t, "maxTxs"),
			MaxPerAccount: rapid.IntRange(1, 10).Draw(t, "maxPerAccount"),
			MaxBytes:      rapid.IntRange(100, 3000).Draw(t, "maxBytes"),
			QueuedTTL:     rapid.Uint64Range(1, 5).Draw(t, "queuedTTL"),
			MaxTxGas:      rapid.SampledFrom([]uint64{0, 200_000}).Draw(t, "maxTxGas"),
			// Small queue caps, so that they are reached and executable txs meet a pool
			// full of queued ones.
			MaxQueued:           rapid.IntRange(1, 12).Draw(t, "maxQueued"),
			MaxQueuedPerAccount: rapid.IntRange(1, 6).Draw(t, "maxQueuedPerAccount"),
		}
		var balances []uint64
		for range simAccounts {
			balances = append(balances, rapid.Uint64Range(0, 3_000_000).Draw(t, "balance"))
		}
		s := newSim(cfg, balances)
		nTxs := len(simTxs()[0])
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for range steps {
			var err error
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1, 2, 3, 4, 5:
				err = s.add(rapid.IntRange(0, simAccounts-1).Draw(t, "account"), rapid.IntRange(0, nTxs-1).Draw(t, "tx"))
			case 6, 7:
				err = s.block(
					rapid.SampledFrom([]uint64{0, 150_000, 400_000}).Draw(t, "blockGas"),
					rapid.SampledFrom([]int{0, 150, 500}).Draw(t, "blockBytes"),
					rapid.IntRange(0, 5).Draw(t, "blockTxs"))
			case 8:
				_, _, err = s.pending(0, 0, 0)
			case 9:
				err = s.external(rapid.IntRange(0, simAccounts-1).Draw(t, "account"),
					rapid.Uint64Range(0, 2).Draw(t, "nonceBump"), rapid.Uint64Range(0, 3_000_000).Draw(t, "balance"))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
