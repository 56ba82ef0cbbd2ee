package consensus

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
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
	// A small log is kept by Reset (replay skips the records of decided heights), without
	// waiting for the committed blocks to be durable; one above truncateAbove is truncated
	// once they are, and kept if they cannot be made durable.
	waits := 0
	wait := func(err error) func() error { return func() error { waits++; return err } }
	if err := w.Reset(wait(nil)); err != nil || waits != 0 {
		t.Fatalf("Reset of a small log: %v, %d waits", err, waits)
	}
	if got, _ := w.ReadAll(); len(got) != len(recs) {
		t.Fatalf("%d records after Reset of a small log, want %d", len(got), len(recs))
	}
	w.truncateAbove = w.Size() - 1
	if err := w.Reset(wait(errors.New("disk gone"))); err == nil || waits != 1 {
		t.Fatalf("Reset with the blocks not durable: %v, %d waits", err, waits)
	}
	if got, _ := w.ReadAll(); len(got) != len(recs) {
		t.Fatalf("%d records after a Reset that could not wait, want %d", len(got), len(recs))
	}
	if err := w.Reset(wait(nil)); err != nil || waits != 2 {
		t.Fatalf("Reset of a large log: %v, %d waits", err, waits)
	}
	if got, _ := w.ReadAll(); len(got) != 0 || w.Size() != 0 {
		t.Fatalf("%d records after Reset of a large log", len(got))
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
	data[guardSlotStride+30] ^= 0xff
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

// TestSignGuardKeepsMessage: the guard persists the whole signed message, so that a
// restarted validator can re-send exactly what it signed although the WAL (whose copies
// of proposals and prevotes are not synced) lost it; a slot torn in the middle of a large
// message leaves the previous one.
func TestSignGuardKeepsMessage(t *testing.T) {
	key := testKeys(t, 1)[0]
	signer := NewKeySigner(key)
	path := filepath.Join(t.TempDir(), "guard")
	open := func() (*FileGuardStore, *SignGuard) {
		t.Helper()
		store, err := OpenFileGuardStore(path, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := NewSignGuard(signer, store)
		if err != nil {
			t.Fatal(err)
		}
		return store, g
	}
	lastMessage := func(g *SignGuard) *Message {
		t.Helper()
		last, ok := g.Last()
		if !ok || len(last.Msg) == 0 {
			t.Fatalf("guard holds no message: %+v %v", last, ok)
		}
		m, err := DecodeMessage(last.Msg)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	store, g := open()
	prevote := &Message{Vote: &types.Vote{Type: types.PrevoteType, Height: 7, Round: 1, BlockHash: types.Hash{7}, Validator: signer.Address()}}
	if err := g.SignMessage(testChainID, prevote); err != nil {
		t.Fatal(err)
	}
	if err := prevote.Vote.Verify(testChainID, testValidators(t, []*ecdsa.PrivateKey{key}, equalPowers(1))); err != nil {
		t.Fatalf("signed vote does not verify: %v", err)
	}
	want, _ := EncodeMessage(prevote)
	store.Close()

	store, g = open()
	if got, _ := EncodeMessage(lastMessage(g)); !bytes.Equal(got, want) {
		t.Fatal("the reopened guard holds another message")
	}
	// The same vote again gets the same signature; another at the same step is refused.
	again := &Message{Vote: &types.Vote{Type: types.PrevoteType, Height: 7, Round: 1, BlockHash: types.Hash{7}, Validator: signer.Address()}}
	if err := g.SignMessage(testChainID, again); err != nil || !bytes.Equal(again.Vote.Sig, prevote.Vote.Sig) {
		t.Fatalf("signing the same vote again: %v", err)
	}
	other := &Message{Vote: &types.Vote{Type: types.PrevoteType, Height: 7, Round: 1, Validator: signer.Address()}}
	if err := g.SignMessage(testChainID, other); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("a conflicting prevote: %v", err)
	}
	// A proposal of a large block, then a precommit: each reopens whole.
	block := bytes.Repeat([]byte("block"), 200_000)
	prop := &Message{Proposal: &types.Proposal{Height: 7, Round: 2, POLRound: -1, BlockHash: types.Hash{8}, Block: block, Proposer: signer.Address()}}
	if err := g.SignMessage(testChainID, prop); err != nil {
		t.Fatal(err)
	}
	store.Close()
	store, g = open()
	if m := lastMessage(g); m.Proposal == nil || !bytes.Equal(m.Proposal.Block, block) || !bytes.Equal(m.Proposal.Sig, prop.Proposal.Sig) {
		t.Fatal("the reopened guard does not hold the proposal")
	}
	precommit := &Message{Vote: &types.Vote{Type: types.PrecommitType, Height: 7, Round: 2, BlockHash: types.Hash{8}, Validator: signer.Address()}}
	if err := g.SignMessage(testChainID, precommit); err != nil {
		t.Fatal(err)
	}
	store.Close()
	store, g = open()
	if m := lastMessage(g); m.Vote == nil || m.Vote.Type != types.PrecommitType || !bytes.Equal(m.Vote.Sig, precommit.Vote.Sig) {
		t.Fatal("the reopened guard does not hold the precommit")
	}
	store.Close()

	// Tear the precommit's slot: the proposal's slot is what remains.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := g.Last()
	slot := int64(store.seq%2) * guardSlotStride
	if _, err := f.WriteAt([]byte{0xff}, slot+guardHeaderSize+int64(len(last.Msg)/2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	store, g = open()
	defer store.Close()
	if l, _ := g.Last(); l.Step != StepPropose || l.Round != 2 || bytes.Equal(l.Sig, last.Sig) {
		t.Fatalf("after tearing the last slot: %+v", l)
	}
	if m := lastMessage(g); m.Proposal == nil || !bytes.Equal(m.Proposal.Block, block) {
		t.Fatal("after tearing the last slot the proposal is gone")
	}
}

// TestFileGuardStoreReadsV1 opens a guard file of the first format (two 128-byte slots
// without the message): its state holds, and the first save in the new format
// supersedes it.
func TestFileGuardStoreReadsV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guard")
	sig := v1Sig()
	// Sequence 6 (height 9) in slot 0, 5 (height 8) in slot 1.
	if err := os.WriteFile(path, append(v1(6, 9), v1(5, 8)...), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := NewSignGuard(NewKeySigner(testKeys(t, 1)[0]), mustGuardStore(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := g.Last(); !ok || l.Height != 9 || l.Round != 1 || l.Step != StepPrecommit || l.SignBytes != (types.Hash{9}) || !bytes.Equal(l.Sig, sig) || l.Msg != nil {
		t.Fatalf("first-format state: %+v %v", l, ok)
	}
	if _, err := g.Sign(9, 1, StepPrevote, types.Hash{1}); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("below the first-format state: %v", err)
	}
	for h := uint64(10); h <= 11; h++ { // both new slots, so both old ones are overwritten or outranked
		if _, err := g.Sign(h, 0, StepPrevote, types.Hash{byte(h)}); err != nil {
			t.Fatal(err)
		}
		g, err = NewSignGuard(NewKeySigner(testKeys(t, 1)[0]), mustGuardStore(t, path))
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := g.Last(); l.Height != h || l.Step != StepPrevote {
			t.Fatalf("after a new-format save: %+v", l)
		}
	}
}

// v1Sig is the signature the first-format slots of the tests carry.
func v1Sig() []byte { return bytes.Repeat([]byte{3}, types.SignatureLen) }

// v1 is a first-format guard slot: sequence seq, a precommit at height h, round 1,
// whose sign bytes are the hash {h}, signed v1Sig.
func v1(seq uint64, h uint64) []byte {
	b := make([]byte, guardSlotSizeV1)
	copy(b, guardMagicV1)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint64(b[12:], h)
	binary.BigEndian.PutUint32(b[20:], 1)
	b[24] = byte(StepPrecommit)
	copy(b[25:57], types.Hash{byte(h)}.Bytes())
	copy(b[57:], v1Sig())
	binary.BigEndian.PutUint32(b[guardSlotDataV1:], crc32.Checksum(b[:guardSlotDataV1], crcTable))
	return b
}

func mustGuardStore(t *testing.T, path string) *FileGuardStore {
	t.Helper()
	s, err := OpenFileGuardStore(path, FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFileGuardStoreV1TornUpgrade: the first save after opening a guard file of the first
// format must not go to slot 0, which overlaps both first-format slots: a write torn
// there (a proposal's slot spans several sectors) would leave no intact state at all,
// and the validator would sign anything at the heights it already signed.
func TestFileGuardStoreV1TornUpgrade(t *testing.T) {
	for _, last := range []uint64{6, 7} { // the first-format sequence numbers end even or odd
		path := filepath.Join(t.TempDir(), "guard")
		// Sequence last (height 9) and last-1 (height 8), each in slot seq%2.
		slots := [2][]byte{}
		slots[last%2], slots[(last-1)%2] = v1(last, 9), v1(last-1, 8)
		if err := os.WriteFile(path, append(slots[0], slots[1]...), 0o600); err != nil {
			t.Fatal(err)
		}
		signer := NewKeySigner(testKeys(t, 1)[0])
		store := mustGuardStore(t, path)
		g, err := NewSignGuard(signer, store)
		if err != nil {
			t.Fatal(err)
		}
		prop := &Message{Proposal: &types.Proposal{Height: 10, Round: 0, POLRound: -1, BlockHash: types.Hash{10},
			Block: bytes.Repeat([]byte("block"), 1000), Proposer: signer.Address()}}
		if err := g.SignMessage(testChainID, prop); err != nil {
			t.Fatal(err)
		}
		// Tear the slot just written past its first sector (its header and the start of
		// the message made it to disk, the rest did not).
		slot := int64(store.seq%2) * guardSlotStride
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(make([]byte, 1024), slot+2048); err != nil {
			t.Fatal(err)
		}
		f.Close()
		g, err = NewSignGuard(signer, mustGuardStore(t, path))
		if err != nil {
			t.Fatal(err)
		}
		if l, ok := g.Last(); !ok || l.Height != 9 || l.Step != StepPrecommit {
			t.Fatalf("last v1 seq %d: after a torn first save, the guard holds %+v (ok %v), want the first-format state of height 9", last, l, ok)
		}
	}
}

// TestFileWALAppendStartSync: a record appended with a background sync is in the log,
// after the earlier ones, once wait returns; the next appends follow it.
func TestFileWALAppendStartSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "consensus.wal")
	w, err := OpenWAL(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs := walRecords(4)
	if err := w.Append(recs[0], false); err != nil {
		t.Fatal(err)
	}
	wait, err := w.AppendStartSync(recs[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(recs[2], true); err != nil {
		t.Fatal(err)
	}
	if wait, err = w.AppendStartSync(recs[3]); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if w, err = OpenWAL(path, FileOptions{}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got, err := w.ReadAll()
	if err != nil || len(got) != len(recs) {
		t.Fatalf("read %d records (%v), wrote %d", len(got), err, len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
	if _, err := w.AppendStartSync(make([]byte, MaxWALRecordSize+1)); err == nil {
		t.Fatal("an oversized record was accepted")
	}
}

// TestSignGuardBefore: the hook State.sign uses for a precommit's WAL record runs once
// the message carries its signature and before the save; its wait runs after the save,
// also when the save fails; neither runs when the guard refuses or hands back an earlier
// signature. A failed wait fails the signing, the guard keeping what it saved.
func TestSignGuardBefore(t *testing.T) {
	signer := NewKeySigner(testKeys(t, 1)[0])
	var calls []string
	store := &recordingStore{calls: &calls}
	g, err := NewSignGuard(signer, store)
	if err != nil {
		t.Fatal(err)
	}
	vote := func(r int32, v byte) *Message {
		return &Message{Vote: &types.Vote{Type: types.PrecommitType, Height: 1, Round: r, BlockHash: types.Hash{v}, Validator: signer.Address()}}
	}
	hook := func(m *Message, werr error) func() (func() error, error) {
		return func() (func() error, error) {
			if len(m.Vote.Sig) != types.SignatureLen {
				t.Error("before ran on an unsigned message")
			}
			calls = append(calls, "before")
			return func() error { calls = append(calls, "wait"); return werr }, nil
		}
	}
	m := vote(0, 1)
	if err := g.signMessage(1, m, hook(m, nil)); err != nil {
		t.Fatal(err)
	}
	if want := "before save wait"; strings.Join(calls, " ") != want {
		t.Fatalf("calls %q, want %q", calls, want)
	}
	calls = nil
	again := vote(0, 1)
	if err := g.signMessage(1, again, hook(again, nil)); err != nil || !bytes.Equal(again.Vote.Sig, m.Vote.Sig) {
		t.Fatalf("same bytes again: %v", err)
	}
	other := vote(0, 2)
	if err := g.signMessage(1, other, hook(other, nil)); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("conflicting precommit: %v", err)
	}
	if len(calls) != 0 {
		t.Fatalf("calls %q for an earlier signature and a refusal, want none", calls)
	}
	store.fail = true
	m = vote(1, 1)
	if err := g.signMessage(1, m, hook(m, nil)); err == nil || strings.Join(calls, " ") != "before save wait" {
		t.Fatalf("failing save: %v, calls %q", err, calls)
	}
	calls, store.fail = nil, false
	m = vote(2, 1)
	if err := g.signMessage(1, m, hook(m, errors.New("wal sync failed"))); err == nil || !strings.Contains(err.Error(), "wal sync failed") {
		t.Fatalf("failing wait: %v", err)
	}
	if last, _ := g.Last(); last.Round != 2 {
		t.Fatalf("the guard's state is round %d after a failed wait, want the saved round 2", last.Round)
	}
}

// recordingStore is a MemGuardStore noting its saves in calls, failing them when fail is set.
type recordingStore struct {
	MemGuardStore
	calls *[]string
	fail  bool
}

func (s *recordingStore) Save(l LastSigned) error {
	*s.calls = append(*s.calls, "save")
	if s.fail {
		return errors.New("disk full")
	}
	return s.MemGuardStore.Save(l)
}

// TestPrecommitLeavesAfterBothSyncs: with a StartSyncWAL, a dev validator's precommit
// is written to the WAL once, its sync started before the guard saves it and waited for
// after, and only then sent; its proposal and prevote go through the guard and an
// unsynced append as before.
func TestPrecommitLeavesAfterBothSyncs(t *testing.T) {
	keys := testKeys(t, 1)
	vals := testValidators(t, keys, equalPowers(1))
	var events []string
	wal := &eventWAL{events: &events}
	guard := &eventGuard{events: &events}
	cfg := DevConfig(testChainID)
	cfg.MinBlockInterval = 0
	app := newTestApp(vals)
	st, err := New(cfg, Deps{App: app, Signer: NewKeySigner(keys[0]), Guard: guard, WAL: wal,
		Broadcaster: &eventBroadcaster{events: &events}, Clock: newManualClock()}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	events = nil
	app.pending = true
	if err := st.TxsAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	if app.height() != 1 {
		t.Fatalf("height %d committed, want 1", app.height())
	}
	want := "guard propose, append 1, send 1, guard prevote, append 2, send 2, " +
		"start 2, guard precommit, wait, send 2"
	if got := strings.Join(events, ", "); got != want {
		t.Fatalf("events\n %s\nwant\n %s", got, want)
	}
	if wal.synced != len(wal.recs) {
		t.Fatalf("%d of %d WAL records synced when the precommit left", wal.synced, len(wal.recs))
	}
}

// eventWAL is a memWAL with AppendStartSync, logging appends (with the record's kind of
// message), sync starts and waits.
type eventWAL struct {
	memWAL
	events *[]string
}

func (w *eventWAL) kind(rec []byte) string {
	r, err := decodeWALRecord(rec)
	if err != nil || r.msg == nil {
		return "?"
	}
	return fmt.Sprint(uint8(r.msg.Kind()))
}

func (w *eventWAL) Append(rec []byte, sync bool) error {
	if sync {
		*w.events = append(*w.events, "append synced "+w.kind(rec))
	} else {
		*w.events = append(*w.events, "append "+w.kind(rec))
	}
	return w.memWAL.Append(rec, sync)
}

func (w *eventWAL) AppendStartSync(rec []byte) (func() error, error) {
	*w.events = append(*w.events, "start "+w.kind(rec))
	if err := w.memWAL.Append(rec, false); err != nil {
		return nil, err
	}
	n := len(w.recs)
	return func() error {
		*w.events = append(*w.events, "wait")
		w.synced = n
		return nil
	}, nil
}

type eventGuard struct {
	MemGuardStore
	events *[]string
}

func (g *eventGuard) Save(l LastSigned) error {
	*g.events = append(*g.events, "guard "+l.Step.String())
	return g.MemGuardStore.Save(l)
}

type eventBroadcaster struct{ events *[]string }

func (b *eventBroadcaster) Broadcast(m *Message) {
	*b.events = append(*b.events, "send "+fmt.Sprint(uint8(m.Kind())))
}
