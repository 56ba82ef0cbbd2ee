package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wnode/wnode/types"
)

// bufsHistory is the write set of height h for the buffer-reuse tests: enough writes
// for the concurrent subtree updaters (parallelMinItems), values from a few bytes to
// more than an arena chunk's share (arenaChunk/8), and deletes. tag tells a competing
// block's values from the committed one's.
func bufsHistory(h uint64, nkeys, writes int, tag string) []Change {
	sizes := [...]int{3, 40, 700, 3000, arenaChunk/8 + 100}
	var cs []Change
	for i := range writes {
		j := (int(h)*writes*7 + i) % nkeys
		head := fmt.Sprint(tag, h, ".", i, ":")
		v := bytes.Repeat([]byte(head), sizes[(int(h)+i)%len(sizes)]/len(head)+1)
		cs = append(cs, Change{Key: []byte(fmt.Sprint("k", j)), Value: v})
	}
	for i := range writes / 5 {
		j := (int(h)*writes*7 + writes + i) % nkeys
		cs = append(cs, Change{Key: []byte(fmt.Sprint("k", j))})
	}
	return cs
}

// TestBufferReuseStress: the commit path's pooled buffers (the update's lists and key
// arena, the node cache's reused entries) never leak one block's bytes into another's.
// Blocks are committed (synced or not) while competing updates of the same height are
// prepared and abandoned (they take pooled buffers while a commit finishes), an update
// whose first commit failed is committed again after a competitor was prepared, the node
// cache is small enough to evict on every block, and readers check values (View.Get,
// Cursor), proofs and roots of recent heights against the model all along. Run with
// -race.
func TestBufferReuseStress(t *testing.T) {
	const nkeys, writes = 1200, 160
	heights := uint64(24)
	if testing.Short() {
		heights = 12
	}
	s := newTestStore(t, t, Options{KeepVersions: 5, NodeCacheBytes: 48 << 10})
	models := make([]map[string][]byte, heights)
	roots := make([]types.Hash, heights)
	m := map[string][]byte{}
	for h := range heights {
		m = applyModel(m, bufsHistory(h, nkeys, writes, "v"))
		models[h], roots[h] = m, refRoot(m)
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(stop) // before the store closes (cleanups run last first), also on Fatal
	errs := make(chan error, 8)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	reads := make([]int, 3)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := readRecent(s, uint64(r), 3, done, func(v *View, h uint64, rng *rand.Rand) error {
				if v.Root() != roots[h] {
					return fmt.Errorf("height %d root %s, want %s", h, v.Root(), roots[h])
				}
				c, err := v.Cursor()
				if err != nil {
					return err
				}
				err = func() error {
					for range 8 {
						key := []byte(fmt.Sprint("k", rng.IntN(nkeys)))
						want := models[h][string(key)]
						got, err := v.Get(key)
						if err != nil {
							return fmt.Errorf("height %d: Get %s: %w", h, key, err)
						}
						if !bytes.Equal(got, want) {
							return fmt.Errorf("height %d: Get %s = %.20q, want %.20q", h, key, got, want)
						}
						got, err = c.Get(key)
						if err != nil {
							return fmt.Errorf("height %d: cursor %s: %w", h, key, err)
						}
						if !bytes.Equal(got, want) {
							return fmt.Errorf("height %d: cursor %s = %.20q, want %.20q", h, key, got, want)
						}
						p, err := v.Prove(key)
						if err != nil {
							return err
						}
						if err := VerifyProof(roots[h], key, want, p); err != nil {
							return fmt.Errorf("height %d proof of %s: %w", h, key, err)
						}
						reads[r]++
					}
					return nil
				}()
				if cerr := c.Close(); err == nil {
					err = cerr
				}
				return err
			})
			if err != nil {
				fail(err)
			}
		}()
	}

	errFn := errors.New("caller's writes fail")
	for h := range heights {
		// Competing updates of this height, prepared while the previous block's commit
		// may still be finishing and while this one commits: they take pooled buffers.
		var cw sync.WaitGroup
		cw.Add(1)
		wg.Add(1) // stop waits for it too
		go func() {
			defer wg.Done()
			defer cw.Done()
			for i := range 2 {
				// ErrWrongHeight once the block is committed.
				if _, err := s.Prepare(h, bufsHistory(h, nkeys, writes, fmt.Sprint("x", i))); err != nil && !errors.Is(err, ErrWrongHeight) {
					fail(err)
				}
			}
		}()
		u, err := s.Prepare(h, bufsHistory(h, nkeys, writes, "v"))
		if err != nil {
			t.Fatal(err)
		}
		if u.Root() != roots[h] {
			t.Fatalf("height %d: prepared root %s, want %s", h, u.Root(), roots[h])
		}
		if h%5 == 2 {
			// A commit that fails changes nothing and leaves u whole: committed again
			// after a competitor took whatever it could from the pools.
			if err := s.Commit(u, func(*pebble.Batch) error { return errFn }); !errors.Is(err, errFn) {
				t.Fatalf("height %d: failing commit: %v", h, err)
			}
			if _, err := s.Prepare(h, bufsHistory(h, nkeys, writes, "y")); err != nil {
				t.Fatal(err)
			}
		}
		if h%3 == 1 {
			err = s.CommitNoSync(u, nil)
		} else {
			err = s.Commit(u, nil)
		}
		if err != nil {
			t.Fatalf("commit %d: %v", h, err)
		}
		if h%4 == 3 {
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		cw.Wait()
	}
	stop()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if reads[0]+reads[1]+reads[2] == 0 {
		t.Fatal("no read completed")
	}
	// Every key at every readable height, once nothing else runs.
	latest, _ := s.Latest()
	for h := s.Oldest(); h <= latest; h++ {
		v, err := s.Reader(h)
		if err != nil {
			t.Fatal(err)
		}
		if v.Root() != roots[h] {
			t.Fatalf("height %d root %s, want %s", h, v.Root(), roots[h])
		}
		for i := range nkeys {
			key := []byte(fmt.Sprint("k", i))
			got, err := v.Get(key)
			if want := models[h][string(key)]; err != nil || !bytes.Equal(got, want) {
				t.Fatalf("height %d: %s = %.20q, want %.20q (%v)", h, key, got, want, err)
			}
		}
	}
	if err := checkNoGarbage(s); err != nil {
		t.Fatal(err)
	}
}

// TestCommitAgainAfterFailure: an update whose Commit failed (the caller's writes
// failed) keeps its nodes, values and keys even when other updates are prepared and
// committed meanwhile, so committing it later writes exactly its version: the pools get
// an update's buffers only after its successful Commit.
func TestCommitAgainAfterFailure(t *testing.T) {
	const nkeys, writes = 600, 120
	s := newTestStore(t, t, Options{KeepVersions: 4})
	m := applyModel(map[string][]byte{}, bufsHistory(0, nkeys, writes, "v"))
	commit(t, s, bufsHistory(0, nkeys, writes, "v"))
	u, err := s.Prepare(1, bufsHistory(1, nkeys, writes, "v"))
	if err != nil {
		t.Fatal(err)
	}
	errFn := errors.New("caller's writes fail")
	if err := s.Commit(u, func(*pebble.Batch) error { return errFn }); !errors.Is(err, errFn) {
		t.Fatalf("failing commit: %v", err)
	}
	// Competitors of height 1, and blocks committed by another store (whose buffers go
	// back to the pools): they reuse whatever pooled memory there is.
	other := newTestStore(t, t, Options{KeepVersions: 4})
	for i := range 4 {
		if _, err := s.Prepare(1, bufsHistory(1, nkeys, writes, fmt.Sprint("x", i))); err != nil {
			t.Fatal(err)
		}
		commit(t, other, bufsHistory(uint64(i), nkeys, writes, "y"))
	}
	if err := s.Commit(u, nil); err != nil {
		t.Fatal(err)
	}
	m = applyModel(m, bufsHistory(1, nkeys, writes, "v"))
	v, err := s.Reader(1)
	if err != nil {
		t.Fatal(err)
	}
	if want := refRoot(m); v.Root() != want {
		t.Fatalf("root %s, want %s", v.Root(), want)
	}
	for i := range nkeys {
		key := []byte(fmt.Sprint("k", i))
		got, err := v.Get(key)
		if want := m[string(key)]; err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s = %.20q, want %.20q (%v)", key, got, want, err)
		}
	}
	if err := checkNoGarbage(s); err != nil {
		t.Fatal(err)
	}
}
