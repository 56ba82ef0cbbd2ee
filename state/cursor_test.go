package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestCursorMatchesView: after every commit of a history of inserts, updates and
// deletes, a cursor at each readable height answers every key (present, deleted, never
// written) as the view's Get and the model do, including heights whose keys were
// written since (the versioned records).
func TestCursorMatchesView(t *testing.T) {
	const nkeys, writes, heights = 48, 10, 30
	s := newTestStore(t, t, Options{KeepVersions: 5})
	models := make([]map[string][]byte, heights)
	m := map[string][]byte{}
	for h := range uint64(heights) {
		m = applyModel(m, concHistory(h, nkeys, writes))
		models[h] = m
		commit(t, s, concHistory(h, nkeys, writes))
		for vh := s.Oldest(); vh <= h; vh++ {
			v, err := s.Reader(vh)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Cursor()
			if err != nil {
				t.Fatal(err)
			}
			for i := range nkeys + 4 { // the last ones are never written
				key := []byte(fmt.Sprint("k", i))
				got, err := c.Get(key)
				if err != nil {
					t.Fatal(err)
				}
				want, err := v.Get(key)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) || (got == nil) != (want == nil) || !bytes.Equal(want, models[vh][string(key)]) {
					t.Fatalf("height %d (latest %d): cursor %s = %q, view %q, model %q", vh, h, key, got, want, models[vh][string(key)])
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A cursor whose height leaves the window fails with ErrPruned, as the view does.
	v, err := s.Reader(s.Oldest())
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Cursor()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		h, _ := s.Latest()
		commit(t, s, concHistory(h+1, nkeys, writes))
	}
	if _, err := c.Get([]byte("k1")); !errors.Is(err, ErrPruned) {
		t.Fatalf("read of a pruned height through a cursor: %v, want ErrPruned", err)
	}
	if _, err := v.Cursor(); !errors.Is(err, ErrPruned) {
		t.Fatalf("cursor on a pruned height: %v, want ErrPruned", err)
	}
}

// TestCursorConcurrentCommits: cursors opened at the latest and recent heights read while
// the next blocks are prepared, committed and pruned, and see exactly their height's
// contents (or ErrPruned once the height leaves the window). Run with -race.
func TestCursorConcurrentCommits(t *testing.T) {
	const nkeys, writes, heights = 64, 12, 120
	s := newTestStore(t, t, Options{KeepVersions: 4})
	models := make([]map[string][]byte, heights)
	m := map[string][]byte{}
	for h := range uint64(heights) {
		m = applyModel(m, concHistory(h, nkeys, writes))
		models[h] = m
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 3)
	reads := make([]int, 3)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := readRecent(s, uint64(r), 2, done, func(v *View, h uint64, rng *rand.Rand) error {
				c, err := v.Cursor()
				if err != nil {
					return err
				}
				// A block's worth of reads on one cursor, while commits go on.
				for range 20 {
					key := fmt.Sprint("k", rng.IntN(nkeys+2))
					got, gerr := c.Get([]byte(key))
					if errors.Is(gerr, ErrPruned) {
						break
					}
					if want := models[h][key]; gerr != nil || !bytes.Equal(got, want) || (got == nil) != (want == nil) {
						err = fmt.Errorf("height %d: %s = %q, want %q (%v)", h, key, got, want, gerr)
						break
					}
					reads[r]++
				}
				if cerr := c.Close(); err == nil {
					err = cerr
				}
				return err
			})
			if err != nil {
				errs <- err
			}
		}()
	}
	commitConcHistory(t, s, heights, nkeys, writes)
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if reads[0]+reads[1]+reads[2] == 0 {
		t.Fatal("no read completed")
	}
}
