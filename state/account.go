package state

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// Prefixes of the three kinds of tree keys (see the package documentation).
const (
	AccountPrefix byte = 0x01
	CodePrefix    byte = 0x02
	StoragePrefix byte = 0x03
)

// ErrStorageLimit reports a storage key or value over types.MaxStorageKeySize or
// types.MaxStorageValueSize. The VM (host functions storage_read/write/delete) and the
// chain enforce those limits before calling the StateDB, returning an error to the
// contract; the StateDB re-checks and records ErrStorageLimit as a sticky error (see
// StateDB.Err) so an oversized pair can never reach the tree.
var ErrStorageLimit = errors.New("state: storage key or value too large")

// Account is the state of one address. It is stored RLP-encoded as
// [nonce, balance, codeHash, admin] under AccountKey(address). An account whose fields are
// all zero is "empty" and is not stored at all: writing it deletes the key, so the root
// does not depend on whether an empty account was ever touched.
type Account struct {
	Nonce    uint64
	Balance  *uint256.Int
	CodeHash types.Hash    // keccak256 of the original code; zero for a plain account
	Admin    types.Address // may upgrade the contract's code; zero for none
}

// IsEmpty reports whether a has zero nonce, balance, code hash and admin.
func (a *Account) IsEmpty() bool {
	return a.Nonce == 0 && (a.Balance == nil || a.Balance.IsZero()) &&
		a.CodeHash == (types.Hash{}) && a.Admin == (types.Address{})
}

// EncodeAccount returns the canonical RLP encoding of a (a nil balance encodes as zero).
func EncodeAccount(a *Account) []byte {
	enc := *a
	if enc.Balance == nil {
		enc.Balance = new(uint256.Int)
	}
	b, err := rlp.EncodeToBytes(&enc)
	if err != nil {
		// Only unsupported types make rlp fail; Account has none.
		panic("state: encode account: " + err.Error())
	}
	return b
}

// DecodeAccount decodes the RLP produced by EncodeAccount. It rejects trailing bytes and
// non-canonical integers.
func DecodeAccount(b []byte) (*Account, error) {
	var a Account
	if err := rlp.DecodeBytes(b, &a); err != nil {
		return nil, fmt.Errorf("decode account: %w", err)
	}
	if a.Balance == nil {
		a.Balance = new(uint256.Int)
	}
	return &a, nil
}

// AccountKey returns the tree key of addr's account: 0x01 || addr.
func AccountKey(addr types.Address) []byte {
	k := make([]byte, 1+len(addr))
	k[0] = AccountPrefix
	copy(k[1:], addr[:])
	return k
}

// CodeKey returns the tree key of the code with hash h: 0x02 || h.
func CodeKey(h types.Hash) []byte {
	k := make([]byte, 1+len(h))
	k[0] = CodePrefix
	copy(k[1:], h[:])
	return k
}

// StorageKey returns the tree key of key in contract's storage: 0x03 || contract || key.
func StorageKey(contract types.Address, key []byte) []byte {
	k := make([]byte, 1+len(contract)+len(key))
	k[0] = StoragePrefix
	copy(k[1:], contract[:])
	copy(k[1+len(contract):], key)
	return k
}
