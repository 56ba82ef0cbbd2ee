package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/node"
)

func TestOpenLocalnet(t *testing.T) {
	dir := t.TempDir()
	cc := node.ConsensusConfig{TimeoutPropose: 300 * time.Millisecond, Heartbeat: time.Second}
	l, created, err := node.OpenLocalnet(dir, node.LocalnetOptions{Nodes: 3, BasePort: 20000, Consensus: cc})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if l.ChainID != genesis.DevChainID || len(l.Nodes) != 3 {
		t.Fatalf("localnet %+v", l)
	}
	g, err := genesis.Load(filepath.Join(dir, node.GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	if g.Hash() != l.GenesisHash || len(g.Validators) != 3 {
		t.Fatalf("genesis %s with %d validators, localnet says %s", g.Hash(), len(g.Validators), l.GenesisHash)
	}
	for i, n := range l.Nodes {
		if g.Validators[i].Address != n.Address {
			t.Errorf("%s: validator %d is %s, node address %s", n.Name, i, g.Validators[i].Address, n.Address)
		}
		// Each data dir holds the shared genesis, and its config the node's ports,
		// the others as bootnodes and the consensus timing.
		ng, err := node.DataDir(l.Path(n)).LoadGenesis()
		if err != nil || ng.Hash() != l.GenesisHash {
			t.Fatalf("%s: genesis %v", n.Name, err)
		}
		cfg := node.DefaultConfig()
		if found, err := node.LoadConfigFile(filepath.Join(l.Path(n), node.ConfigFileName), &cfg); !found || err != nil {
			t.Fatalf("%s: config.toml: %v %v", n.Name, found, err)
		}
		if want := "127.0.0.1:" + itoa(20000+i); cfg.RPC.Addr != want || n.RPCAddr != want {
			t.Errorf("%s: rpc %s / %s, want %s", n.Name, cfg.RPC.Addr, n.RPCAddr, want)
		}
		if want := "/ip4/127.0.0.1/tcp/" + itoa(20003+i); len(cfg.P2P.Listen) != 1 || cfg.P2P.Listen[0] != want {
			t.Errorf("%s: p2p listen %v, want %s", n.Name, cfg.P2P.Listen, want)
		}
		if len(cfg.P2P.Bootnodes) != 2 {
			t.Errorf("%s: bootnodes %v", n.Name, cfg.P2P.Bootnodes)
		}
		for _, b := range cfg.P2P.Bootnodes {
			if b == n.P2PAddr {
				t.Errorf("%s is its own bootnode", n.Name)
			}
		}
		if cfg.Consensus != cc {
			t.Errorf("%s: consensus %+v, want %+v", n.Name, cfg.Consensus, cc)
		}
	}

	// Reopening returns the same network; another size is refused.
	l2, created, err := node.OpenLocalnet(dir, node.LocalnetOptions{})
	if err != nil || created || l2.GenesisHash != l.GenesisHash || l2.Nodes[2] != l.Nodes[2] {
		t.Fatalf("reopen: %v %v", created, err)
	}
	if _, _, err := node.OpenLocalnet(dir, node.LocalnetOptions{Nodes: 4}); !errors.Is(err, node.ErrLocalnetMismatch) {
		t.Errorf("reopen with 4 nodes: %v", err)
	}

	// A node of it opens as a networked validator of the dev chain.
	cfg := node.DefaultConfig()
	cfg.DataDir = l.Path(l.Nodes[1])
	if _, err := node.LoadConfigFile(filepath.Join(cfg.DataDir, node.ConfigFileName), &cfg); err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Dev() || !n.Validator() || n.Address() != l.Nodes[1].Address {
		t.Errorf("node1: dev %v validator %v address %s", n.Dev(), n.Validator(), n.Address())
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Bad requests change nothing.
	empty := t.TempDir()
	for _, o := range []node.LocalnetOptions{{Nodes: 0}, {Nodes: node.MaxLocalnetNodes + 1}, {Nodes: 2, BasePort: 80}} {
		if _, _, err := node.OpenLocalnet(empty, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("refused localnet left %d files", len(ents))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
