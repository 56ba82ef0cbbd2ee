package network_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/node/network"
	"github.com/wnode/wnode/types"
)

var loopback = []string{"/ip4/127.0.0.1/tcp/0"}

// fastConsensus is consensus timing for loopback tests on a loaded machine: short
// enough for a test to see many heights, long enough not to spin in rounds (scaled up
// under the race detector).
func fastConsensus(chainID uint64, vals *types.ValidatorSet) consensus.Config {
	const x = testutil.RaceSlowdown
	c := consensus.DefaultConfig(chainID)
	c.TimeoutPropose, c.TimeoutProposeDelta = x*600*time.Millisecond, x*300*time.Millisecond
	c.TimeoutPrevote, c.TimeoutPrevoteDelta = x*300*time.Millisecond, x*150*time.Millisecond
	c.TimeoutPrecommit, c.TimeoutPrecommitDelta = x*300*time.Millisecond, x*150*time.Millisecond
	c.MinBlockInterval, c.Heartbeat = 5*time.Millisecond, x*300*time.Millisecond
	c.RebroadcastInterval = x * 300 * time.Millisecond
	return c
}

// testNode is a node built by node.New, as `wnode start` builds one, over a data dir
// holding the test's genesis and node key, with its RPC server and p2p host on loopback.
type testNode struct {
	t     testing.TB
	name  string
	node  *node.Node
	chain *chain.Chain
	pool  *mempool.Pool
	net   *network.Network

	stopOnce sync.Once
}

type nodeOptions struct {
	bootnodes []string
	consensus func(uint64, *types.ValidatorSet) consensus.Config
	noSync    bool // no fsync of WAL and guard
	regossip  time.Duration
	clock     network.Clock // nil: the wall clock
}

// startNode starts a node in dir with key as its node key (a validator if g holds it),
// initialising dir with g the first time; it is stopped at the end of the test unless
// stopped before.
func startNode(t testing.TB, name string, g *genesis.Genesis, dir string, key *ecdsa.PrivateKey, o nodeOptions) *testNode {
	t.Helper()
	if !node.DataDir(dir).Initialized() {
		if err := os.WriteFile(filepath.Join(dir, node.NodeKeyFile), []byte(hex.EncodeToString(crypto.FromECDSA(key))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := g.Save(filepath.Join(dir, node.GenesisFile)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.RPC.Addr, cfg.NoSync = dir, "127.0.0.1:0", o.noSync
	cfg.P2P = node.P2PConfig{Listen: loopback, Bootnodes: o.bootnodes}
	cfg.Mempool = node.MempoolConfig{MaxTxs: 50_000, MaxPerAccount: 10_000}
	cons := o.consensus
	if cons == nil {
		cons = fastConsensus
	}
	nd, err := node.New(cfg, node.Options{
		Logger: testutil.Logger(name), ConsensusConfig: cons,
		NetworkConfig: func(c *network.Config) {
			c.SyncInterval, c.TxRegossipInterval, c.Clock = 250*time.Millisecond, o.regossip, o.clock
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(context.Background()); err != nil {
		nd.Close(context.Background())
		t.Fatal(err)
	}
	n := &testNode{t: t, name: name, node: nd, chain: nd.Chain(), pool: nd.Pool(), net: nd.P2P()}
	t.Cleanup(n.stop)
	return n
}

// stop closes the node gracefully. It fails the test if the node had stopped by itself
// (consensus failed) or does not close cleanly.
func (n *testNode) stop() {
	n.stopOnce.Do(func() {
		if err := n.node.Err(); err != nil {
			n.t.Errorf("%s: %v", n.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.node.Close(ctx); err != nil {
			n.t.Errorf("%s: close: %v", n.name, err)
		}
	})
}

func (n *testNode) height() uint64 { return n.chain.Head().Height }

// waitHeight waits until every node has committed height h.
func waitHeight(t testing.TB, d time.Duration, h uint64, nodes ...*testNode) {
	t.Helper()
	testutil.WaitFor(t, d, fmt.Sprintf("height %d on %d nodes", h, len(nodes)), func() bool {
		for _, n := range nodes {
			if n.height() < h {
				return false
			}
		}
		return true
	})
}
