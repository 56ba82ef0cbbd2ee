package state

// A randomized model test of format 2 over chosen key hashes, so that
// shapes keccak256 of real keys almost never gives (key hashes sharing 200+ bits, differing
// only in the last bit) are exercised: every version's root against the reference
// recursion, every proof at every readable height against a reference proof, reads, reopen,
// snapshot export/restore (the restored store then continues in lockstep), checkNoGarbage.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// prepareHashes is Prepare over items given by key hash (value nil: delete).
func prepareHashes(s *Store, height uint64, model map[types.Hash][]byte, ops map[types.Hash][]byte) (*Update, error) {
	s.mu.RLock()
	head := s.head
	s.mu.RUnlock()
	u := &Update{s: s, height: height, init: head.init, parent: head.root}
	base := head.root
	if !head.init {
		base = rootRecord{kind: rootEmpty, hash: EmptyRoot}
	}
	items := make([]item, 0, len(ops))
	for kh, v := range ops {
		it := item{keyHash: kh}
		if v != nil {
			it.value = v
			it.valueHash = crypto.Keccak256Hash(v)
		}
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b item) int { return bytes.Compare(a.keyHash[:], b.keyHash[:]) })
	up := &updater{src: s, r: s.r, version: height, h: newHasher(), par: !s.serial}
	root, err := up.applyRoot(base, items)
	if err != nil {
		return nil, err
	}
	u.root, u.nodes, u.values, u.stale = root, up.nodes, up.values, up.stale
	return u, nil
}

func sortedLeaves(m map[types.Hash][]byte) []ProofLeaf {
	out := make([]ProofLeaf, 0, len(m))
	for kh, v := range m {
		out = append(out, ProofLeaf{kh, crypto.Keccak256Hash(v)})
	}
	slices.SortFunc(out, func(a, b ProofLeaf) int { return bytes.Compare(a.KeyHash[:], b.KeyHash[:]) })
	return out
}

// refProof is the proof the reference recursion gives for kh.
func refProof(h *hasher, leaves []ProofLeaf, kh types.Hash) *Proof {
	p := new(Proof)
	for depth := 0; ; depth++ {
		switch len(leaves) {
		case 0:
			return p
		case 1:
			p.Leaf = &leaves[0]
			return p
		}
		split := 0
		for split < len(leaves) && bit(&leaves[split].KeyHash, depth) == 0 {
			split++
		}
		if bit(&kh, depth) == 0 {
			p.Siblings = append(p.Siblings, refSubtree(h, leaves[split:], depth+1))
			leaves = leaves[:split]
		} else {
			p.Siblings = append(p.Siblings, refSubtree(h, leaves[:split], depth+1))
			leaves = leaves[split:]
		}
	}
}

func TestModelChosenHashes(t *testing.T) {
	seeds := 6 // WNODE_SOAK=60 for a longer run
	if s := os.Getenv("WNODE_SOAK"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	seed0, _ := strconv.Atoi(os.Getenv("WNODE_SEED0"))
	for seed := seed0; seed < seed0+seeds; seed++ {
		for _, rb := range radixes {
			if err := chosenHashesRun(t, uint64(seed), rb); err != nil {
				t.Fatalf("seed %d radix %d: %v", seed, rb, err)
			}
		}
	}
}

func chosenHashesRun(t *testing.T, seed uint64, rb int) error {
	rng := rand.New(rand.NewPCG(seed, uint64(rb)))
	// Key hashes: fresh, or sharing a prefix of L bits with an earlier one and differing
	// at bit L (L often large).
	maxPool := 56
	if s := os.Getenv("WNODE_STATE_POOL"); s != "" {
		maxPool, _ = strconv.Atoi(s)
	}
	npool := 8 + rng.IntN(maxPool)
	pool := make([]types.Hash, 0, npool)
	seen := map[types.Hash]bool{}
	for len(pool) < npool {
		var h types.Hash
		for i := range h {
			h[i] = byte(rng.Uint32())
		}
		if len(pool) > 0 && rng.IntN(3) > 0 {
			src := pool[rng.IntN(len(pool))]
			var L int
			switch rng.IntN(3) {
			case 0:
				L = rng.IntN(256)
			case 1:
				L = 240 + rng.IntN(16)
			default:
				L = rng.IntN(24)
			}
			for i := 0; i < L; i++ {
				if bit(&src, i) != bit(&h, i) {
					h[i>>3] ^= 0x80 >> (i & 7)
				}
			}
			if bit(&src, L) == bit(&h, L) {
				h[L>>3] ^= 0x80 >> (L & 7)
			}
		}
		if !seen[h] {
			seen[h] = true
			pool = append(pool, h)
		}
	}
	keep := uint64(1 + rng.IntN(4))
	opts := Options{radixBits: rb, KeepVersions: keep, NodeCacheBytes: []int{-1, 0}[rng.IntN(2)], serial: rng.IntN(2) == 0, SnapshotChunkSize: 1 + rng.IntN(200)}
	db, err := OpenMemPebble()
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := New(db, opts)
	if err != nil {
		return err
	}
	type follower struct {
		s    *Store
		from uint64
	}
	var followers []follower
	var history []map[types.Hash][]byte
	model := map[types.Hash][]byte{}
	h := newHasher()
	versions := 4 + rng.IntN(12)
	for v := 0; v < versions; v++ {
		ops := map[types.Hash][]byte{}
		switch rng.IntN(8) {
		case 0: // delete all but at most one
			i := 0
			for kh := range model {
				if i > 0 || rng.IntN(2) == 0 {
					ops[kh] = nil
				}
				i++
			}
		case 1: // delete everything in the model under a random prefix of a key
			if len(model) > 0 {
				kh := pool[rng.IntN(len(pool))]
				L := rng.IntN(16)
				for k := range model {
					same := true
					for i := 0; i < L; i++ {
						if bit(&k, i) != bit(&kh, i) {
							same = false
						}
					}
					if same {
						ops[k] = nil
					}
				}
			}
		default:
			n := rng.IntN(len(pool) + 1)
			for _, i := range rng.Perm(len(pool))[:n] {
				kh := pool[i]
				switch r := rng.IntN(6); {
				case r == 0:
					ops[kh] = nil // delete (absent or not)
				case r == 1 && model[kh] != nil:
					ops[kh] = bytes.Clone(model[kh]) // same value again
				default:
					val := make([]byte, rng.IntN(5))
					for j := range val {
						val[j] = byte(rng.IntN(3))
					}
					ops[kh] = val
				}
			}
		}
		next := map[types.Hash][]byte{}
		for k, val := range model {
			next[k] = val
		}
		for k, val := range ops {
			if val == nil {
				delete(next, k)
			} else {
				next[k] = val
			}
		}
		model = next
		history = append(history, model)
		want := refSubtree(h, sortedLeaves(model), 0)
		for i, st := range append([]follower{{s: s}}, followers...) {
			u, err := prepareHashes(st.s, uint64(v), model, ops)
			if err != nil {
				return fmt.Errorf("store %d prepare %d: %w", i, v, err)
			}
			if u.root.hash != want {
				return fmt.Errorf("store %d height %d: root %s, reference %s (%d keys)", i, v, u.root.hash, want, len(model))
			}
			if err := st.s.Commit(u, nil); err != nil {
				return fmt.Errorf("store %d commit %d: %w", i, v, err)
			}
		}
		if rng.IntN(3) == 0 { // reopen
			if s, err = New(db, opts); err != nil {
				return fmt.Errorf("reopen at %d: %w", v, err)
			}
		}
		// Every readable height: proofs equal the reference proofs, reads equal the model.
		for i, st := range append([]follower{{s: s}}, followers...) {
			for hh := uint64(v); ; hh-- {
				if hh < st.from {
					break
				}
				view, err := st.s.Reader(hh)
				if errors.Is(err, ErrPruned) {
					break
				}
				if err != nil {
					return err
				}
				m := history[hh]
				leaves := sortedLeaves(m)
				for _, kh := range pool {
					p, err := prove(st.s, st.s.r, view.root, kh)
					if err != nil {
						return fmt.Errorf("store %d prove at %d: %w", i, hh, err)
					}
					if rp := refProof(h, leaves, kh); !bytes.Equal(p.Encode(), rp.Encode()) {
						return fmt.Errorf("store %d height %d: proof of %s differs from the reference", i, hh, kh)
					}
					got, err := view.get(&kh)
					if err != nil {
						return err
					}
					wantV, ok := m[kh]
					if ok != (got != nil) || !bytes.Equal(got, wantV) {
						return fmt.Errorf("store %d height %d: get %s = %x, want %x", i, hh, kh, got, wantV)
					}
				}
				if hh == 0 {
					break
				}
			}
			if err := checkNoGarbage(st.s); err != nil {
				return fmt.Errorf("store %d at %d: %w", i, v, err)
			}
		}
		if rng.IntN(4) == 0 { // export a readable height, restore, follow from there
			latest, _ := s.Latest()
			from := s.Oldest() + uint64(rng.IntN(int(latest-s.Oldest()+1)))
			if from != latest {
				from = latest // a follower must start at the latest height to go on committing
			}
			var buf [][]byte
			m2, err := s.Export(context.Background(), from, func(c []byte) error { buf = append(buf, bytes.Clone(c)); return nil })
			if err != nil {
				return fmt.Errorf("export %d: %w", from, err)
			}
			db2, err := OpenMemPebble()
			if err != nil {
				return err
			}
			defer db2.Close()
			s2, err := New(db2, Options{radixBits: rb, KeepVersions: keep})
			if err != nil {
				return err
			}
			r, err := s2.NewRestore(m2)
			if err != nil {
				return err
			}
			for _, c := range buf {
				if err := r.Apply(c); err != nil {
					return fmt.Errorf("restore apply: %w", err)
				}
			}
			if err := r.Finish(nil); err != nil {
				return fmt.Errorf("restore %d (%d pairs): %w", from, m2.Pairs, err)
			}
			followers = append(followers, follower{s: s2, from: from})
		}
	}
	return nil
}
