package mempool

import (
	"testing"

	"github.com/wnode/wnode/types"
)

// FuzzAddBytes feeds arbitrary bytes, as a peer or an RPC client could, through
// types.DecodeTx into Add: nothing may panic, and whatever is accepted or refused leaves
// the pool consistent.
func FuzzAddBytes(f *testing.F) {
	for _, txs := range simTxs() {
		f.Add(txs[0].Encode())
		f.Add(txs[len(txs)-1].Encode())
	}
	f.Add([]byte{})
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _ := newTestPool(Config{MaxTxs: 4, MaxPerAccount: 4})
		tx, err := types.DecodeTx(b)
		if err != nil {
			return
		}
		if err := p.Add(tx); err == nil && !p.Has(tx.Hash()) {
			t.Fatal("accepted tx not in the pool")
		}
		_ = p.Add(tx) // a second time: already known, or refused again
		p.Pending(0, 0, 0)
		if err := p.checkInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzPoolOps reads a sequence of operations from the fuzzer's bytes and runs them on a
// sim with tight caps, checking the same properties as TestPoolProperties. Its seeds run
// in every go test.
func FuzzPoolOps(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 4, 0, 2, 8, 3, 0, 0, 0})
	f.Add([]byte{0, 1, 9, 0, 2, 17, 3, 1, 0, 0, 0, 8, 1, 2, 1, 2, 5, 5, 5})
	f.Add([]byte{0, 0, 1, 0, 0, 3, 0, 0, 5, 0, 0, 7, 0, 1, 1, 0, 2, 2, 1, 0, 0, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		next := func() int {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return int(b)
		}
		cfg := Config{MaxTxs: 1 + next()%16, MaxPerAccount: 1 + next()%8, MaxBytes: 150 + next()*8, QueuedTTL: uint64(1 + next()%4)}
		s := newSim(cfg, []uint64{uint64(next()) * 20_000, uint64(next()) * 20_000, 1_000_000})
		nTxs := len(simTxs()[0])
		for len(ops) > 0 {
			var err error
			switch next() % 4 {
			case 0, 1:
				err = s.add(next()%simAccounts, next()*nTxs/256)
			case 2:
				err = s.block(uint64(next())*2_000, next()*4, next()%6)
			case 3:
				err = s.external(next()%simAccounts, uint64(next()%3), uint64(next())*20_000)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
