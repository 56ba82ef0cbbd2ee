package client

import (
	"context"
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TxRequest describes a transaction for Client.BuildTx: what it does, and optionally the
// fields the client fills in by itself.
type TxRequest struct {
	Kind   types.TxKind
	To     types.Address // contract (invoke, upgrade) or recipient (transfer)
	Value  *uint256.Int  // nil: zero
	Method string        // invoke
	Args   []byte        // invoke, deploy (the init's input)
	Code   []byte        // deploy, upgrade

	ChainID  uint64       // 0: ask the node
	Nonce    *uint64      // nil: the sender's pending nonce
	GasPrice *uint256.Int // nil: the node's lowest accepted price
	GasLimit uint64       // 0: estimate, plus GasMargin
}

// ValidatorTxGas is the gas limit BuildTx gives a validator transaction (kinds
// TxValidatorPropose and TxValidatorVote) without one: these use the intrinsic gas only
// (about 64,000 on gas schedule v1), which the node cannot estimate through
// wn_estimateGas; the unused part is refunded.
const ValidatorTxGas = 200_000

// GasMargin is the share added to an estimated gas limit (25%): state may change between
// the estimate and the execution. Only the gas used is charged.
const GasMargin = 4 // limit = estimate + estimate/GasMargin

// BuildTx fills in the missing fields of req from the node and returns the transaction
// signed with key. Estimating runs the transaction on the node's latest state, so a
// transaction that would fail is reported here (an error with CodeExecutionFailed)
// rather than paid for; give a GasLimit to send it anyway.
func (c *Client) BuildTx(ctx context.Context, key *ecdsa.PrivateKey, req *TxRequest) (*types.Tx, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	tx := &types.Tx{
		ChainID: req.ChainID, Kind: req.Kind, To: req.To, Value: req.Value, Method: req.Method,
		Args: req.Args, Code: req.Code, GasPrice: req.GasPrice, GasLimit: req.GasLimit,
	}
	if tx.Value == nil {
		tx.Value = new(uint256.Int)
	}
	var err error
	if tx.ChainID == 0 {
		if tx.ChainID, err = c.ChainID(ctx); err != nil {
			return nil, err
		}
	}
	if req.Nonce != nil {
		tx.Nonce = *req.Nonce
	} else if tx.Nonce, err = c.PendingNonce(ctx, from); err != nil {
		return nil, err
	}
	if tx.GasPrice == nil {
		if tx.GasPrice, err = c.GasPrice(ctx); err != nil {
			return nil, err
		}
	}
	if tx.GasLimit == 0 && (tx.Kind == types.TxValidatorPropose || tx.Kind == types.TxValidatorVote) {
		tx.GasLimit = ValidatorTxGas
	}
	if tx.GasLimit == 0 {
		args := rpctypes.CallArgs{From: &from, Method: req.Method, Value: (*hexutil.U256)(tx.Value)}
		if len(req.Args) > 0 {
			args.Args = req.Args
		}
		if len(req.Code) > 0 {
			args.Code = req.Code
		}
		if req.Kind != types.TxDeploy {
			to := req.To
			args.To = &to
		}
		est, err := c.EstimateGas(ctx, args, rpctypes.LatestBlock)
		if err != nil {
			return nil, err
		}
		tx.GasLimit = est + est/GasMargin
	}
	if err := tx.Sign(key); err != nil {
		return nil, fmt.Errorf("sign tx: %w", err)
	}
	return tx, nil
}

// Transact builds, signs and sends a transaction, waits for its receipt and checks the
// receipt's signature. A receipt with a failed status is returned with a nil error: the
// transaction was included (and paid for); the caller decides what failure means.
func (c *Client) Transact(ctx context.Context, key *ecdsa.PrivateKey, req *TxRequest) (*types.Tx, *rpctypes.ReceiptJSON, error) {
	tx, err := c.BuildTx(ctx, key, req)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.SendTransaction(ctx, tx); err != nil {
		return tx, nil, err
	}
	r, err := c.WaitReceipt(ctx, tx.Hash())
	if err != nil {
		return tx, nil, err
	}
	if err := VerifyReceipt(r); err != nil {
		return tx, r, err
	}
	return tx, r, nil
}
