package network

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wnode/wnode/app"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

var loopback = []string{"/ip4/127.0.0.1/tcp/0"}

// testLogger discards logs unless WNODE_TEST_LOG is set (debug, info, ...).
func testLogger(name string) *slog.Logger {
	lvl := os.Getenv("WNODE_TEST_LOG")
	if lvl == "" {
		return slog.New(slog.DiscardHandler)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(lvl)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("node", name)
}

// fastConsensus is consensus timing for loopback tests on a loaded machine: short
// enough for a test to see many heights, long enough not to spin in rounds (scaled up
// under the race detector).
func fastConsensus(chainID uint64, vals *types.ValidatorSet) consensus.Config {
	const x = raceSlowdown
	c := consensus.DefaultConfig(chainID, vals)
	c.TimeoutPropose, c.TimeoutProposeDelta = x*600*time.Millisecond, x*300*time.Millisecond
	c.TimeoutPrevote, c.TimeoutPrevoteDelta = x*300*time.Millisecond, x*150*time.Millisecond
	c.TimeoutPrecommit, c.TimeoutPrecommitDelta = x*300*time.Millisecond, x*150*time.Millisecond
	c.MinBlockInterval, c.Heartbeat = 5*time.Millisecond, x*300*time.Millisecond
	c.RebroadcastInterval = x * 300 * time.Millisecond
	return c
}

// testNode is a node as package node wires one: its own Pebble database and VM, chain,
// mempool, consensus runner over files, and Network, on loopback.
type testNode struct {
	t    testing.TB
	name string
	dir  string
	key  *ecdsa.PrivateKey

	db      *pebble.DB
	machine *vm.VM
	chain   *chain.Chain
	pool    *mempool.Pool
	wal     *consensus.FileWAL
	guard   *consensus.FileGuardStore
	runner  *consensus.Runner
	net     *Network

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

type nodeOptions struct {
	validator bool // vote with key (it must be in the genesis)
	bootnodes []string
	consensus func(uint64, *types.ValidatorSet) consensus.Config
	noSync    bool // no fsync of WAL and guard
	regossip  time.Duration
}

// startNode opens (or reopens) a node in dir and starts it; it is stopped at the end of
// the test unless stopped before.
func startNode(t testing.TB, name string, g *genesis.Genesis, dir string, key *ecdsa.PrivateKey, o nodeOptions) *testNode {
	t.Helper()
	n := &testNode{t: t, name: name, dir: dir, key: key, done: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			n.closeParts()
		}
	}()
	log := testLogger(name)
	var err error
	if n.db, err = state.OpenPebble(filepath.Join(dir, "db")); err != nil {
		t.Fatal(err)
	}
	st, err := state.New(n.db, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := gas.ByVersion(g.Params.GasScheduleVersion)
	if err != nil {
		t.Fatal(err)
	}
	if n.machine, err = vm.New(context.Background(), vm.Config{Schedule: sched}); err != nil {
		t.Fatal(err)
	}
	if n.chain, err = chain.New(n.db, st, n.machine, g, chain.Options{Logger: log.With("component", "chain")}); err != nil {
		t.Fatal(err)
	}
	n.pool = mempool.New(mempool.Config{
		ChainID: g.ChainID, MaxPerAccount: 10_000, MaxTxs: 50_000, MaxTxBytes: int(g.Params.MaxTxBytes),
		MaxTxGas: g.Params.BlockGasLimit, MinGasPrice: g.Params.MinGasPrice.Int(), Schedule: sched,
	}, app.Accounts{Chain: n.chain, Logger: log})

	if n.net, err = New(context.Background(), Config{Listen: loopback, Bootnodes: o.bootnodes, SyncInterval: 250 * time.Millisecond,
		TxRegossipInterval: o.regossip,
		Logger:             log.With("component", "network")}, key, n.chain, n.pool); err != nil {
		t.Fatal(err)
	}
	fo := consensus.FileOptions{NoSync: o.noSync}
	if n.wal, err = consensus.OpenWAL(filepath.Join(dir, "consensus.wal"), fo); err != nil {
		t.Fatal(err)
	}
	vals := n.chain.Validators()
	ccfg := fastConsensus(g.ChainID, vals)
	if o.consensus != nil {
		ccfg = o.consensus(g.ChainID, vals)
	}
	deps := consensus.Deps{
		App: app.NewApp(n.chain, n.pool, testutil.Addr(key), app.AppOptions{Logger: log.With("component", "app")}),
		WAL: n.wal, Broadcaster: n.net, Syncer: n.net, Logger: log.With("component", "consensus"),
	}
	if o.validator {
		if n.guard, err = consensus.OpenFileGuardStore(filepath.Join(dir, "consensus.guard"), fo); err != nil {
			t.Fatal(err)
		}
		deps.Signer, deps.Guard = consensus.NewKeySigner(key), n.guard
	}
	head := n.chain.Head()
	var last *types.Commit
	if head.Height > 0 {
		if last, err = n.chain.CommitAt(head.Height); err != nil {
			t.Fatal(err)
		}
	}
	if n.runner, err = consensus.NewRunner(ccfg, deps, head.Height, last); err != nil {
		t.Fatal(err)
	}
	if err := n.net.Start(n.runner); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- n.runner.Run(ctx) }()
	// As package node does: wake the proposer up when the pool takes a transaction.
	txs, unsubscribe := n.pool.Subscribe(txQueue)
	go func() {
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-txs:
				if !ok {
					return
				}
				n.runner.TxsAvailable()
			}
		}
	}()
	ok = true
	t.Cleanup(n.stop)
	return n
}

// stop stops consensus, then the network, then closes the files, like a graceful node
// shutdown. It fails the test if consensus had stopped with an error.
func (n *testNode) stop() {
	n.stopOnce.Do(func() {
		n.cancel()
		if err := <-n.done; err != nil {
			n.t.Errorf("%s: consensus: %v", n.name, err)
		}
		n.closeParts()
	})
}

func (n *testNode) closeParts() {
	if n.net != nil {
		if err := n.net.Close(); err != nil {
			n.t.Errorf("%s: close network: %v", n.name, err)
		}
	}
	if n.guard != nil {
		n.guard.Close()
	}
	if n.wal != nil {
		n.wal.Close()
	}
	if n.machine != nil {
		n.machine.Close(context.Background())
	}
	if n.db != nil {
		n.db.Close()
	}
}

func (n *testNode) height() uint64 { return n.chain.Head().Height }

// waitFor polls cond every 20 ms until it holds, failing the test after d (scaled up
// under the race detector).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	d *= raceSlowdown
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHeight waits until every node has committed height h.
func waitHeight(t testing.TB, d time.Duration, h uint64, nodes ...*testNode) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("height %d on %d nodes", h, len(nodes)), func() bool {
		for _, n := range nodes {
			if n.height() < h {
				return false
			}
		}
		return true
	})
}

func counterCode(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "counter", "counter.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commitTestBlocks commits count empty blocks on c, certified by every key of vals,
// without consensus (for tests of the handler and the App).
func commitTestBlocks(t testing.TB, c *chain.Chain, vals []*ecdsa.PrivateKey, count int) {
	t.Helper()
	ctx := context.Background()
	for range count {
		head := c.Head()
		var last *types.Commit
		if head.Height > 0 {
			var err error
			if last, err = c.CommitAt(head.Height); err != nil {
				t.Fatal(err)
			}
		}
		b, err := c.BuildBlock(ctx, nil, head.Time+1000, testutil.Addr(vals[0]), last)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CommitBlock(ctx, b, testutil.Certify(t, b.Height(), 0, b.Hash(), vals...)); err != nil {
			t.Fatal(err)
		}
	}
}

func encodeMsg(t testing.TB, m *consensus.Message) []byte {
	t.Helper()
	b, err := consensus.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
