package types

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// MaxHeaderSize bounds an encoded header: eleven fields of at most 33 bytes each plus
// list prefixes fit in well under 512 bytes; anything longer is rejected before decoding.
const MaxHeaderSize = 512

// ErrInvalidBlock is wrapped by every error about a malformed block, header or receipt
// encoding, so that callers (p2p, sync) can branch on "the peer sent garbage".
var ErrInvalidBlock = errors.New("invalid block")

// Header is a block header: RLP list [chainID, height, time, parentHash, proposer,
// txRoot, stateRoot, receiptRoot, validatorsHash, nextValidatorsHash, lastCommitHash].
//
// StateRoot and ReceiptRoot are the results of executing this block's transactions on
// top of the parent's state, so a commit certificate over the header hash certifies the
// block's own results. A Header is a plain value; Hash recomputes on every call (about
// 1 µs), so callers that need it often keep it.
type Header struct {
	ChainID        uint64
	Height         uint64
	Time           uint64  // unix milliseconds, strictly greater than the parent's
	ParentHash     Hash    // hash of the header at Height-1; zero for the genesis header
	Proposer       Address // validator that proposed the block; its fees go there
	TxRoot         Hash    // TxRoot(txs)
	StateRoot      Hash    // state root after executing the block
	ReceiptRoot    Hash    // ReceiptRoot(receipts of the block)
	ValidatorsHash Hash    // hash of the validator set that must sign this block
	// NextValidatorsHash is the hash of the validator set that must sign the next block
	// (Height+1). A commit of this header therefore certifies the next set in advance:
	// a light client that trusts this header knows who signs the next one.
	NextValidatorsHash Hash
	LastCommitHash     Hash // hash of the commit certificate of the parent; zero at height 1
}

// Encode returns the canonical RLP encoding of the header.
func (h *Header) Encode() []byte {
	b, err := rlp.EncodeToBytes(h)
	if err != nil {
		panic(fmt.Sprintf("types: encode header: %v", err)) // fixed-size fields only
	}
	return b
}

// Hash is keccak256 of the header's RLP encoding: the block hash.
func (h *Header) Hash() Hash { return crypto.Keccak256Hash(h.Encode()) }

// DecodeHeader strictly decodes a header: at most MaxHeaderSize bytes, canonical RLP,
// exactly eleven fields of the right sizes, no trailing bytes.
func DecodeHeader(b []byte) (*Header, error) {
	if len(b) > MaxHeaderSize {
		return nil, fmt.Errorf("%w: header is %d bytes, limit %d", ErrInvalidBlock, len(b), MaxHeaderSize)
	}
	h := new(Header)
	if err := rlp.DecodeBytes(b, h); err != nil {
		return nil, fmt.Errorf("%w: decode header: %v", ErrInvalidBlock, err)
	}
	if !bytes.Equal(h.Encode(), b) {
		return nil, fmt.Errorf("%w: decode header: non-canonical encoding", ErrInvalidBlock)
	}
	return h, nil
}
