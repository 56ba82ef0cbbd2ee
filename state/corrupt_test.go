package state

// A corrupted tree in the database must give an error, never a
// panic. Each record below decodes (decodeNode accepts it): a chain of internal nodes,
// one per depth, along a key's path, deeper than a key hash has digits.

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
)

func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func TestCorruptDeepTreeErrs(t *testing.T) {
	s := newTestStore(t, t, Options{})
	db := s.db
	commit(t, s, []Change{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}})
	kh := crypto.Keccak256Hash([]byte("a"))
	// Overwrite version 0's tree along a's path: at every depth an internal node whose
	// only child (a's digit) is an internal node of version 0, down past the last digit.
	for depth := 0; depth <= s.r.maxDepth(); depth++ {
		rec := []byte{nodeInternal}
		d := 0
		if depth < s.r.maxDepth() {
			d = s.r.digit(&kh, depth)
		}
		rec = binary.BigEndian.AppendUint16(rec, 1<<d)
		rec = binary.BigEndian.AppendUint16(rec, 0)
		rec = binary.AppendUvarint(rec, 0)
		rec = append(rec, make([]byte, 32)...)
		if _, err := decodeNode(rec, s.r); err != nil {
			t.Fatal(err)
		}
		if err := db.Set(nodeKey(0, depth, &kh, s.r), rec, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(db, Options{NodeCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := noPanic(func() error { _, err := s.Prove(0, []byte("a")); return err }); err == nil || err.Error()[:6] == "panic:" {
		t.Errorf("Prove over a corrupt tree: %v (want an error, not a panic)", err)
	}
	if err := noPanic(func() error { _, err := s.Prepare(1, []Change{{Key: []byte("a"), Value: []byte("x")}}); return err }); err == nil || err.Error()[:6] == "panic:" {
		t.Errorf("Prepare over a corrupt tree: %v (want an error, not a panic)", err)
	}
}
