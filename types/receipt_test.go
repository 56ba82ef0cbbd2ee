package types

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func genReceipt(t *rapid.T) *Receipt {
	r := &Receipt{
		TxHash:          genHash(t, "tx"),
		Status:          rapid.Uint64Range(0, 1).Draw(t, "status"),
		GasUsed:         rapid.Uint64().Draw(t, "gas"),
		Output:          rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "output"),
		Error:           rapid.String().Draw(t, "error"),
		ContractAddress: genAddress(t, "contract"),
		Height:          rapid.Uint64().Draw(t, "height"),
		Index:           rapid.Uint64().Draw(t, "index"),
	}
	n := rapid.IntRange(0, 4).Draw(t, "events")
	r.Events = make([]Event, n)
	for i := range r.Events {
		r.Events[i] = Event{
			Contract: genAddress(t, "ev.contract"),
			Topic:    rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "ev.topic"),
			Data:     rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "ev.data"),
		}
	}
	return r
}

func TestReceiptRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genReceipt(t)
		enc := r.Encode()
		got, err := DecodeReceipt(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), enc) || got.Hash() != r.Hash() {
			t.Fatal("round trip changed the receipt")
		}
		if !reflect.DeepEqual(normReceipt(got), normReceipt(r)) {
			t.Fatalf("round trip: %+v != %+v", got, r)
		}
	})
}

// normReceipt maps empty slices to nil so that DeepEqual compares contents.
func normReceipt(r *Receipt) *Receipt {
	c := *r
	if len(c.Output) == 0 {
		c.Output = nil
	}
	if len(c.Events) == 0 {
		c.Events = nil
	}
	c.Events = append([]Event(nil), c.Events...)
	for i := range c.Events {
		if len(c.Events[i].Topic) == 0 {
			c.Events[i].Topic = nil
		}
		if len(c.Events[i].Data) == 0 {
			c.Events[i].Data = nil
		}
	}
	return &c
}

func TestReceiptRejects(t *testing.T) {
	r := &Receipt{Status: ReceiptSuccess, GasUsed: 21, Output: []byte("hi"), Events: []Event{{Topic: []byte("t")}}}
	enc := r.Encode()
	bad := *r
	bad.Status = 2
	cases := map[string][]byte{
		"trailing":  append(append([]byte{}, enc...), 0x80),
		"truncated": enc[:len(enc)-1],
		"status 2":  bad.Encode(),
		"oversized": make([]byte, MaxReceiptSize+1),
		"empty":     {},
	}
	for name, b := range cases {
		if _, err := DecodeReceipt(b); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("%s: got %v, want ErrInvalidBlock", name, err)
		}
	}
}

func TestReceiptRootOrder(t *testing.T) {
	a := &Receipt{Status: ReceiptSuccess, Index: 0}
	b := &Receipt{Status: ReceiptFailed, Index: 1}
	if ReceiptRoot(nil) != EmptyRoot {
		t.Fatal("receipt root of no receipts is not EmptyRoot")
	}
	if ReceiptRoot([]*Receipt{a, b}) == ReceiptRoot([]*Receipt{b, a}) {
		t.Fatal("receipt root ignores order")
	}
}

func FuzzDecodeReceipt(f *testing.F) {
	f.Add((&Receipt{Status: ReceiptSuccess, GasUsed: 60000, Output: []byte("hello"),
		Events: []Event{{Contract: Address{1}, Topic: []byte("t"), Data: []byte("d")}}}).Encode())
	f.Add((&Receipt{Error: "out of gas", ContractAddress: Address{9}, Height: 3, Index: 1}).Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReceipt(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Encode(), b) {
			t.Fatal("decoded receipt does not re-encode to the same bytes")
		}
	})
}
