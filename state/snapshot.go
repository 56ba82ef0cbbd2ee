//go:build !js

package state

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/wnode/wnode/types"
)

// Snapshots. A snapshot of version H is every pair of the tree at H, as (keccak256(key),
// value) sorted by key hash, cut into chunks of about SnapshotChunkSize bytes, and a
// manifest naming the height, the root and the keccak256 of every chunk. The tree
// addresses a pair only by its key hash, so the pairs rebuild the same tree, and so the
// same root, on any node (docs/spec/wire.md, "State snapshots").
//
//	chunk    = pair+            pairs in strictly increasing key hash order
//	pair     = keyHash(32) || uvarint(len(value)) || value
//	manifest = RLP[format, height, root, pairs, [chunkHash, ...]]

// Snapshot format and size limits (docs/spec/wire.md's table holds them).
const (
	// SnapshotFormat is the format of manifests and chunks this node writes and reads.
	SnapshotFormat = 1
	// SnapshotChunkSize is where Export closes a chunk: the first pair that brings it to
	// this size or beyond ends it.
	SnapshotChunkSize = 1 << 20
	// MaxSnapshotValueSize bounds one value in a chunk (the largest the state holds is a
	// contract's code, at most 1 MiB).
	MaxSnapshotValueSize = 2 << 20
	// MaxSnapshotChunkSize bounds an encoded chunk: a chunk just under SnapshotChunkSize
	// and one more pair of the largest value.
	MaxSnapshotChunkSize = 4 << 20
	// MaxSnapshotChunks bounds the chunks of one snapshot (32 GiB of state).
	MaxSnapshotChunks = 1 << 15
	// MaxSnapshotManifestSize bounds an encoded manifest (MaxSnapshotChunks hashes of 33
	// RLP bytes, and the other fields).
	MaxSnapshotManifestSize = 1<<20 + 64<<10
)

// Snapshot errors; callers branch on them with errors.Is.
var (
	// ErrBadSnapshot: a manifest or chunk that does not decode, breaks a limit, or does
	// not match its manifest.
	ErrBadSnapshot = errors.New("state: bad snapshot")
	// ErrSnapshotRoot: the restored pairs do not hash to the manifest's root.
	ErrSnapshotRoot = errors.New("state: restored root differs from the snapshot's")
	// ErrRestoreState: a restore into a store that already holds a version.
	ErrRestoreState = errors.New("state: restore needs an empty state")
)

// Manifest describes a snapshot.
type Manifest struct {
	Format      uint64
	Height      uint64
	Root        types.Hash
	Pairs       uint64
	ChunkHashes []types.Hash
}

// Encode returns the manifest's RLP.
func (m *Manifest) Encode() []byte {
	b, err := rlp.EncodeToBytes(m)
	if err != nil {
		panic(fmt.Sprintf("state: encode manifest: %v", err)) // only fixed-size fields and a slice
	}
	return b
}

// Hash returns keccak256 of the encoded manifest: peers offering the same hash offer the
// same snapshot.
func (m *Manifest) Hash() types.Hash { return crypto.Keccak256Hash(m.Encode()) }

// DecodeManifest decodes a manifest strictly: at most MaxSnapshotManifestSize bytes of
// canonical RLP, format SnapshotFormat, at most MaxSnapshotChunks chunks, at least one
// pair per chunk, no pairs exactly under the empty root. It never panics on any input.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxSnapshotManifestSize {
		return nil, fmt.Errorf("%w: manifest of %d bytes exceeds %d", ErrBadSnapshot, len(b), MaxSnapshotManifestSize)
	}
	var m Manifest
	if err := rlp.DecodeBytes(b, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrBadSnapshot, err)
	}
	switch {
	case m.Format != SnapshotFormat:
		return nil, fmt.Errorf("%w: manifest format %d, this node reads %d", ErrBadSnapshot, m.Format, SnapshotFormat)
	case len(m.ChunkHashes) > MaxSnapshotChunks:
		return nil, fmt.Errorf("%w: %d chunks exceed %d", ErrBadSnapshot, len(m.ChunkHashes), MaxSnapshotChunks)
	case m.Pairs < uint64(len(m.ChunkHashes)):
		return nil, fmt.Errorf("%w: %d chunks for %d pairs", ErrBadSnapshot, len(m.ChunkHashes), m.Pairs)
	case (m.Pairs == 0) != (m.Root == EmptyRoot):
		return nil, fmt.Errorf("%w: %d pairs under root %s", ErrBadSnapshot, m.Pairs, m.Root)
	}
	if !bytes.Equal(m.Encode(), b) {
		return nil, fmt.Errorf("%w: manifest is not canonically encoded", ErrBadSnapshot)
	}
	return &m, nil
}

// Pair is one entry of a snapshot chunk.
type Pair struct {
	KeyHash types.Hash
	Value   []byte
}

// AppendPair appends p's chunk encoding to dst.
func AppendPair(dst []byte, p Pair) []byte {
	dst = append(dst, p.KeyHash[:]...)
	dst = binary.AppendUvarint(dst, uint64(len(p.Value)))
	return append(dst, p.Value...)
}

// DecodeChunk decodes a chunk strictly: at most MaxSnapshotChunkSize bytes, at least one
// pair, key hashes strictly increasing, values of at most MaxSnapshotValueSize bytes with
// minimal length prefixes, no trailing bytes. The pairs' values alias b. It never panics
// on any input.
func DecodeChunk(b []byte) ([]Pair, error) {
	if len(b) > MaxSnapshotChunkSize {
		return nil, fmt.Errorf("%w: chunk of %d bytes exceeds %d", ErrBadSnapshot, len(b), MaxSnapshotChunkSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty chunk", ErrBadSnapshot)
	}
	var out []Pair
	for off := 0; off < len(b); {
		if len(b)-off < 33 {
			return nil, fmt.Errorf("%w: pair %d truncated", ErrBadSnapshot, len(out))
		}
		var p Pair
		copy(p.KeyHash[:], b[off:off+32])
		off += 32
		n, k := binary.Uvarint(b[off:])
		if k <= 0 || k != uvarintLen(n) {
			return nil, fmt.Errorf("%w: pair %d: bad value length", ErrBadSnapshot, len(out))
		}
		off += k
		if n > MaxSnapshotValueSize || n > uint64(len(b)-off) {
			return nil, fmt.Errorf("%w: pair %d: value of %d bytes (limit %d, %d left)", ErrBadSnapshot, len(out), n, MaxSnapshotValueSize, len(b)-off)
		}
		p.Value = b[off : off+int(n) : off+int(n)]
		off += int(n)
		if len(out) > 0 && bytes.Compare(out[len(out)-1].KeyHash[:], p.KeyHash[:]) >= 0 {
			return nil, fmt.Errorf("%w: pair %d: key hash %s not above the previous one", ErrBadSnapshot, len(out), p.KeyHash)
		}
		out = append(out, p)
	}
	return out, nil
}

// Export writes the snapshot of version height: it calls emit with each chunk in order
// and returns the manifest. It reads a Pebble snapshot taken when it starts, so the
// version stays whole while it runs even if it leaves the retention window meanwhile,
// and commits proceed concurrently (they are never blocked by it). It fails with
// ErrPruned if height is already below the window when it starts. Cost: one pass over
// the value records of the retained versions, and keccak256 of the output.
func (s *Store) Export(ctx context.Context, height uint64, emit func(chunk []byte) error) (*Manifest, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	// The pin holds from here: what was readable when it was taken stays readable in it.
	if !s.Initialized() {
		return nil, ErrNoState
	}
	if latest, _ := s.Latest(); height > latest {
		return nil, fmt.Errorf("%w: %d > latest %d", ErrFutureHeight, height, latest)
	}
	if err := s.checkReadable(height); err != nil {
		return nil, err
	}
	enc, closer, err := snap.Get(rootKey(height))
	if err != nil {
		return nil, fmt.Errorf("state: export %d: root record: %w", height, err)
	}
	root, err := decodeRoot(enc)
	closer.Close()
	if err != nil {
		return nil, fmt.Errorf("state: export %d: %w", height, err)
	}

	m := &Manifest{Format: SnapshotFormat, Height: height, Root: root.hash}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{KeyPrefix, tagValue}, UpperBound: []byte{KeyPrefix, tagValue + 1}})
	if err != nil {
		return nil, fmt.Errorf("state: export %d: %w", height, err)
	}
	defer it.Close()
	var chunk []byte
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if len(m.ChunkHashes) == MaxSnapshotChunks {
			return fmt.Errorf("state: export %d: more than %d chunks", height, MaxSnapshotChunks)
		}
		m.ChunkHashes = append(m.ChunkHashes, crypto.Keccak256Hash(chunk))
		if err := emit(chunk); err != nil {
			return err
		}
		chunk = nil
		return nil
	}
	// Value records are keyHash || ^version: a key's newest record comes first. The
	// first record at or below height is the key's value there (0x00: deleted).
	var cur types.Hash
	first, done := true, false // done: cur's value at height was found
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 2+32+8 {
			return nil, fmt.Errorf("state: export %d: corrupt value key %x", height, k)
		}
		if first || !bytes.Equal(k[2:34], cur[:]) {
			copy(cur[:], k[2:34])
			first, done = false, false
		}
		if done || ^binary.BigEndian.Uint64(k[34:]) > height {
			continue
		}
		done = true
		rec := it.Value()
		switch {
		case len(rec) == 0 || rec[0] > 1 || (rec[0] == 0 && len(rec) != 1):
			return nil, fmt.Errorf("state: export %d: corrupt value record %x", height, k)
		case rec[0] == 0:
			continue
		}
		if len(rec)-1 > MaxSnapshotValueSize {
			return nil, fmt.Errorf("state: export %d: value of %d bytes exceeds the snapshot limit", height, len(rec)-1)
		}
		chunk = AppendPair(chunk, Pair{KeyHash: cur, Value: rec[1:]})
		m.Pairs++
		if len(chunk) >= s.chunkSize {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if m.Pairs%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("state: export %d: %w", height, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if (m.Pairs == 0) != (m.Root == EmptyRoot) {
		return nil, fmt.Errorf("state: export %d: %d pairs under root %s", height, m.Pairs, m.Root)
	}
	return m, nil
}

// restoreKey marks a restore in progress: New wipes a store that holds it (a crash
// mid-restore), so a half-restored state never looks like a version.
var restoreKey = []byte{KeyPrefix, tagRestore}

const tagRestore = 'R'

// Restore rebuilds a snapshot's version in an empty store. Apply each chunk in order, then
// Finish. Until Finish succeeds the store holds no version: a crash, an Abort or a failed
// Finish leaves it empty again (the next New or Restore wipes what was written).
// Not safe for concurrent use.
type Restore struct {
	s       *Store
	m       *Manifest
	next    int // index of the next chunk
	pairs   uint64
	last    types.Hash
	digit   int // top digit of pending
	pending []item
	subs    []sub // per top digit
	count   int   // pairs placed in subs
	up      *updater
	done    bool
}

// NewRestore starts restoring m into s, which must hold no version. It removes whatever
// an earlier, interrupted restore left and marks the store as being restored.
func (s *Store) NewRestore(m *Manifest) (*Restore, error) {
	if s.Initialized() {
		return nil, ErrRestoreState
	}
	if m.Format != SnapshotFormat || len(m.ChunkHashes) > MaxSnapshotChunks {
		return nil, fmt.Errorf("%w: manifest format %d, %d chunks", ErrBadSnapshot, m.Format, len(m.ChunkHashes))
	}
	if err := s.wipe(true); err != nil {
		return nil, err
	}
	r := &Restore{s: s, m: m, digit: -1, subs: make([]sub, s.r.size())}
	r.up = &updater{src: s, r: s.r, version: m.Height, h: newHasher()}
	return r, nil
}

// wipe deletes every key of the state, leaving the restore mark if mark.
func (s *Store) wipe(mark bool) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange([]byte{KeyPrefix}, []byte{KeyPrefix + 1}, nil); err != nil {
		return fmt.Errorf("state: wipe: %w", err)
	}
	if mark {
		if err := b.Set(restoreKey, nil, nil); err != nil {
			return fmt.Errorf("state: wipe: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("state: wipe: %w", err)
	}
	s.cache.clear()
	return nil
}

// Next returns the index of the chunk Apply expects next.
func (r *Restore) Next() int { return r.next }

// Apply checks the next chunk against the manifest's hash and decodes it, then writes its
// values. A chunk that fails the checks changes nothing: Apply can be called again with
// the right one.
func (r *Restore) Apply(chunk []byte) error {
	if r.done {
		return errors.New("state: restore finished")
	}
	if r.next >= len(r.m.ChunkHashes) {
		return fmt.Errorf("%w: chunk beyond the manifest's %d", ErrBadSnapshot, len(r.m.ChunkHashes))
	}
	if h := crypto.Keccak256Hash(chunk); h != r.m.ChunkHashes[r.next] {
		return fmt.Errorf("%w: chunk %d hashes to %s, manifest says %s", ErrBadSnapshot, r.next, h, r.m.ChunkHashes[r.next])
	}
	pairs, err := DecodeChunk(chunk)
	if err != nil {
		return fmt.Errorf("chunk %d: %w", r.next, err)
	}
	if r.pairs > 0 && bytes.Compare(pairs[0].KeyHash[:], r.last[:]) <= 0 {
		return fmt.Errorf("%w: chunk %d starts at %s, not above the previous chunk's last key", ErrBadSnapshot, r.next, pairs[0].KeyHash)
	}
	if r.pairs+uint64(len(pairs)) > r.m.Pairs {
		return fmt.Errorf("%w: chunk %d brings more pairs than the manifest's %d", ErrBadSnapshot, r.next, r.m.Pairs)
	}
	k := crypto.NewKeccakState()
	for _, p := range pairs {
		d := r.s.r.digit(&p.KeyHash, 0)
		if d != r.digit {
			if err := r.flush(); err != nil {
				return err
			}
			r.digit = d
		}
		r.pending = append(r.pending, item{keyHash: p.KeyHash, value: bytes.Clone(p.Value), valueHash: keccak(k, p.Value)})
	}
	r.pairs += uint64(len(pairs))
	r.last = pairs[len(pairs)-1].KeyHash
	r.next++
	return r.writeOut(false)
}

// flush builds the subtree under the top digit of the pending pairs (all of them: the
// pairs come sorted, so no later pair falls under it).
func (r *Restore) flush() error {
	if len(r.pending) == 0 {
		return nil
	}
	r.subs[r.digit] = r.up.build(1, r.pending)
	r.count += len(r.pending)
	r.pending = nil
	return r.writeOut(false)
}

// writeOut writes the nodes and values the updater collected, in a batch that is synced
// only when sync (Finish's is the one that counts).
func (r *Restore) writeOut(sync bool) error {
	if len(r.up.nodes) == 0 && len(r.up.values) == 0 && !sync {
		return nil
	}
	b := r.s.db.NewBatch()
	defer b.Close()
	if err := r.addWrites(b); err != nil {
		return err
	}
	opt := pebble.NoSync
	if sync {
		opt = pebble.Sync
	}
	if err := b.Commit(opt); err != nil {
		return fmt.Errorf("state: restore %d: %w", r.m.Height, err)
	}
	return nil
}

func (r *Restore) addWrites(b *pebble.Batch) error {
	for _, w := range r.up.nodes {
		if err := writeNode(b, w); err != nil {
			return fmt.Errorf("state: restore %d: %w", r.m.Height, err)
		}
	}
	for _, w := range r.up.values {
		if err := b.Set(w.key, w.value, nil); err != nil {
			return fmt.Errorf("state: restore %d: %w", r.m.Height, err)
		}
	}
	r.up.nodes, r.up.values = r.up.nodes[:0], r.up.values[:0]
	r.up.keys.release() // b holds copies
	return nil
}

// Finish builds the root, checks it against the manifest's and, when they match,
// commits the version with what fn adds (the chain's block at the height and its
// commit; fn may be nil) in one synced batch: the store then holds the one version
// m.Height. On a root mismatch (ErrSnapshotRoot) or a missing chunk it wipes what was
// written, and the store is empty again.
func (r *Restore) Finish(fn func(b *pebble.Batch) error) (err error) {
	if r.done {
		return errors.New("state: restore finished")
	}
	defer func() {
		if err != nil {
			err = cmp.Or(r.Abort(), err)
		}
	}()
	if r.next != len(r.m.ChunkHashes) || r.pairs != r.m.Pairs {
		return fmt.Errorf("%w: %d of %d chunks, %d of %d pairs applied", ErrBadSnapshot, r.next, len(r.m.ChunkHashes), r.pairs, r.m.Pairs)
	}
	if err := r.flush(); err != nil {
		return err
	}
	var root rootRecord
	switch r.count {
	case 0:
		root = rootRecord{kind: rootEmpty, hash: EmptyRoot}
	case 1:
		root = leafRoot(r.subs[r.digit])
	default:
		var nb nodeBuilder
		for d := range r.subs {
			r.up.setChild(&nb, d, r.subs[d])
		}
		s := r.up.finishInternal(0, &r.last, nb.node(r.s.r.size()), nil, 0)
		root = rootRecord{kind: rootInternal, version: s.version, hash: s.hash}
	}
	if root.hash != r.m.Root {
		return fmt.Errorf("%w: rebuilt %s, snapshot says %s", ErrSnapshotRoot, root.hash, r.m.Root)
	}
	s := r.s
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	if err := r.addWrites(b); err != nil {
		return err
	}
	for _, kv := range []struct{ k, v []byte }{
		{metaKey, []byte{formatVersion, byte(s.r.b)}},
		{rootKey(r.m.Height), root.encode()},
	} {
		if err := b.Set(kv.k, kv.v, nil); err != nil {
			return fmt.Errorf("state: restore %d: %w", r.m.Height, err)
		}
	}
	if err := b.Delete(restoreKey, nil); err != nil {
		return fmt.Errorf("state: restore %d: %w", r.m.Height, err)
	}
	if fn != nil {
		if err := fn(b); err != nil {
			return fmt.Errorf("state: restore %d: caller's writes: %w", r.m.Height, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("state: restore %d: %w", r.m.Height, err)
	}
	r.done = true
	s.prunedTo.stale, s.prunedTo.roots = 0, r.m.Height
	s.oldest.Store(r.m.Height)
	s.mu.Lock()
	s.head.init, s.head.height, s.head.root = true, r.m.Height, root
	s.mu.Unlock()
	return nil
}

// Abort gives the restore up and wipes what it wrote.
func (r *Restore) Abort() error {
	if r.done {
		return nil
	}
	r.done = true
	r.pending, r.subs = nil, nil
	return r.s.wipe(false)
}
