package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// exportAt exports height of s into memory.
func exportAt(t *testing.T, s *Store, height uint64) (*Manifest, [][]byte) {
	t.Helper()
	var chunks [][]byte
	m, err := s.Export(context.Background(), height, func(c []byte) error {
		chunks = append(chunks, bytes.Clone(c))
		return nil
	})
	if err != nil {
		t.Fatalf("export %d: %v", height, err)
	}
	if len(chunks) != len(m.ChunkHashes) {
		t.Fatalf("%d chunks emitted, manifest has %d", len(chunks), len(m.ChunkHashes))
	}
	return m, chunks
}

// restoreAll restores m and chunks into s.
func restoreAll(s *Store, m *Manifest, chunks [][]byte) error {
	r, err := s.NewRestore(m)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if err := r.Apply(c); err != nil {
			return errors.Join(err, r.Abort())
		}
	}
	return r.Finish(nil)
}

// TestSnapshotRoundTrip exports pinBlocks' history at an old and at the latest height,
// restores each into an empty store of each radix, and checks the root, reads, proofs and
// that the restored store goes on committing to the same roots as the original.
func TestSnapshotRoundTrip(t *testing.T) {
	blocks := pinBlocks()
	src := newTestStore(t, t, Options{SnapshotChunkSize: 4 << 10})
	for _, cs := range blocks {
		commit(t, src, cs)
	}
	latest, _ := src.Latest()
	for _, height := range []uint64{5, 10, latest} {
		m, chunks := exportAt(t, src, height)
		want, _ := src.Reader(height)
		if m.Root != want.Root() || m.Height != height || len(chunks) < 10 {
			t.Fatalf("height %d: manifest root %s height %d, %d chunks; want root %s", height, m.Root, m.Height, len(chunks), want.Root())
		}
		for _, c := range chunks {
			if len(c) > MaxSnapshotChunkSize || len(c) > 4<<10+MaxSnapshotValueSize {
				t.Fatalf("chunk of %d bytes", len(c))
			}
		}
		if _, err := DecodeManifest(m.Encode()); err != nil {
			t.Fatalf("manifest does not decode: %v", err)
		}
		for _, rb := range []int{4, 2} {
			dst := newTestStore(t, t, Options{radixBits: rb, KeepVersions: 4})
			if err := restoreAll(dst, m, chunks); err != nil {
				t.Fatalf("height %d radix %d: %v", height, rb, err)
			}
			if h, root := dst.Latest(); h != height || root != m.Root {
				t.Fatalf("restored latest %d %s, want %d %s", h, root, height, m.Root)
			}
			if _, err := dst.Reader(height - 1); !errors.Is(err, ErrPruned) {
				t.Fatalf("height below the snapshot: %v, want ErrPruned", err)
			}
			v, _ := dst.Reader(height)
			for _, key := range pinProofKeys() {
				a, err := want.Get(key)
				if err != nil {
					t.Fatal(err)
				}
				b, err := v.Get(key)
				if err != nil || !bytes.Equal(a, b) || (a == nil) != (b == nil) {
					t.Fatalf("key %x: restored %x (%v), original %x", key, b, err, a)
				}
				p, err := v.Prove(key)
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyProof(m.Root, key, b, p); err != nil {
					t.Fatalf("proof of %x on the restored store: %v", key, err)
				}
			}
			// The restored store continues the chain: the next blocks give the original's roots.
			for h := height + 1; h < uint64(len(blocks)) && h <= height+2; h++ {
				r := commit(t, dst, blocks[h])
				o, _ := src.Reader(h)
				if r != o.Root() {
					t.Fatalf("after restore at %d, height %d root %s, original %s", height, h, r, o.Root())
				}
			}
		}
	}
}

// TestSnapshotEmptyAndSingle covers the trees without internal nodes.
func TestSnapshotEmptyAndSingle(t *testing.T) {
	for _, n := range []int{0, 1, 2} {
		src := newTestStore(t, t, Options{})
		var cs []Change
		for i := range n {
			cs = append(cs, Change{Key: []byte{byte(i)}, Value: []byte("v")})
		}
		commit(t, src, cs)
		m, chunks := exportAt(t, src, 0)
		dst := newTestStore(t, t, Options{})
		if err := restoreAll(dst, m, chunks); err != nil {
			t.Fatalf("%d pairs: %v", n, err)
		}
		if _, root := dst.Latest(); root != m.Root || m.Pairs != uint64(n) {
			t.Fatalf("%d pairs: restored root %s, want %s", n, root, m.Root)
		}
	}
}

// stateKeys counts the Pebble keys under KeyPrefix.
func stateKeys(t *testing.T, db *pebble.DB) int {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{KeyPrefix}, UpperBound: []byte{KeyPrefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	it.Close()
	return n
}

// TestSnapshotCorruptionRefused: every kind of bad snapshot is refused and leaves the
// store empty, and the right snapshot then restores into the same store.
func TestSnapshotCorruptionRefused(t *testing.T) {
	src := newTestStore(t, t, Options{SnapshotChunkSize: 8 << 10})
	for _, cs := range pinBlocks()[:3] {
		commit(t, src, cs)
	}
	m, chunks := exportAt(t, src, 2)
	if len(chunks) < 4 {
		t.Fatalf("%d chunks", len(chunks))
	}
	// rehash gives a manifest whose chunk hashes match altered chunks: only the root can
	// catch what is wrong in them.
	rehash := func(cs [][]byte, pairs uint64) *Manifest {
		m2 := *m
		m2.Pairs = pairs
		m2.ChunkHashes = nil
		for _, c := range cs {
			m2.ChunkHashes = append(m2.ChunkHashes, crypto.Keccak256Hash(c))
		}
		return &m2
	}
	flip := func(c []byte, i int) []byte { c = bytes.Clone(c); c[i] ^= 1; return c }
	dropPair := func(c []byte) []byte {
		ps, err := DecodeChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, p := range ps[1:] {
			out = AppendPair(out, p)
		}
		return out
	}
	swapped := append([][]byte{chunks[1], chunks[0]}, chunks[2:]...)
	lastValue := bytes.Clone(chunks[0])
	lastValue[len(lastValue)-1] ^= 0x80
	wrongRoot := *m
	wrongRoot.Root = crypto.Keccak256Hash([]byte("another root"))
	cases := []struct {
		name   string
		m      *Manifest
		chunks [][]byte
		want   error
	}{
		{"flipped byte", m, append([][]byte{flip(chunks[0], 40)}, chunks[1:]...), ErrBadSnapshot},
		{"flipped key hash", m, append([][]byte{chunks[0], flip(chunks[1], 3)}, chunks[2:]...), ErrBadSnapshot},
		{"missing chunk", m, chunks[:len(chunks)-1], ErrBadSnapshot},
		{"chunks swapped", m, swapped, ErrBadSnapshot},
		{"wrong root", &wrongRoot, chunks, ErrSnapshotRoot},
		{"value altered, hashes redone", rehash(append([][]byte{lastValue}, chunks[1:]...), m.Pairs), append([][]byte{lastValue}, chunks[1:]...), ErrSnapshotRoot},
		{"pair dropped, hashes redone", rehash(append([][]byte{dropPair(chunks[0])}, chunks[1:]...), m.Pairs-1), append([][]byte{dropPair(chunks[0])}, chunks[1:]...), ErrSnapshotRoot},
		{"chunks swapped, hashes redone", rehash(swapped, m.Pairs), swapped, ErrBadSnapshot},
		{"pair counts lie", rehash(chunks, m.Pairs+1), chunks, ErrBadSnapshot},
		{"chunk repeated, hashes redone", rehash([][]byte{chunks[0], chunks[0]}, m.Pairs), [][]byte{chunks[0], chunks[0]}, ErrBadSnapshot},
	}
	dst := newTestStore(t, t, Options{})
	db := dst.db
	for _, c := range cases {
		err := restoreAll(dst, c.m, c.chunks)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if dst.Initialized() || stateKeys(t, db) != 0 {
			t.Fatalf("%s: refused restore left the store initialized %v with %d keys", c.name, dst.Initialized(), stateKeys(t, db))
		}
	}
	if err := restoreAll(dst, m, chunks); err != nil {
		t.Fatalf("the good snapshot after the bad ones: %v", err)
	}
	if _, root := dst.Latest(); root != m.Root {
		t.Fatalf("root %s, want %s", root, m.Root)
	}
	if _, err := dst.NewRestore(m); !errors.Is(err, ErrRestoreState) {
		t.Fatalf("restore over a version: %v", err)
	}
}

// TestSnapshotCrashMidRestore: a restore interrupted by a crash (the database closed
// without Finish) leaves nothing that looks like a version; reopening wipes it and the
// restore runs again from the start.
func TestSnapshotCrashMidRestore(t *testing.T) {
	src := newTestStore(t, t, Options{SnapshotChunkSize: 8 << 10})
	commit(t, src, pinBlocks()[0])
	m, chunks := exportAt(t, src, 0)
	dir := t.TempDir()
	db, err := OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.NewRestore(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks[:len(chunks)/2] {
		if err := r.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil { // the crash: no Finish, no Abort
		t.Fatal(err)
	}
	if db, err = OpenPebble(dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := stateKeys(t, db); n == 0 {
		t.Fatal("the interrupted restore wrote nothing: the test tests nothing")
	}
	s, err = New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Initialized() || stateKeys(t, db) != 0 {
		t.Fatalf("after the crash: initialized %v, %d state keys", s.Initialized(), stateKeys(t, db))
	}
	if err := restoreAll(s, m, chunks); err != nil {
		t.Fatal(err)
	}
	if _, root := s.Latest(); root != m.Root {
		t.Fatalf("root %s, want %s", root, m.Root)
	}
}

// TestExportPinsVersion: an export started at a height keeps reading it whole while
// commits prune it away underneath.
func TestExportPinsVersion(t *testing.T) {
	src := newTestStore(t, t, Options{KeepVersions: 2, SnapshotChunkSize: 4 << 10})
	blocks := pinBlocks()
	commit(t, src, blocks[0])
	commit(t, src, blocks[1])
	want, _ := exportAt(t, src, 1)
	calls := 0
	var chunks [][]byte
	m, err := src.Export(context.Background(), 1, func(c []byte) error {
		chunks = append(chunks, bytes.Clone(c))
		if calls++; calls == 1 {
			for _, cs := range blocks[2:6] { // height 1 leaves the window
				commit(t, src, cs)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Reader(1); !errors.Is(err, ErrPruned) {
		t.Fatalf("height 1 still readable (%v): the test tests nothing", err)
	}
	if m.Hash() != want.Hash() {
		t.Fatal("the export changed under concurrent commits")
	}
	if _, err := src.Export(context.Background(), 1, func([]byte) error { return nil }); !errors.Is(err, ErrPruned) {
		t.Fatalf("export of a pruned height: %v", err)
	}
	dst := newTestStore(t, t, Options{})
	if err := restoreAll(dst, m, chunks); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeChunkRefuses(t *testing.T) {
	kh := func(b byte) types.Hash { return types.Hash{b} }
	good := AppendPair(AppendPair(nil, Pair{kh(1), []byte("a")}), Pair{kh(2), nil})
	if ps, err := DecodeChunk(good); err != nil || len(ps) != 2 || len(ps[1].Value) != 0 {
		t.Fatalf("good chunk: %v %v", ps, err)
	}
	nonMinimal := append(append(kh(1).Bytes(), 0x81, 0x00), 'a')
	big := binary.AppendUvarint(kh(1).Bytes(), MaxSnapshotValueSize+1)
	big = append(big, make([]byte, MaxSnapshotValueSize+1)...)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"truncated hash": good[:20],
		"truncated val":  good[:len(good)-1][:33],
		"trailing":       append(bytes.Clone(good), 0),
		"equal keys":     AppendPair(AppendPair(nil, Pair{kh(1), nil}), Pair{kh(1), nil}),
		"decreasing":     AppendPair(AppendPair(nil, Pair{kh(2), nil}), Pair{kh(1), nil}),
		"non-minimal":    nonMinimal,
		"value too big":  big,
		"chunk too big":  make([]byte, MaxSnapshotChunkSize+1),
		"length beyond":  append(kh(1).Bytes(), 5, 'a'),
	} {
		if _, err := DecodeChunk(b); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
	}
}

func TestDecodeManifestRefuses(t *testing.T) {
	good := &Manifest{Format: SnapshotFormat, Height: 7, Root: types.Hash{1}, Pairs: 3, ChunkHashes: []types.Hash{{2}, {3}}}
	if m, err := DecodeManifest(good.Encode()); err != nil || m.Hash() != good.Hash() {
		t.Fatalf("good manifest: %v", err)
	}
	bad := func(f func(m *Manifest)) []byte { m := *good; f(&m); return m.Encode() }
	for name, b := range map[string][]byte{
		"format":            bad(func(m *Manifest) { m.Format = 2 }),
		"fewer pairs":       bad(func(m *Manifest) { m.Pairs = 1 }),
		"pairs, empty root": bad(func(m *Manifest) { m.Root = EmptyRoot }),
		"too many chunks":   bad(func(m *Manifest) { m.Pairs = 1 << 40; m.ChunkHashes = make([]types.Hash, MaxSnapshotChunks+1) }),
		"trailing":          append(good.Encode(), 0),
		"not rlp":           []byte{0xff, 1},
	} {
		if _, err := DecodeManifest(b); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
	}
}

func FuzzSnapshotChunk(f *testing.F) {
	f.Add(AppendPair(AppendPair(nil, Pair{types.Hash{1}, []byte("a")}), Pair{types.Hash{2}, nil}))
	f.Add(append(types.Hash{1}.Bytes(), 0x81, 0x00))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := DecodeChunk(b)
		if err != nil {
			return
		}
		var out []byte
		for _, p := range ps {
			out = AppendPair(out, p)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("accepted chunk re-encodes differently")
		}
	})
}

func FuzzSnapshotManifest(f *testing.F) {
	f.Add((&Manifest{Format: SnapshotFormat, Height: 7, Root: types.Hash{1}, Pairs: 3, ChunkHashes: []types.Hash{{2}, {3}}}).Encode())
	f.Add((&Manifest{Format: SnapshotFormat, Root: EmptyRoot}).Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) || len(m.ChunkHashes) > MaxSnapshotChunks {
			t.Fatalf("accepted manifest re-encodes differently or breaks the limit")
		}
	})
}
