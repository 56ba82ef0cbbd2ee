package rpc

import (
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Conversions of the backend's data into the JSON shapes of package rpctypes.

// NewHeaderJSON converts a header; hash is its hash (computed when zero).
func NewHeaderJSON(h *types.Header, hash types.Hash) *rpctypes.HeaderJSON {
	if hash == (types.Hash{}) {
		hash = h.Hash()
	}
	return &rpctypes.HeaderJSON{
		Hash: hash, ChainID: hexutil.Uint64(h.ChainID), Height: hexutil.Uint64(h.Height),
		Time: hexutil.Uint64(h.Time), ParentHash: h.ParentHash, Proposer: h.Proposer,
		TxRoot: h.TxRoot, StateRoot: h.StateRoot, ReceiptRoot: h.ReceiptRoot,
		ValidatorsHash: h.ValidatorsHash, NextValidatorsHash: h.NextValidatorsHash,
		LastCommitHash: h.LastCommitHash,
	}
}

// BlockJSON is a block: its header fields and its transactions (hashes, or whole
// transactions when asked for).
type BlockJSON struct {
	rpctypes.HeaderJSON
	Transactions []any `json:"transactions"` // types.Hash or *rpctypes.TxJSON
}

// NewBlockJSON converts a block; full selects whole transactions instead of hashes.
func NewBlockJSON(b *Block, full bool) *BlockJSON {
	out := &BlockJSON{HeaderJSON: *NewHeaderJSON(b.Header, b.Hash)}
	out.Transactions = make([]any, len(b.Txs))
	for i, tx := range b.Txs {
		if full {
			out.Transactions[i] = NewTxJSON(tx, &TxLocation{Height: b.Header.Height, BlockHash: out.Hash, Index: uint64(i)})
		} else {
			out.Transactions[i] = tx.Hash()
		}
	}
	return out
}

func u256(v *uint256.Int) *hexutil.U256 {
	if v == nil {
		v = new(uint256.Int)
	}
	return (*hexutil.U256)(v)
}

// NewTxJSON converts a transaction; loc is nil for a pending one.
func NewTxJSON(tx *types.Tx, loc *TxLocation) *rpctypes.TxJSON {
	out := &rpctypes.TxJSON{
		Hash: tx.Hash(), ChainID: hexutil.Uint64(tx.ChainID), Nonce: hexutil.Uint64(tx.Nonce),
		GasPrice: u256(tx.GasPrice), Gas: hexutil.Uint64(tx.GasLimit), Kind: tx.Kind.String(),
		Value: u256(tx.Value), Method: tx.Method, Args: tx.Args, Code: tx.Code, Sig: tx.Sig,
	}
	if out.Args == nil {
		out.Args = hexutil.Bytes{}
	}
	if from, err := tx.Sender(); err == nil {
		out.From = &from
	}
	if tx.Kind != types.TxDeploy {
		to := tx.To
		out.To = &to
	}
	if loc != nil {
		h, i, bh := hexutil.Uint64(loc.Height), hexutil.Uint64(loc.Index), loc.BlockHash
		out.BlockHeight, out.Index, out.BlockHash = &h, &i, &bh
	}
	return out
}

func newEventsJSON(evs []types.Event) []rpctypes.EventJSON {
	out := make([]rpctypes.EventJSON, len(evs))
	for i, e := range evs {
		out[i] = rpctypes.EventJSON{Contract: e.Contract, Topic: nonNil(e.Topic), Data: nonNil(e.Data)}
	}
	return out
}

func nonNil(b []byte) hexutil.Bytes {
	if b == nil {
		return hexutil.Bytes{}
	}
	return b
}

// newCallRequest converts the JSON arguments into a CallRequest (Gas is left to the caller:
// the server caps it).
func newCallRequest(a *rpctypes.CallArgs) *CallRequest {
	req := &CallRequest{Method: a.Method, Args: a.Args, Code: a.Code}
	if a.To != nil {
		req.To = *a.To
	}
	if a.From != nil {
		req.From = *a.From
	}
	if a.Value != nil {
		req.Value = (*uint256.Int)(a.Value)
	}
	return req
}
