package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/cputime"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// BenchmarkCallLatency times a client's read-only call of hello over JSON-RPC on a dev
// node, with and without its witness: wn_call (executed and signed) against
// wn_callWitness (executed, every read proven, with the certificate). Client and node
// share the process, so cpu-ns/op is both sides' CPU.
func BenchmarkCallLatency(b *testing.B) {
	n, c := startWith(b, startConfig(b.TempDir()))
	defer func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	}()
	ctx := context.Background()
	_, dr, err := c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxDeploy, Code: testutil.ExampleWasm(b, "hello")})
	if err != nil || dr.Status != 1 {
		b.Fatalf("deploy: %+v %v", dr, err)
	}
	args := rpctypes.CallArgs{To: dr.ContractAddress, Method: "hello", Args: []byte("world")}
	run := func(b *testing.B, f func() error) {
		if err := f(); err != nil {
			b.Fatal(err)
		}
		cpu0 := cputime.Process()
		b.ResetTimer()
		for range b.N {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("wn_call", func(b *testing.B) {
		run(b, func() error { _, err := c.Call(ctx, args, rpctypes.LatestBlock); return err })
	})
	b.Run("wn_callWitness", func(b *testing.B) {
		run(b, func() error { _, err := c.CallBundle(ctx, args, rpctypes.LatestBlock); return err })
	})
}
