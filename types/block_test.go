package types

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// testBlock returns a block at height 2 with three signed txs and a signed last commit.
func testBlock(t testing.TB) *Block {
	t.Helper()
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("block test sender")))
	var txs []*Tx
	for i := range 3 {
		tx := &Tx{ChainID: 7, Nonce: uint64(i), GasPrice: uint256.NewInt(1), GasLimit: 100_000,
			Kind: TxInvoke, To: Address{9}, Value: new(uint256.Int), Method: "increment"}
		if err := tx.Sign(key); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	parent := Header{ChainID: 7, Height: 1, Time: 1000}
	vkey, _ := crypto.ToECDSA(crypto.Keccak256([]byte("block test validator")))
	v := &Vote{Type: PrecommitType, Height: 1, Round: 0, BlockHash: parent.Hash(),
		Validator: crypto.PubkeyToAddress(vkey.PublicKey)}
	if err := v.Sign(7, vkey); err != nil {
		t.Fatal(err)
	}
	c, err := NewCommit([]*Vote{v})
	if err != nil {
		t.Fatal(err)
	}
	b := &Block{
		Header: Header{ChainID: 7, Height: 2, Time: 2000, ParentHash: parent.Hash(),
			Proposer: Address{5}, TxRoot: TxRoot(txs), StateRoot: Hash{1}, ReceiptRoot: Hash{2},
			ValidatorsHash: Hash{3}, LastCommitHash: c.Hash()},
		Txs:        txs,
		LastCommit: c,
	}
	if err := b.ValidateBasic(7); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlockRoundTrip(t *testing.T) {
	b := testBlock(t)
	enc := b.Encode()
	got, err := DecodeBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != b.Hash() || !bytes.Equal(got.Encode(), enc) || len(got.Txs) != 3 {
		t.Fatal("round trip changed the block")
	}
	for i := range b.Txs {
		if got.Txs[i].Hash() != b.Txs[i].Hash() {
			t.Fatalf("tx %d changed", i)
		}
	}
	if got.LastCommit.Hash() != b.LastCommit.Hash() {
		t.Fatal("commit changed")
	}
	if err := got.ValidateBasic(7); err != nil {
		t.Fatal(err)
	}

	// Height 1: no txs, no commit.
	b1 := &Block{Header: Header{ChainID: 7, Height: 1, TxRoot: EmptyRoot}}
	got1, err := DecodeBlock(b1.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got1.LastCommit != nil || len(got1.Txs) != 0 || got1.Hash() != b1.Hash() {
		t.Fatalf("empty block round trip: %+v", got1)
	}
	if err := got1.ValidateBasic(7); err != nil {
		t.Fatal(err)
	}
}

func TestBlockValidateBasic(t *testing.T) {
	cases := map[string]func(b *Block){
		"height 0":      func(b *Block) { b.Header.Height = 0 },
		"chain id":      func(b *Block) { b.Header.ChainID = 8 },
		"tx root":       func(b *Block) { b.Header.TxRoot = Hash{1} },
		"tx order":      func(b *Block) { b.Txs[0], b.Txs[1] = b.Txs[1], b.Txs[0] },
		"dropped tx":    func(b *Block) { b.Txs = b.Txs[1:] },
		"no commit":     func(b *Block) { b.LastCommit = nil },
		"commit hash":   func(b *Block) { b.Header.LastCommitHash = Hash{1} },
		"commit height": func(b *Block) { b.Header.Height = 3 },
		"commit parent": func(b *Block) { b.Header.ParentHash = Hash{1} },
		"commit at height 1": func(b *Block) {
			b.Header.Height = 1
			b.LastCommit.Height = 0
		},
		"tx of another chain": func(b *Block) {
			b.Txs[0].ChainID = 8
			b.Header.TxRoot = TxRoot(b.Txs)
		},
	}
	for name, mut := range cases {
		b := testBlock(t)
		mut(b)
		if err := b.ValidateBasic(7); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("%s: got %v, want ErrInvalidBlock", name, err)
		}
	}
}

func TestDecodeBlockRejects(t *testing.T) {
	b := testBlock(t)
	enc := b.Encode()
	hdr := b.Header.Encode()
	tx0 := b.Txs[0].Encode()
	list := func(items ...[]byte) []byte {
		var body []byte
		for _, it := range items {
			body = append(body, it...)
		}
		return wrapList(body)
	}
	t0 := b.Txs[0]
	shortSig := &Tx{ChainID: t0.ChainID, Nonce: t0.Nonce, GasPrice: t0.GasPrice, GasLimit: t0.GasLimit,
		Kind: t0.Kind, To: t0.To, Value: t0.Value, Method: t0.Method, Sig: t0.Sig[:64]}
	cases := map[string][]byte{
		"trailing":     append(append([]byte{}, enc...), 0x80),
		"truncated":    enc[:len(enc)-1],
		"empty":        nil,
		"not a list":   {0x80},
		"oversized":    make([]byte, MaxBlockSize+1),
		"two fields":   list(hdr, list(tx0)),
		"four fields":  list(hdr, list(tx0), []byte{0x80}, []byte{0x80}),
		"bad header":   list(list(), list(tx0), []byte{0x80}),
		"txs a string": list(hdr, []byte{0x80}, []byte{0x80}),
		"tx garbage":   list(hdr, list([]byte{0x01}), []byte{0x80}),
		"tx short sig": list(hdr, list(shortSig.Encode()), []byte{0x80}),
		"bad commit":   list(hdr, list(tx0), []byte{0xc0}),
		"commit bytes": list(hdr, list(tx0), []byte{0x81, 0x81}),
	}
	for name, in := range cases {
		if _, err := DecodeBlock(in); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("%s: got %v, want ErrInvalidBlock", name, err)
		}
	}
}

// wrapList prefixes body with an RLP list header.
func wrapList(body []byte) []byte {
	n := len(body)
	if n < 56 {
		return append([]byte{0xc0 + byte(n)}, body...)
	}
	var lb []byte
	for x := n; x > 0; x >>= 8 {
		lb = append([]byte{byte(x)}, lb...)
	}
	return append(append([]byte{0xf7 + byte(len(lb))}, lb...), body...)
}

func FuzzDecodeBlock(f *testing.F) {
	f.Add(testBlock(f).Encode())
	f.Add((&Block{Header: Header{ChainID: 7, Height: 1, TxRoot: EmptyRoot}}).Encode())
	f.Add([]byte{0xc3, 0xc0, 0xc0, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlock(b)
		if err != nil {
			return
		}
		if !bytes.Equal(blk.Encode(), b) {
			t.Fatal("decoded block does not re-encode to the same bytes")
		}
		_ = blk.ValidateBasic(7)
	})
}

// TestDecodeBlockReusing: a tx known by hash is taken as is (its cached sender too), the
// others are decoded; a known Tx whose size differs from the block's bytes is not used.
func TestDecodeBlockReusing(t *testing.T) {
	blk := testBlock(t)
	enc := blk.Encode()
	known := map[Hash]*Tx{blk.Txs[1].Hash(): blk.Txs[1]}
	got, err := DecodeBlockReusing(enc, func(h Hash) *Tx { return known[h] })
	if err != nil {
		t.Fatal(err)
	}
	if got.Txs[1] != blk.Txs[1] || got.Txs[0] == blk.Txs[0] || got.Txs[2] == blk.Txs[2] {
		t.Fatal("the known tx was not reused, or an unknown one was not decoded")
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatal("the block does not re-encode to its bytes")
	}
	// A lookup answering a tx of another size for the hash (it cannot have those bytes).
	liar := func(Hash) *Tx { return blk.Txs[0] }
	blk2 := testBlock(t)
	blk2.Txs[1].Method = "incrementLonger"
	blk2.Txs[1].hash.Store(nil)
	blk2.Txs[1].size.Store(0)
	got, err = DecodeBlockReusing(blk2.Encode(), liar)
	if err != nil {
		t.Fatal(err)
	}
	if got.Txs[1] == blk.Txs[0] || got.Txs[1].Method != "incrementLonger" {
		t.Fatal("a known tx of another size was used")
	}
}

// FuzzDecodeBlockReusing: with a lookup that knows every tx of the seed block,
// DecodeBlockReusing accepts exactly what DecodeBlock accepts, and gives a block that
// encodes to the same bytes.
func FuzzDecodeBlockReusing(f *testing.F) {
	seed := testBlock(f)
	known := map[Hash]*Tx{}
	for _, tx := range seed.Txs {
		known[tx.Hash()] = tx
	}
	f.Add(seed.Encode())
	f.Add((&Block{Header: Header{ChainID: 7, Height: 1, TxRoot: EmptyRoot}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := DecodeBlock(b)
		got, err := DecodeBlockReusing(b, func(h Hash) *Tx { return known[h] })
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeBlockReusing: %v, DecodeBlock: %v", err, werr)
		}
		if err == nil && !bytes.Equal(got.Encode(), want.Encode()) {
			t.Fatal("the two decodings differ")
		}
	})
}

// BenchmarkDecodeBlock decodes a block of 2,000 signed invocations, every tx decoded
// (DecodeBlock) against every tx known by hash (DecodeBlockReusing, as a validator whose
// pool holds the proposal's txs).
func BenchmarkDecodeBlock(b *testing.B) {
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("block bench sender")))
	blk := &Block{Header: Header{ChainID: 7, Height: 2}}
	known := map[Hash]*Tx{}
	for i := range 2000 {
		tx := &Tx{ChainID: 7, Nonce: uint64(i), GasPrice: uint256.NewInt(1), GasLimit: 243_000,
			Kind: TxInvoke, To: Address{9}, Value: new(uint256.Int), Method: "increment"}
		if err := tx.Sign(key); err != nil {
			b.Fatal(err)
		}
		blk.Txs = append(blk.Txs, tx)
		known[tx.Hash()] = tx
	}
	enc := blk.Encode()
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeBlock(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("known", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeBlockReusing(enc, func(h Hash) *Tx { return known[h] }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
