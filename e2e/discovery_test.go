package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
)

const fastConsensusTOML = `[consensus]
timeout_propose = "300ms"
timeout_prevote = "150ms"
timeout_precommit = "150ms"
heartbeat = "300ms"
min_block_interval = "20ms"
rebroadcast_interval = "200ms"
`

// TestPeerDiscovery starts five validators as a user does by hand: `wnode init` for
// each key, `wnode genesis new` with the five, then `wnode start --genesis` on each,
// every one given only node0 as bootnode. By peer exchange each meets the others (at
// least 3 peers each within a bounded time), so killing node0 does not split the
// network: the four others keep committing. Each remembers its peers in
// DATADIR/peers.json.
func TestPeerDiscovery(t *testing.T) {
	tmp := t.TempDir()
	const n = 5
	dirs := make([]string, n)
	args := []string{"genesis", "new", "--chain-id", "4343", "--out", filepath.Join(tmp, "genesis.json")}
	for i := range dirs {
		dirs[i] = filepath.Join(tmp, fmt.Sprintf("node%d", i))
		var key struct {
			NodePubKey string `json:"nodePubKey"`
		}
		if err := json.Unmarshal([]byte(ok(t, nil, "init", "--datadir", dirs[i], "--json")), &key); err != nil || key.NodePubKey == "" {
			t.Fatalf("init: %+v %v", key, err)
		}
		args = append(args, "--validator", key.NodePubKey)
		// The consensus timing of fastConsensus (flags of localnet only) in config.toml.
		if err := os.WriteFile(filepath.Join(dirs[i], node.ConfigFileName), []byte(fastConsensusTOML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ok(t, nil, args...)
	gen := filepath.Join(tmp, "genesis.json")

	nodes := make([]*netNode, n)
	start := func(i int, extra ...string) {
		p := startNode(t, dirs[i], append([]string{"--genesis", gen, "--p2p.listen", "/ip4/127.0.0.1/tcp/0"}, extra...)...)
		c, err := client.Dial(context.Background(), p.url())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		nodes[i] = &netNode{name: fmt.Sprintf("node%d", i), dataDir: dirs[i], rpcAddr: p.addr, p: p, c: c}
	}
	began := time.Now()
	start(0)
	info, err := nodes[0].c.NodeInfo(context.Background())
	if err != nil || len(info.ListenAddrs) == 0 {
		t.Fatalf("node0 info: %+v %v", info, err)
	}
	boot := info.ListenAddrs[0]
	if !strings.Contains(boot, "/p2p/") {
		boot += "/p2p/" + info.PeerID
	}
	for i := 1; i < n; i++ {
		start(i, "--bootnodes", boot)
	}

	peers := func(nd *netNode) int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := nd.c.NodeInfo(ctx)
		if err != nil {
			return -1
		}
		return int(info.Peers)
	}
	testutil.WaitFor(t, 30*time.Second, "every node to have at least 3 peers", func() bool {
		for _, nd := range nodes {
			if peers(nd) < 3 {
				return false
			}
		}
		return true
	})
	var counts []int
	for _, nd := range nodes {
		counts = append(counts, peers(nd))
	}
	t.Logf("every node had >= 3 peers %v after node0 started (peers: %v)", time.Since(began).Round(time.Millisecond), counts)
	waitHeight(t, 30*time.Second, 2, nodes...)

	// node0, the only bootnode, dies: the four others hold 4/5 of the power and are
	// connected to each other, so blocks go on.
	nodes[0].kill()
	rest := nodes[1:]
	h := uint64(0)
	for _, nd := range rest {
		h = max(h, nd.height())
	}
	waitHeight(t, 30*time.Second, h+3, rest...)
	t.Logf("node0 killed at height %d; the other four reached %d", h, h+3)
	sameHeader(t, h+3, rest...)

	// Each remembers the peers it met (written at once when a peer is new).
	for _, nd := range rest {
		testutil.WaitFor(t, 10*time.Second, nd.name+" to remember its peers", func() bool {
			data, err := os.ReadFile(filepath.Join(nd.dataDir, node.PeersFile))
			var known []struct{ ID string }
			return err == nil && json.Unmarshal(data, &known) == nil && len(known) >= 3
		})
	}
}
