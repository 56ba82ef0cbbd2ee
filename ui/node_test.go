package ui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/ui"
)

// xssPayload is what the echo contract returns and emits in the XSS tests: markup that
// would run script if a page inserted it as HTML.
const xssPayload = `<script>window.xss=1</script><img src=x onerror="window.xss=2"><b title='x' onclick="window.xss=3">b</b>`

// fixture is a real dev node (Pebble, wazero) shared by the package's tests, with the
// hello and counter examples and the echo test contract deployed, and one echo tx carrying xssPayload.
type fixture struct {
	n         *node.Node
	base      string // http://host:port
	c         *client.Client
	hello     types.Address
	counter   types.Address
	echo      types.Address
	deployTx  types.Hash // the deploy of hello
	echoTx    types.Hash
	echoBlock uint64
	echoHash  types.Hash // hash of the block holding echoTx
}

var fx *fixture

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wnode-ui-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The contract pages serve a verifier built from the current sources, not whatever
	// `go generate ./ui` last left in the assets.
	wasm, err := buildVerifier(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ui tests: build the verifier for js/wasm:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	ui.SetTestVerifier(wasm)
	f, err := startFixture(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ui tests: start dev node:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fx = f
	code := m.Run()
	f.c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := f.n.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ui tests: close node:", err)
		code = 1
	}
	cancel()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startFixture(dir string) (_ *fixture, err error) {
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Dev, cfg.RPC.Addr, cfg.NoSync = dir, true, "127.0.0.1:0", true
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		n.Close(context.Background())
		return nil, err
	}
	f := &fixture{n: n, base: "http://" + n.RPCAddr()}
	defer func() {
		if err != nil {
			n.Close(context.Background())
		}
	}()
	if f.c, err = client.Dial(ctx, f.base); err != nil {
		return nil, err
	}
	deploy := func(path string) (types.Address, types.Hash, error) {
		code, err := os.ReadFile(path)
		if err != nil {
			return types.Address{}, types.Hash{}, err
		}
		tx, r, err := f.c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxDeploy, Code: code})
		if err != nil {
			return types.Address{}, types.Hash{}, fmt.Errorf("deploy %s: %w", path, err)
		}
		if r.ContractAddress == nil {
			return types.Address{}, types.Hash{}, fmt.Errorf("deploy %s failed: %s", path, r.Error)
		}
		return *r.ContractAddress, tx.Hash(), nil
	}
	if f.hello, f.deployTx, err = deploy("../examples/hello/hello.wasm"); err != nil {
		return nil, err
	}
	if f.counter, _, err = deploy("../examples/counter/counter.wasm"); err != nil {
		return nil, err
	}
	if f.echo, _, err = deploy("testdata/echo.wasm"); err != nil {
		return nil, err
	}
	tx, r, err := f.c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxInvoke, To: f.echo, Method: "echo", Args: []byte(xssPayload)})
	if err != nil {
		return nil, err
	}
	if string(r.Output) != xssPayload || len(r.Events) != 1 {
		return nil, fmt.Errorf("echo answered %q with %d events", r.Output, len(r.Events))
	}
	f.echoTx, f.echoBlock, f.echoHash = tx.Hash(), uint64(r.Height), r.BlockHash
	return f, nil
}

// transfer sends a transfer from the dev account and waits for its receipt: a new block.
func (f *fixture) transfer(ctx context.Context) (*rpctypes.ReceiptJSON, error) {
	_, r, err := f.c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxTransfer, To: types.Address{1}, Value: uint256.NewInt(1)})
	return r, err
}

// buildVerifier builds ui/verifier for js/wasm as `go generate ./ui` does, in dir, and
// returns it gzipped.
func buildVerifier(dir string) ([]byte, error) {
	out := filepath.Join(dir, "verifier.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./verifier")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(wasm)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
