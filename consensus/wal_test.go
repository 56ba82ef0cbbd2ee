package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wnode/wnode/types"
)

func walRecords(n int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = bytes.Repeat([]byte{byte(i + 1)}, 10+7*i)
	}
	return recs
}

func TestFileWALAppendReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "consensus.wal")
	w, err := OpenWAL(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs := walRecords(5)
	for i, r := range recs {
		if err := w.Append(r, i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	w, err = OpenWAL(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("read %d records, wrote %d", len(got), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
	if err := w.Reset(); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.ReadAll(); len(got) != 0 {
		t.Fatalf("%d records after Reset", len(got))
	}
	if err := w.Append(recs[0], true); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.ReadAll(); len(got) != 1 || !bytes.Equal(got[0], recs[0]) {
		t.Fatal("append after Reset")
	}
	if err := w.Append(make([]byte, MaxWALRecordSize+1), false); err == nil {
		t.Fatal("oversized record accepted")
	}
	w.Close()
}

// TestFileWALTornTail cuts the file at every byte offset (a crash in the middle of a
// write) and flips every byte (corruption): opening keeps exactly the intact prefix, and
// appending afterwards works.
func TestFileWALTornTail(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.wal")
	w, err := OpenWAL(full, FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	recs := walRecords(4)
	var ends []int64
	for _, r := range recs {
		if err := w.Append(r, false); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, w.Size())
	}
	w.Close()
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	intact := func(cut int64) int {
		n := 0
		for _, e := range ends {
			if e <= cut {
				n++
			}
		}
		return n
	}
	check := func(name string, content []byte, want int) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := OpenWAL(path, FileOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		got, err := w.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("%s: %d records, want %d", name, len(got), want)
		}
		for i := range got {
			if !bytes.Equal(got[i], recs[i]) {
				t.Fatalf("%s: record %d differs", name, i)
			}
		}
		if err := w.Append([]byte("after"), false); err != nil {
			t.Fatal(err)
		}
		got, _ = w.ReadAll()
		if len(got) != want+1 || string(got[want]) != "after" {
			t.Fatalf("%s: appending after a torn tail gives %d records", name, len(got))
		}
	}
	for cut := int64(0); cut <= int64(len(data)); cut++ {
		check(fmt.Sprintf("cut%d", cut), data[:cut], intact(cut))
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x40
		// Everything before the frame holding byte i survives.
		before := 0
		for _, e := range ends {
			if e <= int64(i) {
				before++
			}
		}
		check(fmt.Sprintf("flip%d", i), bad, before)
	}
}

func TestSignGuard(t *testing.T) {
	key := testKeys(t, 1)[0]
	path := filepath.Join(t.TempDir(), "guard")
	store, err := OpenFileGuardStore(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewSignGuard(NewKeySigner(key), store)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Last(); ok {
		t.Fatal("fresh guard has a last signature")
	}
	a, b := types.Hash{0xa}, types.Hash{0xb}
	sigA, err := g.Sign(5, 1, StepPrevote, a)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		h    uint64
		r    int32
		s    Step
		what types.Hash
	}{
		"same step, other bytes": {5, 1, StepPrevote, b},
		"earlier step":           {5, 1, StepPropose, b},
		"earlier round":          {5, 0, StepPrecommit, a},
		"earlier height":         {4, 9, StepPrecommit, a},
	} {
		if _, err := g.Sign(c.h, c.r, c.s, c.what); !errors.Is(err, ErrDoubleSign) {
			t.Errorf("%s: got %v, want ErrDoubleSign", name, err)
		}
	}
	again, err := g.Sign(5, 1, StepPrevote, a)
	if err != nil || !bytes.Equal(again, sigA) {
		t.Fatalf("re-signing the same bytes: %v", err)
	}
	if _, err := g.Sign(5, 1, StepPrecommit, b); err != nil {
		t.Fatal(err)
	}
	store.Close()

	// The state survives a restart: reopened, the guard still refuses what conflicts.
	store, err = OpenFileGuardStore(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g, err = NewSignGuard(NewKeySigner(key), store)
	if err != nil {
		t.Fatal(err)
	}
	if last, ok := g.Last(); !ok || last.Height != 5 || last.Round != 1 || last.Step != StepPrecommit || last.SignBytes != b {
		t.Fatalf("reloaded %+v, %v", last, ok)
	}
	if _, err := g.Sign(5, 1, StepPrecommit, a); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("after restart: %v", err)
	}
	if _, err := g.Sign(6, 0, StepPropose, a); err != nil {
		t.Fatal(err)
	}
}

func TestFileGuardStoreTornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guard")
	s, err := OpenFileGuardStore(path, FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	sig := bytes.Repeat([]byte{1}, types.SignatureLen)
	for h := uint64(1); h <= 3; h++ {
		if err := s.Save(LastSigned{Height: h, Round: 2, Step: StepPrecommit, SignBytes: types.Hash{byte(h)}, Sig: sig}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	data, _ := os.ReadFile(path)
	// Height 3 went to slot 1 (sequence 3); tear it: the older slot (height 2) remains.
	data[guardSlotSize+30] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ = OpenFileGuardStore(path, FileOptions{NoSync: true})
	defer s.Close()
	last, ok, err := s.Load()
	if err != nil || !ok || last.Height != 2 {
		t.Fatalf("after a torn write: %+v %v %v", last, ok, err)
	}
	// The next save goes to the torn slot, not over the good one.
	if err := s.Save(LastSigned{Height: 4, Sig: sig}); err != nil {
		t.Fatal(err)
	}
	if last, _, _ := s.Load(); last.Height != 4 {
		t.Fatalf("after saving again: %+v", last)
	}
}

type failingStore struct{ MemGuardStore }

func (f *failingStore) Save(LastSigned) error { return errors.New("disk full") }

func TestSignGuardStoreFailure(t *testing.T) {
	g, _ := NewSignGuard(NewKeySigner(testKeys(t, 1)[0]), &failingStore{})
	if _, err := g.Sign(1, 0, StepPrevote, types.Hash{1}); err == nil || errors.Is(err, ErrDoubleSign) {
		t.Fatalf("got %v, want a storage error", err)
	}
	if _, ok := g.Last(); ok {
		t.Fatal("a signature that was not persisted counts as signed")
	}
}
