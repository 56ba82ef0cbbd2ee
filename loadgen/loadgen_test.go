package loadgen_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/loadgen"
	"github.com/wnode/wnode/node"
)

// devNode starts an in-process dev node (real Pebble, real VM, RPC on a free loopback
// port) and returns its RPC URL and a client.
func devNode(t *testing.T) (string, *client.Client) {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Dev, cfg.RPC.Addr = t.TempDir(), true, "127.0.0.1:0"
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close(context.Background())
		t.Fatal(err)
	}
	url := "http://" + n.RPCAddr()
	c, err := client.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	return url, c
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	code, err := os.ReadFile("../examples/" + name + "/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// The three loads against a real dev node: each runs, its counts add up, and Run and Tx
// check the counter themselves (an error if an increment went missing).
func TestLoadsOnDevNode(t *testing.T) {
	url, c := devNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key := genesis.DevKey()

	hello := readExample(t, "hello")
	helloAddr, err := loadgen.Deploy(ctx, c, key, hello)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := loadgen.Fn(ctx, c, loadgen.FnConfig{URL: url, Contract: helloAddr, Code: hello, Method: "hello",
		Input: []byte("world"), Concurrency: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Gateway.N == 0 || fn.Errors != 0 || fn.Bare.N == 0 || fn.BareRatio <= 0 || fn.VM.N == 0 || fn.Ratio <= 0 {
		t.Errorf("fn report %+v", fn)
	}

	counter, err := loadgen.Deploy(ctx, c, key, readExample(t, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := loadgen.Tx(ctx, c, loadgen.TxConfig{Counter: counter, Key: key, Samples: 3, Txs: 40, Senders: 2, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Latency.N != 3 || tx.Txs != 40 || tx.Senders != 2 || tx.FinalCount != 43 || tx.TxsPerSec <= 0 {
		t.Errorf("tx report %+v", tx)
	}

	nw, err := loadgen.Dial(ctx, []string{url})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	base := loadgen.Config{Key: key, Counter: counter, Senders: 8, Tick: 5 * time.Millisecond, SetupTimeout: 30 * time.Second}
	open := base
	open.Rate, open.Duration = 200, 500*time.Millisecond
	rep, err := loadgen.Run(ctx, nw, open)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "open" || rep.Sent != 100 || rep.Rejected != 0 || rep.Pending != 0 || rep.Open == nil || rep.Open.Committed == 0 {
		t.Errorf("open loop report %+v", rep)
	}
	closed := base
	closed.InFlight, closed.Duration, closed.Txs = []int{10, 20}, 300*time.Millisecond, 2000
	if rep, err = loadgen.Run(ctx, nw, closed); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "closed" || len(rep.Steps) == 0 || rep.Best == nil || rep.Rejected != 0 || rep.Pending != 0 {
		t.Errorf("closed loop report %+v", rep)
	}
}

// A configuration that cannot run is refused before anything is sent.
func TestConfigCheck(t *testing.T) {
	key := genesis.DevKey()
	good := loadgen.Config{Key: key, Code: []byte{0}, Senders: 1, Duration: time.Second, Tick: time.Millisecond, Txs: 10}
	if n, err := good.Check(); err != nil || n != 10 {
		t.Fatalf("good config: %d %v", n, err)
	}
	open := good
	open.Rate = 50
	if n, err := open.Check(); err != nil || n != 50 {
		t.Errorf("open loop of 50 tx/s for 1 s: %d txs, %v", n, err)
	}
	for name, mod := range map[string]func(*loadgen.Config){
		"negative rate":  func(c *loadgen.Config) { c.Rate = -1 },
		"no senders":     func(c *loadgen.Config) { c.Senders = 0 },
		"no tick":        func(c *loadgen.Config) { c.Tick = 0 },
		"zero in flight": func(c *loadgen.Config) { c.InFlight = []int{10, 0} },
		"no txs":         func(c *loadgen.Config) { c.Txs = 0 },
		"too many txs":   func(c *loadgen.Config) { c.Txs = loadgen.MaxTxs + 1 },
	} {
		cfg := good
		mod(&cfg)
		if _, err := cfg.Check(); !errors.Is(err, loadgen.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
