// Package types defines wnode's consensus data: transactions, blocks, headers, commits,
// votes, receipts and events, with their RLP encoding, hashing, signing and sender recovery.
package types

import "github.com/ethereum/go-ethereum/common"

// Address is a 20-byte account or contract address: the last 20 bytes of
// keccak256(uncompressed public key), or keccak256(RLP[sender, nonce])[12:] for contracts.
// It is go-ethereum's common.Address so that crypto, hexutil and EIP-55 parsing work as-is.
type Address = common.Address

// Hash is a 32-byte keccak256 digest.
type Hash = common.Hash

// Event is emitted by a contract through the host function emit and recorded in the receipt.
type Event struct {
	Contract Address
	Topic    []byte
	Data     []byte
}
