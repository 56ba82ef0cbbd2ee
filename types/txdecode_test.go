package types

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

// decodeTxReflect is the decoder DecodeTx replaced, through go-ethereum's reflection
// decoder and a re-encoding to check canonicity: the reference DecodeTx must agree with.
func decodeTxReflect(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, ErrTxTooLarge
	}
	var w txRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, err
	}
	tx := &Tx{
		ChainID: w.ChainID, Nonce: w.Nonce, GasPrice: w.GasPrice, GasLimit: w.GasLimit,
		Kind: TxKind(w.Kind), To: w.To, Value: w.Value, Method: w.Method, Args: w.Args,
		Code: w.Code, Sig: w.Sig,
	}
	if err := tx.validateFields(); err != nil {
		return nil, err
	}
	if len(tx.Sig) != SignatureLen {
		return nil, ErrInvalidSig
	}
	if !bytes.Equal(encodeTxReflect(tx, true), b) {
		return nil, ErrInvalidTxField
	}
	return tx, nil
}

// sameTx reports whether a and b have the same fields, nil-ness of slices included.
func sameTx(a, b *Tx) bool {
	sameBytes := func(x, y []byte) bool { return bytes.Equal(x, y) && (x == nil) == (y == nil) }
	return a.ChainID == b.ChainID && a.Nonce == b.Nonce && a.GasPrice.Eq(b.GasPrice) &&
		a.GasLimit == b.GasLimit && a.Kind == b.Kind && a.To == b.To && a.Value.Eq(b.Value) &&
		a.Method == b.Method && sameBytes(a.Args, b.Args) && sameBytes(a.Code, b.Code) &&
		sameBytes(a.Sig, b.Sig)
}

// txDecodeSeeds are encodings at the edges of canonical RLP, each field in turn.
func txDecodeSeeds(t testing.TB) [][]byte {
	tx, _ := testTx(t)
	good := tx.Encode()
	fields, err := rlp.SplitListValues(good)
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, v []byte) []byte {
		f := append([][]byte{}, fields...)
		f[i] = v
		b, err := rlp.MergeListValues(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seeds := [][]byte{good, {0xc0}, wrapList(nil)}
	for i := range fields {
		seeds = append(seeds,
			with(i, []byte{0x00}),       // zero as a byte: not canonical for an integer
			with(i, []byte{0x81, 0x05}), // a small byte as a string: not canonical
			with(i, []byte{0x82, 0x00, 0x01}),
			with(i, []byte{0x80}),
			with(i, []byte{0xc0}),
			with(i, []byte{0x7f}),
			with(i, []byte{0x82, 0x01, 0x00}),
			with(i, append([]byte{0xa1}, bytes.Repeat([]byte{1}, 33)...)),
			with(i, append([]byte{0xa0}, bytes.Repeat([]byte{0xff}, 32)...)),
			with(i, append([]byte{0x94}, bytes.Repeat([]byte{2}, 20)...)),
			with(i, append([]byte{0xb8, 0x05}, bytes.Repeat([]byte{3}, 5)...)), // long form for a short string
		)
		seeds = append(seeds, wrapList(bytes.Join(append(append([][]byte{}, fields[:i]...), fields[i+1:]...), nil)))
	}
	seeds = append(seeds, wrapList(bytes.Join(append(fields, []byte{0x80}), nil)), append(good, 0))
	return seeds
}

// TestDecodeTxMatchesReflection holds DecodeTx to the reflection decoder on the edge
// seeds: the same verdict, the same fields.
func TestDecodeTxMatchesReflection(t *testing.T) {
	for i, b := range txDecodeSeeds(t) {
		checkDecodeTxAgainstReflection(t, b)
		if t.Failed() {
			t.Fatalf("seed %d: %x", i, b)
		}
	}
}

func checkDecodeTxAgainstReflection(t *testing.T, b []byte) {
	got, err := DecodeTx(b)
	want, werr := decodeTxReflect(b)
	if (err == nil) != (werr == nil) {
		t.Fatalf("DecodeTx: %v, reflection decoder: %v", err, werr)
	}
	if err != nil {
		return
	}
	if !sameTx(got, want) {
		t.Fatalf("DecodeTx gave %+v, reflection decoder %+v", got, want)
	}
	if !bytes.Equal(got.Encode(), b) || got.Hash() != crypto.Keccak256Hash(b) || got.Size() != len(b) {
		t.Fatal("decoded tx does not re-encode to its input")
	}
}

// FuzzDecodeTxReflection: DecodeTx accepts exactly what the reflection decoder accepts,
// with the same fields.
func FuzzDecodeTxReflection(f *testing.F) {
	for _, b := range txDecodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkDecodeTxAgainstReflection)
}

// TestDecodeTxFieldsIndependent: a decoded tx's byte fields share one buffer; appending
// to one must not write into the next.
func TestDecodeTxFieldsIndependent(t *testing.T) {
	tx, _ := testTx(t)
	tx.Code = nil
	got, err := DecodeTx(tx.Encode())
	if err != nil {
		t.Fatal(err)
	}
	sig := bytes.Clone(got.Sig)
	_ = append(got.Args, 0xee)
	_ = append(got.Code, 0xee)
	if !bytes.Equal(got.Sig, sig) {
		t.Fatal("appending to args or code wrote into the signature")
	}
	if got.Value.Cmp(uint256.NewInt(5)) != 0 {
		t.Fatal("value")
	}
}

func BenchmarkDecodeTx(b *testing.B) {
	tx, _ := testTx(b)
	enc := tx.Encode()
	b.Run("split", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeTx(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeTxReflect(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
