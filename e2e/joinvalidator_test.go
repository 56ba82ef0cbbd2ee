package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TestJoinValidator grows and shrinks a running network as an operator does, with real
// processes: four validators of a localnet take snapshots every 5 blocks; a fifth node,
// started fresh, joins by state sync (trusting a header read from a validator) and
// answers `wnode call` as the others do; the validators vote it in (a change moving
// more than 1/3 of the power is refused first), and it signs from the switch height
// on and never before; then they vote one of the original four out, which is killed
// once its switch height is reached: blocks go on, its signature is absent from every
// commit from that height, and every remaining node holds the same blocks and state
// roots. The state-synced validator survives a SIGKILL and restart, the removed node
// restarted follows as a non-validator, and a sixth node joins by state sync trusting
// only the genesis: the snapshot it restores is signed by a set the genesis does not name. The steps are the walkthrough "Add a validator to a running network" of
// docs/cli.md.
func TestJoinValidator(t *testing.T) {
	began := time.Now()
	lap := began
	laps := []string{}
	mark := func(what string) {
		now := time.Now()
		laps = append(laps, fmt.Sprintf("%s %v", what, now.Sub(lap).Round(10*time.Millisecond)))
		lap = now
	}
	defer func() {
		t.Logf("timings: %s; total %v", strings.Join(laps, ", "), time.Since(began).Round(10*time.Millisecond))
	}()

	dir := filepath.Join(t.TempDir(), "net")
	base := freeBasePort(t, 8)
	var info localnetInfo
	out := ok(t, nil, append([]string{"localnet", "--init", "--json", "--nodes", "4", "--datadir", dir, "--base-port", strconv.Itoa(base)}, fastConsensus...)...)
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info.Nodes) != 4 {
		t.Fatalf("localnet --init --json: %v\n%s", err, out)
	}
	gen := filepath.Join(dir, node.GenesisFile)
	nodes := make([]*netNode, 4)
	addrs := make([]types.Address, 5)
	for i, n := range info.Nodes {
		nodes[i] = &netNode{name: n.Name, dataDir: n.DataDir, rpcAddr: strings.TrimPrefix(n.RPC, "http://")}
		nodes[i].start(t, "--snapshots", "--snapshot.interval", "5", "--snapshot.keep", "2")
		a, err := rpctypes.ParseAddress(n.Address)
		if err != nil {
			t.Fatalf("localnet address %q: %v", n.Address, err)
		}
		addrs[i] = a
	}
	watched := slices.Clone(nodes) // whose logs a failure shows
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range watched {
				if n.p != nil {
					t.Logf("%s stderr (end):\n%s", n.name, tail(n.p.stderr.String(), 3000))
				}
			}
		}
	})
	waitHeight(t, 30*time.Second, 2, nodes...)
	mark("4 validators up")

	// A contract with some state, and gas money for the validators' votes.
	counterHex := ok(t, nil, "deploy", "--rpc", nodes[0].p.url(), "../examples/counter/counter.wasm")
	counter, err := rpctypes.ParseAddress(counterHex)
	if err != nil {
		t.Fatalf("deploy printed %q", counterHex)
	}
	// The dev account's transactions all go through node0: a node one block behind would
	// give the next one a nonce already used.
	if got := ok(t, nil, "invoke", "--rpc", nodes[0].p.url(), counterHex, "increment", "--out", "u64"); got != "1" {
		t.Fatalf("increment printed %q", got)
	}

	// The fifth node's key: `wnode init` with the network's genesis prints it.
	fifth := &netNode{name: "node4", dataDir: filepath.Join(t.TempDir(), "node4")}
	watched = append(watched, fifth)
	var initOut struct {
		NodeAddress types.Address `json:"nodeAddress"`
		NodePubKey  string        `json:"nodePubKey"`
	}
	if err := json.Unmarshal([]byte(ok(t, nil, "init", "--datadir", fifth.dataDir, "--genesis", gen, "--json")), &initOut); err != nil || initOut.NodePubKey == "" {
		t.Fatalf("init: %+v %v", initOut, err)
	}
	addrs[4] = initOut.NodeAddress
	for i := range addrs {
		ok(t, nil, "transfer", "--rpc", nodes[0].p.url(), addrs[i].Hex(), "1e18")
	}
	mark("deploy, invoke, fund")

	// A snapshot at or above the trusted height: the user reads the hash of a recent
	// header from a node they trust.
	trustHeight := nodes[0].height()
	waitHeight(t, 30*time.Second, (trustHeight/5+1)*5+2, nodes...)
	var trust struct {
		Hash types.Hash `json:"hash"`
	}
	if out := ok(t, nil, "block", strconv.FormatUint(trustHeight, 10), "--rpc", nodes[0].p.url(), "--json"); json.Unmarshal([]byte(out), &trust) != nil || trust.Hash != nodes[1].header(t, trustHeight).Hash {
		t.Fatalf("wnode block %d --json: %s", trustHeight, out)
	}
	var boots []string
	for _, n := range info.Nodes {
		boots = append(boots, n.P2P)
	}
	startArgs := []string{"--rpc.addr", "127.0.0.1:0", "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--bootnodes", strings.Join(boots, ","),
		"--state-sync", "--state-sync.trust-height", strconv.FormatUint(trustHeight, 10), "--state-sync.trust-hash", trust.Hash.Hex()}
	fifth.start(t, startArgs...)
	if !strings.Contains(fifth.p.stderr.String(), "state sync: state restored") {
		t.Fatalf("node4 did not state-sync:\n%s", fifth.p.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	if b, err := fifth.c.Block(ctx, 1, false); err == nil && b != nil {
		t.Fatal("the state-synced node has block 1: it replayed from genesis")
	}
	all := append(slices.Clone(nodes), fifth)
	target := nodes[0].height() + 1
	waitHeight(t, 30*time.Second, target, all...)
	sameHeader(t, target, all...)
	want := ok(t, nil, "call", "--rpc", nodes[2].p.url(), counterHex, "get", "--out", "u64")
	if got := ok(t, nil, "call", "--rpc", fifth.p.url(), counterHex, "get", "--out", "u64"); got != want || want != "1" {
		t.Fatalf("wnode call on the state-synced node printed %q, on node2 %q (want 1)", got, want)
	}
	if v := counterValue(t, fifth, counter); v != 1 {
		t.Fatalf("node4: counter %d", v)
	}
	mark("node4 state-synced and answers")

	// Adding power 14 to a set of 40 would move more than 1/3 of it: refused.
	fails(t, nil, 1, "the change would move more than 1/3 of the voting power",
		"validator", "propose", "add", initOut.NodePubKey, "--power", "14", "--rpc", nodes[0].p.url(), "--datadir", nodes[0].dataDir)
	if out := ok(t, nil, "validator", "proposals", "--rpc", nodes[0].p.url()); out != "no open proposals" {
		t.Fatalf("after a refused proposal, wnode validator proposals printed:\n%s", out)
	}

	// Add node4 with power 10 (10 of 40 moved): node0 proposes (its vote), node1 and node2
	// vote: 30 of 40 is more than 2/3.
	id := propose(t, nodes[0], "add", initOut.NodePubKey, "--power", "10")
	// Every node, the state-synced one too, lists the open proposal.
	if out := ok(t, nil, "validator", "proposals", "--rpc", fifth.p.url()); !strings.Contains(out, fmt.Sprintf("%d  add %s power 10", id, addrs[4].Hex())) {
		t.Fatalf("wnode validator proposals on node4:\n%s", out)
	}
	if _, passed := vote(t, nodes[1], id); passed != 0 {
		t.Fatalf("proposal %d passed with 20 of 40", id)
	}
	passedAt, switchAdd := vote(t, nodes[2], id)
	if switchAdd != passedAt+chain.ValidatorSwitchDelay {
		t.Fatalf("proposal %d passed at %d, effective at %d", id, passedAt, switchAdd)
	}
	mark("node4 voted in")
	for _, n := range []*netNode{nodes[0], fifth} {
		checkSet(t, n, switchAdd-1, addrs[:4])
		checkSet(t, n, switchAdd, addrs[:5])
	}
	// node4 signs from the switch height: its signature appears in a commit at or after
	// it, and in none before (checked on every node: each keeps the commit it decided by).
	var firstSig uint64
	// A commit holds the precommits its node had when more than 2/3 of the power was in,
	// so node4's may miss some: look in every node's.
	testutil.WaitFor(t, 30*time.Second, "node4's signature in a commit", func() bool {
		for h := switchAdd; h <= min(lowestHead(nodes), switchAdd+20); h++ {
			for _, n := range all {
				if n.height() >= h && slices.Contains(signers(ctx, t, n, h), addrs[4]) {
					firstSig = h
					return true
				}
			}
		}
		return false
	})
	for _, n := range all {
		from := trustHeight + 1
		if n == fifth { // it has no block below its snapshot's height
			for b, err := n.c.Block(ctx, rpctypes.BlockNumber(from), false); (err != nil || b == nil) && from < switchAdd; b, err = n.c.Block(ctx, rpctypes.BlockNumber(from), false) {
				from++
			}
		}
		for h := from; h < switchAdd; h++ {
			if s := signers(ctx, t, n, h); slices.Contains(s, addrs[4]) {
				t.Fatalf("%s: commit %d (before the switch at %d) is signed by node4: %v", n.name, h, switchAdd, s)
			}
		}
	}
	t.Logf("node4 voted in at %d, switch at %d, its first signature in a commit of %d", passedAt, switchAdd, firstSig)
	if info, err := fifth.c.NodeInfo(ctx); err != nil || !info.Validator {
		t.Errorf("node4 info after the switch: %+v %v", info, err)
	}

	// Remove node3: node0, node1, node2 hold 30 of 50, not enough; node4's vote, now a
	// validator's, passes it (40 of 50).
	id = propose(t, nodes[0], "remove", addrs[3].Hex())
	if _, passed := vote(t, nodes[1], id); passed != 0 {
		t.Fatalf("proposal %d passed with 20 of 50", id)
	}
	if _, passed := vote(t, nodes[2], id); passed != 0 {
		t.Fatalf("proposal %d passed with 30 of 50", id)
	}
	_, switchRemove := vote(t, fifth, id)
	if switchRemove == 0 {
		t.Fatalf("proposal %d did not pass with 40 of 50", id)
	}
	checkSet(t, nodes[0], switchRemove-1, addrs[:5])
	rest := []*netNode{nodes[0], nodes[1], nodes[2], fifth}
	checkSet(t, nodes[0], switchRemove, []types.Address{addrs[0], addrs[1], addrs[2], addrs[4]})
	waitHeight(t, 30*time.Second, switchRemove, all...)
	nodes[3].kill()
	mark("node3 voted out and killed")
	killedAt := nodes[0].height()
	waitHeight(t, 30*time.Second, killedAt+3, rest...)
	mark("3 blocks after the kill")
	end := killedAt + 3
	sameHeader(t, end, rest...)
	// node3's signature counts until the switch (it is in some commit: the check below
	// can fail), and from the switch on it is in no node's commit.
	signedBefore := false
	for _, n := range rest {
		for h := switchAdd; h <= end; h++ {
			s := signers(ctx, t, n, h)
			if h < switchRemove {
				signedBefore = signedBefore || slices.Contains(s, addrs[3])
			} else if slices.Contains(s, addrs[3]) {
				t.Fatalf("%s: commit %d (the removal took effect at %d) is signed by node3: %v", n.name, h, switchRemove, s)
			}
		}
	}
	if !signedBefore {
		t.Errorf("node3 signed no commit from %d to %d, while it was a validator", switchAdd, switchRemove-1)
	}
	checkSet(t, fifth, switchRemove, []types.Address{addrs[0], addrs[1], addrs[2], addrs[4]})
	for _, n := range rest {
		if got := ok(t, nil, "call", "--rpc", n.p.url(), counterHex, "get", "--out", "u64"); got != "1" {
			t.Errorf("wnode call on %s printed %q", n.name, got)
		}
	}
	// The state-synced validator's answer verifies against the genesis file: the light
	// client follows the two changes to the set that signs the head.
	if got := ok(t, nil, "call", "--verify", "--genesis", gen, "--trust-store", "off", "--rpc", fifth.p.url(), counterHex, "get", "--out", "u64"); got != "1" {
		t.Errorf("wnode call --verify on node4 printed %q", got)
	}
	t.Logf("node3 voted out, switch at %d, killed at %d; node0-2 and node4 agree on block %d and its state root", switchRemove, killedAt, end)
	mark("checks")

	// node4 crashes (SIGKILL) and restarts with the same command: its data dir, which
	// began at a snapshot, reopens (--state-sync is ignored once there is state), it
	// catches up and signs again; meanwhile node0-2 (30 of 40) go on.
	fifth.kill()
	down := lowestHead(rest[:3])
	waitHeight(t, 30*time.Second, down+2, rest[:3]...)
	fifth.start(t, startArgs...)
	if strings.Contains(fifth.p.stderr.String(), "state sync: state restored") {
		t.Fatalf("node4 state-synced again on restart:\n%s", fifth.p.stderr)
	}
	back := lowestHead(rest[:3])
	testutil.WaitFor(t, 30*time.Second, "node4 to sign again after its restart", func() bool {
		for h := back + 1; h <= lowestHead(rest); h++ {
			for _, n := range rest {
				if slices.Contains(signers(ctx, t, n, h), addrs[4]) {
					return true
				}
			}
		}
		return false
	})
	end = lowestHead(rest)
	sameHeader(t, end, rest...)
	mark("node4 killed, restarted, signing")

	// node3 comes back: no longer a validator, it follows the chain it was voted out of
	// by block sync, and signs nothing.
	nodes[3].start(t, "--snapshots", "--snapshot.interval", "5", "--snapshot.keep", "2")
	target = lowestHead(rest) + 1
	waitHeight(t, 30*time.Second, target, append(rest, nodes[3])...)
	sameHeader(t, target, append(rest, nodes[3])...)
	if info, err := nodes[3].c.NodeInfo(ctx); err != nil || info.Validator {
		t.Errorf("node3 info after its removal: %+v %v", info, err)
	}
	for h := end; h <= target; h++ {
		if s := signers(ctx, t, nodes[3], h); slices.Contains(s, addrs[3]) {
			t.Fatalf("node3: its commit of %d (removed at %d) carries its own signature: %v", h, switchRemove, s)
		}
	}
	mark("node3 restarted, following")

	// A node joining now, with the genesis as its only trust root, restores a snapshot
	// signed by a set the genesis does not name (node4 in, node3 out): its state sync
	// follows the changes as a light client does. Its bootnode is node4, itself
	// state-synced.
	waitHeight(t, 30*time.Second, (end/5+1)*5+2, rest...)
	info4, err := fifth.c.NodeInfo(ctx)
	if err != nil || len(info4.ListenAddrs) == 0 {
		t.Fatalf("node4 info: %+v %v", info4, err)
	}
	boot := info4.ListenAddrs[0]
	if !strings.Contains(boot, "/p2p/") {
		boot += "/p2p/" + info4.PeerID
	}
	sixth := &netNode{name: "node5", dataDir: filepath.Join(t.TempDir(), "node5")}
	watched = append(watched, sixth)
	ok(t, nil, "init", "--datadir", sixth.dataDir, "--genesis", gen)
	sixth.start(t, "--rpc.addr", "127.0.0.1:0", "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--bootnodes", boot, "--state-sync")
	if !strings.Contains(sixth.p.stderr.String(), "state sync: state restored") {
		t.Fatalf("node5 did not state-sync:\n%s", sixth.p.stderr)
	}
	target = lowestHead(rest) + 1
	waitHeight(t, 30*time.Second, target, append(rest, sixth)...)
	sameHeader(t, target, append(rest, sixth)...)
	if got := ok(t, nil, "call", "--rpc", sixth.p.url(), counterHex, "get", "--out", "u64"); got != "1" {
		t.Errorf("wnode call on node5 printed %q", got)
	}
	mark("node5 state-synced after the changes")
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// lowestHead is the lowest head of nodes.
func lowestHead(nodes []*netNode) uint64 {
	h := nodes[0].height()
	for _, n := range nodes[1:] {
		h = min(h, n.height())
	}
	return h
}

var (
	proposedRe = regexp.MustCompile(`(?m)^proposal (\d+): (add|remove|power) `)
	passedRe   = regexp.MustCompile(`(?m)^proposal (\d+) passed: the new set \S+ signs from height (\d+)$`)
	includedRe = regexp.MustCompile(`included in block (\d+)`)
)

// propose runs `wnode validator propose ARGS` as the validator n (its node key, through
// its RPC) and returns the new proposal's id.
func propose(t *testing.T, n *netNode, args ...string) uint64 {
	t.Helper()
	r := wnode(t, nil, append(append([]string{"validator", "propose"}, args...), "--rpc", n.p.url(), "--datadir", n.dataDir)...)
	m := proposedRe.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("%s: wnode validator propose %v: exit %d\nstdout: %s\nstderr: %s", n.name, args, r.code, r.stdout, r.stderr)
	}
	id, _ := strconv.ParseUint(m[1], 10, 64)
	return id
}

// vote runs `wnode validator vote ID` as the validator n; when the vote passed the
// proposal, it returns the height of its block and the switch height, else zeros.
func vote(t *testing.T, n *netNode, id uint64) (height, effective uint64) {
	t.Helper()
	r := wnode(t, nil, "validator", "vote", strconv.FormatUint(id, 10), "--rpc", n.p.url(), "--datadir", n.dataDir)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("proposal %d: vote of ", id)) {
		t.Fatalf("%s: wnode validator vote %d: exit %d\nstdout: %s\nstderr: %s", n.name, id, r.code, r.stdout, r.stderr)
	}
	m := passedRe.FindStringSubmatch(r.stdout)
	if m == nil {
		return 0, 0
	}
	b := includedRe.FindStringSubmatch(r.stderr)
	if m[1] != strconv.FormatUint(id, 10) || b == nil {
		t.Fatalf("%s: wnode validator vote %d:\nstdout: %s\nstderr: %s", n.name, id, r.stdout, r.stderr)
	}
	height, _ = strconv.ParseUint(b[1], 10, 64)
	effective, _ = strconv.ParseUint(m[2], 10, 64)
	return height, effective
}

// checkSet checks that `wnode validator list --height H` (wn_getValidators) on n is
// exactly want (any order), once n has the block.
func checkSet(t *testing.T, n *netNode, height uint64, want []types.Address) {
	t.Helper()
	waitHeight(t, 20*time.Second, height, n)
	var vs rpctypes.ValidatorsJSON
	out := ok(t, nil, "validator", "list", "--height", strconv.FormatUint(height, 10), "--rpc", n.p.url(), "--json")
	if err := json.Unmarshal([]byte(out), &vs); err != nil || uint64(vs.Height) != height {
		t.Fatalf("%s: validator list --height %d --json: %v\n%s", n.name, height, err, out)
	}
	var got []types.Address
	for _, v := range vs.Validators {
		got = append(got, v.Address)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: validators of %d: %v, want %v", n.name, height, got, want)
	}
	for _, a := range want {
		if !slices.Contains(got, a) {
			t.Fatalf("%s: validators of %d: %v, want %v", n.name, height, got, want)
		}
	}
}

// signers are the validators whose signatures are in n's commit of height.
func signers(ctx context.Context, t *testing.T, n *netNode, height uint64) []types.Address {
	t.Helper()
	c, err := n.c.Commit(ctx, rpctypes.BlockNumber(height))
	if err != nil {
		t.Fatalf("%s: commit of %d: %v", n.name, height, err)
	}
	commit, err := types.DecodeCommit(c.Commit)
	if err != nil {
		t.Fatalf("%s: commit of %d: %v", n.name, height, err)
	}
	var out []types.Address
	for _, s := range commit.Sigs {
		out = append(out, s.Validator)
	}
	return out
}
