package types

import (
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// MaxBlockSize bounds an encoded block accepted by DecodeBlock: 16 MiB of transactions
// (the largest max_block_bytes a genesis may set) plus the header, the last commit and
// framing. The chain enforces the genesis limit, which is usually far lower.
const MaxBlockSize = 16<<20 + MaxCommitSize + 64<<10

// Block is a header, its transactions and the commit certificate of its parent: RLP list
// [header, [tx, …], lastCommit], where lastCommit is the empty string 0x80 when absent
// (at height 1, whose parent is the genesis, which has no commit).
type Block struct {
	Header     Header
	Txs        []*Tx
	LastCommit *Commit
}

// Hash is the block hash: the hash of its header.
func (b *Block) Hash() Hash { return b.Header.Hash() }

// Height is the header's height.
func (b *Block) Height() uint64 { return b.Header.Height }

// Encode returns the canonical RLP encoding of the block. Transactions are embedded as
// their own RLP lists, so a tx's bytes inside a block are its wire encoding.
func (b *Block) Encode() []byte {
	txs := make([]rlp.RawValue, len(b.Txs))
	for i, tx := range b.Txs {
		txs[i] = tx.Encode()
	}
	commit := rlp.RawValue(rlp.EmptyString)
	if b.LastCommit != nil {
		commit = b.LastCommit.Encode()
	}
	out, err := rlp.EncodeToBytes([]any{&b.Header, txs, commit})
	if err != nil {
		panic(fmt.Sprintf("types: encode block: %v", err)) // raw values and a plain struct only
	}
	return out
}

// ValidateBasic checks what needs neither state nor the validator set: height >= 1, the
// header's chain id, TxRoot matching the transactions, every transaction well formed and
// of this chain, and LastCommit agreeing with LastCommitHash (absent exactly at height 1,
// otherwise a well-formed commit for Height-1 and ParentHash). It does not recover
// senders; the chain checks signatures when it executes.
func (b *Block) ValidateBasic(chainID uint64) error {
	h := &b.Header
	if h.Height == 0 {
		return fmt.Errorf("%w: height 0 is the genesis", ErrInvalidBlock)
	}
	if h.ChainID != chainID {
		return fmt.Errorf("%w: chain id %d, want %d", ErrInvalidBlock, h.ChainID, chainID)
	}
	for i, tx := range b.Txs {
		if tx.ChainID != chainID {
			return fmt.Errorf("%w: tx %d: %w: %d", ErrInvalidBlock, i, ErrWrongChainID, tx.ChainID)
		}
		if err := tx.validateFields(); err != nil {
			return fmt.Errorf("%w: tx %d: %w", ErrInvalidBlock, i, err)
		}
	}
	if root := TxRoot(b.Txs); root != h.TxRoot {
		return fmt.Errorf("%w: tx root %s, header says %s", ErrInvalidBlock, root, h.TxRoot)
	}
	if h.Height == 1 {
		if b.LastCommit != nil || h.LastCommitHash != (Hash{}) {
			return fmt.Errorf("%w: block 1 carries a last commit", ErrInvalidBlock)
		}
		return nil
	}
	c := b.LastCommit
	if c == nil {
		return fmt.Errorf("%w: block %d has no last commit", ErrInvalidBlock, h.Height)
	}
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: last commit: %w", ErrInvalidBlock, err)
	}
	if c.Height != h.Height-1 || c.BlockHash != h.ParentHash {
		return fmt.Errorf("%w: last commit is for height %d block %s, want %d %s",
			ErrInvalidBlock, c.Height, c.BlockHash, h.Height-1, h.ParentHash)
	}
	if ch := c.Hash(); ch != h.LastCommitHash {
		return fmt.Errorf("%w: last commit hash %s, header says %s", ErrInvalidBlock, ch, h.LastCommitHash)
	}
	return nil
}

// DecodeBlock strictly decodes a block: at most MaxBlockSize bytes, canonical RLP with
// no trailing bytes, a strictly decoded header, transactions (DecodeTx: sizes, kinds,
// 65-byte signatures) and commit (DecodeCommit). It does not check roots, signatures or
// state; see Block.ValidateBasic and the chain. It costs about the decoding of every tx.
func DecodeBlock(b []byte) (*Block, error) { return DecodeBlockReusing(b, nil) }

// DecodeBlockReusing is DecodeBlock, except that a tx for which known returns a Tx of the
// same hash (keccak256 of the block's bytes of it) and size is not decoded: the block
// holds that Tx instead. The Tx known returns must have been decoded strictly or built
// and validated locally (a mempool's txs are), so that the bytes with its hash are
// canonical; its cached sender is then reused too. A validator's pool holds most of a
// proposal's txs already: this spares it a decoding per tx, and the chain a signature
// recovery. known may be nil.
func DecodeBlockReusing(b []byte, known func(Hash) *Tx) (*Block, error) {
	if len(b) > MaxBlockSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidBlock, len(b), MaxBlockSize)
	}
	body, rest, err := rlp.SplitList(b)
	if err != nil {
		return nil, fmt.Errorf("%w: decode block: %v", ErrInvalidBlock, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: decode block: %d trailing bytes", ErrInvalidBlock, len(rest))
	}
	hdrRaw, body, err := splitRaw(body)
	if err != nil {
		return nil, fmt.Errorf("%w: decode block header: %v", ErrInvalidBlock, err)
	}
	txsRaw, body, err := splitRaw(body)
	if err != nil {
		return nil, fmt.Errorf("%w: decode block txs: %v", ErrInvalidBlock, err)
	}
	commitRaw, body, err := splitRaw(body)
	if err != nil {
		return nil, fmt.Errorf("%w: decode block commit: %v", ErrInvalidBlock, err)
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: decode block: more than three fields", ErrInvalidBlock)
	}

	blk := new(Block)
	h, err := DecodeHeader(hdrRaw)
	if err != nil {
		return nil, err
	}
	blk.Header = *h

	txs, rest, err := rlp.SplitList(txsRaw)
	if err != nil {
		return nil, fmt.Errorf("%w: decode block txs: %v", ErrInvalidBlock, err)
	}
	if len(rest) != 0 { // cannot happen: splitRaw cut txsRaw to one value
		return nil, fmt.Errorf("%w: decode block txs: trailing bytes", ErrInvalidBlock)
	}
	n, err := rlp.CountValues(txs)
	if err != nil {
		return nil, fmt.Errorf("%w: decode block txs: %v", ErrInvalidBlock, err)
	}
	blk.Txs = make([]*Tx, 0, n)
	for len(txs) > 0 {
		var raw []byte
		raw, txs, err = splitRaw(txs)
		if err != nil {
			return nil, fmt.Errorf("%w: decode block tx %d: %v", ErrInvalidBlock, len(blk.Txs), err)
		}
		var tx *Tx
		if known != nil && len(raw) <= MaxTxSize {
			if k := known(crypto.Keccak256Hash(raw)); k != nil && k.Size() == len(raw) {
				tx = k
			}
		}
		if tx == nil {
			if tx, err = DecodeTx(raw); err != nil {
				return nil, fmt.Errorf("%w: block tx %d: %w", ErrInvalidBlock, len(blk.Txs), err)
			}
		}
		blk.Txs = append(blk.Txs, tx)
	}

	if len(commitRaw) != 1 || commitRaw[0] != rlp.EmptyString[0] {
		c, err := DecodeCommit(commitRaw)
		if err != nil {
			return nil, fmt.Errorf("%w: last commit: %w", ErrInvalidBlock, err)
		}
		blk.LastCommit = c
	}
	return blk, nil
}

// splitRaw cuts the first RLP value, prefix included, from b.
func splitRaw(b []byte) (raw, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("missing value")
	}
	_, _, rest, err = rlp.Split(b)
	if err != nil {
		return nil, nil, err
	}
	return b[:len(b)-len(rest)], rest, nil
}
