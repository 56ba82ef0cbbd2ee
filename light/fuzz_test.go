package light_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/types"
)

// FuzzBundle decodes arbitrary documents as bundles and verifies whatever decodes: neither
// ever panics, and whatever verifies is true of the chain the seeds came from (the
// oracle: the chain's own answer to the same question at the same height).
func FuzzBundle(f *testing.F) {
	tc := newTestChain(f, testChainID)
	v := tc.verifier(f)
	add := func(b any) {
		data, err := json.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
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
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := light.Decode(data)
		if err != nil {
			return
		}
		got, info, err := v.Verify(ctx, b)
		if err != nil {
			return
		}
		switch b := b.(type) {
		case *light.CallBundle:
			c := &b.Call
			msg := chain.CallMsg{From: c.From, To: c.To, Method: c.Method, Args: c.Args, Gas: uint64(c.Gas), Value: (*uint256.Int)(c.Value)}
			want, err := tc.c.Call(ctx, msg, info.Height)
			if err != nil {
				t.Fatal(err)
			}
			res := got.(*light.CallResult)
			if !bytes.Equal(res.Output, want.Output) || res.GasUsed != want.GasUsed || (res.Err == "") != (want.Err == nil) {
				t.Fatalf("verified %+v, the chain says %+v", res, want)
			}
		case *light.AccountBundle:
			a := got.(*light.Account)
			want, err := tc.c.Account(b.Address, info.Height)
			if err != nil {
				t.Fatal(err)
			}
			if a.Nonce != want.Nonce || !a.Balance.Eq(want.Balance) || a.CodeHash != want.CodeHash || a.Admin != want.Admin {
				t.Fatalf("verified %+v, the chain says %+v", a, want)
			}
			for k, val := range a.Storage {
				wv, _, err := tc.c.Storage(b.Address, []byte(k), info.Height)
				if err != nil || !bytes.Equal(wv, val) {
					t.Fatalf("verified storage %x = %x, the chain says %x (%v)", k, val, wv, err)
				}
			}
		case *light.ReceiptBundle:
			r := got.(*types.Receipt)
			want, err := tc.c.Receipt(r.TxHash)
			if err != nil || !bytes.Equal(want.Encode(), r.Encode()) {
				t.Fatalf("verified receipt %+v, the chain says %+v (%v)", r, want, err)
			}
		}
	})
}
