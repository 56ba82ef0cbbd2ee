package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/wnodetest"
)

// TestVerify runs the verifier's entry point natively on a real chain's witness of hello
// (the browser tests run it as WebAssembly): honest answers verify under the genesis hash
// and under the validator set's hash; a lie, another question, a wrong root and a
// malformed bundle each fail with their name, never OK.
func TestVerify(t *testing.T) {
	var g *genesis.Genesis
	c := wnodetest.New(t, wnodetest.Options{Genesis: func(x *genesis.Genesis) { g = x }})
	code, err := os.ReadFile("../../examples/hello/hello.wasm")
	if err != nil {
		t.Fatal(err)
	}
	hello := c.Deploy(c.Account(0), code, nil)
	ch := c.Chain()
	msg := chain.CallMsg{To: hello, Method: "hello", Args: []byte("world"), Gas: ch.CallGas(0)}
	res, w, err := ch.CallWitness(context.Background(), msg, c.Height())
	if err != nil {
		t.Fatal(err)
	}
	cm, err := ch.CommitAt(c.Height())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := ch.ValidatorsAt(c.Height())
	if err != nil {
		t.Fatal(err)
	}
	bundle := light.NewCallBundle(msg, res, w, light.NewCertificate(w.Header, cm, vs))
	honest, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bundle.Result.Output = hexutil.Bytes("hello, liar")
	lie, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}

	var vf verifiers
	for _, tc := range []struct {
		name      string
		root      string
		gen, b    []byte
		method    string
		wantError string // "" for OK
		wantKind  string
	}{
		{"genesis hash", g.Hash().Hex(), gen, honest, "hello", "", "genesis"},
		{"validators hash", vs.Hash().Hex(), gen, honest, "hello", "", "validators"},
		{"validators hash, no genesis", vs.Hash().Hex(), nil, honest, "hello", "", "validators"},
		{"genesis hash without the genesis", g.Hash().Hex(), nil, honest, "hello", "validator set mismatch", "validators"},
		{"lying output", g.Hash().Hex(), gen, lie, "hello", "output mismatch", "genesis"},
		{"another question", g.Hash().Hex(), gen, honest, "get", "answer to another question", "genesis"},
		{"not a hash", "0x1234", gen, honest, "hello", "bad trust root", ""},
		{"zero root", "0x0000000000000000000000000000000000000000000000000000000000000000", gen, honest, "hello", "bad trust root", ""},
		{"malformed bundle", g.Hash().Hex(), gen, []byte(`{"kind":"call"`), "hello", "malformed bundle", "genesis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vf.verify(context.Background(), &Request{Root: tc.root, Genesis: tc.gen, Bundle: tc.b, To: hello.Hex(), Method: tc.method, Args: []byte("world")})
			if r.OK != (tc.wantError == "") || r.Error != tc.wantError || r.RootKind != tc.wantKind {
				t.Fatalf("got ok=%v error %q (%s), root %q; want error %q, root %q", r.OK, r.Error, r.Detail, r.RootKind, tc.wantError, tc.wantKind)
			}
			if r.OK && (r.Output != hexutil.Encode([]byte("hello, world")) || r.Height != c.Height() || r.GasUsed != res.GasUsed) {
				t.Fatalf("verified %+v", r)
			}
		})
	}
}
