package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/wnode/wnode/types"
)

type oneNodeSource struct{ n *node }

func (o oneNodeSource) loadNode(key []byte) (*node, error) {
	if len(key) == 12 { // depth 0
		return o.n, nil
	}
	return nil, errors.New("missing")
}

// FuzzDecodeNode: any record decodeNode accepts can be re-encoded, decoded again to
// the same node (of the length encodedSize predicts: Commit encodes in place), hashed
// and proved through without a panic.
func FuzzDecodeNode(f *testing.F) {
	var nb nodeBuilder
	nb.present, nb.leaves = 0b1011, 0b0010
	nb.children[0] = child{version: 3, hash: types.Hash{1}}
	nb.children[1] = leafChild(&leaf{keyHash: types.Hash{0x10}, valueHash: types.Hash{2}, valueVersion: 7}, LeafHash(types.Hash{0x10}, types.Hash{2}))
	nb.children[3] = child{version: 300, hash: types.Hash{3}}
	n := nb.node(16)
	f.Add(n.encode(nil), uint8(4), []byte{0x12})
	f.Fuzz(func(t *testing.T, b []byte, rb uint8, key []byte) {
		r := radix{b: []int{1, 2, 4}[int(rb)%3]}
		n, err := decodeNode(b, r)
		if err != nil {
			return
		}
		enc := n.encode(nil)
		if len(enc) != n.encodedSize() {
			t.Fatalf("encoded in %d bytes, encodedSize says %d", len(enc), n.encodedSize())
		}
		n2, err := decodeNode(enc, r)
		if err != nil || !bytes.Equal(n2.encode(nil), enc) {
			t.Fatalf("re-encoding does not decode the same: %v", err)
		}
		h := newHasher()
		_ = n.hashRange(h, 0, r.size())
		var kh types.Hash
		copy(kh[:], key)
		_, _ = prove(oneNodeSource{n}, r, rootRecord{kind: rootInternal}, kh)
	})
}

func TestUvarintLen(t *testing.T) {
	for _, x := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<35 - 1, 1 << 35, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		if got, want := uvarintLen(x), len(binary.AppendUvarint(nil, x)); got != want {
			t.Fatalf("uvarintLen(%d) = %d, want %d", x, got, want)
		}
	}
}
