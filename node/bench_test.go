package node_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// benchNode starts a dev node with hello deployed.
func benchNode(b *testing.B) (*node.Node, *client.Client, string, types.Address, func()) {
	b.Helper()
	dir := b.TempDir()
	cfg := startConfig(dir)
	n, c := startWith(b, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, r, err := c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxDeploy, Code: testutil.ExampleWasm(b, "hello")})
	if err != nil || r.Status != 1 {
		b.Fatal(r, err)
	}
	return n, c, "http://" + n.RPCAddr(), *r.ContractAddress, func() { c.Close(); n.Close(context.Background()) }
}

// BenchmarkGatewayHello is one /fn/ hello call over loopback HTTP (keep-alive), the
// signature included.
func BenchmarkGatewayHello(b *testing.B) {
	_, _, url, hello, done := benchNode(b)
	defer done()
	u := url + "/fn/" + hello.Hex() + "/hello"
	hc := &http.Client{}
	b.ResetTimer()
	for range b.N {
		resp, err := hc.Post(u, "", strings.NewReader("world"))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello, world" {
			b.Fatalf("%q", body)
		}
	}
}

// BenchmarkJSONRPCCallHello is wn_call of hello over loopback HTTP, with the client's
// check of the signature.
func BenchmarkJSONRPCCallHello(b *testing.B) {
	_, c, _, hello, done := benchNode(b)
	defer done()
	b.ResetTimer()
	for range b.N {
		res, err := c.Call(context.Background(), rpctypes.CallArgs{To: &hello, Method: "hello", Args: []byte("world")}, rpctypes.LatestBlock)
		if err != nil || string(res.Output) != "hello, world" {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkChainCallHello is the call in process (chain.Call: state view, VM), the
// baseline of the two above.
func BenchmarkChainCallHello(b *testing.B) {
	n, _, _, hello, done := benchNode(b)
	defer done()
	msg := chain.CallMsg{To: hello, Method: "hello", Args: []byte("world")}
	b.ResetTimer()
	for range b.N {
		res, err := n.Chain().Call(context.Background(), msg, chain.LatestHeight)
		if err != nil || res.Err != nil || string(res.Output) != "hello, world" {
			b.Fatal(res, err)
		}
	}
}
