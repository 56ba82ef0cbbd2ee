package wnodetest_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
	"github.com/wnode/wnode/wnodetest"
)

func wasm(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile("../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestKit(t *testing.T) {
	c := wnodetest.New(t)
	alice, bob := c.Account(0), c.Account(1)
	if c.Balance(alice).Cmp(wnodetest.DefaultBalance) != 0 {
		t.Fatalf("genesis balance %s", c.Balance(alice))
	}

	// Deploy, invoke in a block, read storage and call.
	counter := c.Deploy(alice, wasm(t, "examples/counter/counter.wasm"), nil)
	if c.Admin(counter) != alice {
		t.Fatalf("admin %s", c.Admin(counter))
	}
	if h, i, ok, err := c.Chain().DeployLocation(counter); err != nil || !ok || h != 1 || i != 0 {
		t.Fatalf("deploy location %d %d %v %v", h, i, ok, err)
	}
	if _, _, ok, err := c.Chain().DeployLocation(bob); err != nil || ok {
		t.Fatalf("deploy location of an account: %v %v", ok, err)
	}
	if r := c.Call(counter, "get", nil); r.Metadata == nil || len(r.Metadata.Methods) != 2 {
		t.Fatalf("call metadata %+v", r.Metadata)
	}
	r := c.Invoke(bob, counter, "increment", nil)
	if r.Status != types.ReceiptSuccess || !bytes.Equal(r.Output, be64(1)) || r.GasUsed == 0 {
		t.Fatalf("increment: %+v", r)
	}
	if v, ok := c.Storage(counter, []byte("count")); !ok || !bytes.Equal(v, be64(1)) {
		t.Fatalf("storage %x %v", v, ok)
	}
	if got := c.MustCall(counter, "get", nil); !bytes.Equal(got, be64(1)) {
		t.Fatalf("get %x", got)
	}
	// The sender paid the gas at price 1.
	want := new(uint256.Int).Sub(wnodetest.DefaultBalance, uint256.NewInt(r.GasUsed))
	if c.Balance(bob).Cmp(want) != 0 {
		t.Fatalf("bob %s, want %s", c.Balance(bob), want)
	}

	// A revert is a failed receipt, and changes nothing.
	r = c.Invoke(bob, counter, "nope", nil)
	if r.Status != types.ReceiptFailed || r.Error == "" {
		t.Fatalf("unknown method: %+v", r)
	}

	// Events of a token deploy and transfer.
	tok := c.Deploy(alice, wasm(t, "examples/token/token.wasm"), be64(1000))
	r = c.Invoke(alice, tok, "transfer", append(bob.Bytes(), be64(300)...))
	if r.Status != types.ReceiptSuccess || len(r.Events) != 1 || r.Events[0].Contract != tok || string(r.Events[0].Topic) != "transfer" {
		t.Fatalf("transfer: %+v", r)
	}

	// Upgrade: only the admin; the counter's storage survives under the new code.
	if r := c.Upgrade(bob, counter, wasm(t, "examples/counter/c/counter.wasm"), nil); r.Status != types.ReceiptFailed {
		t.Fatalf("upgrade by a stranger: %+v", r)
	}
	if r := c.Upgrade(alice, counter, wasm(t, "examples/counter/c/counter.wasm"), nil); r.Status != types.ReceiptSuccess {
		t.Fatalf("upgrade: %s", r.Error)
	}
	if got := c.MustInvoke(bob, counter, "increment", nil); !bytes.Equal(got, be64(2)) {
		t.Fatalf("increment after upgrade %x", got)
	}

	// Time: the next block is an hour later; contracts read it (sdktest's env: height
	// || time || value || gas>0).
	sdk := c.Deploy(alice, wasm(t, "sdk/rust/testdata/sdktest.wasm"), nil)
	before := c.Time()
	c.AdvanceTime(time.Hour)
	r = c.Invoke(alice, sdk, "env", nil)
	if got := binary.BigEndian.Uint64(r.Output[8:16]); got != before+uint64(time.Hour.Milliseconds())+uint64(wnodetest.BlockInterval.Milliseconds()) || c.Time() != got {
		t.Fatalf("block time %d, before %d", got, before)
	}

	// Transfers of the native coin.
	if r := c.Transfer(alice, sdk, uint256.NewInt(5)); r.Status != types.ReceiptSuccess {
		t.Fatalf("transfer: %s", r.Error)
	}
	if c.Balance(sdk).Uint64() != 5 {
		t.Fatalf("contract balance %s", c.Balance(sdk))
	}

	// The gas report lists everything in order.
	rep := c.GasReport()
	if len(rep) != 13 || rep[0].Kind != "deploy" || rep[0].Contract != counter || rep[1].Kind != "call" || rep[2].Kind != "invoke" || !rep[4].Failed {
		t.Fatalf("report %+v", rep)
	}
	var sb strings.Builder
	if err := c.WriteGasReport(&sb, map[types.Address]string{counter: "counter"}); err != nil || !strings.Contains(sb.String(), "counter  increment") {
		t.Fatalf("report table:\n%s", sb.String())
	}
}

// TestDeployRefusesBadMetadata: a deploy whose metadata is malformed, oversized or lies
// fails with the rule in its receipt and creates nothing; without metadata it deploys.
func TestDeployRefusesBadMetadata(t *testing.T) {
	c := wnodetest.New(t)
	hello := wasm(t, "examples/hello/hello.wasm")
	for _, tc := range []struct{ name, section, want string }{
		{"lying", "v1 method hello view text text Hi.\nv1 method mint change u64 none Mints.\n", `describes method "mint", which the module does not export`},
		{"malformed", "v1 method hello view text\n", "record 1: want"},
		{"oversized", strings.Repeat("v1 method hello view text text Hi.\n", 500), "exceeds limit 16384"},
		{"unknown version", "v2 method hello view text text\n", "unsupported version"},
	} {
		code, err := metadata.Set(hello, []byte(tc.section), true)
		if err != nil {
			t.Fatal(err)
		}
		r := c.DeployReceipt(c.Account(0), code, nil)
		if r.Status != types.ReceiptFailed || !strings.Contains(r.Error, "wnode.meta") || !strings.Contains(r.Error, tc.want) {
			t.Errorf("%s: status %d, error %q; want a failure containing %q", tc.name, r.Status, r.Error, tc.want)
		}
	}
	bare, err := metadata.Set(hello, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	addr := c.Deploy(c.Account(0), bare, nil)
	if r := c.Call(addr, "hello", []byte("x")); r.Err != nil || string(r.Output) != "hello, x" || r.Metadata != nil {
		t.Fatalf("without metadata: %+v", r)
	}
}
