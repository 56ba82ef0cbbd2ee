package loadgen

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Deploy deploys code signed by key and returns the contract's address.
func Deploy(ctx context.Context, cl *client.Client, key *ecdsa.PrivateKey, code []byte) (types.Address, error) {
	_, r, err := cl.Transact(ctx, key, &client.TxRequest{Kind: types.TxDeploy, Code: code})
	if err != nil {
		return types.Address{}, err
	}
	if r.Status != 1 || r.ContractAddress == nil {
		return types.Address{}, fmt.Errorf("failed: %s", r.Error)
	}
	return *r.ContractAddress, nil
}

// increments signs calls of a counter's increment: one chain, gas price and gas limit.
type increments struct {
	chainID uint64
	counter types.Address
	price   *uint256.Int
	gas     uint64 // the estimate plus client.GasMargin
}

// newIncrements asks the node for the chain id, the gas price, and the gas of an
// increment sent by from.
func newIncrements(ctx context.Context, cl *client.Client, counter, from types.Address) (*increments, error) {
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	price, err := cl.GasPrice(ctx)
	if err != nil {
		return nil, err
	}
	gas, err := cl.EstimateGas(ctx, rpctypes.CallArgs{From: &from, To: &counter, Method: "increment"}, rpctypes.LatestBlock)
	if err != nil {
		return nil, fmt.Errorf("estimate increment: %w", err)
	}
	return &increments{chainID: chainID, counter: counter, price: price, gas: gas + gas/client.GasMargin}, nil
}

// sign returns the increment of key's account with nonce.
func (in *increments) sign(key *ecdsa.PrivateKey, nonce uint64) *types.Tx {
	tx := &types.Tx{ChainID: in.chainID, Nonce: nonce, GasPrice: in.price, GasLimit: in.gas, Kind: types.TxInvoke,
		To: in.counter, Value: new(uint256.Int), Method: "increment"}
	if err := tx.Sign(key); err != nil {
		panic(err) // an in-memory key always signs
	}
	return tx
}

// fee is what n increments can cost at most.
func (in *increments) fee(n int) *uint256.Int {
	return new(uint256.Int).Mul(uint256.NewInt(in.gas*uint64(n)), in.price)
}

// counterValue reads the counter's value (get answers 8 bytes, big-endian).
func counterValue(ctx context.Context, cl *client.Client, counter types.Address) (uint64, error) {
	res, err := cl.Call(ctx, rpctypes.CallArgs{To: &counter, Method: "get"}, rpctypes.LatestBlock)
	if err != nil {
		return 0, fmt.Errorf("counter get: %w", err)
	}
	if len(res.Output) != 8 {
		return 0, fmt.Errorf("counter get: %d bytes, not 8 (is %s a counter?)", len(res.Output), counter.Hex())
	}
	return binary.BigEndian.Uint64(res.Output), nil
}

// checkCounter waits a little for the node to show the counter at want (the last blocks
// may reach it after the other nodes), and reports a mismatch. Up to slack more are
// fine: transactions given up on may still have been committed.
func checkCounter(ctx context.Context, cl *client.Client, counter types.Address, want, slack uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		got, err := counterValue(ctx, cl, counter)
		if err != nil {
			return err
		}
		if got >= want && got <= want+slack {
			return nil
		}
		mismatch := fmt.Errorf("counter is %d after the run, want %d: the finality tracking missed increments (or someone else incremented it)", got, want)
		if got > want+slack {
			return mismatch
		}
		select {
		case <-ctx.Done():
			return mismatch
		case <-time.After(50 * time.Millisecond):
		}
	}
}
