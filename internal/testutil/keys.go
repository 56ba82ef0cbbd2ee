package testutil

import (
	"context"
	"crypto/ecdsa"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// ChainID is the chain id of the genesis NewTestChain makes and the default of SignTx.
const ChainID = 4242

// Key returns a new secp256k1 key.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Addr is the account address of k.
func Addr(k *ecdsa.PrivateKey) types.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// SignTx fills in chain id (ChainID), gas price 1 and value 0 where unset, signs tx
// with key and returns it.
func SignTx(t testing.TB, key *ecdsa.PrivateKey, tx *types.Tx) *types.Tx {
	t.Helper()
	if tx.ChainID == 0 {
		tx.ChainID = ChainID
	}
	if tx.GasPrice == nil {
		tx.GasPrice = uint256.NewInt(1)
	}
	if tx.Value == nil {
		tx.Value = new(uint256.Int)
	}
	if err := tx.Sign(key); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestChain is a genesis with the keys of its validators and funded accounts.
type TestChain struct {
	Gen      *genesis.Genesis
	Vals     []*ecdsa.PrivateKey
	Accounts []*ecdsa.PrivateKey
}

// NewTestChain makes a dev genesis of chain ChainID with nVals validators of power 10
// and nAccounts accounts holding 1e18 each, all with keys generated here.
func NewTestChain(t testing.TB, nVals, nAccounts int) *TestChain {
	t.Helper()
	tc := &TestChain{}
	var pubs []*ecdsa.PublicKey
	for range nVals {
		k := Key(t)
		tc.Vals = append(tc.Vals, k)
		pubs = append(pubs, &k.PublicKey)
	}
	g := genesis.Dev(ChainID, pubs...)
	g.Accounts = nil
	for range nAccounts {
		k := Key(t)
		tc.Accounts = append(tc.Accounts, k)
		g.Accounts = append(g.Accounts, genesis.Account{Address: Addr(k), Balance: genesis.AmountOf(1e18)})
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	tc.Gen = g
	return tc
}

// MemChain opens a chain of g over an in-memory Pebble database and a real VM, both
// closed with the test.
func MemChain(t testing.TB, g *genesis.Genesis) *chain.Chain {
	t.Helper()
	db, err := state.OpenMemPebble()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := state.New(db, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.New(context.Background(), vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	c, err := chain.New(db, st, m, g, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.WaitDurable() }) // no background sync may outlive the database
	return c
}

// SignVote returns a vote of key on chain ChainID.
func SignVote(t testing.TB, key *ecdsa.PrivateKey, typ types.SignedMsgType, height uint64, round int32, hash types.Hash) *types.Vote {
	t.Helper()
	v := &types.Vote{Type: typ, Height: height, Round: round, BlockHash: hash, Validator: Addr(key)}
	if err := v.Sign(ChainID, key); err != nil {
		t.Fatal(err)
	}
	return v
}

// Certify returns a commit of hash at height and round, signed by keys.
func Certify(t testing.TB, height uint64, round int32, hash types.Hash, keys ...*ecdsa.PrivateKey) *types.Commit {
	t.Helper()
	var votes []*types.Vote
	for _, k := range keys {
		votes = append(votes, SignVote(t, k, types.PrecommitType, height, round, hash))
	}
	c, err := types.NewCommit(votes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewPool returns a mempool for g's chain over accounts, with g's limits and minimum gas
// price.
func NewPool(g *genesis.Genesis, accounts mempool.AccountState) *mempool.Pool {
	return mempool.New(mempool.Config{ChainID: g.ChainID, MinGasPrice: g.Params.MinGasPrice.Int(),
		MaxTxGas: g.Params.BlockGasLimit, MaxTxBytes: int(g.Params.MaxTxBytes)}, accounts)
}

// EncodeMsg is consensus.EncodeMessage for a message the test knows is valid.
func EncodeMsg(t testing.TB, m *consensus.Message) []byte {
	t.Helper()
	b, err := consensus.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
