package statesync

import (
	"context"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

var benchKeys = flag.Int("statesync.keys", 1_000_000, "storage keys of BenchmarkJoin's state")

// diskChain opens a chain of tc over a Pebble database on disk in dir.
func diskChain(b *testing.B, tc *testutil.TestChain, dir string) (*pebble.DB, *state.Store, *chain.Chain) {
	b.Helper()
	db, err := state.OpenPebble(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st, err := state.New(db, state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := vm.New(context.Background(), vm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	c, err := chain.New(db, st, m, tc.Gen, chain.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return db, st, c
}

// fillChain is a chain on disk whose state holds keys storage keys of the fill contract,
// written 5000 a transaction, 10 transactions a block.
type fillChain struct {
	tc     *testutil.TestChain
	st     *state.Store
	c      *chain.Chain
	fill   types.Address
	last   *types.Commit
	nonces []uint64
}

func newFillChain(b *testing.B, dir string, keys int) *fillChain {
	const perTx, txsPerBlock = 5000, 10
	f := &fillChain{tc: testutil.NewTestChain(b, 1, txsPerBlock)}
	f.tc.Gen.Params.BlockGasLimit = 8_000_000_000
	if err := f.tc.Gen.Validate(); err != nil {
		b.Fatal(err)
	}
	_, f.st, f.c = diskChain(b, f.tc, dir)
	f.nonces = make([]uint64, len(f.tc.Accounts))
	code, err := os.ReadFile("testdata/fill.wasm")
	if err != nil {
		b.Fatal(err)
	}
	deploy := testutil.SignTx(b, f.tc.Accounts[0], &types.Tx{Kind: types.TxDeploy, Code: code, GasLimit: 50_000_000})
	f.nonces[0]++
	blk := f.commit(b, []*types.Tx{deploy})
	rs, err := f.c.Receipts(blk.Height())
	if err != nil || len(rs) != 1 || rs[0].Status != types.ReceiptSuccess {
		b.Fatalf("deploy: %v %+v", err, rs)
	}
	f.fill = rs[0].ContractAddress
	for next := 0; next < keys; {
		var txs []*types.Tx
		for i := 0; i < txsPerBlock && next < keys; i++ {
			n := min(perTx, keys-next)
			txs = append(txs, f.fillTx(b, i, next, n))
			next += n
		}
		blk := f.commit(b, txs)
		if rs, _ := f.c.Receipts(blk.Height()); len(rs) != len(txs) || rs[len(rs)-1].Status != types.ReceiptSuccess {
			b.Fatalf("block %d: %d receipts for %d txs", blk.Height(), len(rs), len(txs))
		}
	}
	return f
}

// fillTx is account i's next tx writing keys [from, from+n).
func (f *fillChain) fillTx(b *testing.B, i, from, n int) *types.Tx {
	args := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(from)), uint32(n))
	tx := testutil.SignTx(b, f.tc.Accounts[i], &types.Tx{Nonce: f.nonces[i], Kind: types.TxInvoke, To: f.fill,
		Method: "fill", Args: args, GasLimit: 700_000_000})
	f.nonces[i]++
	return tx
}

// commit builds, certifies and commits a block of txs, as a proposer does.
func (f *fillChain) commit(b *testing.B, txs []*types.Tx) *types.Block {
	ctx := context.Background()
	blk, err := f.c.BuildBlock(ctx, txs, f.c.Head().Time+1000, testutil.Addr(f.tc.Vals[0]), f.last)
	if err != nil {
		b.Fatal(err)
	}
	f.last = testutil.Certify(b, blk.Height(), 0, blk.Hash(), f.tc.Vals...)
	if err := f.c.CommitBlock(ctx, blk, f.last); err != nil {
		b.Fatal(err)
	}
	return blk
}

// BenchmarkJoin measures, in one run, the two ways a new node reaches the head of a chain
// whose state holds -statesync.keys storage keys (written by the fill contract, 5000 a
// transaction, 10 transactions a block): state sync (snapshot taken by the source, then
// fetched over libp2p loopback from two peers, checked and restored) and block sync
// from genesis (every block fetched over the same loopback and re-executed, as
// consensus.Runner.ApplySyncedBlock does). Run with -benchtime=1x; the figures are
// reported as metrics and logged, the ratio is what docs/rationale/statesync.md quotes.
func BenchmarkJoin(b *testing.B) {
	keys := *benchKeys
	tmp := b.TempDir()
	ctx := context.Background()
	built := time.Now()
	f := newFillChain(b, filepath.Join(tmp, "src"), keys)
	tc, src, srcSt := f.tc, f.c, f.st
	head := src.Head()
	b.Logf("source: %d keys in %d blocks, built in %s", keys, head.Height, time.Since(built).Round(time.Millisecond))

	snaps, err := OpenSnapshots(filepath.Join(tmp, "snaps"), srcSt, SnapshotOptions{Interval: 1, BytesPerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	m, err := snaps.Take(ctx, head.Height)
	if err != nil {
		b.Fatal(err)
	}
	take := time.Since(t0)
	size := snaps.History()[0].Bytes

	var boot []string
	for range 2 {
		h, err := p2p.New(ctx, testutil.Key(b), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1}, blockHandler{src})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		h.SetSnapshotSource(&Server{Kept: snaps, Blocks: src})
		boot = append(boot, h.Addrs()[0])
	}
	client, err := p2p.New(ctx, testutil.Key(b), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1, Bootnodes: boot}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	testutil.WaitFor(b, 20*time.Second, "connected", func() bool { return client.PeerCount() == 2 })
	vs, _ := tc.Gen.ValidatorSet()

	b.ResetTimer()
	for i := range b.N {
		// State sync.
		dir := filepath.Join(tmp, "ss", strings.Repeat("x", i+1))
		db, err := state.OpenPebble(dir)
		if err != nil {
			b.Fatal(err)
		}
		st, err := state.New(db, state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		res, err := Sync(ctx, Config{ChainID: testutil.ChainID, Validators: vs, MinPeers: 2}, client, st,
			func(bt *pebble.Batch, blk *types.Block, cm *types.Commit) error {
				return chain.WriteSyncBase(bt, tc.Gen, blk, cm)
			})
		if err != nil {
			b.Fatal(err)
		}
		ss := time.Since(t0)
		db.Close()

		// Block sync from genesis, over the same loopback.
		_, _, dst := diskChain(b, tc, filepath.Join(tmp, "bs", strings.Repeat("x", i+1)))
		t0 = time.Now()
		peer := client.ConnectedPeers()[0]
		for dst.Head().Height < head.Height {
			sbs, err := client.RequestBlocks(ctx, peer, dst.Head().Height+1, p2p.MaxSyncBlocks)
			if err != nil || len(sbs) == 0 {
				b.Fatalf("blocks from %d: %v", dst.Head().Height+1, err)
			}
			for _, sb := range sbs {
				blk, err := types.DecodeBlock(sb.Block)
				if err != nil {
					b.Fatal(err)
				}
				cm, err := types.DecodeCommit(sb.Commit)
				if err != nil {
					b.Fatal(err)
				}
				if err := dst.CommitBlock(ctx, blk, cm); err != nil {
					b.Fatal(err)
				}
			}
		}
		bs := time.Since(t0)
		if dst.Head().StateRoot != res.Root {
			b.Fatalf("block sync root %s, state sync root %s", dst.Head().StateRoot, res.Root)
		}
		b.ReportMetric(ss.Seconds(), "statesync-s")
		b.ReportMetric(bs.Seconds(), "blocksync-s")
		b.ReportMetric(bs.Seconds()/ss.Seconds(), "blocksync/statesync")
		b.Logf("keys %d, height %d: snapshot %d chunks, %.1f MiB, %d pairs, taken in %s; state sync %s (discover %s, verify %s, fetch+check+restore %s); block sync from genesis %s; ratio %.1fx",
			keys, head.Height, len(m.ChunkHashes), float64(size)/(1<<20), m.Pairs, take.Round(time.Millisecond),
			ss.Round(time.Millisecond), res.Discover.Round(time.Millisecond), res.Verify.Round(time.Millisecond), res.Restore.Round(time.Millisecond),
			bs.Round(time.Millisecond), bs.Seconds()/ss.Seconds())
	}
}

// BenchmarkCommitWhileSnapshotting measures what taking snapshots costs block commits: on
// a chain whose state holds -statesync.keys keys, it commits blocks of 100 fill txs of 20
// new keys each (built, certified and committed as a proposer does), in alternating
// phases of -statesync.blocks blocks (-statesync.rounds of each): without a snapshot,
// then with snapshots of the head taken back to back in the background at the default
// pace (DefaultBytesPerSecond, or -statesync.pace), then, with -statesync.unpaced, back to back unpaced.
// Alternating cancels most of the drift of a shared machine. Run with -benchtime=1x; it
// reports committed tx/s of each and the ratios.
func BenchmarkCommitWhileSnapshotting(b *testing.B) {
	keys := *benchKeys
	tmp := b.TempDir()
	f := newFillChain(b, filepath.Join(tmp, "src"), keys)
	paced, err := OpenSnapshots(filepath.Join(tmp, "paced"), f.st, SnapshotOptions{Interval: 1, Keep: 1, BytesPerSecond: *benchPace})
	if err != nil {
		b.Fatal(err)
	}
	unpaced, err := OpenSnapshots(filepath.Join(tmp, "unpaced"), f.st, SnapshotOptions{Interval: 1, Keep: 1, BytesPerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	const txsPerBlock, keysPerTx = 100, 20
	next := keys
	phase := func(snaps *Snapshots) (txs int, took time.Duration, taken int) {
		// Sign the phase's txs first: signing is the clients' work, not the node's.
		blocks := make([][]*types.Tx, *benchBlocks)
		for i := range blocks {
			for j := range txsPerBlock {
				blocks[i] = append(blocks[i], f.fillTx(b, j%len(f.tc.Accounts), next, keysPerTx))
				next += keysPerTx
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		go func() {
			n := 0
			for snaps != nil && ctx.Err() == nil {
				if _, err := snaps.Take(ctx, f.c.Head().Height); err == nil {
					n++
				}
			}
			done <- n
		}()
		t0 := time.Now()
		for _, txs := range blocks {
			f.commit(b, txs)
		}
		took = time.Since(t0)
		cancel()
		return len(blocks) * txsPerBlock, took, <-done
	}
	avg := func(s *Snapshots) time.Duration {
		var took time.Duration
		n := 0
		for _, t := range s.History() {
			if t.Err == nil {
				took += t.Took
				n++
			}
		}
		return (took / time.Duration(max(n, 1))).Round(time.Millisecond)
	}
	b.ResetTimer()
	for range b.N {
		var txs [3]int
		var took [3]time.Duration
		var taken [3]int
		kinds := []*Snapshots{nil, paced}
		if *benchUnpaced {
			kinds = append(kinds, unpaced)
		}
		for range *benchRounds {
			for i, s := range kinds {
				n, d, k := phase(s)
				txs[i], took[i], taken[i] = txs[i]+n, took[i]+d, taken[i]+k
			}
		}
		var rate [3]float64
		for i := range rate {
			rate[i] = float64(txs[i]) / max(took[i].Seconds(), 1e-9)
		}
		b.ReportMetric(rate[0], "tx/s-idle")
		b.ReportMetric(rate[1], "tx/s-paced")
		b.ReportMetric(rate[2], "tx/s-unpaced")
		b.ReportMetric(rate[1]/rate[0], "paced/idle")
		b.ReportMetric(rate[2]/rate[0], "unpaced/idle")
		b.Logf("keys %d: %.0f tx/s without snapshots; %.0f tx/s (%.0f%%) while snapshots were taken back to back at the default pace (%d completed, %s each); %.0f tx/s (%.0f%%) unpaced (%d completed, %s each)",
			keys, rate[0], rate[1], 100*rate[1]/rate[0], taken[1], avg(paced), rate[2], 100*rate[2]/rate[0], taken[2], avg(unpaced))
	}
}

var (
	benchBlocks  = flag.Int("statesync.blocks", 20, "blocks of each phase of BenchmarkCommitWhileSnapshotting")
	benchRounds  = flag.Int("statesync.rounds", 5, "rounds of phases of BenchmarkCommitWhileSnapshotting")
	benchPace    = flag.Int("statesync.pace", 0, "bytes per second of BenchmarkCommitWhileSnapshotting's paced snapshots (0: DefaultBytesPerSecond)")
	benchUnpaced = flag.Bool("statesync.unpaced", false, "BenchmarkCommitWhileSnapshotting also measures unpaced snapshots")
)
