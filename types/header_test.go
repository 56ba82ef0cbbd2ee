package types

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func genHash(t *rapid.T, name string) (h Hash) {
	copy(h[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, name))
	return h
}

func genAddress(t *rapid.T, name string) (a Address) {
	copy(a[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, name))
	return a
}

func genHeader(t *rapid.T) *Header {
	return &Header{
		ChainID:            rapid.Uint64().Draw(t, "chainID"),
		Height:             rapid.Uint64().Draw(t, "height"),
		Time:               rapid.Uint64().Draw(t, "time"),
		ParentHash:         genHash(t, "parent"),
		Proposer:           genAddress(t, "proposer"),
		TxRoot:             genHash(t, "txRoot"),
		StateRoot:          genHash(t, "stateRoot"),
		ReceiptRoot:        genHash(t, "receiptRoot"),
		ValidatorsHash:     genHash(t, "validators"),
		NextValidatorsHash: genHash(t, "nextValidators"),
		LastCommitHash:     genHash(t, "lastCommit"),
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHeader(t)
		enc := h.Encode()
		if len(enc) > MaxHeaderSize {
			t.Fatalf("header of %d bytes exceeds MaxHeaderSize", len(enc))
		}
		got, err := DecodeHeader(enc)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *h || got.Hash() != h.Hash() {
			t.Fatalf("round trip: %+v != %+v", got, h)
		}
	})
}

func TestHeaderHashCoversEveryField(t *testing.T) {
	base := Header{ChainID: 1, Height: 2, Time: 3}
	seen := map[Hash]bool{base.Hash(): true}
	muts := []func(*Header){
		func(h *Header) { h.ChainID++ },
		func(h *Header) { h.Height++ },
		func(h *Header) { h.Time++ },
		func(h *Header) { h.ParentHash[0] = 1 },
		func(h *Header) { h.Proposer[0] = 1 },
		func(h *Header) { h.TxRoot[0] = 1 },
		func(h *Header) { h.StateRoot[0] = 1 },
		func(h *Header) { h.ReceiptRoot[0] = 1 },
		func(h *Header) { h.ValidatorsHash[0] = 1 },
		func(h *Header) { h.NextValidatorsHash[0] = 1 },
		func(h *Header) { h.LastCommitHash[0] = 1 },
	}
	for i, m := range muts {
		h := base
		m(&h)
		if seen[h.Hash()] {
			t.Fatalf("mutation %d does not change the hash", i)
		}
		seen[h.Hash()] = true
	}
}

func TestHeaderRejects(t *testing.T) {
	h := &Header{ChainID: 1, Height: 5, Time: 1000}
	enc := h.Encode()
	cases := map[string][]byte{
		"trailing":  append(append([]byte{}, enc...), 0x80),
		"truncated": enc[:len(enc)-1],
		"empty":     nil,
		"oversized": make([]byte, MaxHeaderSize+1),
		"not list":  {0x80},
		"too few":   {0xc3, 0x01, 0x05, 0x80},
	}
	// A header with an extra 12th field.
	extra := append([]byte{}, enc...)
	extra = append(extra, 0x01)
	extra[1]++ // long-form list length byte
	cases["extra field"] = extra
	// Non-canonical integer: height 5 written as a one-byte string 0x8105.
	nc := bytes.Replace(enc, []byte{0x01, 0x05}, []byte{0x01, 0x81, 0x05}, 1)
	nc[1]++
	cases["non-canonical int"] = nc
	for name, b := range cases {
		if _, err := DecodeHeader(b); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("%s: got %v, want ErrInvalidBlock", name, err)
		}
	}
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add((&Header{ChainID: 1, Height: 5, Time: 1000}).Encode())
	f.Add((&Header{ChainID: ^uint64(0), Height: ^uint64(0), Proposer: Address{1}}).Encode())
	f.Add((&Header{ChainID: 7, Height: 9, ValidatorsHash: Hash{2}, NextValidatorsHash: Hash{3}, LastCommitHash: Hash{4}}).Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Encode(), b) {
			t.Fatal("decoded header does not re-encode to the same bytes")
		}
	})
}
