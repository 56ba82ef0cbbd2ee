//go:build !js

package chain

import (
	"encoding/binary"
	"fmt"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// The read methods below are safe for concurrent use with block execution and commits.
// Heights may be LatestHeight. State reads (Account, Code, Storage, Proof) fail with
// state.ErrPruned below the state's retention window and state.ErrFutureHeight above the
// head; block reads fail with ErrNotFound for unknown blocks.

// HeaderByNumber returns the header at height (0 is the genesis header).
func (c *Chain) HeaderByNumber(height uint64) (*types.Header, error) {
	return c.readHeader(c.resolve(height))
}

// BlockByNumber returns the block at height (0 is the genesis header with no txs). It
// reads the header, every tx and the last commit: O(txs).
func (c *Chain) BlockByNumber(height uint64) (*types.Block, error) {
	return c.readBlock(c.resolve(height))
}

// HeightOf returns the height of the block with hash h.
func (c *Chain) HeightOf(h types.Hash) (uint64, error) {
	v, err := c.get(hashKey(tagHash, h))
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: block %s", ErrNotFound, h)
	}
	return binary.BigEndian.Uint64(v), nil
}

// BlockByHash returns the block with hash h.
func (c *Chain) BlockByHash(h types.Hash) (*types.Block, error) {
	height, err := c.HeightOf(h)
	if err != nil {
		return nil, err
	}
	return c.readBlock(height)
}

// CommitAt returns the commit certificate of the block at height (≥ 1): the precommits
// that decided it.
func (c *Chain) CommitAt(height uint64) (*types.Commit, error) {
	height = c.resolve(height)
	v, err := c.get(heightKey(tagCommit, height))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: commit of block %d", ErrNotFound, height)
	}
	cm, err := types.DecodeCommit(v)
	if err != nil {
		return nil, fmt.Errorf("chain: stored commit %d: %w", height, err)
	}
	return cm, nil
}

// TxByHash returns a committed transaction and its position.
func (c *Chain) TxByHash(h types.Hash) (tx *types.Tx, height uint64, index uint32, err error) {
	height, index, err = c.txLoc(h)
	if err != nil {
		return nil, 0, 0, err
	}
	v, err := c.get(indexKey(tagTx, height, index))
	if err != nil {
		return nil, 0, 0, err
	}
	if v == nil {
		return nil, 0, 0, fmt.Errorf("chain: tx %s indexed at %d/%d but missing", h, height, index)
	}
	tx, err = types.DecodeTx(v)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("chain: stored tx %s: %w", h, err)
	}
	return tx, height, index, nil
}

func (c *Chain) txLoc(h types.Hash) (uint64, uint32, error) {
	v, err := c.get(hashKey(tagTxIndex, h))
	if err != nil {
		return 0, 0, err
	}
	if v == nil {
		return 0, 0, fmt.Errorf("%w: tx %s", ErrNotFound, h)
	}
	return decodeLoc(v)
}

// Receipt returns the receipt of a committed transaction.
func (c *Chain) Receipt(txHash types.Hash) (*types.Receipt, error) {
	height, index, err := c.txLoc(txHash)
	if err != nil {
		return nil, err
	}
	v, err := c.get(indexKey(tagReceipt, height, index))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("chain: receipt of %s indexed at %d/%d but missing", txHash, height, index)
	}
	r, err := types.DecodeReceipt(v)
	if err != nil {
		return nil, fmt.Errorf("chain: stored receipt %s: %w", txHash, err)
	}
	return r, nil
}

// Receipts returns the receipts of the block at height, in tx order.
func (c *Chain) Receipts(height uint64) ([]*types.Receipt, error) {
	height = c.resolve(height)
	if _, err := c.readHeader(height); err != nil {
		return nil, err
	}
	var out []*types.Receipt
	err := c.scan(heightKey(tagReceipt, height), heightKey(tagReceipt, height+1), func(v []byte) error {
		r, err := types.DecodeReceipt(v)
		if err != nil {
			return fmt.Errorf("chain: stored receipt of block %d: %w", height, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// view returns the state at height (LatestHeight allowed).
func (c *Chain) view(height uint64) (*state.View, error) {
	v, err := c.st.Reader(c.resolve(height))
	if err != nil {
		return nil, fmt.Errorf("chain: state at %d: %w", height, err)
	}
	return v, nil
}

// Account returns addr's account at height; an absent account is the zero Account.
func (c *Chain) Account(addr types.Address, height uint64) (*state.Account, error) {
	v, err := c.view(height)
	if err != nil {
		return nil, err
	}
	return readAccount(v, addr)
}

func readAccount(v *state.View, addr types.Address) (*state.Account, error) {
	enc, err := v.Get(state.AccountKey(addr))
	if err != nil {
		return nil, fmt.Errorf("chain: account %s: %w", addr, err)
	}
	if enc == nil {
		return &state.Account{Balance: new(uint256.Int)}, nil
	}
	a, err := state.DecodeAccount(enc)
	if err != nil {
		return nil, fmt.Errorf("chain: account %s: %w", addr, err)
	}
	return a, nil
}

// Code returns the original code of the contract at addr at height, nil when addr has
// no code.
func (c *Chain) Code(addr types.Address, height uint64) ([]byte, error) {
	v, err := c.view(height)
	if err != nil {
		return nil, err
	}
	a, err := readAccount(v, addr)
	if err != nil || a.CodeHash == (types.Hash{}) {
		return nil, err
	}
	code, err := v.Get(state.CodeKey(a.CodeHash))
	if err != nil {
		return nil, fmt.Errorf("chain: code of %s: %w", addr, err)
	}
	return code, nil
}

// Storage returns the value of key in contract's storage at height and whether it
// exists.
func (c *Chain) Storage(contract types.Address, key []byte, height uint64) ([]byte, bool, error) {
	if len(key) > types.MaxStorageKeySize {
		return nil, false, fmt.Errorf("chain: storage key of %d bytes exceeds %d", len(key), types.MaxStorageKeySize)
	}
	v, err := c.view(height)
	if err != nil {
		return nil, false, err
	}
	val, err := v.Get(state.StorageKey(contract, key))
	if err != nil {
		return nil, false, fmt.Errorf("chain: storage of %s: %w", contract, err)
	}
	return val, val != nil, nil
}

// Proof proves the value of a state tree key (state.AccountKey, state.CodeKey,
// state.StorageKey) at height. Cost: one tree path read plus one value read.
func (c *Chain) Proof(key []byte, height uint64) (*StateProof, error) {
	v, err := c.view(height)
	if err != nil {
		return nil, err
	}
	val, err := v.Get(key)
	if err != nil {
		return nil, fmt.Errorf("chain: proof of %x: %w", key, err)
	}
	p, err := v.Prove(key)
	if err != nil {
		return nil, fmt.Errorf("chain: proof of %x: %w", key, err)
	}
	return &StateProof{Height: v.Height(), Root: v.Root(), Key: key, Value: val, Proof: p}, nil
}

// DeployLocation returns the height and index of the transaction that deployed the
// contract at addr, and false when this node has no record of one (no contract there, or
// deployed before the node's block store kept the index).
func (c *Chain) DeployLocation(addr types.Address) (height uint64, index uint32, ok bool, err error) {
	v, err := c.get(append([]byte{KeyPrefix, tagDeploy}, addr[:]...))
	if err != nil || v == nil {
		return 0, 0, false, err
	}
	height, index, err = decodeLoc(v)
	return height, index, err == nil, err
}
