package types

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

func batchTxs(t testing.TB, n int) []*Tx {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	txs := make([]*Tx, n)
	for i := range txs {
		c := &Tx{ChainID: 1, Nonce: uint64(i), GasPrice: uint256.NewInt(1), GasLimit: 50_000, Kind: TxTransfer,
			To: Address{9}, Value: uint256.NewInt(uint64(i))}
		if err := c.Sign(key); err != nil {
			t.Fatal(err)
		}
		txs[i] = c
	}
	return txs
}

func TestTxBatchRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 17} {
		txs := batchTxs(t, n)
		b := EncodeTxs(txs)
		if n == 1 && !bytes.Equal(b, txs[0].Encode()) {
			t.Fatal("a single tx is not sent as itself")
		}
		got, err := DecodeTxs(b)
		if err != nil {
			t.Fatalf("%d txs: %v", n, err)
		}
		if len(got) != n {
			t.Fatalf("%d txs decode as %d", n, len(got))
		}
		for i := range got {
			if got[i].Hash() != txs[i].Hash() {
				t.Fatalf("tx %d differs", i)
			}
		}
	}
}

func TestTxBatchMalformed(t *testing.T) {
	txs := batchTxs(t, 3)
	good := EncodeTxs(txs)
	raw := func(vs ...[]byte) []byte {
		rv := make([]rlp.RawValue, len(vs))
		for i, v := range vs {
			rv[i] = v
		}
		b, _ := rlp.EncodeToBytes(rv)
		return b
	}
	one, _ := rlp.EncodeToBytes([]rlp.RawValue{txs[0].Encode()})
	tooMany := make([][]byte, MaxTxBatchLen+1)
	for i := range tooMany {
		tooMany[i] = txs[0].Encode()
	}
	cases := map[string][]byte{
		"empty input":        nil,
		"empty list":         {0xc0},
		"not a list":         {0x82, 1, 2},
		"trailing bytes":     append(append([]byte{}, good...), 0),
		"truncated":          good[:len(good)-1],
		"batch of one":       one,
		"string element":     raw(txs[0].Encode(), []byte{0x83, 'a', 'b', 'c'}),
		"malformed tx":       raw(txs[0].Encode(), []byte{0xc1, 0x80}),
		"too many txs":       raw(tooMany...),
		"oversized":          make([]byte, MaxTxBatchSize+1),
		"non-canonical size": nonCanonical(good),
		"duplicate tx":       raw(txs[0].Encode(), txs[1].Encode(), txs[0].Encode()),
	}
	for name, b := range cases {
		if _, err := DecodeTxs(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeTxs(make([]byte, MaxTxBatchSize+1)); !errors.Is(err, ErrBadTxBatch) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := DecodeTxs(good); err != nil {
		t.Fatalf("the good batch: %v", err)
	}
	full := batchTxs(t, MaxTxBatchLen)
	if got, err := DecodeTxs(EncodeTxs(full)); err != nil || len(got) != MaxTxBatchLen {
		t.Fatalf("a batch of exactly %d txs: %d, %v", MaxTxBatchLen, len(got), err)
	}
}

// nonCanonical re-encodes the list header of b (a list longer than 255 bytes, so with a
// two-byte length) with a three-byte length that starts with a zero.
func nonCanonical(b []byte) []byte {
	if b[0] != 0xf9 {
		panic(fmt.Sprintf("header %x is not a two-byte list length", b[:3]))
	}
	return append([]byte{0xfa, 0, b[1], b[2]}, b[3:]...)
}

// FuzzDecodeTxs: whatever DecodeTxs accepts re-encodes to the same bytes.
func FuzzDecodeTxs(f *testing.F) {
	txs := batchTxs(f, 3)
	f.Add(EncodeTxs(txs))
	f.Add(EncodeTxs(txs[:1]))
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		txs, err := DecodeTxs(b)
		if err != nil {
			return
		}
		if len(txs) == 0 || len(txs) > MaxTxBatchLen {
			t.Fatalf("decoded %d txs", len(txs))
		}
		if !bytes.Equal(EncodeTxs(txs), b) {
			t.Fatal("decoded batch does not re-encode to the same bytes")
		}
	})
}
