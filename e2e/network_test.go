package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Consensus timing of the test networks: loopback answers in microseconds, so the
// timeouts only bound how long a dead proposer or a missing quorum holds a height.
var fastConsensus = []string{
	"--consensus.timeout-propose", "300ms", "--consensus.timeout-vote", "150ms",
	"--consensus.heartbeat", "300ms", "--consensus.block-interval", "20ms", "--consensus.rebroadcast", "200ms",
}

// localnetInfo is what `wnode localnet --json` prints.
type localnetInfo struct {
	Dir   string `json:"dir"`
	Nodes []struct {
		Name    string `json:"name"`
		RPC     string `json:"rpc"`
		Address string `json:"address"`
		P2P     string `json:"p2p"`
		DataDir string `json:"dataDir"`
	} `json:"nodes"`
}

// freeBasePort returns a base port P such that P … P+n-1 were free on loopback a
// moment ago.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(30000)
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// netNode is a node of a test network: its process (nil while down) and its client.
type netNode struct {
	name    string
	dataDir string
	rpcAddr string
	p       *proc
	c       *client.Client
}

func (n *netNode) start(t *testing.T, extra ...string) {
	t.Helper()
	n.p = startProc(t, n.rpcAddr, append([]string{"start", "--datadir", n.dataDir}, extra...)...)
	c, err := client.Dial(context.Background(), n.p.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	n.c = c
}

func (n *netNode) kill() {
	n.p.kill()
	n.p = nil
}

// height is the node's head, or 0 when it does not answer.
func (n *netNode) height() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h, err := n.c.BlockNumber(ctx)
	if err != nil {
		return 0
	}
	return h
}

// header returns the node's header at height.
func (n *netNode) header(t *testing.T, height uint64) *rpctypes.HeaderJSON {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := n.c.Block(ctx, rpctypes.BlockNumber(height), false)
	if err != nil || b == nil {
		t.Fatalf("%s: block %d: %v", n.name, height, err)
	}
	return &b.HeaderJSON
}

// waitHeight waits until every node is at height h or above.
func waitHeight(t *testing.T, d time.Duration, h uint64, nodes ...*netNode) {
	t.Helper()
	testutil.WaitFor(t, d, fmt.Sprintf("height %d", h), func() bool {
		for _, n := range nodes {
			if n.height() < h {
				return false
			}
		}
		return true
	})
}

// sameHeader checks that the nodes hold the same block, hence state root, at height.
func sameHeader(t *testing.T, height uint64, nodes ...*netNode) {
	t.Helper()
	want := nodes[0].header(t, height)
	for _, n := range nodes[1:] {
		if got := n.header(t, height); got.Hash != want.Hash || got.StateRoot != want.StateRoot {
			t.Fatalf("block %d: %s has %s (state root %s), %s has %s (state root %s)", height,
				n.name, got.Hash, got.StateRoot, nodes[0].name, want.Hash, want.StateRoot)
		}
	}
}

// counterValue calls the counter's get on n.
func counterValue(t *testing.T, n *netNode, counter types.Address) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := n.c.Call(ctx, rpctypes.CallArgs{To: &counter, Method: "get"}, rpctypes.LatestBlock)
	if err != nil || len(r.Output) != 8 {
		t.Fatalf("%s: get: %v", n.name, err)
	}
	return uint64(r.Output[0])<<56 | uint64(r.Output[1])<<48 | uint64(r.Output[2])<<40 | uint64(r.Output[3])<<32 |
		uint64(r.Output[4])<<24 | uint64(r.Output[5])<<16 | uint64(r.Output[6])<<8 | uint64(r.Output[7])
}

// TestNetworkFaults runs four validators as real processes on loopback, laid out by
// `wnode localnet --init` and started one by one with `wnode start`, and checks what
// BFT promises: a contract deployed and invoked through some nodes is seen by the
// others; with one validator killed (SIGKILL) blocks go on, and restarted it catches up
// to the same blocks and state roots; with two killed no block is committed until one
// returns; a fifth node, not a validator, joining late syncs from genesis to the same
// state root.
func TestNetworkFaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	base := freeBasePort(t, 8)
	var info localnetInfo
	out := ok(t, nil, append([]string{"localnet", "--init", "--json", "--nodes", "4", "--datadir", dir, "--base-port", strconv.Itoa(base)}, fastConsensus...)...)
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info.Nodes) != 4 {
		t.Fatalf("localnet --init --json: %v\n%s", err, out)
	}
	nodes := make([]*netNode, 4)
	for i, n := range info.Nodes {
		nodes[i] = &netNode{name: n.Name, dataDir: n.DataDir, rpcAddr: strings.TrimPrefix(n.RPC, "http://")}
		nodes[i].start(t)
	}
	waitHeight(t, 30*time.Second, 2, nodes...)

	// Deploy through node2 and invoke through node3 with the CLI (the dev account signs
	// by default: localnet is a dev chain); node0 answers the call.
	counterHex := ok(t, nil, "deploy", "--rpc", nodes[2].p.url(), "../examples/counter/counter.wasm")
	counter, err := rpctypes.ParseAddress(counterHex)
	if err != nil {
		t.Fatalf("deploy printed %q", counterHex)
	}
	gen := filepath.Join(dir, node.GenesisFile)
	if got := ok(t, nil, "invoke", "--verify", "--genesis", gen, "--rpc", nodes[3].p.url(), counterHex, "increment", "--out", "u64"); got != "1" {
		t.Fatalf("increment through node3 printed %q", got)
	}
	testutil.WaitFor(t, 10*time.Second, "node0 to see the increment", func() bool { return counterValue(t, nodes[0], counter) == 1 })
	if got := ok(t, nil, "call", "--rpc", nodes[1].p.url(), counterHex, "get", "--out", "u64"); got != "1" {
		t.Errorf("call on node1 printed %q", got)
	}
	// Every node's answer verifies against the shared genesis: the commit of four
	// validators, the proofs, the re-executed call.
	for _, n := range nodes {
		testutil.WaitFor(t, 10*time.Second, n.name+" to see the increment", func() bool { return counterValue(t, n, counter) == 1 })
		if got := ok(t, nil, "call", "--verify", "--genesis", gen, "--max-age", "1m", "--rpc", n.p.url(), counterHex, "get", "--out", "u64"); got != "1" {
			t.Errorf("call --verify on %s printed %q", n.name, got)
		}
		if got := ok(t, nil, "account", "--verify", "--genesis", gen, "--rpc", n.p.url(), counterHex); !strings.Contains(got, "code hash") {
			t.Errorf("account --verify on %s printed %q", n.name, got)
		}
	}
	// The network's counters reach /metrics: node0 took its peers' votes from gossip.
	if v := metricValue(t, nodes[0].p.url(), `wnode_p2p_gossip_consensus_total{verdict="accepted"}`); v < 1 {
		t.Errorf("node0 reports %v consensus messages accepted from gossip", v)
	}

	// SIGKILL node3: the three others hold 3/4 of the power and go on.
	nodes[3].kill()
	h := nodes[0].height()
	live := nodes[:3]
	waitHeight(t, 15*time.Second, h+3, live...)
	t.Logf("node3 killed at height %d; the others reached %d", h, nodes[0].height())
	if got := ok(t, nil, "invoke", "--rpc", nodes[1].p.url(), counterHex, "increment", "--out", "u64"); got != "2" {
		t.Fatalf("increment with node3 down printed %q", got)
	}

	// Restart it: it catches up by block sync and holds the same blocks and state roots.
	nodes[3].start(t)
	target := nodes[0].height()
	waitHeight(t, 20*time.Second, target, nodes[3])
	sameHeader(t, target, nodes...)
	t.Logf("node3 restarted and caught up to %d, same block and state root", target)
	if v := counterValue(t, nodes[3], counter); v != 2 {
		t.Errorf("node3 after catching up: counter %d, want 2", v)
	}

	// SIGKILL two: 2/4 of the power is not a quorum, no block is committed.
	nodes[2].kill()
	nodes[3].kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := nodes[0].c.BuildTx(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment", ChainID: genesis.DevChainID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	// A block whose precommits were in flight at the kill may still land: let it.
	time.Sleep(500 * time.Millisecond)
	stuck := max(nodes[0].height(), nodes[1].height())
	// Asserting that nothing happens takes waiting: 3 s is ten heartbeats and several
	// rounds of timeouts.
	time.Sleep(3 * time.Second)
	if h0, h1 := nodes[0].height(), nodes[1].height(); h0 != stuck || h1 != stuck {
		t.Fatalf("blocks committed without a quorum: heights %d, %d after %d", h0, h1, stuck)
	}
	if r, err := nodes[0].c.Receipt(ctx, tx.Hash()); err != nil || r != nil {
		t.Fatalf("tx committed without a quorum: %v %v", r, err)
	}

	t.Logf("node2 and node3 killed: height stayed at %d for 3 s", stuck)

	// node2 returns: a quorum again, blocks resume, and the pending tx is committed.
	nodes[2].start(t)
	waitHeight(t, 30*time.Second, stuck+2, nodes[:3]...)
	t.Logf("node2 back: blocks resumed to %d", nodes[0].height())
	r, err := nodes[0].c.WaitReceipt(ctx, tx.Hash())
	if err != nil || r.Status != 1 {
		t.Fatalf("tx sent during the outage: %v %v", r, err)
	}
	if v := counterValue(t, nodes[2], counter); v < 3 {
		testutil.WaitFor(t, 5*time.Second, "node2 to see the third increment", func() bool { return counterValue(t, nodes[2], counter) == 3 })
	}

	// A fifth node, not a validator, joins late with an empty data dir and syncs from
	// genesis over p2p.
	late := &netNode{name: "late", dataDir: filepath.Join(t.TempDir(), "late")} // rpcAddr: the node picks its ports
	ok(t, nil, "init", "--datadir", late.dataDir, "--genesis", filepath.Join(dir, "genesis.json"))
	late.start(t, "--rpc.addr", "127.0.0.1:0", "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--bootnodes", info.Nodes[1].P2P)
	target = nodes[0].height()
	waitHeight(t, 30*time.Second, target, late)
	sameHeader(t, target, nodes[0], nodes[1], nodes[2], late)
	t.Logf("late non-validator synced from genesis to %d, same block and state root", target)
	nodeInfo, err := late.c.NodeInfo(ctx)
	if err != nil || nodeInfo.Validator || uint64(nodeInfo.Peers) == 0 {
		t.Errorf("late node info: %+v %v", nodeInfo, err)
	}
	if v := counterValue(t, late, counter); v != 3 {
		t.Errorf("late node: counter %d, want 3", v)
	}
}

// TestLocalnet runs `wnode localnet` as a user does: it prints the nodes' RPC URLs, a
// contract deployed through one node is invoked through another, Ctrl-C (SIGINT) stops
// every node cleanly, and a second run restarts the same network with its state.
func TestLocalnet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ln")
	base := freeBasePort(t, 4)
	args := append([]string{"localnet", "--nodes", "2", "--datadir", dir, "--base-port", strconv.Itoa(base)}, fastConsensus...)
	urls := []string{fmt.Sprintf("http://127.0.0.1:%d", base), fmt.Sprintf("http://127.0.0.1:%d", base+1)}

	run := func() (*proc, func()) {
		p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
		p.cmd = exec.Command(bin, args...)
		p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
		p.cmd.Env = cleanEnv()
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			p.err = p.cmd.Wait()
			close(p.exited)
		}()
		t.Cleanup(p.kill) // the kernel kills the nodes when it dies (Pdeathsig)
		testutil.WaitFor(t, 60*time.Second, "localnet to print its nodes", func() bool {
			select {
			case <-p.exited:
				t.Fatalf("localnet exited: %v\n%s\n%s", p.err, p.stdout, p.stderr)
			default:
			}
			return strings.Contains(p.stdout.String(), urls[1])
		})
		// Ctrl-C: every node stops cleanly and the localnet exits 0.
		interrupt := func() {
			p.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-p.exited:
			case <-time.After(40 * time.Second):
				t.Fatalf("localnet still running 40 s after SIGINT\n%s", p.stderr)
			}
			if p.err != nil || !strings.Contains(p.stderr.String(), "all nodes stopped cleanly") {
				t.Fatalf("localnet after SIGINT: %v\n%s", p.err, p.stderr)
			}
			for i, u := range urls {
				if _, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second); err == nil {
					t.Errorf("node%d still listens after the localnet stopped", i)
				}
				if log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node%d.log", i))); !strings.Contains(string(log), "node stopped") {
					t.Errorf("node%d.log has no clean stop:\n%s", i, log)
				}
			}
		}
		return p, interrupt
	}

	p, interrupt := run()
	for _, u := range urls {
		if !strings.Contains(p.stdout.String(), u) {
			t.Errorf("localnet did not print %s:\n%s", u, p.stdout)
		}
	}
	counter := ok(t, nil, "deploy", "--rpc", urls[1], "../examples/counter/counter.wasm")
	if got := ok(t, nil, "invoke", "--rpc", urls[0], counter, "increment", "--out", "u64"); got != "1" {
		t.Fatalf("increment through node0 printed %q", got)
	}
	// Each node serves its own dashboard: both validators listed, each node sees a peer.
	for i, u := range urls {
		code, _, body := httpDo(t, http.MethodGet, u+"/ui/api/status", "", "")
		var st struct {
			Peers      int `json:"peers"`
			Validators []struct {
				Address string `json:"address"`
			} `json:"validators"`
		}
		if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || len(st.Validators) != 2 || st.Peers < 1 {
			t.Errorf("node%d /ui/api/status: %d %v %.300s", i, code, err, body)
		}
		if code, _, body := httpDo(t, http.MethodGet, u+"/ui/address/"+counter, "", ""); code != 200 || !strings.Contains(body, `data-method="increment"`) {
			t.Errorf("node%d /ui/address/%s: %d %.300s", i, counter, code, body)
		}
	}
	interrupt()

	// Again: the same network, with its state.
	p, interrupt = run()
	if !strings.Contains(p.stderr.String(), "restarting the localnet of 2 validators") {
		t.Errorf("second run did not restart the network:\n%s", p.stderr)
	}
	if got := ok(t, nil, "invoke", "--rpc", urls[1], counter, "increment", "--out", "u64"); got != "2" {
		t.Errorf("increment after restart printed %q", got)
	}
	interrupt()
}

// TestBench runs the load generator against a dev node, open and closed loop, and
// checks that what it reports adds up: every increment sent is committed, latencies
// and blocks are measured, and the counter moved by as much (bench checks it itself
// and fails otherwise).
func TestBench(t *testing.T) {
	n := startNode(t, t.TempDir(), "--dev")
	type window struct {
		Committed int     `json:"committed"`
		TxsPerSec float64 `json:"committedTxsPerSec"`
		Latency   struct {
			N   int     `json:"n"`
			P50 float64 `json:"p50Micros"`
			P99 float64 `json:"p99Micros"`
		} `json:"submitToFinal"`
		Blocks int `json:"blocks"`
	}
	var rep struct {
		Mode     string `json:"mode"`
		Sent     int    `json:"sent"`
		Rejected int    `json:"rejected"`
		Pending  int    `json:"notFinalized"`
		Open     *window
		Steps    []struct {
			InFlight int `json:"inFlight"`
			window
		} `json:"steps"`
		Max *struct {
			InFlight int `json:"inFlight"`
		} `json:"max"`
	}
	out := ok(t, nil, "bench", "--rpc", n.url(), "--wasm", "../examples/counter/counter.wasm", "--senders", "20",
		"--rate", "200", "--duration", "1s", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if w := rep.Open; rep.Mode != "open" || w == nil || rep.Sent != 200 || rep.Rejected != 0 || rep.Pending != 0 ||
		w.Committed != 200 || w.Latency.N != 200 || w.Latency.P50 <= 0 || w.Latency.P99 < w.Latency.P50 || w.Blocks == 0 {
		t.Errorf("open loop report:\n%s", out)
	}

	out = ok(t, nil, "bench", "--rpc", n.url(), "--wasm", "../examples/counter/counter.wasm", "--senders", "20",
		"--inflight", "5,10", "--duration", "1s", "--txs", "8000", "--json")
	rep.Open, rep.Steps, rep.Max = nil, nil, nil
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if rep.Mode != "closed" || len(rep.Steps) == 0 || rep.Steps[0].InFlight != 5 || rep.Steps[0].Committed == 0 ||
		rep.Max == nil || rep.Rejected != 0 || rep.Pending != 0 || rep.Sent == 0 {
		t.Errorf("closed loop report:\n%s", out)
	}

	// bench fn: the gateway and its bare net/http baseline (a process of its own) in turn.
	var fn struct {
		Gateway struct {
			N int `json:"n"`
		} `json:"gateway"`
		Errors int `json:"errors"`
		Bare   struct {
			N int `json:"n"`
		} `json:"bare"`
		Ratio float64 `json:"p50RatioGatewayToBare"`
	}
	out = ok(t, nil, "bench", "fn", "--rpc", n.url(), "--wasm", "../examples/hello/hello.wasm", "--concurrency", "1",
		"--duration", "500ms", "--json")
	if err := json.Unmarshal([]byte(out), &fn); err != nil {
		t.Fatalf("bench fn --json: %v\n%s", err, out)
	}
	if fn.Gateway.N == 0 || fn.Bare.N == 0 || fn.Errors != 0 || fn.Ratio <= 0 {
		t.Errorf("bench fn report:\n%s", out)
	}
}

// metricValue reads one sample of the node's /metrics, by its full name with labels.
func metricValue(t *testing.T, url, sample string) float64 {
	t.Helper()
	_, _, body := httpDo(t, http.MethodGet, url+"/metrics", "", "")
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("/metrics has no %s", sample)
	return 0
}
