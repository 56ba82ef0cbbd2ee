package types

import (
	"encoding/binary"
	"math/bits"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// The tx's RLP written by hand: Encode and SigningHash run for every tx a node takes
// (SigningHash once per recovery, Encode for blocks, batches and the tx's hash when it
// was not decoded), and go-ethereum's reflection encoder took 3-4 times as long and an
// allocation more (BenchmarkTxSigningHash). FuzzTxEncodeReflection holds both to the
// reflection encoder of txRLP and txUnsignedRLP.

// encodeTx returns the RLP of tx's fields, Sig included if signed.
func encodeTx(tx *Tx, signed bool) []byte {
	var price, value uint256.Int
	if tx.GasPrice != nil {
		price = *tx.GasPrice
	}
	if tx.Value != nil {
		value = *tx.Value
	}
	n := uintLen(tx.ChainID) + uintLen(tx.Nonce) + u256Len(&price) + uintLen(tx.GasLimit) +
		uintLen(uint64(tx.Kind)) + 1 + len(tx.To) + u256Len(&value) +
		bytesLen(len(tx.Method), firstByte(tx.Method)) + bytesLen(len(tx.Args), firstOf(tx.Args)) +
		bytesLen(len(tx.Code), firstOf(tx.Code))
	if signed {
		n += bytesLen(len(tx.Sig), firstOf(tx.Sig))
	}
	b := make([]byte, 0, headLen(n)+n)
	b = appendHead(b, 0xc0, n)
	b = appendUint(b, tx.ChainID)
	b = appendUint(b, tx.Nonce)
	b = appendU256(b, &price)
	b = appendUint(b, tx.GasLimit)
	b = appendUint(b, uint64(tx.Kind))
	b = append(b, 0x80+byte(len(tx.To)))
	b = append(b, tx.To[:]...)
	b = appendU256(b, &value)
	b = appendString(b, tx.Method)
	b = appendBytes(b, tx.Args)
	b = appendBytes(b, tx.Code)
	if signed {
		b = appendBytes(b, tx.Sig)
	}
	return b
}

// signingHash is keccak256 of encodeTx(tx, false).
func signingHash(tx *Tx) Hash {
	return crypto.Keccak256Hash(encodeTx(tx, false))
}

// firstByte and firstOf return the first byte of s, or 0 if it is empty: a one-byte
// string below 0x80 is its own encoding.
func firstByte(s string) byte {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

func firstOf(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// uintLen is the length of the RLP of an unsigned integer: minimal big-endian bytes,
// zero as the empty string, below 0x80 as itself.
func uintLen(v uint64) int {
	if v < 0x80 && v != 0 {
		return 1
	}
	return 1 + (bits.Len64(v)+7)/8
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v == 0:
		return append(b, 0x80)
	case v < 0x80:
		return append(b, byte(v))
	}
	n := (bits.Len64(v) + 7) / 8
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	b = append(b, 0x80+byte(n))
	return append(b, buf[8-n:]...)
}

func u256Len(v *uint256.Int) int {
	if v.IsUint64() {
		return uintLen(v.Uint64())
	}
	return 1 + v.ByteLen()
}

func appendU256(b []byte, v *uint256.Int) []byte {
	if v.IsUint64() {
		return appendUint(b, v.Uint64())
	}
	n := v.ByteLen()
	buf := v.Bytes32()
	b = append(b, 0x80+byte(n))
	return append(b, buf[32-n:]...)
}

// bytesLen is the length of the RLP of a byte string of length n starting with first.
func bytesLen(n int, first byte) int {
	if n == 1 && first < 0x80 {
		return 1
	}
	return headLen(n) + n
}

// headLen is the length of a string or list header for a payload of n bytes.
func headLen(n int) int {
	if n <= 55 {
		return 1
	}
	return 1 + (bits.Len64(uint64(n))+7)/8
}

// appendHead appends the header of a payload of n bytes: base is 0x80 for a string,
// 0xc0 for a list.
func appendHead(b []byte, base byte, n int) []byte {
	if n <= 55 {
		return append(b, base+byte(n))
	}
	l := (bits.Len64(uint64(n)) + 7) / 8
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(n))
	b = append(b, base+55+byte(l))
	return append(b, buf[8-l:]...)
}

func appendBytes(b, s []byte) []byte {
	if len(s) == 1 && s[0] < 0x80 {
		return append(b, s[0])
	}
	b = appendHead(b, 0x80, len(s))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	if len(s) == 1 && s[0] < 0x80 {
		return append(b, s[0])
	}
	b = appendHead(b, 0x80, len(s))
	return append(b, s...)
}
