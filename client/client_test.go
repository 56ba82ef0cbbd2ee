package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/types"
)

// slowNode is a live HTTP server on loopback that accepts every request and answers none
// until the request's client gives up (or the test ends). arrived receives a value when
// a request arrives.
func slowNode(t *testing.T) (url string, arrived <-chan struct{}) {
	t.Helper()
	done := make(chan struct{})
	got := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv.URL, got
}

// A deadline that passes while a live node is slow to answer is a timeout that names the
// URL and the time waited, not "no node answering".
func TestTimeoutAgainstSlowNode(t *testing.T) {
	url, _ := slowNode(t)
	c, err := client.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"json-rpc", func(ctx context.Context) error { _, err := c.ChainID(ctx); return err }},
		{"gateway", func(ctx context.Context) error { _, err := c.Fn(ctx, types.Address{1}, "get", nil); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := tc.do(ctx)
			if !errors.Is(err, client.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrTimeout wrapping context.DeadlineExceeded", err)
			}
			if errors.Is(err, client.ErrNoNode) {
				t.Errorf("a slow node reported as absent: %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "timed out after ") || !strings.Contains(msg, url) {
				t.Errorf("message %q does not say it timed out, after how long, at %s", msg, url)
			}
		})
	}
}

// Nothing listening is still ErrNoNode, and a cancelled request is neither.
func TestNoNodeAndCancel(t *testing.T) {
	dead, err := client.Dial(context.Background(), testutil.ClosedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if _, err := dead.ChainID(context.Background()); !errors.Is(err, client.ErrNoNode) || errors.Is(err, client.ErrTimeout) {
		t.Errorf("nothing listening: %v", err)
	}
	if _, err := dead.Fn(context.Background(), types.Address{1}, "get", nil); !errors.Is(err, client.ErrNoNode) {
		t.Errorf("gateway, nothing listening: %v", err)
	}

	url, arrived := slowNode(t)
	c, err := client.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	if _, err := c.ChainID(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrNoNode) || errors.Is(err, client.ErrTimeout) {
		t.Errorf("cancelled: %v", err)
	}
}

// fakeNode answers JSON-RPC requests with answer(method), a JSON result.
func fakeNode(t *testing.T, answer func(method string) string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, answer(req.Method))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// WaitReceipt gives up with ErrTxDropped on a transaction the node no longer knows (in
// neither its pool nor a block: it will never have a receipt there), long before the
// context's deadline; a transaction still pending is waited for until its receipt.
func TestWaitReceiptDropped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		known   bool
		wantErr error
	}{
		{"dropped", false, client.ErrTxDropped},
		{"pending, then included", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			url := fakeNode(t, func(method string) string {
				switch {
				case method == "wn_getTransaction" && tc.known:
					return `{"hash":"0x0100000000000000000000000000000000000000000000000000000000000000"}`
				case method == "wn_getTransactionReceipt" && tc.known && time.Since(start) > 2500*time.Millisecond:
					return `{"txHash":"0x0100000000000000000000000000000000000000000000000000000000000000","status":"0x1"}`
				}
				return "null"
			})
			c, err := client.Dial(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r, err := c.WaitReceipt(ctx, types.Hash{1})
			if !errors.Is(err, tc.wantErr) || (err == nil && (r == nil || r.Status != 1)) {
				t.Fatalf("WaitReceipt: %+v, %v; want error %v", r, err, tc.wantErr)
			}
			if err != nil && (ctx.Err() != nil || !strings.Contains(err.Error(), "neither in its pool nor in a block")) {
				t.Errorf("dropped after %v (context: %v): %v", time.Since(start), ctx.Err(), err)
			}
		})
	}
}
