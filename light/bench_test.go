package light_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/internal/cputime"
	"github.com/wnode/wnode/light"
)

// benchKeys is the size of the benchmarks' state: filler accounts in genesis, besides
// the contracts. WNODE_BENCH_KEYS overrides it (the figures in docs/rationale/verify.md
// use 10^6).
func benchKeys() int {
	if n, err := strconv.Atoi(os.Getenv("WNODE_BENCH_KEYS")); err == nil && n >= 0 {
		return n
	}
	return 100_000
}

// timed runs f b.N times and reports its CPU time per op.
func timed(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cputime.Process()
	for range b.N {
		f()
	}
	b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
}

// benchCalls are the calls the benchmarks witness and verify.
func benchCalls(tc *testChain) []struct {
	name string
	msg  chain.CallMsg
} {
	return []struct {
		name string
		msg  chain.CallMsg
	}{
		{"hello", chain.CallMsg{To: tc.contracts["hello"], Method: "hello", Args: []byte("world")}},
		{"counter.get", chain.CallMsg{To: tc.contracts["counter"], Method: "get"}},
		{"token.transfer", chain.CallMsg{From: addrOf("alice"), To: tc.contracts["token"], Method: "transfer",
			Args: append(addrOf("bob").Bytes(), binary.BigEndian.AppendUint64(nil, 5)...)}},
	}
}

// BenchmarkVerify measures the size of a call's bundle (JSON, as a node sends it) and
// the time a client takes to decode and verify it: the header by the commit of four
// validators, every proof, the re-execution. "warm" reuses one verifier (its VM has
// compiled the contract); "cold" builds a verifier and its VM per bundle, as a one-shot
// `wnode call --verify` does once it has read the genesis.
func BenchmarkVerify(b *testing.B) {
	tc := newTestChainWith(b, testChainID, benchKeys())
	ctx := context.Background()
	trust, err := light.TrustGenesis(tc.g) // validates the genesis: once, not per verification
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range benchCalls(tc) {
		bundle, err := json.Marshal(tc.callBundle(b, c.msg))
		if err != nil {
			b.Fatal(err)
		}
		verify := func(b *testing.B, v *light.Verifier) {
			d, err := light.Decode(bundle)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := v.VerifyCall(ctx, d.(*light.CallBundle), nil); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(c.name+"/warm", func(b *testing.B) {
			v := tc.verifier(b)
			verify(b, v)
			timed(b, func() { verify(b, v) })
			b.ReportMetric(float64(len(bundle)), "bundle-B")
		})
		b.Run(c.name+"/cold", func(b *testing.B) {
			timed(b, func() {
				v, err := light.New(trust, light.Options{})
				if err != nil {
					b.Fatal(err)
				}
				verify(b, v)
				v.Close(ctx)
			})
		})
	}
}

// BenchmarkWitness measures a node's cost of a call with and without its witness on
// the same state: "plain" is chain.Call (what wn_call runs), "witness" is
// chain.CallWitness, the bundle and its JSON encoding (what wn_callWitness and
// /fn/?witness=1 run; the certificate of the height is built once, as a node caches it).
func BenchmarkWitness(b *testing.B) {
	tc := newTestChainWith(b, testChainID, benchKeys())
	ctx := context.Background()
	h := tc.c.Head().Height
	for _, c := range benchCalls(tc) {
		b.Run(c.name+"/plain", func(b *testing.B) {
			timed(b, func() {
				if _, err := tc.c.Call(ctx, c.msg, h); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(c.name+"/witness", func(b *testing.B) {
			cert := tc.cert(b, h)
			msg := c.msg
			msg.Gas = tc.c.CallGas(msg.Gas)
			timed(b, func() {
				res, w, err := tc.c.CallWitness(ctx, msg, h)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(light.NewCallBundle(msg, res, w, cert)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkBisection verifies the head of a generated chain of 2,001 heights whose ten
// validators of equal power are replaced three at a time every 100 heights (20 steps,
// each moving 30 % of the power, so nobody of the first set is left after four), from a
// fresh client at the root: it reports the headers fetched and the CPU time of one
// verification from the root, against sequential verification of every header.
func BenchmarkBisection(b *testing.B) {
	g := newGenChain(b, churn(10, 3, 20, 100))
	top := uint64(len(g.sets) - 1)
	ctx := context.Background()
	b.Run("bisection", func(b *testing.B) {
		var fetched int
		timed(b, func() {
			src := &source{g: g}
			c, err := light.NewClient(g.root(), src, light.ClientOptions{Now: g.now})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.VerifyHeaderAt(ctx, top); err != nil {
				b.Fatal(err)
			}
			fetched = len(src.fetched)
		})
		b.ReportMetric(float64(fetched), "headers/op")
	})
	b.Run("sequential", func(b *testing.B) {
		timed(b, func() {
			trusted := g.root()
			for h := 1; h <= int(top); h++ {
				lb := g.block(b, h)
				if err := light.VerifyAdjacent(trusted, lb, g.now(), light.Rules{}); err != nil {
					b.Fatal(err)
				}
				trusted = g.state(b, h)
			}
		})
		b.ReportMetric(float64(top), "headers/op")
	})
}
