package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
)

// TestStateSyncJoin runs three validators as processes taking a snapshot every 5
// blocks (--snapshots), with a contract whose counter was incremented. A fresh node
// started with --state-sync, trusting the hash of header 5 that the user read from a
// validator, restores the state of a snapshot from its peers instead of replaying the
// blocks: it has no block below the snapshot's height, catches up by block sync,
// follows the chain to the same blocks and state roots, and `wnode call` on it answers
// what it answers on the validators.
func TestStateSyncJoin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	base := freeBasePort(t, 6)
	var info localnetInfo
	out := ok(t, nil, append([]string{"localnet", "--init", "--json", "--nodes", "3", "--datadir", dir, "--base-port", strconv.Itoa(base)}, fastConsensus...)...)
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info.Nodes) != 3 {
		t.Fatalf("localnet --init --json: %v\n%s", err, out)
	}
	nodes := make([]*netNode, 3)
	for i, n := range info.Nodes {
		nodes[i] = &netNode{name: n.Name, dataDir: n.DataDir, rpcAddr: strings.TrimPrefix(n.RPC, "http://")}
		nodes[i].start(t, "--snapshots", "--snapshot.interval", "5", "--snapshot.keep", "2")
	}
	waitHeight(t, 30*time.Second, 2, nodes...)
	counterHex := ok(t, nil, "deploy", "--rpc", nodes[0].p.url(), "../examples/counter/counter.wasm")
	counter, err := rpctypes.ParseAddress(counterHex)
	if err != nil {
		t.Fatalf("deploy printed %q", counterHex)
	}
	for want := range 2 {
		if got := ok(t, nil, "invoke", "--rpc", nodes[1].p.url(), counterHex, "increment", "--out", "u64"); got != strconv.Itoa(want+1) {
			t.Fatalf("increment printed %q", got)
		}
	}
	// Past two snapshot heights after the increments.
	h := nodes[0].height()
	waitHeight(t, 60*time.Second, (h/5+2)*5+1, nodes...)
	trust := nodes[0].header(t, 5)

	late := &netNode{name: "late", dataDir: filepath.Join(t.TempDir(), "late")}
	ok(t, nil, "init", "--datadir", late.dataDir, "--genesis", filepath.Join(dir, node.GenesisFile))
	late.start(t, "--rpc.addr", "127.0.0.1:0", "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--bootnodes", info.Nodes[1].P2P,
		"--state-sync", "--state-sync.trust-height", "5", "--state-sync.trust-hash", trust.Hash.Hex())
	if !strings.Contains(late.p.stderr.String(), "state sync: state restored") {
		t.Fatalf("the late node did not state-sync:\n%s", late.p.stderr)
	}
	// Blocks below the snapshot are not there: it did not replay from genesis.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if b, err := late.c.Block(ctx, 1, false); err == nil && b != nil {
		t.Fatal("the state-synced node has block 1")
	}
	target := nodes[0].height() + 2
	// Every node, not only the late one: a validator may be a block behind the others for
	// a moment (it learns of the decision last), and sameHeader reads the target on each.
	waitHeight(t, 30*time.Second, target, append(nodes, late)...)
	sameHeader(t, target, nodes[0], nodes[1], nodes[2], late)
	for _, n := range []*netNode{nodes[0], late} {
		testutil.WaitFor(t, 10*time.Second, n.name+" to see both increments", func() bool { return counterValue(t, n, counter) == 2 })
	}
	want := ok(t, nil, "call", "--rpc", nodes[2].p.url(), counterHex, "get", "--out", "u64")
	if got := ok(t, nil, "call", "--rpc", late.p.url(), counterHex, "get", "--out", "u64"); got != want || got != "2" {
		t.Fatalf("call on the state-synced node printed %q, on a validator %q", got, want)
	}
	t.Logf("state-synced node joined and followed to %d; call answers %s on it as on the validators", target, want)
}
