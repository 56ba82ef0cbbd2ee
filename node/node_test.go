package node_test

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/types"
)

// startDev starts a dev node in dir with the RPC server on a free loopback port.
func startDev(t *testing.T, dir string) (*node.Node, *rpc.Client) {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Dev, cfg.RPC.Addr = dir, true, "127.0.0.1:0"
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close(context.Background())
		t.Fatal(err)
	}
	c, err := rpc.Dial(context.Background(), "http://"+n.RPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

func stop(t *testing.T, n *node.Node, c *rpc.Client) {
	t.Helper()
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func readWasm(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../examples/" + name + "/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
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
	_, deploy, err := c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxDeploy, Code: readWasm(t, "hello")})
	if err != nil {
		t.Fatal(err)
	}
	if deploy.Status != 1 || deploy.ContractAddress == nil {
		t.Fatalf("deploy receipt = %+v", deploy)
	}
	hello := *deploy.ContractAddress
	_, r, err := c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxInvoke, To: hello, Method: "hello", Args: []byte("world")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 1 || string(r.Output) != "hello, world" || r.Signer != n.Address() {
		t.Fatalf("invoke receipt = %+v", r)
	}
	res, err := c.Call(ctx, rpc.CallArgs{To: &hello, Method: "hello", Args: []byte("call")}, rpc.LatestBlock)
	if err != nil || string(res.Output) != "hello, call" {
		t.Fatalf("call = %+v, %v", res, err)
	}
	fn, err := c.Fn(ctx, hello, "hello", []byte("gateway"))
	if err != nil || string(fn.Output) != "hello, gateway" || fn.Signer != n.Address() {
		t.Fatalf("fn = %+v, %v", fn, err)
	}

	// A counter keeps its state across blocks.
	_, dc, err := c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxDeploy, Code: readWasm(t, "counter")})
	if err != nil || dc.Status != 1 {
		t.Fatalf("deploy counter: %+v %v", dc, err)
	}
	counter := *dc.ContractAddress
	for i := uint64(1); i <= 3; i++ {
		_, r, err := c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment"})
		if err != nil || r.Status != 1 || binary.BigEndian.Uint64(r.Output) != i {
			t.Fatalf("increment %d: %+v %v", i, r, err)
		}
	}
	// A failing tx is included with a failed receipt; an estimate refuses it first.
	if _, _, err := c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxInvoke, To: counter, Method: "nope"}); rpc.ErrorCode(err) != rpc.CodeExecutionFailed {
		t.Errorf("invoke of a missing method: %v", err)
	}
	_, failed, err := c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxInvoke, To: counter, Method: "nope", GasLimit: 100_000})
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
	got, err := c.Call(ctx, rpc.CallArgs{To: &counter, Method: "get"}, rpc.LatestBlock)
	if err != nil || binary.BigEndian.Uint64(got.Output) != 3 {
		t.Fatalf("counter after restart = %+v, %v", got, err)
	}
	_, r, err = c.Transact(ctx, dev, &rpc.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment"})
	if err != nil || binary.BigEndian.Uint64(r.Output) != 4 {
		t.Fatalf("increment after restart: %+v %v", r, err)
	}
}
