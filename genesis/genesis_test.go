package genesis

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/types"
)

func loadTestGenesis(t *testing.T) *Genesis {
	t.Helper()
	g, err := Load("testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestLoad(t *testing.T) {
	g := loadTestGenesis(t)
	if g.ChainID != 42 || g.TimeMs() != 1748779200000 {
		t.Fatalf("chain id %d time %d", g.ChainID, g.TimeMs())
	}
	want := DefaultParams()
	want.BlockGasLimit = 100_000_000
	want.MinGasPrice = AmountOf(2)
	if g.Params != want {
		t.Fatalf("params %+v, want %+v", g.Params, want)
	}
	// The address left out is derived from the public key.
	if g.Validators[1].Address != common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC") {
		t.Fatalf("derived validator address %s", g.Validators[1].Address)
	}
	if g.Accounts[1].Balance.Int().Uint64() != 500 || g.Accounts[1].Nonce != 3 {
		t.Fatalf("account %+v", g.Accounts[1])
	}
	code, _ := os.ReadFile("testdata/min.wasm")
	c := g.Contracts[0]
	if !bytes.Equal(c.Code.Bytes, code) || len(c.Storage) != 1 || string(c.Storage[0].Key) != "count" {
		t.Fatalf("contract %+v", c)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	g := loadTestGenesis(t)
	b, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Parse(b, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if err := g2.Validate(); err != nil {
		t.Fatal(err)
	}
	if g2.Hash() != g.Hash() {
		t.Fatal("marshal/parse changed the hash")
	}
	// Save and Load through a file.
	p := filepath.Join(t.TempDir(), "genesis.json")
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	g3, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if g3.Hash() != g.Hash() {
		t.Fatal("save/load changed the hash")
	}
}

func TestHashCoversContent(t *testing.T) {
	base := loadTestGenesis(t).Hash()
	muts := map[string]func(*Genesis){
		"chain id":  func(g *Genesis) { g.ChainID++ },
		"time":      func(g *Genesis) { g.GenesisTime = g.GenesisTime.Add(1e6) },
		"gas limit": func(g *Genesis) { g.Params.BlockGasLimit++ },
		"min price": func(g *Genesis) { g.Params.MinGasPrice = AmountOf(3) },
		"power":     func(g *Genesis) { g.Validators[0].Power++ },
		"order":     func(g *Genesis) { g.Validators[0], g.Validators[1] = g.Validators[1], g.Validators[0] },
		"balance":   func(g *Genesis) { g.Accounts[0].Balance = AmountOf(1) },
		"nonce":     func(g *Genesis) { g.Accounts[1].Nonce++ },
		"code":      func(g *Genesis) { g.Contracts[0].Code.Bytes = append([]byte{}, g.Contracts[0].Code.Bytes[:8]...) },
		"admin":     func(g *Genesis) { g.Contracts[0].Admin = types.Address{} },
		"storage":   func(g *Genesis) { g.Contracts[0].Storage[0].Value = []byte{1} },
	}
	for name, m := range muts {
		g := loadTestGenesis(t)
		m(g)
		if g.Hash() == base {
			t.Errorf("%s: hash unchanged", name)
		}
	}
}

func TestAmount(t *testing.T) {
	ok := map[string]uint64{`"1000"`: 1000, `"0x3e8"`: 1000, `1000`: 1000, `"0"`: 0}
	for in, want := range ok {
		var a Amount
		if err := a.UnmarshalJSON([]byte(in)); err != nil || a.Int().Uint64() != want {
			t.Errorf("%s: %v %v", in, a, err)
		}
	}
	max := `"` + new(uint256.Int).SetAllOne().Dec() + `"`
	var a Amount
	if err := a.UnmarshalJSON([]byte(max)); err != nil {
		t.Errorf("2^256-1: %v", err)
	}
	for _, in := range []string{`"-1"`, `-1`, `1.5`, `1e3`, `""`, `"12a"`, `"0x"`, `"+5"`, `true`, `null`,
		`"115792089237316195423570985008687907853269984665640564039457584007913129639936"`} {
		var a Amount
		if err := a.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s accepted as %s", in, a)
		}
	}
}

// edit returns the test genesis file with old replaced by new (once, which must match).
func edit(t *testing.T, old, new string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not in the test genesis", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func TestRejects(t *testing.T) {
	const (
		val0 = `"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"`
		key1 = `"pub_key": "0x039d9031e97dd78ff8c15aa86939de9b1e791066a0224e331bc962a2099a7b1f04"`
		bob  = `"0x0000000000000000000000000000000000000b0b"`
	)
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown field", `"chain_id": 42,`, `"chain_id": 42, "chainId": 1,`, "unknown field"},
		{"unknown param", `"block_gas_limit"`, `"block_gas"`, "unknown field"},
		{"trailing data", "\n}\n", "\n} {}", "trailing data"},
		{"trailing garbage", "\n}\n", "\n} x", "trailing data"},
		{"chain id 0", `"chain_id": 42`, `"chain_id": 0`, "chain_id is 0"},
		{"negative chain id", `"chain_id": 42`, `"chain_id": -1`, "cannot unmarshal"},
		{"no time", `"genesis_time": "2025-06-01T12:00:00Z",`, ``, "genesis_time missing"},
		{"bad time", `2025-06-01T12:00:00Z`, `yesterday`, "cannot parse"},
		{"gas limit", `"block_gas_limit": 100000000`, `"block_gas_limit": 10`, "block_gas_limit"},
		{"block bytes", `"block_gas_limit"`, `"max_block_bytes": 10, "block_gas_limit"`, "max_block_bytes"},
		{"tx bytes", `"block_gas_limit"`, `"max_tx_bytes": 99999999, "block_gas_limit"`, "max_tx_bytes"},
		{"gas schedule", `"block_gas_limit"`, `"gas_schedule_version": 99, "block_gas_limit"`, "gas_schedule_version"},
		{"no validators", `"validators": [`, `"validators": [], "x": [`, "unknown field"},
		{"zero power", `"power": 5`, `"power": 0`, "power is 0"},
		{"bad key", key1, `"pub_key": "0x039d9031e97dd78ff8c15aa86939de9b1e791066a0224e331bc962a2099a7b1f05"`, "pub_key"},
		{"short key", key1, `"pub_key": "0x039d90"`, "pub_key"},
		{"address mismatch", val0, `"address": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"`, "does not match pub_key"},
		{"duplicate validator", key1, `"pub_key": "0x02ba5734d8f7091719471e7f7ed6b9df170dc70cc661ca05e688601ad984f068b0"`, "duplicate"},
		{"duplicate account", bob, `"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"`, "duplicate address"},
		{"contract is account", `"0x00000000000000000000000000000000000c0de1"`, bob, "duplicate address"},
		{"zero address", bob, `"0x0000000000000000000000000000000000000000"`, "zero address"},
		{"overflow", `"balance": 500`, `"balance": "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"`, "overflow"},
		{"bad balance", `"balance": 500`, `"balance": -500`, "amount"},
		{"short address", bob, `"0x0b0b"`, "want 40"},
		{"duplicate storage", `{"0x636f756e74": "0x0000000000000005"}`, `{"0x636f756e74": "0x05", "0x636f756e74": "0x06"}`, "duplicate key"},
		{"duplicate storage hex", `{"0x636f756e74": "0x0000000000000005"}`, `{"0x636f756e74": "0x05", "0x636F756E74": "0x06"}`, "duplicate storage key"},
		{"empty storage key", `"0x636f756e74"`, `"0x"`, "storage key"},
		{"not wasm", `"code": "min.wasm"`, `"code": "0x01020304"`, "not raw Wasm"},
		{"missing code file", `"code": "min.wasm"`, `"code": "nope.wasm"`, "nope.wasm"},
		{"bad hex code", `"code": "min.wasm"`, `"code": "0xzz"`, "code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Parse(edit(t, c.old, c.new), "testdata")
			if err == nil {
				err = g.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v does not wrap ErrInvalid", err)
			}
		})
	}
	// Code paths are refused when parsing without a directory.
	b, _ := os.ReadFile("testdata/genesis.json")
	if _, err := Parse(b, ""); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("code path without dir: %v", err)
	}
	// Validate reports every problem at once.
	g, _ := Parse(edit(t, `"chain_id": 42`, `"chain_id": 0`), "testdata")
	g.Validators[0].Power = 0
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "chain_id") || !strings.Contains(err.Error(), "power is 0") {
		t.Fatalf("joined errors: %v", err)
	}
	// No validators at all.
	g = Dev(5)
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "no validators") {
		t.Fatalf("no validators: %v", err)
	}
}

func TestDev(t *testing.T) {
	k := DevKey()
	if crypto.PubkeyToAddress(k.PublicKey) != DevAddress {
		t.Fatal("DevKeyHex does not match DevAddress")
	}
	if !IsDevChain(DevChainID) || IsDevChain(1) || IsDevChain(42) {
		t.Fatal("IsDevChain")
	}
	v1, _ := crypto.GenerateKey()
	v2, _ := crypto.GenerateKey()
	g := Dev(DevChainID, &v1.PublicKey, &v2.PublicKey)
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(g.Validators) != 2 || g.Accounts[0].Address != DevAddress || g.Accounts[0].Balance.Int().ToBig().Cmp(DevBalance) != 0 {
		t.Fatalf("dev genesis %+v", g)
	}
	if h1, h2 := Dev(DevChainID, &v1.PublicKey).Hash(), Dev(DevChainID, &v1.PublicKey).Hash(); h1 != h2 {
		t.Fatal("dev genesis is not deterministic")
	}
	b, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Parse(b, "")
	if err != nil || g2.Validate() != nil || g2.Hash() != g.Hash() {
		t.Fatalf("dev genesis round trip: %v", err)
	}
}

type write struct {
	op         string
	addr       types.Address
	arg, value string
}

type recorder struct{ w []write }

func (r *recorder) AddBalance(a types.Address, v *uint256.Int) {
	r.w = append(r.w, write{"balance", a, v.Dec(), ""})
}
func (r *recorder) SetNonce(a types.Address, n uint64) {
	r.w = append(r.w, write{"nonce", a, uint256.NewInt(n).Dec(), ""})
}
func (r *recorder) SetCode(a types.Address, c []byte) {
	r.w = append(r.w, write{"code", a, string(c), ""})
}
func (r *recorder) SetAdmin(a, admin types.Address) {
	r.w = append(r.w, write{"admin", a, admin.Hex(), ""})
}
func (r *recorder) SetStorage(a types.Address, k, v []byte) {
	r.w = append(r.w, write{"storage", a, string(k), string(v)})
}

func TestInitialState(t *testing.T) {
	g := loadTestGenesis(t)
	var r recorder
	g.InitialState(&r)
	code, _ := os.ReadFile("testdata/min.wasm")
	c := common.HexToAddress("0xc0de1")
	want := []write{
		{"balance", DevAddress, "1000000000000000000000", ""},
		{"balance", common.HexToAddress("0xb0b"), "500", ""},
		{"nonce", common.HexToAddress("0xb0b"), "3", ""},
		{"code", c, string(code), ""},
		{"admin", c, DevAddress.Hex(), ""},
		{"balance", c, "7", ""},
		{"storage", c, "count", "\x00\x00\x00\x00\x00\x00\x00\x05"},
	}
	if len(r.w) != len(want) {
		t.Fatalf("writes %+v", r.w)
	}
	for i := range want {
		if r.w[i] != want[i] {
			t.Errorf("write %d: %+v, want %+v", i, r.w[i], want[i])
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/genesis.json")
	f.Add(bytes.Replace(b, []byte(`"code": "min.wasm"`), []byte(`"code": "0x0061736d01000000"`), 1))
	f.Add(b)
	f.Add([]byte(`{"chain_id": 1, "accounts": [{"address": "0x0000000000000000000000000000000000000001", "balance": "0x10"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(b, "")
		if err != nil || g.Validate() != nil {
			return
		}
		// A valid genesis survives a marshal/parse round trip with the same hash.
		out, err := g.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		g2, err := Parse(out, "")
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		if err := g2.Validate(); err != nil {
			t.Fatalf("re-validate: %v", err)
		}
		if g2.Hash() != g.Hash() {
			t.Fatal("round trip changed the hash")
		}
	})
}

func TestValidatorSet(t *testing.T) {
	g := loadTestGenesis(t)
	vs, err := g.ValidatorSet()
	if err != nil {
		t.Fatal(err)
	}
	if vs.Len() != 2 || vs.TotalPower() != 15 || vs.Power(g.Validators[1].Address) != 5 {
		t.Fatalf("validator set: %d members, power %d", vs.Len(), vs.TotalPower())
	}
}
