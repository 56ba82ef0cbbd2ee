package chain

import (
	"context"
	"crypto/ecdsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

const testChainID = 77

// testKey returns the deterministic key of a named test account or validator.
func testKey(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("wnode chain test key " + name)))
	if err != nil {
		panic(err)
	}
	return k
}

func addrOf(name string) types.Address { return crypto.PubkeyToAddress(testKey(name).PublicKey) }

// testAccounts are funded at genesis with testFunds each.
var testAccounts = []string{"alice", "bob", "carol"}

const testFunds = 1_000_000_000_000_000 // 10^15

// testValidators are the genesis validators, power 10 each.
var testValidators = []string{"v0", "v1", "v2"}

// testGenesis returns the genesis of the test chain; mod may change it.
func testGenesis(mod func(*genesis.Genesis)) *genesis.Genesis {
	g := &genesis.Genesis{
		ChainID:     testChainID,
		GenesisTime: genesis.DevGenesisTime,
		Params:      genesis.DefaultParams(),
	}
	g.Params.BlockGasLimit = 100_000_000
	for _, v := range testValidators {
		k := testKey(v)
		g.Validators = append(g.Validators, genesis.Validator{
			Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: 10, Name: v,
		})
	}
	for _, a := range testAccounts {
		g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(a), Balance: genesis.AmountOf(testFunds)})
	}
	if mod != nil {
		mod(g)
	}
	return g
}

// node is one chain with its own database.
type node struct {
	db *pebble.DB
	st *state.Store
	c  *Chain
}

// openNode opens a chain over a fresh in-memory database (dir "") or the database in dir.
func openNode(t testing.TB, dir string, machine *vm.VM, g *genesis.Genesis, opts Options) *node {
	t.Helper()
	var db *pebble.DB
	var err error
	if dir == "" {
		db, err = state.OpenMemPebble()
	} else {
		db, err = state.OpenPebble(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.New(db, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(db, st, machine, g, opts)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return &node{db: db, st: st, c: c}
}

func (n *node) close() { n.db.Close() }

// newVM returns a VM with the given engine, closed at the end of the test.
func newVM(t testing.TB, engine vm.Engine) *vm.VM {
	t.Helper()
	m, err := vm.New(context.Background(), vm.Config{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// commitFor returns the commit certificate of blk signed by every test validator.
func commitFor(t testing.TB, blk *types.Block) *types.Commit {
	t.Helper()
	votes := make([]*types.Vote, 0, len(testValidators))
	for _, v := range testValidators {
		k := testKey(v)
		vote := &types.Vote{Type: types.PrecommitType, Height: blk.Height(), BlockHash: blk.Hash(),
			Validator: crypto.PubkeyToAddress(k.PublicKey)}
		if err := vote.Sign(testChainID, k); err != nil {
			t.Fatal(err)
		}
		votes = append(votes, vote)
	}
	c, err := types.NewCommit(votes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// contractFiles maps short names to contract files, relative to the chain package.
var contractFiles = map[string]string{
	"counter":    "../examples/counter/counter.wasm",
	"hello":      "../examples/hello/hello.wasm",
	"token":      "../examples/token/token.wasm",
	"calls":      "../vm/testdata/c/calls.wasm",
	"traps":      "../vm/testdata/c/traps.wasm",
	"host":       "../vm/testdata/c/host.wasm",
	"kv1":        "testdata/wasm/kv1.wasm",
	"kv2":        "testdata/wasm/kv2.wasm",
	"gasleft":    "testdata/wasm/gasleft.wasm",
	"badmigrate": "testdata/wasm/badmigrate.wasm",
	"plain":      "testdata/wasm/plain.wasm",
}

func readContract(t testing.TB, name string) []byte {
	t.Helper()
	p, ok := contractFiles[name]
	if !ok {
		p = filepath.Join("testdata", "wasm", name)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signTx fills defaults (gas price 1, value 0), signs tx with the named key and returns it.
func signTx(t testing.TB, from string, tx *types.Tx) *types.Tx {
	t.Helper()
	if tx.ChainID == 0 {
		tx.ChainID = testChainID
	}
	if tx.GasPrice == nil {
		tx.GasPrice = uint256.NewInt(1)
	}
	if tx.Value == nil {
		tx.Value = new(uint256.Int)
	}
	if err := tx.Sign(testKey(from)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// produce builds a block of txs on n (proposer v0), commits it with a full commit and
// returns it with its commit.
func produce(t testing.TB, n *node, txs []*types.Tx, lastCommit *types.Commit) (*types.Block, *types.Commit) {
	t.Helper()
	ctx := context.Background()
	head := n.c.Head()
	blk, err := n.c.BuildBlock(ctx, txs, head.Time+1000, addrOf("v0"), lastCommit)
	if err != nil {
		t.Fatal(err)
	}
	cm := commitFor(t, blk)
	if err := n.c.CommitBlock(ctx, blk, cm); err != nil {
		t.Fatal(err)
	}
	return blk, cm
}

func mustAccount(t testing.TB, c *Chain, name string) *state.Account {
	t.Helper()
	a, err := c.Account(addrOf(name), LatestHeight)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
