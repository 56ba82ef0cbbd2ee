package types

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/rlp"
)

// Limits of a transaction batch, the payload of the tx gossip topic.
const (
	MaxTxBatchSize = 2 << 20 // encoded batch, bytes: room for a largest tx and many small ones
	MaxTxBatchLen  = 1024    // txs in one batch
)

// ErrBadTxBatch is returned for a malformed transaction batch.
var ErrBadTxBatch = errors.New("malformed tx batch")

// EncodeTxs encodes txs (distinct, see DecodeTxs) for gossip: a single transaction as itself (the encoding a peer
// that knows only single txs expects), several as the RLP list of their encodings. The
// two are told apart by the first element of the outer list: a tx starts with its chain
// id, a number; a batch with a tx, a list. go-ethereum's Transactions message carries a
// list of txs the same way.
func EncodeTxs(txs []*Tx) []byte {
	if len(txs) == 1 {
		return txs[0].Encode()
	}
	raw := make([]rlp.RawValue, len(txs))
	for i, tx := range txs {
		raw[i] = tx.Encode()
	}
	b, err := rlp.EncodeToBytes(raw)
	if err != nil {
		panic(fmt.Sprintf("types: encode tx batch: %v", err)) // raw values always encode
	}
	return b
}

// DecodeTxs strictly decodes what EncodeTxs produces: a single transaction, or a list of
// 2 to MaxTxBatchLen distinct transactions of at most MaxTxBatchSize bytes in all, each
// decoded by DecodeTx (canonical, no trailing bytes). A tx twice in one batch is an error:
// each copy would cost its receiver a signature recovery. Signatures are not checked.
func DecodeTxs(b []byte) ([]*Tx, error) {
	if len(b) > MaxTxBatchSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadTxBatch, len(b), MaxTxBatchSize)
	}
	content, rest, err := rlp.SplitList(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTxBatch, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadTxBatch, len(rest))
	}
	if len(content) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadTxBatch)
	}
	if kind, _, _, err := rlp.Split(content); err == nil && kind != rlp.List {
		tx, err := DecodeTx(b)
		if err != nil {
			return nil, err
		}
		return []*Tx{tx}, nil
	}
	var (
		txs  []*Tx
		seen = make(map[Hash]struct{})
	)
	for len(content) > 0 {
		if len(txs) == MaxTxBatchLen {
			return nil, fmt.Errorf("%w: more than %d txs", ErrBadTxBatch, MaxTxBatchLen)
		}
		raw, next, err := splitRaw(content)
		if err != nil {
			return nil, fmt.Errorf("%w: tx %d: %v", ErrBadTxBatch, len(txs), err)
		}
		tx, err := DecodeTx(raw) // a tx is a list: DecodeTx refuses anything else
		if err != nil {
			return nil, fmt.Errorf("tx %d of batch: %w", len(txs), err)
		}
		if _, dup := seen[tx.Hash()]; dup {
			return nil, fmt.Errorf("%w: tx %s twice", ErrBadTxBatch, tx.Hash())
		}
		seen[tx.Hash()] = struct{}{}
		txs = append(txs, tx)
		content = next
	}
	if len(txs) == 1 {
		// One tx goes as itself: a batch of one is not canonical.
		return nil, fmt.Errorf("%w: a batch of one tx", ErrBadTxBatch)
	}
	return txs, nil
}
