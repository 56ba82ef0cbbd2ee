package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/loadgen"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TestAbuse repeats, against a real dev node, the attacks a hostile user of a public node
// can try, with caps set small so that each protection engages within seconds, and checks
// that it does (refusals counted, caps hit, queues bounded, memory returned) while blocks
// keep being committed.
func TestAbuse(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfgFile, []byte("[mempool]\nmax_queued = 40\nmax_queued_per_account = 16\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	node := startNode(t, dir, "--dev", "--config", cfgFile, "--rpc.exec.slots", "1", "--rpc.exec.queue", "2",
		"--rpc.exec.perclient", "1", "--rpc.exec.wait", "100ms", "--rpc.subs.perconn", "4", "--rpc.subs.total", "10")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, node.url())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := genesis.DevKey()
	spin, err := loadgen.Deploy(ctx, c, key, loadgen.SpinCode)
	if err != nil {
		t.Fatal(err)
	}
	counter, err := loadgen.Deploy(ctx, c, key, readFile(t, "../examples/counter/counter.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	// committed proves blocks keep coming: an increment sent now gets its receipt. Its gas
	// limit is given: under this attack a gas estimate may be refused like any call.
	committed := func(what string) {
		t.Helper()
		tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
		defer tcancel()
		if _, r, err := c.Transact(tctx, key, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment", GasLimit: 200_000}); err != nil || r.Status != 1 {
			t.Fatalf("%s: an increment was not committed: %v %+v", what, err, r)
		}
	}

	t.Run("read-only calls at the gas cap", func(t *testing.T) {
		var statuses sync.Map
		var maxRunning, maxQueued atomic.Int64
		actx, acancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := loopbackClient(i)
				for actx.Err() == nil {
					req, _ := http.NewRequestWithContext(actx, http.MethodPost, node.url()+"/fn/"+spin.Hex()+"/spin", nil)
					resp, err := hc.Do(req)
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					n, _ := statuses.LoadOrStore(resp.StatusCode, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				}
			}()
		}
		wg.Add(1)
		go func() { // the gauges never pass the caps
			defer wg.Done()
			for actx.Err() == nil {
				maxRunning.Store(max(maxRunning.Load(), int64(metricOr(node.url(), "wnode_rpc_exec_running"))))
				maxQueued.Store(max(maxQueued.Load(), int64(metricOr(node.url(), "wnode_rpc_exec_queued"))))
				time.Sleep(20 * time.Millisecond) // a sampling period, not a synchronisation
			}
		}()
		for start := time.Now(); time.Since(start) < 3*time.Second; {
			committed("16 clients spinning")
		}
		acancel()
		wg.Wait()
		refused := int64(0)
		for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			if n, ok := statuses.Load(code); ok {
				refused += n.(*atomic.Int64).Load()
			}
		}
		if refused == 0 {
			t.Error("no call was refused with 429 or 503")
		}
		if got := metricOr(node.url(), `wnode_rpc_exec_rejected_total{reason="queue"}`) + metricOr(node.url(), `wnode_rpc_exec_rejected_total{reason="client"}`) +
			metricOr(node.url(), `wnode_rpc_exec_rejected_total{reason="wait"}`); got == 0 {
			t.Error("no refusal counted in wnode_rpc_exec_rejected_total")
		}
		if maxRunning.Load() > 1 || maxQueued.Load() > 2 {
			t.Errorf("running %d (cap 1), queued %d (cap 2)", maxRunning.Load(), maxQueued.Load())
		}
		// The slot rests after the last call (--rpc.exec.share), then serves again.
		waitFor(t, 20*time.Second, "the execution slot free after the attack", func() bool {
			return metricOr(node.url(), "wnode_rpc_exec_running") == 0 && metricOr(node.url(), "wnode_rpc_exec_queued") == 0
		})
		if status, _, _ := httpDo(t, http.MethodGet, node.url()+"/health", "", ""); status != 200 {
			t.Errorf("health %d after the attack", status)
		}
	})

	t.Run("gas estimates of deploys", func(t *testing.T) {
		cacheDir := filepath.Join(dir, "wasm-cache")
		before := dirFiles(t, cacheDir)
		for i := range 20 {
			code := bytes.Clone(loadgen.SpinCode)
			code[bytes.Index(code, []byte("spin"))+3] = byte('a' + i) // another module each time
			var gas hexutil.Uint64
			err := c.Raw().CallContext(ctx, &gas, "wn_estimateGas", map[string]any{"from": genesis.DevAddress, "code": hexutil.Bytes(code)})
			if err != nil {
				t.Fatalf("estimate %d: %v", i, err)
			}
		}
		if after := dirFiles(t, cacheDir); after != before {
			t.Errorf("compiled-code cache went from %d to %d files after 20 deploy estimates", before, after)
		}
	})

	t.Run("mempool filled with gapped txs", func(t *testing.T) {
		nonce, err := c.PendingNonce(ctx, genesis.DevAddress)
		if err != nil {
			t.Fatal(err)
		}
		var refused int
		for i := range 30 { // 16 per account at most, behind a gap of one
			n := nonce + 1 + uint64(i)
			tx, err := c.BuildTx(ctx, key, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment", Nonce: &n, GasLimit: 200_000})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.SendTransaction(ctx, tx); err != nil {
				if code := client.ErrorCode(err); code != rpctypes.CodeTxPoolFull || !strings.Contains(err.Error(), "nonce gap") {
					t.Fatalf("gapped tx %d: %v (code %d)", i, err, code)
				}
				refused++
			}
		}
		if refused != 14 {
			t.Errorf("%d gapped txs refused, want 14 (16 accepted per account)", refused)
		}
		committed("after the gapped txs") // the executable tx closes the gap: all 17 commit
	})

	t.Run("subscriptions", func(t *testing.T) {
		baseline := metricOr(node.url(), "go_goroutines")
		var conns []*gethrpc.Client
		refused := 0
		for range 4 {
			wc, err := gethrpc.DialContext(ctx, "ws://"+node.addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, wc)
			for range 6 {
				if _, err := wc.Subscribe(ctx, "wn", make(chan json.RawMessage, 1), "newHeads"); err != nil {
					if client.ErrorCode(err) != rpctypes.CodeBusy {
						t.Fatalf("subscribe: %v", err)
					}
					refused++
				}
			}
		}
		if got := metricOr(node.url(), "wnode_rpc_subscriptions"); got != 10 || refused != 14 {
			t.Errorf("%v subscriptions open, %d refused; want 10 (the total cap), 14", got, refused)
		}
		committed("with subscribers that never read")
		if heap := metricOr(node.url(), "go_memstats_heap_inuse_bytes"); heap > 256<<20 {
			t.Errorf("heap in use %.0f MB with the subscriptions open", heap/(1<<20))
		}
		for _, wc := range conns {
			wc.Close()
		}
		waitFor(t, 20*time.Second, "subscriptions and their goroutines gone", func() bool {
			return metricOr(node.url(), "wnode_rpc_subscriptions") == 0 && metricOr(node.url(), "go_goroutines") <= baseline+10
		})
	})

	t.Run("origins, body size, addresses", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, node.url(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"wn_chainId","params":[]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:3000")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("JSON-RPC from a browser origin: %v %v", resp.Status, err)
		} else {
			resp.Body.Close()
		}
		_, resp, err := websocket.DefaultDialer.Dial("ws://"+node.addr, http.Header{"Origin": {"http://localhost:3000"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("WebSocket from a browser origin: %v", err)
		}
		big := bytes.Repeat([]byte("x"), 6<<20)
		bresp, err := http.Post(node.url(), "application/json", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("6 MB POST: %v (want a readable 413)", err)
		}
		body, _ := io.ReadAll(bresp.Body)
		bresp.Body.Close()
		if bresp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "limit") {
			t.Errorf("6 MB POST: %d %q", bresp.StatusCode, body)
		}
		bad := strings.Replace(genesis.DevAddress.Hex(), "F", "f", 1)
		var acc json.RawMessage
		err = c.Raw().CallContext(ctx, &acc, "wn_getAccount", bad)
		if client.ErrorCode(err) != rpctypes.CodeInvalidParams || !strings.Contains(fmt.Sprint(err), "checksum") {
			t.Errorf("wn_getAccount with a wrong checksum: %v", err)
		}
	})
}

// metricOr reads a sample of /metrics, 0 when it is absent (a counter never incremented).
func metricOr(url, sample string) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// loopbackClient is an HTTP client whose connections come from 127.0.1.(i+1), a client
// of its own for the node's fairness.
func loopbackClient(i int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxConnsPerHost: 1}}
}

func dirFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: not %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
