package mempool_test

import (
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/types"
)

// funded is an AccountState in which every account has nonce 0 and plenty of coins.
type funded struct{}

func (funded) Account(types.Address) (uint64, *uint256.Int) { return 0, uint256.NewInt(1e18) }

// A pool accepts txs, holds back the one after a nonce gap, and hands a proposer the
// executable ones.
func Example() {
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("example key")))
	send := func(nonce uint64) *types.Tx {
		tx := &types.Tx{ChainID: 1, Nonce: nonce, GasPrice: uint256.NewInt(1), GasLimit: 100_000,
			Kind: types.TxTransfer, To: types.Address{1}, Value: uint256.NewInt(5)}
		_ = tx.Sign(key)
		return tx
	}
	pool := mempool.New(mempool.Config{ChainID: 1, MaxTxGas: 10_000_000}, funded{})
	for _, nonce := range []uint64{0, 2} {
		fmt.Println("add nonce", nonce, pool.Add(send(nonce)))
	}
	pending, queued := pool.Stats()
	fmt.Println("pending", pending, "queued", queued)

	fmt.Println("add nonce 1", pool.Add(send(1)))
	for _, tx := range pool.Pending(10_000_000, 1<<20, 100) {
		fmt.Println("block gets nonce", tx.Nonce)
	}
	// Output:
	// add nonce 0 <nil>
	// add nonce 2 <nil>
	// pending 1 queued 1
	// add nonce 1 <nil>
	// block gets nonce 0
	// block gets nonce 1
	// block gets nonce 2
}
