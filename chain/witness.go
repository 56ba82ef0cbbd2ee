//go:build !js

package chain

import (
	"context"
	"fmt"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// CallWitness runs a read-only call like Call and also returns its witness: every key
// the call read, proven. It costs the call plus one tree path read per key.
func (c *Chain) CallWitness(ctx context.Context, msg CallMsg, height uint64) (*CallResult, *Witness, error) {
	hdr, view, err := c.stateAt(height)
	if err != nil {
		return nil, nil, err
	}
	msg.Gas = c.capGas(msg.Gas)
	rec := &recorder{r: view, seen: make(map[string]int)}
	res, err := ExecCall(ctx, c.readVM(), hdr, rec, msg, true)
	if err != nil {
		return nil, nil, err
	}
	w := &Witness{Header: hdr, Reads: make([]*StateProof, len(rec.reads))}
	for i, rd := range rec.reads {
		p, err := view.Prove(rd.key)
		if err != nil {
			return nil, nil, fmt.Errorf("chain: witness: prove %x: %w", rd.key, err)
		}
		w.Reads[i] = &StateProof{Height: hdr.Height, Root: hdr.StateRoot, Key: rd.key, Value: rd.value, Proof: p}
	}
	return res, w, nil
}

// recorder is a state.Reader that remembers every key read and its value.
type recorder struct {
	r     state.Reader
	reads []read
	seen  map[string]int
}

type read struct{ key, value []byte }

func (r *recorder) Get(key []byte) ([]byte, error) {
	if i, ok := r.seen[string(key)]; ok {
		return r.reads[i].value, nil
	}
	if len(r.reads) >= MaxWitnessKeys {
		return nil, ErrWitnessTooLarge
	}
	v, err := r.r.Get(key)
	if err != nil {
		return nil, err
	}
	r.seen[string(key)] = len(r.reads)
	r.reads = append(r.reads, read{key: append([]byte(nil), key...), value: v})
	return v, nil
}

// OldestState returns the lowest height whose state is still kept (readable and
// provable).
func (c *Chain) OldestState() uint64 { return c.st.Oldest() }

// ProveReceipt returns the receipt of a committed transaction with its proof. It reads
// every receipt of the block: O(txs of the block).
func (c *Chain) ProveReceipt(txHash types.Hash) (*ReceiptProof, error) {
	height, index, err := c.txLoc(txHash)
	if err != nil {
		return nil, err
	}
	hdr, err := c.readHeader(height)
	if err != nil {
		return nil, err
	}
	rs, err := c.Receipts(height)
	if err != nil {
		return nil, err
	}
	if int(index) >= len(rs) {
		return nil, fmt.Errorf("chain: receipt of %s indexed at %d/%d but the block has %d", txHash, height, index, len(rs))
	}
	hs := make([]types.Hash, len(rs))
	for i, r := range rs {
		hs[i] = r.Hash()
	}
	path, err := types.MerkleProof(hs, int(index))
	if err != nil {
		return nil, err
	}
	return &ReceiptProof{Receipt: rs[index], Header: hdr, Index: uint64(index), Total: uint64(len(rs)), Path: path}, nil
}
