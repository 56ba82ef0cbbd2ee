package light_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

const testChainID = 909

func testKey(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("wnode light test key " + name)))
	if err != nil {
		panic(err)
	}
	return k
}

func addrOf(name string) types.Address { return crypto.PubkeyToAddress(testKey(name).PublicKey) }

var testValidators = []string{"v0", "v1", "v2", "v3"}

// testGenesis has four validators of power 10 and two funded accounts.
func testGenesis(chainID uint64) *genesis.Genesis {
	g := &genesis.Genesis{ChainID: chainID, GenesisTime: genesis.DevGenesisTime, Params: genesis.DefaultParams()}
	g.Params.BlockGasLimit = 200_000_000
	for _, v := range testValidators {
		k := testKey(v)
		g.Validators = append(g.Validators, genesis.Validator{
			Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: 10, Name: v,
		})
	}
	for _, a := range []string{"alice", "bob"} {
		g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(a), Balance: genesis.AmountOf(1e18)})
	}
	return g
}

// testChain is a chain on an in-memory Pebble with four validators signing every block,
// and the example and test contracts deployed.
type testChain struct {
	g         *genesis.Genesis
	c         *chain.Chain
	nonce     map[string]uint64
	contracts map[string]types.Address
}

var contractFiles = map[string]string{
	"hello":   "../examples/hello/hello.wasm",
	"counter": "../examples/counter/counter.wasm",
	"token":   "../examples/token/token.wasm",
	"calls":   "../vm/testdata/c/calls.wasm",
	"traps":   "../vm/testdata/c/traps.wasm",
}

func newTestChain(t testing.TB, chainID uint64) *testChain { return newTestChainWith(t, chainID, 0) }

// newTestChainWith is newTestChain with filler accounts of balance 1 in the genesis
// state besides, for a state of realistic size.
func newTestChainWith(t testing.TB, chainID uint64, filler int) *testChain {
	t.Helper()
	g := testGenesis(chainID)
	for i := range filler {
		var a types.Address
		binary.BigEndian.PutUint64(a[12:], uint64(i)+1)
		g.Accounts = append(g.Accounts, genesis.Account{Address: a, Balance: genesis.AmountOf(1)})
	}
	return newTestChainOf(t, g)
}

// newTestChainOf is newTestChain of the genesis g.
func newTestChainOf(t testing.TB, g *genesis.Genesis) *testChain {
	t.Helper()
	c := testutil.MemChain(t, g)
	tc := &testChain{g: g, c: c, nonce: map[string]uint64{}, contracts: map[string]types.Address{}}
	var txs []*types.Tx
	for _, name := range []string{"hello", "counter", "token", "calls", "traps"} {
		code, err := os.ReadFile(contractFiles[name])
		if err != nil {
			t.Fatal(err)
		}
		var args []byte
		if name == "token" {
			args = binary.BigEndian.AppendUint64(nil, 1_000_000)
		}
		tc.contracts[name] = types.ContractAddress(addrOf("alice"), tc.nonce["alice"])
		txs = append(txs, tc.tx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: code, Args: args, GasLimit: 30_000_000}))
	}
	tc.produce(t, txs)
	tc.produce(t, []*types.Tx{
		tc.invoke(t, "alice", "counter", "increment", nil),
		tc.invoke(t, "alice", "token", "transfer", append(addrOf("bob").Bytes(), binary.BigEndian.AppendUint64(nil, 250)...)),
		tc.invoke(t, "alice", "calls", "set", append([]byte{3}, "abcvalue"...)),
	})
	tc.produce(t, []*types.Tx{tc.invoke(t, "bob", "counter", "increment", nil)})
	return tc
}

func (tc *testChain) tx(t testing.TB, from string, tx *types.Tx) *types.Tx {
	t.Helper()
	tx.ChainID, tx.Nonce, tx.GasPrice = tc.g.ChainID, tc.nonce[from], tc.g.Params.MinGasPrice.Int()
	if tx.Value == nil {
		tx.Value = new(uint256.Int)
	}
	if tx.GasLimit == 0 {
		tx.GasLimit = 5_000_000
	}
	tc.nonce[from]++
	if err := tx.Sign(testKey(from)); err != nil {
		t.Fatal(err)
	}
	return tx
}

func (tc *testChain) invoke(t testing.TB, from, contract, method string, args []byte) *types.Tx {
	return tc.tx(t, from, &types.Tx{Kind: types.TxInvoke, To: tc.contracts[contract], Method: method, Args: args})
}

// produce commits a block of txs signed by every validator, and checks they succeeded.
func (tc *testChain) produce(t testing.TB, txs []*types.Tx) {
	t.Helper()
	ctx := context.Background()
	head := tc.c.Head()
	var last *types.Commit
	if head.Height > 0 {
		var err error
		if last, err = tc.c.CommitAt(head.Height); err != nil {
			t.Fatal(err)
		}
	}
	// The block is proposed (by v0 while it is a member) and signed by the set of its
	// height, which changes when validator transactions pass.
	vs, err := tc.c.ValidatorsAt(head.Height + 1)
	if err != nil {
		t.Fatal(err)
	}
	proposer := addrOf("v0")
	if _, ok := vs.Index(proposer); !ok {
		proposer = vs.Proposer(head.Height+1, 0).Address
	}
	blk, err := tc.c.BuildBlock(ctx, txs, head.Time+1000, proposer, last)
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.c.CommitBlock(ctx, blk, signCommit(t, tc.g.ChainID, blk.Height(), 0, blk.Hash(), memberNames(vs))); err != nil {
		t.Fatal(err)
	}
	rs, err := tc.c.Receipts(blk.Height())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !r.Succeeded() {
			t.Fatalf("tx %d of block %d failed: %s", r.Index, r.Height, r.Error)
		}
	}
}

// keyNames are the test keys that may be validators.
var keyNames = []string{"v0", "v1", "v2", "v3", "v4", "w0", "w1", "w2", "w3"}

// memberNames returns the test key names of the members of vs.
func memberNames(vs *types.ValidatorSet) []string {
	var out []string
	for _, n := range keyNames {
		if _, ok := vs.Index(addrOf(n)); ok {
			out = append(out, n)
		}
	}
	if len(out) != vs.Len() {
		panic("a validator without a test key")
	}
	return out
}

// signCommit returns a commit for blockHash signed by the named validators.
func signCommit(t testing.TB, chainID, height uint64, round int32, blockHash types.Hash, signers []string) *types.Commit {
	t.Helper()
	var votes []*types.Vote
	for _, v := range signers {
		vote := &types.Vote{Type: types.PrecommitType, Height: height, Round: round, BlockHash: blockHash, Validator: addrOf(v)}
		if err := vote.Sign(chainID, testKey(v)); err != nil {
			t.Fatal(err)
		}
		votes = append(votes, vote)
	}
	cm, err := types.NewCommit(votes)
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func (tc *testChain) cert(t testing.TB, height uint64) light.Certificate {
	t.Helper()
	hdr, err := tc.c.HeaderByNumber(height)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := tc.c.CommitAt(height)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := tc.c.ValidatorsAt(height)
	if err != nil {
		t.Fatal(err)
	}
	return light.NewCertificate(hdr, cm, vs)
}

// callBundle is what an honest node answers to a witnessed call at the head.
func (tc *testChain) callBundle(t testing.TB, msg chain.CallMsg) *light.CallBundle {
	t.Helper()
	h := tc.c.Head().Height
	res, w, err := tc.c.CallWitness(context.Background(), msg, h)
	if err != nil {
		t.Fatal(err)
	}
	msg.Gas = tc.c.CallGas(msg.Gas)
	return light.NewCallBundle(msg, res, w, tc.cert(t, h))
}

func (tc *testChain) accountBundle(t testing.TB, addr types.Address, keys ...[]byte) *light.AccountBundle {
	t.Helper()
	h := tc.c.Head().Height
	acc, err := tc.c.Proof(state.AccountKey(addr), h)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*chain.StateProof
	for _, k := range keys {
		p, err := tc.c.Proof(state.StorageKey(addr, k), h)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return light.NewAccountBundle(addr, acc, keys, ps, tc.cert(t, h))
}

func (tc *testChain) receiptBundle(t testing.TB, txHash types.Hash) *light.ReceiptBundle {
	t.Helper()
	p, err := tc.c.ProveReceipt(txHash)
	if err != nil {
		t.Fatal(err)
	}
	return light.NewReceiptBundle(p, tc.cert(t, p.Header.Height))
}

func (tc *testChain) verifier(t testing.TB) *light.Verifier {
	t.Helper()
	tr, err := light.TrustGenesis(tc.g)
	if err != nil {
		t.Fatal(err)
	}
	v, err := light.New(tr, light.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) })
	return v
}
