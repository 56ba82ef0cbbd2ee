package state

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
	"pgregory.net/rapid"
)

// refRoot is the reference model of the tree: the root of the canonical compressed binary
// sparse Merkle tree over the pairs, computed from scratch by recursion on key-hash bits.
func refRoot(pairs map[string][]byte) types.Hash {
	leaves := make([]ProofLeaf, 0, len(pairs))
	for k, v := range pairs {
		leaves = append(leaves, ProofLeaf{crypto.Keccak256Hash([]byte(k)), crypto.Keccak256Hash(v)})
	}
	slices.SortFunc(leaves, func(a, b ProofLeaf) int { return bytes.Compare(a.KeyHash[:], b.KeyHash[:]) })
	return refSubtree(newHasher(), leaves, 0)
}

func refSubtree(h *hasher, leaves []ProofLeaf, depth int) types.Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot
	case 1:
		return h.leaf(leaves[0].KeyHash, leaves[0].ValueHash)
	}
	// Sorted leaves: those with bit 0 at depth come first.
	split := 0
	for split < len(leaves) && bit(&leaves[split].KeyHash, depth) == 0 {
		split++
	}
	return h.inner(refSubtree(h, leaves[:split], depth+1), refSubtree(h, leaves[split:], depth+1))
}

// tb is what the helpers need of *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// cleaner is a test that runs functions when it ends.
type cleaner interface{ Cleanup(func()) }

// newTestStore opens a Store over a fresh in-memory database, closed when c ends.
func newTestStore(t tb, c cleaner, opts Options) *Store {
	t.Helper()
	db, err := OpenMemPebble()
	if err != nil {
		t.Fatal(err)
	}
	c.Cleanup(func() { db.Close() })
	s, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rapidCleanup runs registered functions at the end of one rapid check.
type rapidCleanup []func()

func (r *rapidCleanup) Cleanup(f func()) { *r = append(*r, f) }
func (r *rapidCleanup) run() {
	for _, f := range *r {
		f()
	}
}

// commit prepares and commits the next height with changes and returns the root.
func commit(t tb, s *Store, changes []Change) types.Hash {
	t.Helper()
	h := uint64(0)
	if s.Initialized() {
		h, _ = s.Latest()
		h++
	}
	u, err := s.Prepare(h, changes)
	if err != nil {
		t.Fatalf("prepare %d: %v", h, err)
	}
	if err := s.Commit(u, nil); err != nil {
		t.Fatalf("commit %d: %v", h, err)
	}
	return u.Root()
}

var radixes = []int{1, 2, 4}

func TestEmptyAndSingle(t *testing.T) {
	for _, rb := range radixes {
		s := newTestStore(t, t, Options{radixBits: rb})
		if _, err := s.Reader(0); !errors.Is(err, ErrNoState) {
			t.Fatalf("reader before genesis: %v", err)
		}
		if _, err := s.Prepare(1, nil); !errors.Is(err, ErrWrongHeight) {
			t.Fatalf("prepare 1 on empty store: %v", err)
		}
		if r := commit(t, s, nil); r != EmptyRoot {
			t.Fatalf("empty genesis root %s", r)
		}
		r1 := commit(t, s, []Change{{Key: []byte("a"), Value: []byte("1")}})
		if want := LeafHash(crypto.Keccak256Hash([]byte("a")), crypto.Keccak256Hash([]byte("1"))); r1 != want {
			t.Fatalf("single-leaf root %s, want the leaf %s", r1, want)
		}
		// The lone leaf lives in the root record: a reopened store reads and proves it.
		s2, err := New(s.db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if h, r := s2.Latest(); h != 1 || r != r1 {
			t.Fatalf("reopened at %d %s, want 1 %s", h, r, r1)
		}
		p, err := s2.Prove(1, []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyProof(r1, []byte("a"), []byte("1"), p); err != nil {
			t.Fatal(err)
		}
		if r := commit(t, s2, []Change{{Key: []byte("b"), Value: []byte("2")}}); r == r1 {
			t.Fatal("root unchanged by a second key")
		}
		if r := commit(t, s2, []Change{{Key: []byte("b")}}); r != r1 {
			t.Fatalf("root after deleting the second key %s, want %s", r, r1)
		}
		s = s2
		if r := commit(t, s, []Change{{Key: []byte("a")}}); r != EmptyRoot {
			t.Fatalf("root after deleting the only key %s", r)
		}
		if h, r := s.Latest(); h != 4 || r != EmptyRoot {
			t.Fatalf("latest %d %s", h, r)
		}
	}
}

func TestPrepareRejects(t *testing.T) {
	s := newTestStore(t, t, Options{})
	commit(t, s, nil)
	if _, err := s.Prepare(1, []Change{{Key: []byte("k"), Value: []byte("1")}, {Key: []byte("k")}}); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.Prepare(0, nil); !errors.Is(err, ErrWrongHeight) {
		t.Fatalf("prepare latest again: %v", err)
	}
	if _, err := s.Prepare(2, nil); !errors.Is(err, ErrWrongHeight) {
		t.Fatalf("prepare with a gap: %v", err)
	}
	// Two proposals for height 1: the first committed wins, the second is refused.
	a, err := s.Prepare(1, []Change{{Key: []byte("k"), Value: []byte("a")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Prepare(1, []Change{{Key: []byte("k"), Value: []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Root() == b.Root() {
		t.Fatal("different proposals, same root")
	}
	if err := s.Commit(b, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(a, nil); !errors.Is(err, ErrWrongHeight) {
		t.Fatalf("second commit of height 1: %v", err)
	}
	if err := s.Commit(b, nil); !errors.Is(err, ErrWrongHeight) {
		t.Fatalf("commit twice: %v", err)
	}
	v, _ := s.Reader(1)
	if got, _ := v.Get([]byte("k")); string(got) != "b" {
		t.Fatalf("k = %q", got)
	}
	// A failing fn writes nothing.
	c, _ := s.Prepare(2, []Change{{Key: []byte("x"), Value: []byte("y")}})
	if err := s.Commit(c, func(*pebble.Batch) error { return errors.New("no") }); err == nil {
		t.Fatal("fn error ignored")
	}
	if h, _ := s.Latest(); h != 1 {
		t.Fatalf("latest %d after failed commit", h)
	}
	if got, _ := v.Get([]byte("x")); got != nil {
		t.Fatal("failed commit wrote")
	}
	if err := s.Commit(c, nil); err != nil {
		t.Fatalf("retry after failed fn: %v", err)
	}
}

// genOps draws a write set over a small key space so that updates and deletes of existing
// keys are frequent. Values include empty ones.
func genOps(t *rapid.T, keys []string, label string) []Change {
	n := rapid.IntRange(0, len(keys)).Draw(t, label+"n")
	picked := rapid.Permutation(keys).Draw(t, label+"keys")[:n]
	out := make([]Change, n)
	for i, k := range picked {
		out[i].Key = []byte(k)
		if rapid.IntRange(0, 3).Draw(t, label+"del") > 0 {
			out[i].Value = rapid.SliceOfN(rapid.Byte(), 0, 6).Draw(t, label+"v")
		}
	}
	return out
}

func applyModel(m map[string][]byte, cs []Change) map[string][]byte {
	m = maps.Clone(m)
	for _, c := range cs {
		if c.Value == nil {
			delete(m, string(c.Key))
		} else {
			m[string(c.Key)] = c.Value
		}
	}
	return m
}

// TestTreeMatchesModel: over random sequences of write sets, each version's root equals
// the reference model's, whatever the radix, the write order, or how writes are grouped
// into versions; every key reads back at every readable version; every proof verifies,
// and the proofs are identical across radixes.
func TestTreeMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var cl rapidCleanup
		defer cl.run()
		nkeys := rapid.IntRange(1, 48).Draw(t, "nkeys")
		keys := make([]string, nkeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", i)
		}
		keep := rapid.IntRange(1, 4).Draw(t, "keep")
		stores := make([]*Store, len(radixes))
		for i, rb := range radixes {
			stores[i] = newTestStore(t, &cl, Options{radixBits: rb, KeepVersions: uint64(keep), NodeCacheBytes: rapid.SampledFrom([]int{-1, 0}).Draw(t, "cache")})
		}
		var history []map[string][]byte
		model := map[string][]byte{}
		versions := rapid.IntRange(1, 8).Draw(t, "versions")
		for h := range versions {
			ops := genOps(t, keys, "ops")
			model = applyModel(model, ops)
			history = append(history, model)
			want := refRoot(model)
			for i, s := range stores {
				shuffled := rapid.Permutation(ops).Draw(t, "order")
				u, err := s.Prepare(uint64(h), shuffled)
				if err != nil {
					t.Fatal(err)
				}
				if u.Root() != want {
					t.Fatalf("radix %d height %d: root %s, model %s", radixes[i], h, u.Root(), want)
				}
				if err := s.Commit(u, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		latest := uint64(versions - 1)
		for h := latest; ; h-- {
			m := history[h]
			proofs := map[string][]byte{} // by key, from the first radix
			for i, s := range stores {
				v, err := s.Reader(h)
				if h+uint64(keep) <= latest {
					if !errors.Is(err, ErrPruned) {
						t.Fatalf("height %d outside window of %d at %d: %v", h, keep, latest, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range append(keys, "absent") {
					got, err := v.Get([]byte(k))
					if err != nil {
						t.Fatal(err)
					}
					want, ok := m[k]
					if ok != (got != nil) || !bytes.Equal(got, want) {
						t.Fatalf("radix %d height %d: %s = %x, want %x (present %v)", radixes[i], h, k, got, want, ok)
					}
					p, err := v.Prove([]byte(k))
					if err != nil {
						t.Fatal(err)
					}
					if err := VerifyProof(v.Root(), []byte(k), got, p); err != nil {
						t.Fatalf("radix %d height %d: proof of %s: %v", radixes[i], h, k, err)
					}
					if i == 0 {
						proofs[k] = p.Encode()
					} else if !bytes.Equal(p.Encode(), proofs[k]) {
						t.Fatalf("radix %d: proof of %s differs from radix %d's", radixes[i], k, radixes[0])
					}
				}
			}
			if h == 0 {
				break
			}
		}
		for i, s := range stores {
			if err := checkNoGarbage(s); err != nil {
				t.Fatalf("radix %d: %v", radixes[i], err)
			}
		}
		// The same final contents written as a single genesis give the same root.
		fresh := newTestStore(t, &cl, Options{})
		var all []Change
		for k, v := range model {
			all = append(all, Change{Key: []byte(k), Value: v})
		}
		if r := commit(t, fresh, all); r != refRoot(model) {
			t.Fatal("one-shot root differs")
		}
	})
}
