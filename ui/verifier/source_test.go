package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/node"
)

// TestRPCSource: the certificates the verifier fetches from a real dev node's JSON-RPC
// verify against the node's genesis, and a height above the head is an error.
func TestRPCSource(t *testing.T) {
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Dev, cfg.RPC.Addr, cfg.NoSync = t.TempDir(), true, "127.0.0.1:0", true
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	for n.Chain().Head().Height < 1 {
		select {
		case <-ctx.Done():
			t.Fatal("no block committed")
		case <-time.After(10 * time.Millisecond): // polling the head, with the context's deadline
		}
	}
	src := &rpcSource{post: httpPost("http://" + n.RPCAddr() + "/")}
	cert, err := src.Certificate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := light.TrustGenesis(n.Genesis())
	if err != nil {
		t.Fatal(err)
	}
	v, err := light.New(tr, light.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if hdr, err := v.VerifyHeader(cert); err != nil || hdr.Height != 1 {
		t.Fatalf("certificate of height 1: %v", err)
	}
	if _, err := src.Certificate(ctx, 1<<40); err == nil {
		t.Fatal("a certificate above the head")
	}
}

// httpPost is rpcSource's post over net/http (the browser's is fetch).
func httpPost(url string) func(ctx context.Context, body []byte) ([]byte, int, error) {
	return func(ctx context.Context, body []byte) ([]byte, int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxRPCAnswer+1))
		return b, resp.StatusCode, err
	}
}
