package state

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"pgregory.net/rapid"
)

// TestCommitBatchInKeyOrder: over random histories (updates, inserts, deletes, pruning
// one version per commit and a backlog of several after the window shrinks), the point
// writes of every commit's batch come in strictly ascending key order, so that Pebble's
// sort of a large batch is a linear pass (orderedBatch), and the history still matches
// the model and leaves no garbage.
func TestCommitBatchInKeyOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var cl rapidCleanup
		defer cl.run()
		rb := rapid.SampledFrom(radixes).Draw(t, "radix")
		nkeys := rapid.IntRange(1, 300).Draw(t, "nkeys")
		keys := make([]string, nkeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", i)
		}
		db, err := OpenMemPebble()
		if err != nil {
			t.Fatal(err)
		}
		cl.Cleanup(func() { db.Close() })
		open := func(keep int) *Store {
			s, err := New(db, Options{radixBits: rb, KeepVersions: uint64(keep), NodeCacheBytes: rapid.SampledFrom([]int{-1, 0}).Draw(t, "cache")})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := open(rapid.IntRange(1, 5).Draw(t, "keep"))
		model := map[string][]byte{}
		versions := rapid.IntRange(1, 10).Draw(t, "versions")
		models := make([]map[string][]byte, versions)
		shrinkAt := rapid.IntRange(0, versions).Draw(t, "shrinkAt")
		for h := range versions {
			if h == shrinkAt && h > 0 {
				s = open(1) // its first commit prunes every version stale so far
			}
			ops := genOps(t, keys, "ops")
			model = applyModel(model, ops)
			models[h] = model
			u, err := s.Prepare(uint64(h), ops)
			if err != nil {
				t.Fatal(err)
			}
			if u.Root() != refRoot(model) {
				t.Fatalf("height %d: root differs from the model's", h)
			}
			b := db.NewBatch()
			if _, err := s.fill(b, u, max(s.oldest.Load(), s.windowStart(u.height))); err != nil {
				t.Fatal(err)
			}
			if err := checkBatchOrder(b); err != nil {
				t.Fatalf("height %d: %v", h, err)
			}
			b.Close()
			if err := s.Commit(u, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := checkNoGarbage(s); err != nil {
			t.Fatal(err)
		}
		// The batch's content, not only its order: every readable version still reads
		// its model (a value record dropped or deleted by the merge would not change the
		// roots).
		for h := s.Oldest(); h < uint64(versions); h++ {
			v, err := s.Reader(h)
			if err != nil {
				t.Fatalf("height %d: %v", h, err)
			}
			for _, k := range keys {
				got, err := v.Get([]byte(k))
				if want := models[h][k]; err != nil || !bytes.Equal(got, want) {
					t.Fatalf("height %d: %s = %x, want %x (%v)", h, k, got, want, err)
				}
			}
		}
	})
}

// checkBatchOrder checks that b's point writes have strictly ascending keys.
func checkBatchOrder(b *pebble.Batch) error {
	var prev []byte
	n := 0
	for r := b.Reader(); ; {
		kind, key, _, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if kind == pebble.InternalKeyKindRangeDelete {
			continue
		}
		if n > 0 && bytes.Compare(prev, key) >= 0 {
			return fmt.Errorf("batch write %d: key %x after %x", n, key, prev)
		}
		prev = append(prev[:0], key...)
		n++
	}
	return nil
}
