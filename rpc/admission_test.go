package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
)

// fnCall posts to /fn/ as client (the X-Client header, trusted in these tests) and
// returns the status, the Retry-After header and the body.
func (s *testServer) fnCall(t *testing.T, client, method string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/fn/"+helloAddr.Hex()+"/"+method, strings.NewReader("x"))
	req.Header.Set("X-Client", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// TestAdmission: with one slot and one queue place, a client holding its share is
// refused at once with 429, a full queue gives 503, a wait past the deadline gives 503,
// all with Retry-After; queued work runs once the slot frees; JSON-RPC answers CodeBusy.
func TestAdmission(t *testing.T) {
	s := startServer(t, rpc.Config{ExecSlots: 1, ExecQueue: 1, ExecPerClient: 2, ExecQueueWait: 5 * time.Second, ExecShare: 1, ClientHeader: "X-Client"})
	var wg sync.WaitGroup
	results := make(chan int, 2)
	for range 2 { // a: one running, one queued
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := s.fnCall(t, "a", "gate")
			results <- code
		}()
	}
	if !testutil.Eventually(5*time.Second, func() bool { return metric(t, s, "wnode_rpc_exec_queued") == 1 }) {
		t.Fatal("the second call never queued")
	}
	if code, ra, body := s.fnCall(t, "a", "hello"); code != http.StatusTooManyRequests || ra != "1" || !strings.Contains(body, "most one client may") {
		t.Errorf("third call of a: %d, Retry-After %q, %q; want 429", code, ra, body)
	}
	if code, ra, body := s.fnCall(t, "b", "hello"); code != http.StatusServiceUnavailable || ra != "1" || !strings.Contains(body, "waiting") {
		t.Errorf("b with the queue full: %d, Retry-After %q, %q; want 503", code, ra, body)
	}
	ans := s.requestAs(t, "c", "wn_call", `[{"to":"`+helloAddr.Hex()+`","method":"hello"}]`)
	if ans.Error == nil || ans.Error.Code != rpctypes.CodeBusy || !strings.Contains(string(ans.Error.Data), `"retryAfter":1`) {
		t.Errorf("wn_call with the queue full: %+v", ans.Error)
	}
	close(s.b.gate)
	wg.Wait()
	for range 2 {
		if code := <-results; code != http.StatusOK {
			t.Errorf("admitted call: %d", code)
		}
	}
	if got := metric(t, s, `wnode_rpc_exec_rejected_total{reason="client"}`); got != 1 {
		t.Errorf("client rejections %v, want 1", got)
	}
	if got := metric(t, s, `wnode_rpc_exec_rejected_total{reason="queue"}`); got != 2 {
		t.Errorf("queue rejections %v, want 2", got)
	}
	if metric(t, s, "wnode_rpc_exec_running") != 0 || metric(t, s, "wnode_rpc_exec_queued") != 0 {
		t.Error("slots or queue places not returned")
	}
}

// TestExecShare: with a share of 1/2, a slot stays taken after an execution for as long
// as the execution ran, then frees.
func TestExecShare(t *testing.T) {
	s := startServer(t, rpc.Config{ExecSlots: 1, ExecShare: 0.5, ExecTimeBudget: 200 * time.Millisecond})
	start := time.Now()
	s.fnCall(t, "a", "slow") // runs its 200 ms budget
	ran := time.Since(start)
	if metric(t, s, "wnode_rpc_exec_running") != 1 {
		t.Fatal("the slot did not rest after the execution")
	}
	if !testutil.Eventually(5*time.Second, func() bool { return metric(t, s, "wnode_rpc_exec_running") == 0 }) {
		t.Fatal("the slot never freed")
	}
	if rested := time.Since(start) - ran; rested < 150*time.Millisecond {
		t.Errorf("the slot rested %v, want about the 200 ms the execution ran", rested)
	}
}

// TestAdmissionWaitDeadline: a call that waits longer than ExecQueueWait is refused with
// 503 and its queue place returned.
func TestAdmissionWaitDeadline(t *testing.T) {
	s := startServer(t, rpc.Config{ExecSlots: 1, ExecQueueWait: 100 * time.Millisecond, ExecShare: 1, ClientHeader: "X-Client"})
	done := make(chan struct{})
	go func() { defer close(done); s.fnCall(t, "a", "gate") }()
	if !testutil.Eventually(5*time.Second, func() bool { return metric(t, s, "wnode_rpc_exec_running") == 1 }) {
		t.Fatal("the gated call never ran")
	}
	start := time.Now()
	code, ra, body := s.fnCall(t, "b", "hello")
	if code != http.StatusServiceUnavailable || ra != "1" || !strings.Contains(body, "no execution slot free within") {
		t.Errorf("waiting call: %d, %q, %q; want 503", code, ra, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refused after %v", d)
	}
	if metric(t, s, "wnode_rpc_exec_queued") != 0 {
		t.Error("queue place not returned")
	}
	close(s.b.gate)
	<-done
}

// TestExecTimeBudget: an execution running past the time budget is stopped: 504 on the
// gateway, CodeTimeout naming the budget on JSON-RPC.
func TestExecTimeBudget(t *testing.T) {
	s := startServer(t, rpc.Config{ExecTimeBudget: 50 * time.Millisecond})
	if code, _, body := s.fnCall(t, "a", "slow"); code != http.StatusGatewayTimeout || !strings.Contains(body, "time budget") {
		t.Errorf("gateway: %d %q", code, body)
	}
	ans := s.request(t, "wn_call", `[{"to":"`+helloAddr.Hex()+`","method":"slow"}]`)
	if ans.Error == nil || ans.Error.Code != rpctypes.CodeTimeout || !strings.Contains(ans.Error.Message, "time budget") {
		t.Errorf("wn_call: %+v", ans.Error)
	}
	if got := metric(t, s, "wnode_rpc_exec_time_budget_exceeded_total"); got != 2 {
		t.Errorf("budget overruns %v, want 2", got)
	}
}

// TestOrigins: by default no browser origin may use JSON-RPC over HTTP or WebSocket
// (localhost on another port included); same-origin pages and configured origins may.
func TestOrigins(t *testing.T) {
	s := startServer(t, rpc.Config{})
	body := `{"jsonrpc":"2.0","id":1,"method":"wn_chainId","params":[]}`
	for origin, want := range map[string]int{
		"":                       http.StatusOK,
		"http://localhost:3000":  http.StatusForbidden,
		"https://evil.example":   http.StatusForbidden,
		"http://" + s.srv.Addr(): http.StatusOK, // same origin
	} {
		req, _ := http.NewRequest(http.MethodPost, s.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HTTP from origin %q: %d, want %d", origin, resp.StatusCode, want)
		}
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+s.srv.Addr(), h)
		if want == http.StatusOK {
			if err != nil {
				t.Errorf("WebSocket from origin %q: %v", origin, err)
			} else {
				c.Close()
			}
		} else if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("WebSocket from origin %q: %v, want 403", origin, err)
			if c != nil {
				c.Close()
			}
		}
	}
	allowed := startServer(t, rpc.Config{CORSOrigins: []string{"http://localhost:3000"}, WSOrigins: []string{"http://localhost:3000"}})
	h := http.Header{"Origin": {"http://localhost:3000"}}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+allowed.srv.Addr(), h)
	if err != nil {
		t.Fatalf("WebSocket from an allowed origin: %v", err)
	}
	c.Close()
}

// TestBodyTooLarge: an oversized body gets a readable 413, on JSON-RPC and /fn/.
func TestBodyTooLarge(t *testing.T) {
	s := startServer(t, rpc.Config{})
	big := bytes.Repeat([]byte("a"), 6<<20)
	for _, url := range []string{s.url, s.url + "/fn/" + helloAddr.Hex() + "/hello"} {
		resp, err := http.Post(url, "application/json", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("%s: %v (want a 413 answer, not a closed connection)", url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "limit") && !strings.Contains(string(b), "larger") {
			t.Errorf("%s: %d %q", url, resp.StatusCode, b)
		}
	}
}

// TestAddressChecksum: JSON-RPC parses addresses like the gateway: a mixed-case address
// with a wrong EIP-55 checksum is refused everywhere; all-lower is accepted.
func TestAddressChecksum(t *testing.T) {
	s := startServer(t, rpc.Config{})
	good := helloAddr.Hex() // EIP-55
	bad := strings.Replace(good, "A", "a", 1)
	if bad == good {
		bad = strings.Replace(good, "a", "A", 1)
	}
	for _, c := range []struct{ method, params string }{
		{"wn_getAccount", `["` + bad + `"]`},
		{"wn_getCode", `["` + bad + `"]`},
		{"wn_getPendingNonce", `["` + bad + `"]`},
		{"wn_call", `[{"to":"` + bad + `","method":"hello"}]`},
		{"wn_estimateGas", `[{"to":"` + good + `","from":"` + bad + `","method":"hello"}]`},
	} {
		ans := s.request(t, c.method, c.params)
		if ans.Error == nil || ans.Error.Code != rpctypes.CodeInvalidParams || !strings.Contains(ans.Error.Message, "checksum") {
			t.Errorf("%s with a bad checksum: %+v", c.method, ans.Error)
		}
	}
	if code, _, _ := post2(t, s.url+"/fn/"+bad+"/hello"); code != http.StatusBadRequest {
		t.Errorf("gateway with a bad checksum: %d", code)
	}
	for _, a := range []string{good, strings.ToLower(good)} {
		if ans := s.request(t, "wn_getAccount", `["`+a+`"]`); ans.Error != nil {
			t.Errorf("wn_getAccount(%s): %+v", a, ans.Error)
		}
	}
}

func post2(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// TestSubscriptionCaps: subscriptions are capped per connection and in total, a
// subscriber that misses blocks is dropped and counted, and closing a connection frees
// its subscriptions.
func TestSubscriptionCaps(t *testing.T) {
	s := startServer(t, rpc.Config{SubsPerConn: 2, SubsTotal: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func() *gethrpc.Client {
		c, err := gethrpc.DialContext(ctx, "ws://"+s.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sub := func(c *gethrpc.Client) error {
		_, err := c.Subscribe(ctx, "wn", make(chan json.RawMessage, 16), "newHeads")
		return err
	}
	c1, c2 := dial(), dial()
	defer c2.Close()
	for i := range 2 {
		if err := sub(c1); err != nil {
			t.Fatalf("subscription %d on c1: %v", i, err)
		}
	}
	if err := sub(c1); err == nil || !strings.Contains(err.Error(), "on this connection") {
		t.Errorf("third on c1: %v", err)
	}
	if err := sub(c2); err != nil {
		t.Fatal(err)
	}
	if err := sub(c2); err == nil || !strings.Contains(err.Error(), "maximum of 3") {
		t.Errorf("fourth in total: %v", err)
	}
	c1.Close()
	if !testutil.Eventually(5*time.Second, func() bool { return s.b.subCount() == 1 && metric(t, s, "wnode_rpc_subscriptions") == 1 }) {
		t.Fatalf("after c1 closed: %d subscribers", s.b.subCount())
	}
	if err := sub(c2); err != nil {
		t.Fatalf("after c1 closed: %v", err)
	}
	// A gap in heights (the backend skipped a full subscriber) drops the subscription.
	s.b.commit(nil, nil)
	s.b.mu.Lock()
	s.b.skipNext = true
	s.b.mu.Unlock()
	s.b.commit(nil, nil)
	s.b.commit(nil, nil)
	if !testutil.Eventually(5*time.Second, func() bool { return s.b.subCount() == 0 }) {
		t.Fatalf("slow subscribers not dropped: %d", s.b.subCount())
	}
	if got := metric(t, s, `wnode_rpc_subscriptions_refused_total{reason="slow"}`); got != 2 {
		t.Errorf("slow drops %v, want 2", got)
	}
}

// TestSubscribeCloseRace: subscriptions opened while the server closes either fail or
// end; none is left running after Close (run with -race: it caught Add racing Wait).
func TestSubscribeCloseRace(t *testing.T) {
	for range 5 {
		s := startServer(t, rpc.Config{SubsPerConn: 1000, SubsTotal: 1000})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := gethrpc.DialContext(ctx, "ws://"+s.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					c.Subscribe(ctx, "wn", make(chan json.RawMessage, 1), "newHeads")
				}
			}()
		}
		if err := s.srv.Close(ctx); err != nil {
			t.Fatal(err)
		}
		c.Close()
		wg.Wait()
		if !testutil.Eventually(5*time.Second, func() bool { return s.b.subCount() == 0 }) {
			t.Fatalf("%d subscriptions left after Close", s.b.subCount())
		}
		cancel()
	}
}

// requestAs is request with the X-Client header set to client.
func (s *testServer) requestAs(t *testing.T, client, method, params string) rpcAnswer {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`
	req, _ := http.NewRequest(http.MethodPost, s.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a rpcAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// metric reads one sample of /metrics by its name with labels, 0 when absent.
func metric(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return 0
}
