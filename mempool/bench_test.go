package mempool

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/wnode/wnode/types"
)

// benchSet is benchAccounts × benchNonces signed txs with prices 1..20, made once.
const (
	benchAccounts = 1000
	benchNonces   = 10
)

type benchTxs struct {
	st      *testState
	txs     []*types.Tx // sender cached by Sign, in round-robin order: nonce 0 of all, then 1, ...
	encoded [][]byte
}

var benchSet = sync.OnceValue(func() *benchTxs {
	b := &benchTxs{st: newTestState()}
	r := rand.New(rand.NewPCG(1, 2))
	var all [benchNonces][]*types.Tx
	for a := range benchAccounts {
		k := testKey(fmt.Sprintf("bench %d", a))
		b.st.set(addrOf(k), 0, ddBalance)
		for n := range uint64(benchNonces) {
			tx, err := buildTx(k, txSpec{nonce: n, price: 1 + r.Uint64N(20)})
			if err != nil {
				panic(err)
			}
			all[n] = append(all[n], tx)
		}
	}
	for n := range all {
		b.txs = append(b.txs, all[n]...)
	}
	for _, tx := range b.txs {
		b.encoded = append(b.encoded, tx.Encode())
	}
	return b
})

func benchConfig() Config {
	return Config{ChainID: testChainID, MaxTxs: benchAccounts * benchNonces, MaxPerAccount: benchNonces}
}

// BenchmarkAdd measures Add into a pool that grows to 10k txs from 1k senders: "recover"
// with txs freshly decoded, as from RPC or gossip (signature recovery included);
// "cached" with the sender already known, which isolates the pool's own work.
func BenchmarkAdd(b *testing.B) {
	set := benchSet()
	for _, mode := range []string{"recover", "cached"} {
		b.Run(mode, func(b *testing.B) {
			var p *Pool
			var batch []*types.Tx
			b.ReportAllocs()
			for i := range b.N {
				k := i % len(set.txs)
				if k == 0 {
					b.StopTimer()
					p = New(benchConfig(), set.st)
					batch = set.txs
					if mode == "recover" {
						batch = decodeAll(b, set.encoded)
					}
					b.StartTimer()
				}
				if err := p.Add(batch[k]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecoverBaseline is the signature recovery alone, on the same txs as
// BenchmarkAdd/recover: the ratio of the two is the pool's own overhead.
func BenchmarkRecoverBaseline(b *testing.B) {
	set := benchSet()
	var batch []*types.Tx
	for i := range b.N {
		k := i % len(set.txs)
		if k == 0 {
			b.StopTimer()
			batch = decodeAll(b, set.encoded)
			b.StartTimer()
		}
		if _, err := batch[k].Sender(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddParallel measures Add with signature recovery from all cores at once; the
// recovery runs outside the pool's lock.
func BenchmarkAddParallel(b *testing.B) {
	set := benchSet()
	b.StopTimer()
	txs := decodeAll(b, set.encoded)
	b.StartTimer()
	var mu sync.Mutex
	next, p := 0, New(benchConfig(), set.st)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			if next == len(txs) { // out of fresh txs: start over (rare, amortised)
				txs, next, p = decodeAll(b, set.encoded), 0, New(benchConfig(), set.st)
			}
			tx, pool := txs[next], p
			next++
			mu.Unlock()
			// Another goroutine may start a new pool meanwhile; then this Add can find the
			// nonce gap or a full account, which is still a full Add's work.
			_ = pool.Add(tx)
		}
	})
}

func decodeAll(b *testing.B, encoded [][]byte) []*types.Tx {
	out := make([]*types.Tx, len(encoded))
	for i, e := range encoded {
		tx, err := types.DecodeTx(e)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = tx
	}
	return out
}

func fullBenchPool(b *testing.B) *Pool {
	set := benchSet()
	p := New(benchConfig(), set.st)
	for _, tx := range set.txs {
		if err := p.Add(tx); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkPending selects a 5k-tx block from a pool of 10k txs of 1k senders.
func BenchmarkPending(b *testing.B) {
	p := fullBenchPool(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if got := p.Pending(0, 0, 5000); len(got) != 5000 {
			b.Fatalf("Pending returned %d", len(got))
		}
	}
}

// BenchmarkUpdate commits a 5k-tx block out of a pool of 10k txs of 1k senders and
// rechecks the rest.
func BenchmarkUpdate(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		p := fullBenchPool(b)
		block := p.Pending(0, 0, 5000)
		st := benchSet().st.snapshot()
		for _, tx := range block {
			if err := st.apply(tx); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		p.Update(st, block)
		if p.Len() != benchAccounts*benchNonces-5000 {
			b.Fatalf("Len %d after the block", p.Len())
		}
	}
}
