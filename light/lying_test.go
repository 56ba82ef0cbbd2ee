package light_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// roundTrip encodes a bundle as a node sends it and decodes it as a client reads it.
func roundTrip[T any](t *testing.T, b T) T {
	t.Helper()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := light.Decode(data)
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	out, ok := got.(T)
	if !ok {
		t.Fatalf("decoded %T", got)
	}
	return out
}

// resign replaces the header of a certificate and signs it again with signers.
func resign(t *testing.T, c *light.Certificate, mod func(h *types.Header), signers []string) {
	t.Helper()
	h, err := types.DecodeHeader(c.Header)
	if err != nil {
		t.Fatal(err)
	}
	mod(h)
	c.Header = h.Encode()
	c.Commit = signCommit(t, h.ChainID, h.Height, 0, h.Hash(), signers).Encode()
}

func flip(b []byte, i int) { b[i%len(b)] ^= 0x40 }

// TestLyingNode tampers with each part of honest answers in turn, as a lying node
// would: every lie is caught with the error naming what disagreed, and the honest answer
// verifies.
func TestLyingNode(t *testing.T) {
	tc := newTestChain(t, testChainID)
	other := newTestChain(t, testChainID+1) // same validators, another chain id
	v := tc.verifier(t)
	ctx := context.Background()

	token := tc.contracts["token"]
	call := chain.CallMsg{To: token, Method: "balance_of", Args: addrOf("bob").Bytes()}
	honest := roundTrip(t, tc.callBundle(t, call))
	res, info, err := v.VerifyCall(ctx, honest, nil)
	if err != nil {
		t.Fatalf("honest call: %v", err)
	}
	if len(res.Output) != 32 || res.Output[31] != 250 || info.Height != tc.c.Head().Height || info.ChainID != testChainID {
		t.Fatalf("honest call: %x at %+v", res.Output, info)
	}
	storageRead := -1
	for i, r := range honest.Reads {
		if r.Key[0] == state.StoragePrefix && r.Value != nil {
			storageRead = i
		}
	}
	if storageRead < 0 || len(honest.Reads) < 3 {
		t.Fatalf("witness of balance_of: %d reads, none of a present storage key", len(honest.Reads))
	}

	callCases := []struct {
		name string
		lie  func(b *light.CallBundle)
		want error
	}{
		{"output bytes", func(b *light.CallBundle) { flip(b.Result.Output, 31) }, light.ErrOutput},
		{"gas used", func(b *light.CallBundle) { b.Result.GasUsed++ }, light.ErrGas},
		{"claims a failure", func(b *light.CallBundle) { b.Result.Error = "revert: no" }, light.ErrCallError},
		{"invents an event", func(b *light.CallBundle) {
			b.Result.Events = append(b.Result.Events, light.Event{Contract: token, Topic: []byte("x"), Data: []byte{}})
		}, light.ErrEvents},
		{"storage value", func(b *light.CallBundle) { flip(*b.Reads[storageRead].Value, 31) }, light.ErrProof},
		{"storage value absent", func(b *light.CallBundle) { b.Reads[storageRead].Value = nil }, light.ErrProof},
		{"proof node", func(b *light.CallBundle) { flip(b.Reads[0].Proof, len(b.Reads[0].Proof)-1) }, light.ErrProof},
		{"proof for another key", func(b *light.CallBundle) { b.Reads[0].Proof = b.Reads[1].Proof }, light.ErrProof},
		{"witness missing a key", func(b *light.CallBundle) {
			b.Reads = append(b.Reads[:storageRead:storageRead], b.Reads[storageRead+1:]...)
		}, light.ErrWitnessMissing},
		{"witness missing the code", func(b *light.CallBundle) {
			for i, r := range b.Reads {
				if r.Key[0] == state.CodePrefix {
					b.Reads = append(b.Reads[:i:i], b.Reads[i+1:]...)
					return
				}
			}
			t.Fatal("no code read")
		}, light.ErrWitnessMissing},
		{"state root", func(b *light.CallBundle) {
			h, _ := types.DecodeHeader(b.Cert.Header)
			h.StateRoot[0] ^= 1
			b.Cert.Header = h.Encode()
		}, light.ErrBlockHash},
		{"state root, re-signed by a minority", func(b *light.CallBundle) {
			resign(t, &b.Cert, func(h *types.Header) { h.StateRoot[0] ^= 1 }, []string{"v0"})
		}, light.ErrPower},
		{"commit signature", func(b *light.CallBundle) {
			cm, _ := types.DecodeCommit(b.Cert.Commit)
			flip(cm.Sigs[1].Sig, 7)
			b.Cert.Commit = cm.Encode()
		}, light.ErrSignature},
		{"voting power below 2/3", func(b *light.CallBundle) {
			cm, _ := types.DecodeCommit(b.Cert.Commit)
			cm.Sigs = cm.Sigs[:2]
			b.Cert.Commit = cm.Encode()
		}, light.ErrPower},
		{"commit of another height", func(b *light.CallBundle) {
			b.Cert.Commit = tc.cert(t, 1).Commit
		}, light.ErrHeight},
		{"another validator set", func(b *light.CallBundle) {
			b.Cert.Validators = b.Cert.Validators[:3]
		}, light.ErrValidators},
		{"header from another chain id", func(b *light.CallBundle) {
			*b = *other.callBundle(t, call)
		}, light.ErrChain},
		{"height of the header", func(b *light.CallBundle) {
			resign(t, &b.Cert, func(h *types.Header) { h.Height++ }, testValidators)
			cm, _ := types.DecodeCommit(b.Cert.Commit)
			cm.Height--
			b.Cert.Commit = cm.Encode()
		}, light.ErrHeight},
		{"answers another call", func(b *light.CallBundle) { b.Call.Args = addrOf("alice").Bytes() }, light.ErrQuestion},
		{"bad proof encoding", func(b *light.CallBundle) { b.Reads[0].Proof = b.Reads[0].Proof[:3] }, light.ErrMalformed},
	}
	for _, c := range callCases {
		t.Run("call/"+c.name, func(t *testing.T) {
			b := roundTrip(t, tc.callBundle(t, call))
			c.lie(b)
			want := &light.Call{To: token, Method: "balance_of", Args: addrOf("bob").Bytes()}
			_, _, err := v.VerifyCall(ctx, roundTrip(t, b), want)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			t.Log(err)
		})
	}

	// A node that runs the call with less gas than asked answers another question (a
	// contract can read the gas it has left), even when everything else is honest.
	{
		low := call
		low.Gas = 1_000_000
		b := roundTrip(t, tc.callBundle(t, low))
		asked := &light.Call{To: token, Method: "balance_of", Args: addrOf("bob").Bytes(), Gas: 2_000_000}
		if _, _, err := v.VerifyCall(ctx, b, asked); !errors.Is(err, light.ErrQuestion) {
			t.Fatalf("call run with less gas than asked: got %v, want %v", err, light.ErrQuestion)
		}
		asked.Gas = 1_000_000
		if _, _, err := v.VerifyCall(ctx, b, asked); err != nil {
			t.Fatalf("call run with the gas asked: %v", err)
		}
	}

	// An account with a storage key present and one absent.
	counter := tc.contracts["counter"]
	acc := roundTrip(t, tc.accountBundle(t, counter, []byte("count"), []byte("nothing")))
	a, _, err := v.VerifyAccount(acc, counter)
	if err != nil || a.CodeHash == (types.Hash{}) || binary.BigEndian.Uint64(a.Storage["count"]) != 2 || a.Storage["nothing"] != nil {
		t.Fatalf("honest account: %+v %v", a, err)
	}
	accCases := []struct {
		name string
		lie  func(b *light.AccountBundle)
		want error
	}{
		{"account value", func(b *light.AccountBundle) { flip(*b.Account.Value, 3) }, light.ErrProof},
		{"storage value", func(b *light.AccountBundle) { flip(*b.Storage[0].Value, 7) }, light.ErrProof},
		{"absent made present", func(b *light.AccountBundle) { v := hexutil.Bytes("x"); b.Storage[1].Value = &v }, light.ErrProof},
		{"another account", func(b *light.AccountBundle) { b.Address = addrOf("bob") }, light.ErrQuestion},
		{"proof node", func(b *light.AccountBundle) { flip(b.Storage[0].Proof, 40) }, light.ErrProof},
	}
	for _, c := range accCases {
		t.Run("account/"+c.name, func(t *testing.T) {
			b := roundTrip(t, tc.accountBundle(t, counter, []byte("count"), []byte("nothing")))
			c.lie(b)
			if _, _, err := v.VerifyAccount(roundTrip(t, b), counter); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}

	// A receipt of the second block (three txs).
	blk, err := tc.c.BlockByNumber(2)
	if err != nil {
		t.Fatal(err)
	}
	txh := blk.Txs[1].Hash()
	r, info, err := v.VerifyReceipt(roundTrip(t, tc.receiptBundle(t, txh)), txh)
	if err != nil || r.TxHash != txh || !r.Succeeded() || info.Height != 2 {
		t.Fatalf("honest receipt: %+v %+v %v", r, info, err)
	}
	recCases := []struct {
		name string
		lie  func(b *light.ReceiptBundle)
		want error
	}{
		{"receipt output", func(b *light.ReceiptBundle) {
			rc, _ := types.DecodeReceipt(b.Receipt)
			rc.GasUsed--
			b.Receipt = rc.Encode()
		}, light.ErrProof},
		{"path", func(b *light.ReceiptBundle) { b.Path[0][5] ^= 1 }, light.ErrProof},
		{"index", func(b *light.ReceiptBundle) { b.Index++ }, light.ErrHeight},
		{"another tx", func(b *light.ReceiptBundle) { *b = *tc.receiptBundle(t, blk.Txs[0].Hash()) }, light.ErrQuestion},
		{"commit signature", func(b *light.ReceiptBundle) {
			cm, _ := types.DecodeCommit(b.Cert.Commit)
			flip(cm.Sigs[0].Sig, 9)
			b.Cert.Commit = cm.Encode()
		}, light.ErrSignature},
	}
	for _, c := range recCases {
		t.Run("receipt/"+c.name, func(t *testing.T) {
			b := roundTrip(t, tc.receiptBundle(t, txh))
			c.lie(b)
			if _, _, err := v.VerifyReceipt(roundTrip(t, b), txh); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}
