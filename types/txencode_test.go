package types

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

// encodeTxReflect is the encoding Encode (signed) and SigningHash (unsigned) replaced,
// through go-ethereum's reflection encoder: the reference encodeTx must agree with.
func encodeTxReflect(tx *Tx, signed bool) []byte {
	var v any = &txUnsignedRLP{
		tx.ChainID, tx.Nonce, u256OrZero(tx.GasPrice), tx.GasLimit, uint8(tx.Kind), tx.To,
		u256OrZero(tx.Value), tx.Method, tx.Args, tx.Code,
	}
	if signed {
		v = &txRLP{
			tx.ChainID, tx.Nonce, u256OrZero(tx.GasPrice), tx.GasLimit, uint8(tx.Kind), tx.To,
			u256OrZero(tx.Value), tx.Method, tx.Args, tx.Code, tx.Sig,
		}
	}
	b, err := rlp.EncodeToBytes(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzTxEncodeReflection holds Encode, SigningHash and Hash to the reflection encoder,
// on fields at every length boundary of RLP (one byte below 0x80, 55/56-byte strings,
// integers of 0-8 and 9-32 bytes, nil amounts).
func FuzzTxEncodeReflection(f *testing.F) {
	tx, _ := testTx(f)
	f.Add(tx.ChainID, tx.Nonce, tx.GasPrice.Bytes(), tx.GasLimit, uint8(tx.Kind), tx.To[:], tx.Value.Bytes(), tx.Method, tx.Args, tx.Code, tx.Sig)
	f.Add(uint64(0), uint64(0), []byte(nil), uint64(0), uint8(0), []byte(nil), []byte(nil), "", []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint64(0x7f), uint64(0x80), []byte{0x7f}, uint64(0xff), uint8(0x7f), []byte{1}, []byte{0x80}, "a", []byte{0x7f}, []byte{0x80}, []byte{0})
	f.Add(^uint64(0), uint64(1)<<56, bytes.Repeat([]byte{0xff}, 32), uint64(1)<<63, uint8(0xff), bytes.Repeat([]byte{9}, 20),
		append([]byte{1}, make([]byte, 8)...), string(bytes.Repeat([]byte{'m'}, 55)), bytes.Repeat([]byte{1}, 56), bytes.Repeat([]byte{2}, 300), bytes.Repeat([]byte{3}, 65))
	f.Add(uint64(1), uint64(2), []byte{1, 0}, uint64(3), uint8(2), []byte{}, []byte{0, 0, 5}, string(bytes.Repeat([]byte{'x'}, 56)), bytes.Repeat([]byte{4}, 55), bytes.Repeat([]byte{5}, 70000), []byte{0x81})
	f.Fuzz(func(t *testing.T, chainID, nonce uint64, price []byte, gasLimit uint64, kind uint8, to, value []byte, method string, args, code, sig []byte) {
		if len(price) > 32 || len(value) > 32 {
			return
		}
		tx := &Tx{ChainID: chainID, Nonce: nonce, GasLimit: gasLimit, Kind: TxKind(kind), Method: method, Args: args, Code: code, Sig: sig}
		copy(tx.To[:], to)
		if len(price) > 0 { // nil amounts encode as zero
			tx.GasPrice = new(uint256.Int).SetBytes(price)
		}
		if len(value) > 0 {
			tx.Value = new(uint256.Int).SetBytes(value)
		}
		want := encodeTxReflect(tx, true)
		if got := tx.Encode(); !bytes.Equal(got, want) {
			t.Fatalf("Encode\n got %x\nwant %x", got, want)
		}
		if got, want := tx.SigningHash(), crypto.Keccak256Hash(encodeTxReflect(tx, false)); got != want {
			t.Fatalf("SigningHash %s, want %s", got, want)
		}
		if got, want := tx.Hash(), crypto.Keccak256Hash(want); got != want {
			t.Fatalf("Hash %s, want %s", got, want)
		}
		if tx.Size() != len(want) {
			t.Fatalf("Size %d, want %d", tx.Size(), len(want))
		}
	})
}

// BenchmarkTxSigningHash compares SigningHash with the reflection encoder it replaced.
func BenchmarkTxSigningHash(b *testing.B) {
	tx, _ := testTx(b)
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = tx.SigningHash()
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = crypto.Keccak256Hash(encodeTxReflect(tx, false))
		}
	})
}

// BenchmarkTxEncode compares Encode with the reflection encoder it replaced.
func BenchmarkTxEncode(b *testing.B) {
	tx, _ := testTx(b)
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = tx.Encode()
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeTxReflect(tx, true)
		}
	})
}
