package rpctypes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// FuzzBlockNumber: any JSON either decodes to latest or a height, or is an error; a
// decoded number re-encodes to a value that decodes to the same number.
func FuzzBlockNumber(f *testing.F) {
	for _, s := range []string{`"latest"`, `"earliest"`, `"pending"`, `"0x0"`, `"0x1a"`, `"0x01"`, `12`, `-1`, `1e3`, `"0x"`, `null`, `"LATEST"`, `"0xffffffffffffffffff"`, `4611686018427387905`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b rpctypes.BlockNumber
		if err := json.Unmarshal(data, &b); err != nil {
			return
		}
		if b < rpctypes.LatestBlock {
			t.Fatalf("%s decoded to %d", data, b)
		}
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var b2 rpctypes.BlockNumber
		if err := json.Unmarshal(enc, &b2); err != nil || b2 != b {
			t.Fatalf("%s -> %d -> %s -> %d (%v)", data, b, enc, b2, err)
		}
	})
}

func TestParseAddress(t *testing.T) {
	good := "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
	for _, s := range []string{good, strings.ToLower(good), "0x" + strings.ToUpper(good[2:])} {
		if a, err := rpctypes.ParseAddress(s); err != nil || a.Hex() != good {
			t.Errorf("%s: %s %v", s, a.Hex(), err)
		}
	}
	for _, s := range []string{"", "0x", good[2:], good + "00", "0xf39fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xg39fd6e51aad88f6f4ce6ab8827279cfffb92266"} {
		if _, err := rpctypes.ParseAddress(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// FuzzParseAddress: any string is either refused or parses to an address whose
// checksummed, lower-case and upper-case forms all parse back to it.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
		"0XF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266", "0x", "", "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xf39Fd6e51aad88f6F4ce6aB8827279cffFb92266"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := rpctypes.ParseAddress(s)
		if err != nil {
			return
		}
		for _, form := range []string{a.Hex(), strings.ToLower(a.Hex()), "0x" + strings.ToUpper(a.Hex()[2:])} {
			if b, err := rpctypes.ParseAddress(form); err != nil || b != a {
				t.Fatalf("%q -> %s, then %q -> %s %v", s, a.Hex(), form, b.Hex(), err)
			}
		}
	})
}

// A signed result verifies for its signer only, and not once any field changes.
func TestVerifySignedResult(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r := &rpctypes.SignedResult{ChainID: 7, Kind: rpctypes.KindReceipt, Height: 3, StateRoot: types.Hash{1},
		ResultHash: types.Hash{2}, Signer: crypto.PubkeyToAddress(key.PublicKey)}
	digest := r.Digest()
	if r.Signature, err = crypto.Sign(digest.Bytes(), key); err != nil {
		t.Fatal(err)
	}
	if err := rpctypes.VerifySignedResult(r); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(r *rpctypes.SignedResult){
		"chain id":    func(r *rpctypes.SignedResult) { r.ChainID++ },
		"kind":        func(r *rpctypes.SignedResult) { r.Kind = rpctypes.KindCall },
		"height":      func(r *rpctypes.SignedResult) { r.Height++ },
		"state root":  func(r *rpctypes.SignedResult) { r.StateRoot[0]++ },
		"result hash": func(r *rpctypes.SignedResult) { r.ResultHash[31]++ },
		"signer":      func(r *rpctypes.SignedResult) { r.Signer[0]++ },
		"signature":   func(r *rpctypes.SignedResult) { r.Signature = bytes.Clone(r.Signature); r.Signature[5]++ },
		"short sig":   func(r *rpctypes.SignedResult) { r.Signature = r.Signature[:64] },
	} {
		bad := *r
		change(&bad)
		if err := rpctypes.VerifySignedResult(&bad); !errors.Is(err, rpctypes.ErrBadResultSignature) {
			t.Errorf("%s changed: %v", name, err)
		}
	}
}
