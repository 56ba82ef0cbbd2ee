package types

import (
	"bytes"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// Receipt statuses.
const (
	ReceiptFailed  uint64 = 0 // the tx trapped, reverted, ran out of gas or was refused by the VM; its state changes were discarded
	ReceiptSuccess uint64 = 1 // the tx ran to completion and its state changes were applied
)

// MaxReceiptSize bounds an encoded receipt accepted by DecodeReceipt. It must exceed
// the largest receipt execution can produce, or a committed block's receipts could not
// be read back: the VM bounds the output (vm.MaxOutputSize, 1 MiB; a revert message
// in Error likewise) and the events of a tx (vm.MaxEvents events of vm.MaxEventBytes,
// 4 MiB, in all), so a receipt is at most about 5 MiB; chain's tests assert that the
// worst case fits. types cannot import vm, hence no formula here.
const MaxReceiptSize = 32 << 20

// Receipt is the result of executing one transaction of a block: RLP list [txHash,
// status, gasUsed, output, error, events, contractAddress, height, index]. Receipts are
// consensus data: the header's ReceiptRoot commits to all of them, in block order.
type Receipt struct {
	TxHash          Hash
	Status          uint64  // ReceiptSuccess or ReceiptFailed
	GasUsed         uint64  // gas charged, intrinsic gas included; the fee is GasUsed*GasPrice
	Output          []byte  // what the method returned (empty for transfers and on failure)
	Error           string  // why the tx failed; empty on success
	Events          []Event // events emitted, in order; none on failure
	ContractAddress Address // the new contract of a deploy; zero otherwise
	Height          uint64  // height of the block holding the tx
	Index           uint64  // position of the tx in the block
}

// Encode returns the canonical RLP encoding of the receipt.
func (r *Receipt) Encode() []byte {
	b, err := rlp.EncodeToBytes(r)
	if err != nil {
		panic(fmt.Sprintf("types: encode receipt: %v", err)) // only fails on unsupported types
	}
	return b
}

// Hash is keccak256 of the receipt's RLP encoding: the leaf hashed into ReceiptRoot.
func (r *Receipt) Hash() Hash { return crypto.Keccak256Hash(r.Encode()) }

// Succeeded reports whether the tx's state changes were applied.
func (r *Receipt) Succeeded() bool { return r.Status == ReceiptSuccess }

// DecodeReceipt strictly decodes a receipt: at most MaxReceiptSize bytes, canonical RLP,
// a known status, no trailing bytes.
func DecodeReceipt(b []byte) (*Receipt, error) {
	if len(b) > MaxReceiptSize {
		return nil, fmt.Errorf("%w: receipt is %d bytes, limit %d", ErrInvalidBlock, len(b), MaxReceiptSize)
	}
	r := new(Receipt)
	if err := rlp.DecodeBytes(b, r); err != nil {
		return nil, fmt.Errorf("%w: decode receipt: %v", ErrInvalidBlock, err)
	}
	if r.Status != ReceiptFailed && r.Status != ReceiptSuccess {
		return nil, fmt.Errorf("%w: decode receipt: unknown status %d", ErrInvalidBlock, r.Status)
	}
	if !bytes.Equal(r.Encode(), b) {
		return nil, fmt.Errorf("%w: decode receipt: non-canonical encoding", ErrInvalidBlock)
	}
	return r, nil
}
