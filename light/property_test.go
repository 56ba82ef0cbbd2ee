package light_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/holiman/uint256"
	"pgregory.net/rapid"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/types"
)

// genCall draws a read-only call of the example and test contracts: direct calls, cross-
// contract calls through calls.wasm (forward, try_forward, depth), reverts, traps, calls
// of missing methods or contracts, and gas limits low enough to run out.
func genCall(tc *testChain) *rapid.Generator[chain.CallMsg] {
	fwd := func(target types.Address, method string, args []byte) []byte {
		in := append(target.Bytes(), byte(len(method)))
		return append(append(in, method...), args...)
	}
	return rapid.Custom(func(t *rapid.T) chain.CallMsg {
		u64 := func(label string, max uint64) []byte {
			return binary.BigEndian.AppendUint64(nil, rapid.Uint64Range(0, max).Draw(t, label))
		}
		le := func(label string, max uint64) []byte {
			return binary.LittleEndian.AppendUint64(nil, rapid.Uint64Range(0, max).Draw(t, label))
		}
		who := rapid.SampledFrom([]string{"alice", "bob", "carol"}).Draw(t, "from")
		direct := []chain.CallMsg{
			{To: tc.contracts["hello"], Method: "hello", Args: rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "name")},
			{To: tc.contracts["counter"], Method: "get"},
			{To: tc.contracts["counter"], Method: "increment"},
			{To: tc.contracts["token"], Method: "balance_of", Args: addrOf(who).Bytes()},
			{To: tc.contracts["token"], Method: "total_supply"},
			{To: tc.contracts["token"], Method: "transfer", Args: append(addrOf("carol").Bytes(), u64("amount", 2000)...)},
			{To: tc.contracts["calls"], Method: "get", Args: []byte(rapid.SampledFrom([]string{"abc", "tried", "none"}).Draw(t, "key"))},
			{To: tc.contracts["calls"], Method: "fail_after_write"},
			{To: tc.contracts["calls"], Method: "depth", Args: le("depth", 80)},
			{To: tc.contracts["traps"], Method: rapid.SampledFrom([]string{"unreachable", "div_zero", "oob", "infinite", "return_then_trap"}).Draw(t, "trap")},
			{To: tc.contracts["traps"], Method: "recurse", Args: le("frames", 1<<20)},
			{To: tc.contracts["hello"], Method: "no_such_method"},
			{To: addrOf("carol"), Method: "hello"},
		}
		target := rapid.SampledFrom(direct).Draw(t, "target")
		msg := target
		switch rapid.IntRange(0, 2).Draw(t, "via") {
		case 1:
			msg = chain.CallMsg{To: tc.contracts["calls"], Method: "forward", Args: fwd(target.To, target.Method, target.Args)}
		case 2:
			msg = chain.CallMsg{To: tc.contracts["calls"], Method: "try_forward", Args: fwd(target.To, target.Method, target.Args)}
		}
		msg.From = addrOf(who)
		if rapid.IntRange(0, 3).Draw(t, "lowGas") == 0 {
			msg.Gas = rapid.Uint64Range(1, 400_000).Draw(t, "gas")
		} else {
			msg.Gas = rapid.Uint64Range(0, 20_000_000).Draw(t, "gas")
		}
		if rapid.IntRange(0, 5).Draw(t, "withValue") == 0 {
			msg.Value = uint256.NewInt(rapid.Uint64Range(0, 1000).Draw(t, "value"))
		}
		return msg
	})
}

// TestWitnessReproducesCall: for random calls, verifying the node's witness re-executes
// the call to exactly the node's result (output, gas, error, events), and that result is
// the one a plain wn_call gives.
func TestWitnessReproducesCall(t *testing.T) {
	tc := newTestChain(t, testChainID)
	v := tc.verifier(t)
	ctx := context.Background()
	head := tc.c.Head().Height
	kinds := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		msg := genCall(tc).Draw(rt, "call")
		b := tc.callBundle(t, msg)
		got, info, err := v.VerifyCall(ctx, b, nil)
		if err != nil {
			rt.Fatalf("honest witness of %s.%s does not verify: %v", msg.To, msg.Method, err)
		}
		plain, err := tc.c.Call(ctx, msg, head)
		if err != nil {
			rt.Fatal(err)
		}
		perr := ""
		if plain.Err != nil {
			perr = plain.Err.Error()
		}
		if info.Height != head || got.Err != perr || !bytes.Equal(got.Output, plain.Output) || got.GasUsed != plain.GasUsed || len(got.Events) != len(plain.Events) {
			rt.Fatalf("verified %+v at %d, plain call %+v", got, info.Height, plain)
		}
		switch {
		case got.Err == "":
			kinds["ok"]++
		default:
			kinds["failed"]++
		}
		// The witness holds only what the call reads: without any one read, the
		// re-execution misses it.
		if len(b.Reads) > 0 {
			i := rapid.IntRange(0, len(b.Reads)-1).Draw(rt, "drop")
			b.Reads = append(b.Reads[:i:i], b.Reads[i+1:]...)
			if _, _, err := v.VerifyCall(ctx, b, nil); !errors.Is(err, light.ErrWitnessMissing) {
				rt.Fatalf("witness without read %d: %v", i, err)
			}
		}
	})
	if kinds["ok"] == 0 || kinds["failed"] == 0 {
		t.Errorf("outcomes drawn: %v", kinds)
	}
	t.Logf("outcomes: %v", kinds)
}
