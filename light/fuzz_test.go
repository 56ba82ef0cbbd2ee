package light_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
)

// FuzzBundle decodes arbitrary documents as bundles and verifies whatever decodes: neither
// ever panics, and nothing but the honest seeds verifies... or a mutation that a proof or
// signature does not cover (none should exist: then the test fails).
func FuzzBundle(f *testing.F) {
	tc := newTestChain(f, testChainID)
	v := tc.verifier(f)
	honest := map[string]bool{}
	add := func(b any) {
		data, err := json.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
		honest[string(data)] = true
		f.Add(data)
	}
	add(tc.callBundle(f, chain.CallMsg{To: tc.contracts["hello"], Method: "hello", Args: []byte("fuzz")}))
	add(tc.callBundle(f, chain.CallMsg{To: tc.contracts["counter"], Method: "get"}))
	add(tc.accountBundle(f, tc.contracts["counter"], []byte("count"), []byte("x")))
	blk, err := tc.c.BlockByNumber(2)
	if err != nil {
		f.Fatal(err)
	}
	add(tc.receiptBundle(f, blk.Txs[0].Hash()))
	f.Add([]byte(`{"kind":"call","version":1}`))
	f.Add([]byte(`{"kind":"receipt","version":1,"receipt":"0x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := light.Decode(data)
		if err != nil {
			return
		}
		if _, _, err := v.Verify(context.Background(), b); err == nil && !honest[string(data)] {
			// A re-encoding of an honest bundle (other spacing, field order, hex case)
			// verifies and must say the same thing; anything else is a hole.
			re, _ := json.Marshal(b)
			if !honest[string(re)] {
				t.Fatalf("a document that is no honest bundle verified: %s", data)
			}
		}
	})
}
