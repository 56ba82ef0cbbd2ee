package examples

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"

	wchain "github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/wnodetest"
)

// step is one transaction or read-only call of a scenario run on every build of an
// example.
type step struct {
	call   bool // read-only call instead of a transaction
	from   int  // account index
	method string
	args   func(c *wnodetest.Chain) []byte
}

// outcome is what a user observes of a step: everything but gas must be the same in
// every language.
type outcome struct {
	ok     bool
	output []byte
	err    string
	events []types.Event
}

func fixed(b []byte) func(*wnodetest.Chain) []byte { return func(*wnodetest.Chain) []byte { return b } }

// TestLanguagesAgree deploys the C, Rust and AssemblyScript builds of each example on a
// real chain (wnodetest), runs the same transactions and calls on each, and checks that
// outputs, errors, events and storage are identical. The gas of each step is logged side
// by side (go test -v -run TestLanguagesAgree ./examples/).
func TestLanguagesAgree(t *testing.T) {
	to := func(i int, amt []byte) func(c *wnodetest.Chain) []byte {
		return func(c *wnodetest.Chain) []byte { return cat(c.Account(i).Bytes(), amt) }
	}
	addrOf := func(i int) func(c *wnodetest.Chain) []byte {
		return func(c *wnodetest.Chain) []byte { return c.Account(i).Bytes() }
	}
	for _, ex := range []struct {
		name   string
		builds []string
		init   []byte
		steps  []step
		keys   func(c *wnodetest.Chain) [][]byte
	}{
		{"hello", helloBuilds, nil, []step{
			{call: true, method: "hello", args: fixed(nil)},
			{call: true, method: "hello", args: fixed([]byte("wnode"))},
			{method: "hello", args: fixed([]byte("world"))},
		}, func(*wnodetest.Chain) [][]byte { return nil }},
		{"counter", counterBuilds, nil, []step{
			{call: true, method: "get", args: fixed(nil)},
			{from: 1, method: "increment", args: fixed(nil)},
			{from: 2, method: "increment", args: fixed([]byte("ignored"))},
			{call: true, method: "get", args: fixed(nil)},
			{method: "nope", args: fixed(nil)},
		}, func(*wnodetest.Chain) [][]byte { return [][]byte{[]byte("count")} }},
		{"token", tokenBuilds, be64(1000), []step{
			{call: true, method: "total_supply", args: fixed(nil)},
			{method: "transfer", args: to(1, be64(300))},
			{method: "transfer", args: to(2, amount(200))},
			{from: 1, method: "transfer", args: to(0, be64(301))},
			{from: 1, method: "transfer", args: to(1, be64(300))},
			{from: 2, method: "transfer", args: to(0, be64(200))},
			{method: "transfer", args: fixed([]byte{1, 2, 3})},
			{method: "init", args: fixed(be64(5))},
			{call: true, method: "balance_of", args: addrOf(1)},
			{call: true, method: "balance_of", args: fixed(make([]byte, 19))},
		}, func(c *wnodetest.Chain) [][]byte {
			ks := [][]byte{[]byte("supply")}
			for i := range 3 {
				ks = append(ks, cat([]byte("b"), c.Account(i).Bytes()))
			}
			return ks
		}},
	} {
		t.Run(ex.name, func(t *testing.T) {
			c := wnodetest.New(t)
			gas := make([][]uint64, len(ex.builds)) // [build][deploy, steps...]
			var first []outcome
			var firstStorage [][]byte
			for bi, path := range ex.builds {
				code, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				dr := c.DeployReceipt(c.Account(0), code, ex.init)
				if dr.Status != types.ReceiptSuccess {
					t.Fatalf("%s: deploy: %s", path, dr.Error)
				}
				addr := dr.ContractAddress
				gas[bi] = append(gas[bi], dr.GasUsed)
				var got []outcome
				for _, s := range ex.steps {
					var o outcome
					if s.call {
						r := c.CallFrom(c.Account(s.from), addr, s.method, s.args(c))
						o = outcome{ok: r.Err == nil, output: r.Output, events: r.Events}
						if r.Err != nil {
							o.err = r.Err.Error()
						}
						gas[bi] = append(gas[bi], r.GasUsed)
					} else {
						r := c.Invoke(c.Account(s.from), addr, s.method, s.args(c))
						o = outcome{ok: r.Status == types.ReceiptSuccess, output: r.Output, err: r.Error, events: r.Events}
						gas[bi] = append(gas[bi], r.GasUsed)
					}
					for i := range o.events {
						o.events[i].Contract = types.Address{} // each build has its own address
					}
					got = append(got, o)
				}
				var storage [][]byte
				for _, k := range ex.keys(c) {
					v, _ := c.Storage(addr, k)
					storage = append(storage, v)
				}
				if bi == 0 {
					first, firstStorage = got, storage
					continue
				}
				for i := range got {
					if !sameOutcome(got[i], first[i]) {
						t.Errorf("%s step %d (%s): %+v, but %s gave %+v", path, i, ex.steps[i].method, got[i], ex.builds[0], first[i])
					}
				}
				for i := range storage {
					if !bytes.Equal(storage[i], firstStorage[i]) {
						t.Errorf("%s: storage key %d = %x, %s has %x", path, i, storage[i], ex.builds[0], firstStorage[i])
					}
				}
			}
			var sb strings.Builder
			tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "gas\t%s\t\n", strings.Join(ex.builds, "\t"))
			for si := range gas[0] {
				label := "deploy"
				if si > 0 {
					s := ex.steps[si-1]
					label = s.method
					if s.call {
						label += " (call)"
					}
				}
				fmt.Fprintf(tw, "%s\t", label)
				for bi := range gas {
					fmt.Fprintf(tw, "%d\t", gas[bi][si])
				}
				fmt.Fprintln(tw)
			}
			tw.Flush()
			t.Logf("%s, gas side by side:\n%s", ex.name, sb.String())
		})
	}
}

func sameOutcome(a, b outcome) bool {
	if a.ok != b.ok || !bytes.Equal(a.output, b.output) || a.err != b.err || len(a.events) != len(b.events) {
		return false
	}
	for i := range a.events {
		if !bytes.Equal(a.events[i].Topic, b.events[i].Topic) || !bytes.Equal(a.events[i].Data, b.events[i].Data) {
			return false
		}
	}
	return true
}

// BenchmarkHello calls hello("wnode") read-only on a real chain (wnodetest: the chain's
// Call, the VM with gas) for each language's build; compare the languages as ratios of
// their ns/op within one run.
func BenchmarkHello(b *testing.B) {
	c := wnodetest.New(b)
	for i, path := range helloBuilds {
		code, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		addr := c.Deploy(c.Account(0), code, nil)
		b.Run([]string{"c", "rust", "as"}[i], func(b *testing.B) {
			var gas uint64
			for b.Loop() {
				r, err := c.Chain().Call(b.Context(), wchain.CallMsg{To: addr, Method: "hello", Args: []byte("wnode")}, wchain.LatestHeight)
				if err != nil || r.Err != nil || string(r.Output) != "hello, wnode" {
					b.Fatalf("%s: %v %v %q", path, err, r.Err, r.Output)
				}
				gas = r.GasUsed
			}
			b.ReportMetric(float64(gas), "gas/op")
		})
	}
}
