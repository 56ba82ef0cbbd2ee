package node_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/statesync"
	"github.com/wnode/wnode/types"
)

// startConfig is the configuration of a dev node in dir with the RPC server on a free
// loopback port.
func startConfig(dir string) node.Config {
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Dev, cfg.RPC.Addr = dir, true, "127.0.0.1:0"
	return cfg
}

// startDev starts a dev node in dir with the RPC server on a free loopback port.
func startDev(t *testing.T, dir string) (*node.Node, *client.Client) {
	t.Helper()
	return startWith(t, startConfig(dir))
}

func startWith(t testing.TB, cfg node.Config) (*node.Node, *client.Client) {
	t.Helper()
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close(context.Background())
		t.Fatal(err)
	}
	c, err := client.Dial(context.Background(), "http://"+n.RPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

func stop(t *testing.T, n *node.Node, c *client.Client) {
	t.Helper()
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestDevNodeLifecycle(t *testing.T) {
	dir := t.TempDir()
	n, c := startDev(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := c.NodeInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Dev || uint64(info.ChainID) != genesis.DevChainID || info.Signer != n.Address() || !info.Validator {
		t.Fatalf("nodeInfo = %+v", info)
	}
	dev := genesis.DevKey()

	// Deploy hello, invoke it, call it, and call it through the gateway.
	_, deploy, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxDeploy, Code: testutil.ExampleWasm(t, "hello")})
	if err != nil {
		t.Fatal(err)
	}
	if deploy.Status != 1 || deploy.ContractAddress == nil {
		t.Fatalf("deploy receipt = %+v", deploy)
	}
	hello := *deploy.ContractAddress
	_, r, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: hello, Method: "hello", Args: []byte("world")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 1 || string(r.Output) != "hello, world" || r.Signer != n.Address() {
		t.Fatalf("invoke receipt = %+v", r)
	}
	res, err := c.Call(ctx, rpctypes.CallArgs{To: &hello, Method: "hello", Args: []byte("call")}, rpctypes.LatestBlock)
	if err != nil || string(res.Output) != "hello, call" {
		t.Fatalf("call = %+v, %v", res, err)
	}
	fn, err := c.Fn(ctx, hello, "hello", []byte("gateway"))
	if err != nil || string(fn.Output) != "hello, gateway" || fn.Signer != n.Address() {
		t.Fatalf("fn = %+v, %v", fn, err)
	}

	// A counter keeps its state across blocks.
	_, dc, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxDeploy, Code: testutil.ExampleWasm(t, "counter")})
	if err != nil || dc.Status != 1 {
		t.Fatalf("deploy counter: %+v %v", dc, err)
	}
	counter := *dc.ContractAddress
	for i := uint64(1); i <= 3; i++ {
		_, r, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment"})
		if err != nil || r.Status != 1 || binary.BigEndian.Uint64(r.Output) != i {
			t.Fatalf("increment %d: %+v %v", i, r, err)
		}
	}
	// A failing tx is included with a failed receipt; an estimate refuses it first.
	if _, _, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "nope"}); client.ErrorCode(err) != rpctypes.CodeExecutionFailed {
		t.Errorf("invoke of a missing method: %v", err)
	}
	_, failed, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "nope", GasLimit: 100_000})
	if err != nil || failed.Status != 0 || failed.Error == "" {
		t.Errorf("forced failing invoke: %+v %v", failed, err)
	}
	height, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop(t, n, c)

	// Restart: state, blocks and receipts are still there, and the chain goes on.
	n, c = startDev(t, dir)
	defer stop(t, n, c)
	if h, err := c.BlockNumber(ctx); err != nil || h < height {
		t.Fatalf("height after restart = %d (%v), was %d", h, err, height)
	}
	r2, err := c.Receipt(ctx, deploy.TxHash)
	if err != nil || r2 == nil || *r2.ContractAddress != hello {
		t.Fatalf("deploy receipt after restart = %+v, %v", r2, err)
	}
	got, err := c.Call(ctx, rpctypes.CallArgs{To: &counter, Method: "get"}, rpctypes.LatestBlock)
	if err != nil || binary.BigEndian.Uint64(got.Output) != 3 {
		t.Fatalf("counter after restart = %+v, %v", got, err)
	}
	_, r, err = c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment"})
	if err != nil || binary.BigEndian.Uint64(r.Output) != 4 {
		t.Fatalf("increment after restart: %+v %v", r, err)
	}
}

func TestInitAndNewErrors(t *testing.T) {
	dir := t.TempDir()
	// Nothing in the dir and no way to initialise it.
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.RPC.Addr = dir, "127.0.0.1:0"
	if _, err := node.New(cfg, node.Options{}); !errors.Is(err, node.ErrNotInitialized) {
		t.Fatalf("New on an empty dir: %v", err)
	}
	// Init without a genesis makes only the node key; twice gives the same key.
	r1, err := node.Init(dir, false, "")
	if err != nil || !r1.NoGenesis {
		t.Fatalf("init: %+v %v", r1, err)
	}
	r2, err := node.Init(dir, false, "")
	if err != nil || r2.NodeAddress != r1.NodeAddress {
		t.Fatalf("init again: %+v %v", r2, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, node.NodeKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("node key file: %v %v", fi, err)
	}
	// A network genesis with this node as validator.
	key, err := node.DataDir(dir).LoadNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	g := genesis.Dev(4242, &key.PublicKey)
	g.ChainID = 4242
	gpath := filepath.Join(t.TempDir(), "g.json")
	if err := g.Save(gpath); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Init(dir, true, gpath); err == nil {
		t.Error("--dev with a non-dev genesis accepted")
	}
	r3, err := node.Init(dir, false, gpath)
	if err != nil || r3.ChainID != 4242 || !r3.Created || r3.Dev {
		t.Fatalf("init with genesis: %+v %v", r3, err)
	}
	// Now the dir holds chain 4242: --dev and another genesis are refused.
	if _, err := node.Init(dir, true, ""); err == nil || !strings.Contains(err.Error(), "not a dev chain") {
		t.Errorf("--dev on chain 4242: %v", err)
	}
	g.ChainID = 4343
	other := filepath.Join(t.TempDir(), "other.json")
	g.Save(other)
	if _, err := node.Init(dir, false, other); err == nil || !strings.Contains(err.Error(), "already holds genesis") {
		t.Errorf("other genesis: %v", err)
	}
	cfg.Dev = true
	if _, err := node.New(cfg, node.Options{}); err == nil || !strings.Contains(err.Error(), "not a dev chain") {
		t.Errorf("New --dev on chain 4242: %v", err)
	}
	// A node that is not the validator of a dev chain follows it over the network (as
	// the nodes of `wnode localnet` do): it is a dev node, not a validator.
	g2 := genesis.Dev(genesis.DevChainID, &genesis.DevKey().PublicKey)
	dir2 := t.TempDir()
	g2path := filepath.Join(dir2, "g.json")
	g2.Save(g2path)
	cfg2 := node.DefaultConfig()
	cfg2.DataDir, cfg2.Genesis, cfg2.RPC.Addr = filepath.Join(dir2, "d"), g2path, "127.0.0.1:0"
	n2, err := node.New(cfg2, node.Options{})
	if err != nil {
		t.Fatalf("non-validator of a dev chain: %v", err)
	}
	if !n2.Dev() || n2.Validator() {
		t.Errorf("non-validator of a dev chain: dev %v, validator %v", n2.Dev(), n2.Validator())
	}
	if err := n2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardSwitch: a dev node serves /ui/ by default and not with RPC.UI off.
func TestDashboardSwitch(t *testing.T) {
	for _, tc := range []struct {
		ui     *bool
		status int
	}{{nil, http.StatusOK}, {new(false), http.StatusNotFound}} {
		cfg := startConfig(t.TempDir())
		cfg.RPC.UI = tc.ui
		n, c := startWith(t, cfg)
		resp, err := http.Get("http://" + n.RPCAddr() + "/ui/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		stop(t, n, c)
		if resp.StatusCode != tc.status {
			t.Errorf("ui %v: GET /ui/ answered %d, want %d", tc.ui, resp.StatusCode, tc.status)
		}
	}
}

// TestSnapshotPace: Config.Snapshots.Pace (--snapshot.pace) is the pace of the node's
// snapshotter; 0 is statesync.DefaultBytesPerSecond, negative unpaced, and a pace below
// statesync.MinBytesPerSecond is refused.
func TestSnapshotPace(t *testing.T) {
	for _, tc := range []struct{ pace, want int }{
		{0, statesync.DefaultBytesPerSecond},
		{1 << 20, 1 << 20},
		{-1, -1},
		{statesync.MinBytesPerSecond - 1, 0},
	} {
		cfg := startConfig(t.TempDir())
		cfg.Snapshots.Enabled, cfg.Snapshots.Pace = true, tc.pace
		n, err := node.New(cfg, node.Options{})
		if tc.want == 0 {
			if err == nil || !strings.Contains(err.Error(), "snapshot pace") {
				t.Errorf("pace %d: %v", tc.pace, err)
			}
			if n != nil {
				n.Close(context.Background())
			}
			continue
		}
		if err != nil {
			t.Fatalf("pace %d: %v", tc.pace, err)
		}
		if got := n.Snapshots().BytesPerSecond(); got != tc.want {
			t.Errorf("pace %d: the snapshotter's is %d, want %d", tc.pace, got, tc.want)
		}
		if err := n.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := startConfig(t.TempDir())
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Snapshots() != nil {
		t.Error("a snapshotter without Snapshots.Enabled")
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
