//go:build !js

package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/types"
)

// Block store layout in the node's Pebble database. Every key starts with KeyPrefix; the
// state (state.KeyPrefix 's') and other users of the database keep out of it. Heights
// and indices are big-endian so a block's transactions and receipts are contiguous.
//
//	'c' 'M'                        metadata: RLP [format, genesisHash]
//	'c' 'H' height(8)              header RLP
//	'c' 'T' height(8) index(4)     transaction RLP (its wire encoding)
//	'c' 'L' height(8)              the block's LastCommit RLP (absent at heights 0 and 1)
//	'c' 'C' height(8)              the commit certificate of the block at height (absent at 0)
//	'c' 'R' height(8) index(4)     receipt RLP
//	'c' 'N' blockHash(32)          height(8)
//	'c' 'X' txHash(32)             height(8) index(4)
//	'c' 'D' contract(20)           height(8) index(4) of the tx that deployed it
//	'c' 'V' height(8)              RLP [[address, pubKey, power], …]: the validator set
//	                               that takes effect at height (0: genesis)
//
// Transactions are stored once, one key each, so a lookup by hash reads one tx rather
// than its whole block. Blocks are never pruned; the state keeps only recent versions.
const KeyPrefix byte = 'c'

const (
	tagMeta       = 'M'
	tagHeader     = 'H'
	tagTx         = 'T'
	tagLastCommit = 'L'
	tagCommit     = 'C'
	tagReceipt    = 'R'
	tagHash       = 'N'
	tagTxIndex    = 'X'
	tagDeploy     = 'D'

	storeFormat = 2 // 2: headers carry NextValidatorsHash; validator set history 'V'
)

var metaKey = []byte{KeyPrefix, tagMeta}

func heightKey(tag byte, height uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{KeyPrefix, tag}, height)
}

func indexKey(tag byte, height uint64, index uint32) []byte {
	return binary.BigEndian.AppendUint32(heightKey(tag, height), index)
}

func hashKey(tag byte, h types.Hash) []byte {
	return append([]byte{KeyPrefix, tag}, h[:]...)
}

type storeMeta struct {
	Format      uint64
	GenesisHash types.Hash
}

// writeBlock adds a block, its commit certificate (nil for the genesis header) and its
// receipts to b.
func writeBlock(b *pebble.Batch, blk *types.Block, hash types.Hash, commit *types.Commit, receipts []*types.Receipt) error {
	h := blk.Header.Height
	set := func(k, v []byte) error { return b.Set(k, v, nil) }
	if err := set(heightKey(tagHeader, h), blk.Header.Encode()); err != nil {
		return err
	}
	if err := set(hashKey(tagHash, hash), binary.BigEndian.AppendUint64(nil, h)); err != nil {
		return err
	}
	if blk.LastCommit != nil {
		if err := set(heightKey(tagLastCommit, h), blk.LastCommit.Encode()); err != nil {
			return err
		}
	}
	if commit != nil {
		if err := set(heightKey(tagCommit, h), commit.Encode()); err != nil {
			return err
		}
	}
	for i, tx := range blk.Txs {
		if err := set(indexKey(tagTx, h, uint32(i)), tx.Encode()); err != nil {
			return err
		}
		loc := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, h), uint32(i))
		if err := set(hashKey(tagTxIndex, tx.Hash()), loc); err != nil {
			return err
		}
	}
	for i, r := range receipts {
		if err := set(indexKey(tagReceipt, h, uint32(i)), r.Encode()); err != nil {
			return err
		}
		if r.Status == types.ReceiptSuccess && r.ContractAddress != (types.Address{}) {
			loc := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, h), uint32(i))
			if err := set(append([]byte{KeyPrefix, tagDeploy}, r.ContractAddress[:]...), loc); err != nil {
				return err
			}
		}
	}
	return nil
}

// get returns a copy of the value of key, or nil when absent.
func (c *Chain) get(key []byte) ([]byte, error) {
	v, closer, err := c.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chain: read %x: %w", key, err)
	}
	out := bytes.Clone(v)
	closer.Close()
	return out, nil
}

func (c *Chain) readMeta() (*storeMeta, error) {
	b, err := c.get(metaKey)
	if err != nil || b == nil {
		return nil, err
	}
	var m storeMeta
	if err := rlp.DecodeBytes(b, &m); err != nil {
		return nil, fmt.Errorf("chain: corrupt metadata: %w", err)
	}
	return &m, nil
}

func (c *Chain) readHeader(height uint64) (*types.Header, error) {
	b, err := c.get(heightKey(tagHeader, height))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, height)
	}
	h, err := types.DecodeHeader(b)
	if err != nil {
		return nil, fmt.Errorf("chain: stored header %d: %w", height, err)
	}
	return h, nil
}

// scan calls fn with the value of every key in [lo, hi), in order.
func (c *Chain) scan(lo, hi []byte, fn func(v []byte) error) error {
	it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("chain: scan: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("chain: scan: %w", err)
	}
	return nil
}

func (c *Chain) readBlock(height uint64) (*types.Block, error) {
	h, err := c.readHeader(height)
	if err != nil {
		return nil, err
	}
	blk := &types.Block{Header: *h}
	err = c.scan(heightKey(tagTx, height), heightKey(tagTx, height+1), func(v []byte) error {
		tx, err := types.DecodeTx(v)
		if err != nil {
			return fmt.Errorf("chain: stored tx of block %d: %w", height, err)
		}
		blk.Txs = append(blk.Txs, tx)
		return nil
	})
	if err != nil {
		return nil, err
	}
	lc, err := c.get(heightKey(tagLastCommit, height))
	if err != nil {
		return nil, err
	}
	if lc != nil {
		if blk.LastCommit, err = types.DecodeCommit(lc); err != nil {
			return nil, fmt.Errorf("chain: stored last commit of block %d: %w", height, err)
		}
	}
	return blk, nil
}

func decodeLoc(b []byte) (height uint64, index uint32, err error) {
	if len(b) != 12 {
		return 0, 0, fmt.Errorf("chain: corrupt tx index entry %x", b)
	}
	return binary.BigEndian.Uint64(b), binary.BigEndian.Uint32(b[8:]), nil
}

// WriteSyncBase adds to b what New needs to open a chain whose state was restored from a
// snapshot at blk's height (state sync) instead of executed from genesis g: the block
// store's metadata, blk and its commit certificate, as the head. The caller has verified
// the certificate and that blk's state root is the restored state's. The blocks below,
// and blk's receipts, are absent: reads of them answer ErrNotFound.
func WriteSyncBase(b *pebble.Batch, g *genesis.Genesis, blk *types.Block, commit *types.Commit) error {
	if commit == nil || commit.Height != blk.Header.Height || commit.BlockHash != blk.Hash() {
		return errors.New("chain: sync base without its commit certificate")
	}
	if blk.Header.ChainID != g.ChainID {
		return fmt.Errorf("chain: sync base of chain %d, genesis is of %d", blk.Header.ChainID, g.ChainID)
	}
	meta, err := rlp.EncodeToBytes(&storeMeta{Format: storeFormat, GenesisHash: g.Hash()})
	if err != nil {
		return fmt.Errorf("chain: encode metadata: %w", err)
	}
	if err := b.Set(metaKey, meta, nil); err != nil {
		return err
	}
	return writeBlock(b, blk, blk.Hash(), commit, nil)
}
