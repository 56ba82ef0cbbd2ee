package network_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/types"
)

var benchRate = flag.Int("network.rate", 200, "transactions per second BenchmarkFinality submits")

// BenchmarkFinality measures an in-process network on loopback with the node's
// production consensus timing (consensus.DevConfig for one validator, DefaultConfig
// for more) and fsyncs on: b.N signed counter increments are submitted at a fixed rate
// (-network.rate, spread over the validators), and it reports the committed tx/s and
// the finality latency, from submission to the receipt on the submitting node. Run it
// with a count of transactions: go test -run X -bench Finality -benchtime 2000x.
func BenchmarkFinality(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) { benchFinality(b, n, *benchRate) })
	}
}

func benchFinality(b *testing.B, nVals, rate int) {
	const senders = 64
	tc := testutil.NewTestChain(b, nVals, senders)
	prod := func(chainID uint64, vals *types.ValidatorSet) consensus.Config {
		if vals.Len() == 1 {
			return consensus.DevConfig(chainID)
		}
		return consensus.DefaultConfig(chainID)
	}
	var nodes []*testNode
	for i, k := range tc.Vals {
		var boot []string
		if i > 0 {
			boot = nodes[0].net.Addrs()
		}
		nodes = append(nodes, startNode(b, fmt.Sprintf("v%d", i), tc.Gen, b.TempDir(), k, nodeOptions{bootnodes: boot, consensus: prod}))
	}
	waitHeight(b, 60*time.Second, 1, nodes...)

	deployer := tc.Accounts[0]
	deploy := testutil.SignTx(b, deployer, &types.Tx{GasLimit: 5_000_000, Kind: types.TxDeploy, Code: testutil.ExampleWasm(b, "counter")})
	if err := nodes[0].pool.Add(deploy); err != nil {
		b.Fatal(err)
	}
	testutil.WaitFor(b, 60*time.Second, "counter deployed everywhere", func() bool {
		for _, n := range nodes {
			if r, err := n.chain.Receipt(deploy.Hash()); err != nil || n.height() < r.Height {
				return false
			}
		}
		return true
	})
	counter := types.ContractAddress(testutil.Addr(deployer), 0)

	// Sender s submits to node s % nVals, so each sender's nonces reach one pool in order.
	txs := make([]*types.Tx, b.N)
	nonces := make([]uint64, senders)
	nonces[0] = 1
	for i := range txs {
		s := i % senders
		txs[i] = testutil.SignTx(b, tc.Accounts[s], &types.Tx{Nonce: nonces[s], GasLimit: 300_000, Kind: types.TxInvoke, To: counter, Method: "increment"})
		nonces[s]++
	}

	type submission struct {
		at   time.Time
		node int
	}
	var (
		mu          sync.Mutex
		submitted   = map[types.Hash]submission{}
		latencies   []time.Duration
		failed      int
		laterRounds int // heights decided after round 0
		last        time.Time
		done        = make(chan struct{})
	)
	stop := make(chan struct{})
	b.Cleanup(func() { close(stop) })
	for i, n := range nodes {
		events := make(chan *chain.BlockEvent, 1024)
		unsubscribe := n.chain.Subscribe(events)
		b.Cleanup(unsubscribe)
		go func() {
			for {
				var ev *chain.BlockEvent
				select {
				case <-stop:
					return
				case ev = <-events:
				}
				now := time.Now()
				mu.Lock()
				if i == 0 && ev.Commit.Round > 0 {
					laterRounds++
				}
				for j, tx := range ev.Block.Txs {
					sub, ok := submitted[tx.Hash()]
					if !ok || sub.node != i || j >= len(ev.Receipts) {
						continue // measured on the node it was submitted to
					}
					delete(submitted, tx.Hash())
					latencies = append(latencies, now.Sub(sub.at))
					if !ev.Receipts[j].Succeeded() {
						failed++
					}
					last = now
					if len(latencies) == len(txs) {
						close(done)
					}
				}
				mu.Unlock()
			}
		}()
	}

	b.ResetTimer()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i, tx := range txs {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		node := i % senders % nVals
		mu.Lock()
		submitted[tx.Hash()] = submission{time.Now(), node}
		mu.Unlock()
		if err := nodes[node].pool.Add(tx); err != nil {
			b.Fatalf("submit tx %d: %v", i, err)
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute + time.Duration(len(txs))*interval):
		mu.Lock()
		b.Fatalf("%d of %d txs committed", len(latencies), len(txs))
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if failed > 0 {
		b.Fatalf("%d increments failed", failed)
	}
	slices.Sort(latencies)
	pct := func(p int) float64 { return float64(latencies[len(latencies)*p/100].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(txs))/last.Sub(start).Seconds(), "tx/s")
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(95), "p95-ms")
	b.ReportMetric(float64(nodes[0].height()), "height")
	b.ReportMetric(float64(laterRounds), "late-rounds")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBlockSync measures how fast a node that joins late catches up: a chain of
// b.N blocks of 50 transfers each (built and certified without consensus) is served by
// its validator, and an empty non-validator syncs it over loopback, re-executing and
// committing every block (fsync on). Run with -benchtime 300x.
func BenchmarkBlockSync(b *testing.B) {
	const perBlock = 50
	tc := testutil.NewTestChain(b, 1, perBlock)
	dir := b.TempDir()
	{ // Build the chain in the validator's data dir.
		n := startNode(b, "builder", tc.Gen, dir, testutil.Key(b), nodeOptions{noSync: true})
		ctx := context.Background()
		for i := range b.N {
			head := n.chain.Head()
			var last *types.Commit
			if head.Height > 0 {
				last, _ = n.chain.CommitAt(head.Height)
			}
			txs := make([]*types.Tx, perBlock)
			for j := range txs {
				txs[j] = testutil.SignTx(b, tc.Accounts[j], &types.Tx{Nonce: uint64(i), GasLimit: 100_000, Kind: types.TxTransfer, To: types.Address{byte(j)}, Value: uint256.NewInt(1)})
			}
			blk, err := n.chain.BuildBlock(ctx, txs, head.Time+1000, testutil.Addr(tc.Vals[0]), last)
			if err != nil || len(blk.Txs) != perBlock {
				b.Fatalf("build: %v", err)
			}
			if err := n.chain.CommitBlock(ctx, blk, testutil.Certify(b, blk.Height(), 0, blk.Hash(), tc.Vals[0])); err != nil {
				b.Fatal(err)
			}
		}
		n.stop()
	}
	v := startNode(b, "v0", tc.Gen, dir, tc.Vals[0], nodeOptions{noSync: true})
	target := uint64(b.N)
	b.ResetTimer()
	start := time.Now()
	late := startNode(b, "late", tc.Gen, b.TempDir(), testutil.Key(b), nodeOptions{bootnodes: v.net.Addrs()})
	testutil.WaitFor(b, 10*time.Minute, "sync", func() bool { return late.height() >= target })
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(target)/took.Seconds(), "blocks/s")
	b.ReportMetric(float64(target*perBlock)/took.Seconds(), "tx/s")
	b.ReportMetric(0, "ns/op")
}
