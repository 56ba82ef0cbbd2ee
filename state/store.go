//go:build !js

package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// Store errors; callers branch on them with errors.Is.
var (
	// ErrNoState: the store holds no version yet (before genesis is committed).
	ErrNoState = errors.New("state: no committed version")
	// ErrFutureHeight: the height is above the latest committed one.
	ErrFutureHeight = errors.New("state: height not committed")
	// ErrPruned: the height is below the retention window; its data may be gone.
	ErrPruned = errors.New("state: height pruned")
	// ErrWrongHeight: Prepare or Commit of a height other than the next one, or of an
	// update prepared on a version that is no longer the latest.
	ErrWrongHeight = errors.New("state: not the next height")
	// ErrDuplicateKey: a write set names the same key twice.
	ErrDuplicateKey = errors.New("state: duplicate key in write set")
	// ErrFormat: the database holds state in a stored form this build does not read.
	ErrFormat = errors.New("state: unsupported stored format")
)

// Defaults for Options.
const (
	DefaultKeepVersions   = 256
	DefaultNodeCacheBytes = 256 << 20
	DefaultPruneLimit     = 200_000
	defaultRadixBits      = 4
)

// Options configure a Store.
type Options struct {
	// KeepVersions is how many of the latest heights stay readable (Reader, Prove): after
	// committing height h, heights below h+1-KeepVersions are pruned. 0 means
	// DefaultKeepVersions.
	KeepVersions uint64
	// Archive keeps every version and never prunes.
	Archive bool
	// NodeCacheBytes bounds the cache of decoded tree nodes (0: DefaultNodeCacheBytes,
	// negative: no cache). Pebble's block cache sits below it.
	NodeCacheBytes int
	// PruneLimit bounds the stale entries one commit deletes (0: DefaultPruneLimit). Whole
	// versions are pruned at a time, so a large backlog (say after leaving archive mode)
	// drains over several commits instead of one huge batch.
	PruneLimit int
	// SnapshotChunkSize is where Export closes a chunk (0 or above SnapshotChunkSize:
	// SnapshotChunkSize). Smaller chunks are for tests.
	SnapshotChunkSize int

	// serial disables the concurrent update of subtrees in Prepare (for measurements).
	serial bool

	// radixBits selects the stored node fan-out 2^radixBits (1, 2 or 4; 0 = 4). It is fixed
	// when the store is created. Unexported: it exists for the measurements in
	// docs/rationale/state.md; the root does not depend on it.
	radixBits int
}

// Store is the versioned, authenticated state in a Pebble database, under KeyPrefix.
//
// Concurrency: Reader, Prove, View methods and Prepare may run from any goroutine,
// concurrently with each other and with Commit. Commits are serialized.
type Store struct {
	db         *pebble.DB
	r          radix
	keep       uint64
	archive    bool
	pruneLimit int
	serial     bool
	chunkSize  int
	// Decoded nodes, least recently used dropped first: the upper levels, which every
	// block touches, stay; the bottom nodes, each touched when one of its 2–3 keys is
	// written, go first when the tree outgrows the budget.
	cache     *nodeCache
	nodeReads atomic.Int64 // nodes read from Pebble (missed by the cache), for measurements

	mu   sync.RWMutex // guards head
	head struct {
		init   bool
		height uint64
		root   rootRecord
	}
	// oldest is the lowest readable height. It only grows, and is raised before the
	// commit that deletes anything below it, so a read that may have observed a deletion
	// sees the raised value when it checks afterwards.
	oldest atomic.Uint64

	commitMu sync.Mutex
	// prunedTo holds where the last committed prune's range deletions ended (guarded by
	// commitMu). The next prune starts there, so its range tombstones do not overlap the
	// earlier ones: overlapping tombstones from 0 piled up in the memtable, and every read
	// re-fragmented them (a 10k-block dev chain spent 183 MB and seconds per block read).
	// Zero after opening: the first prune of a process covers everything below once.
	prunedTo struct{ stale, roots uint64 }
}

// formatVersion is the stored form of the tree: 2 holds each leaf in its parent node
// (1 stored leaves as nodes of their own). A store of another format is refused.
const formatVersion = 2

// New opens the state stored in db (creating nothing until the first Commit). The
// caller keeps ownership of db and closes it after it stops using the Store.
func New(db *pebble.DB, opts Options) (*Store, error) {
	s := &Store{db: db, keep: opts.KeepVersions, archive: opts.Archive, pruneLimit: opts.PruneLimit, serial: opts.serial}
	if s.keep == 0 {
		s.keep = DefaultKeepVersions
	}
	if s.pruneLimit <= 0 {
		s.pruneLimit = DefaultPruneLimit
	}
	s.chunkSize = opts.SnapshotChunkSize
	if s.chunkSize <= 0 || s.chunkSize > SnapshotChunkSize {
		s.chunkSize = SnapshotChunkSize
	}
	cacheBytes := opts.NodeCacheBytes
	if cacheBytes == 0 {
		cacheBytes = DefaultNodeCacheBytes
	}
	s.cache = newNodeCache(cacheBytes)
	rb := opts.radixBits
	if rb == 0 {
		rb = defaultRadixBits
	}
	if rb != 1 && rb != 2 && rb != 4 {
		return nil, fmt.Errorf("state: radix bits %d not in {1, 2, 4}", rb)
	}

	// A restore that did not finish (a crash while state-syncing) left pairs but no
	// version: drop them, the store is empty.
	if mark, err := s.get(restoreKey); err != nil {
		return nil, fmt.Errorf("state: read restore mark: %w", err)
	} else if mark != nil {
		if err := s.wipe(false); err != nil {
			return nil, err
		}
	}
	meta, err := s.get(metaKey)
	if err != nil {
		return nil, fmt.Errorf("state: read metadata: %w", err)
	}
	if meta != nil {
		if len(meta) == 2 && meta[0] != formatVersion {
			return nil, fmt.Errorf("%w: stored format %d, this build reads format %d (join by state sync, or sync the blocks again, into an empty data directory)", ErrFormat, meta[0], formatVersion)
		}
		if len(meta) != 2 || (meta[1] != 1 && meta[1] != 2 && meta[1] != 4) {
			return nil, fmt.Errorf("state: unknown metadata %x", meta)
		}
		if opts.radixBits != 0 && int(meta[1]) != opts.radixBits {
			return nil, fmt.Errorf("state: store has radix bits %d, options ask %d", meta[1], opts.radixBits)
		}
		rb = int(meta[1])
	}
	s.r = radix{b: rb}

	it, err := db.NewIter(&pebble.IterOptions{LowerBound: rootKey(0), UpperBound: []byte{KeyPrefix, tagRoot + 1}})
	if err != nil {
		return nil, fmt.Errorf("state: open: %w", err)
	}
	defer it.Close()
	if it.Last() {
		if meta == nil {
			return nil, errors.New("state: versions without metadata")
		}
		root, err := decodeRoot(it.Value())
		if err != nil || len(it.Key()) != 10 {
			return nil, fmt.Errorf("state: root record %x: %w", it.Key(), errBadNode)
		}
		s.head.init, s.head.height, s.head.root = true, binary.BigEndian.Uint64(it.Key()[2:]), root
		it.First()
		first := binary.BigEndian.Uint64(it.Key()[2:])
		s.oldest.Store(max(first, s.windowStart(s.head.height)))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("state: open: %w", err)
	}
	return s, nil
}

// windowStart returns the lowest height kept readable once height is the latest.
func (s *Store) windowStart(height uint64) uint64 {
	if s.archive || height+1 < s.keep {
		return 0
	}
	return height + 1 - s.keep
}

// Latest returns the latest committed height and its root; (0, EmptyRoot) before genesis
// (see Initialized).
func (s *Store) Latest() (height uint64, root types.Hash) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.head.init {
		return 0, EmptyRoot
	}
	return s.head.height, s.head.root.hash
}

// Initialized reports whether a version (genesis at least) has been committed.
func (s *Store) Initialized() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.head.init
}

// Oldest returns the lowest height that is still readable.
func (s *Store) Oldest() uint64 { return s.oldest.Load() }

func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	closer.Close()
	return out, nil
}

var errMissingNode = errors.New("state: missing tree node")

// loadNode implements nodeSource over the cache and Pebble.
func (s *Store) loadNode(key []byte) (*node, error) {
	if n := s.cache.get(key); n != nil {
		return n, nil
	}
	s.nodeReads.Add(1)
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: %x", errMissingNode, key)
	}
	if err != nil {
		return nil, fmt.Errorf("state: read node %x: %w", key, err)
	}
	n, err := decodeNode(v, s.r)
	closer.Close()
	if err != nil {
		return nil, fmt.Errorf("state: node %x: %w", key, err)
	}
	s.cache.add(key, n)
	return n, nil
}

// View is a read-only view of one committed height. It implements Reader. A View stays
// usable while its height is within the retention window; afterwards its methods return
// ErrPruned. Safe for concurrent use.
type View struct {
	s      *Store
	height uint64
	root   rootRecord
}

// Reader returns a view of the state at height. It fails with ErrNoState before genesis,
// ErrFutureHeight above the latest height, ErrPruned below the retention window.
func (s *Store) Reader(height uint64) (*View, error) {
	s.mu.RLock()
	head := s.head
	s.mu.RUnlock()
	switch {
	case !head.init:
		return nil, ErrNoState
	case height > head.height:
		return nil, fmt.Errorf("%w: %d > latest %d", ErrFutureHeight, height, head.height)
	case height == head.height:
		return &View{s: s, height: height, root: head.root}, nil
	}
	if err := s.checkReadable(height); err != nil {
		return nil, err
	}
	enc, err := s.get(rootKey(height))
	if err != nil {
		return nil, fmt.Errorf("state: read root of %d: %w", height, err)
	}
	if err := s.checkReadable(height); err != nil {
		return nil, err
	}
	if enc == nil {
		return nil, fmt.Errorf("state: no root record for height %d", height)
	}
	root, err := decodeRoot(enc)
	if err != nil {
		return nil, fmt.Errorf("state: root of %d: %w", height, err)
	}
	return &View{s: s, height: height, root: root}, nil
}

func (s *Store) checkReadable(height uint64) error {
	if o := s.oldest.Load(); height < o {
		return fmt.Errorf("%w: %d < oldest %d", ErrPruned, height, o)
	}
	return nil
}

// Height returns the view's height.
func (v *View) Height() uint64 { return v.height }

// Root returns the state root at the view's height.
func (v *View) Root() types.Hash { return v.root.hash }

// Get returns the value of key at the view's height, nil when absent (a present empty
// value is a non-nil empty slice). Cost: one keccak256 and one Bloom-filtered Pebble point
// lookup when the key has not changed since the view's height (always the case at the
// latest height), else one more Pebble seek; the tree is not walked.
func (v *View) Get(key []byte) ([]byte, error) {
	kh := crypto.Keccak256Hash(key)
	out, err := v.get(&kh)
	if err != nil {
		return nil, fmt.Errorf("state: get %x at %d: %w", key, v.height, err)
	}
	if err := v.s.checkReadable(v.height); err != nil {
		return nil, err
	}
	return out, nil
}

func (v *View) get(kh *types.Hash) ([]byte, error) {
	val, closer, err := v.s.db.Get(latestKey(kh))
	switch {
	case err == nil:
		defer closer.Close()
		if out, ok, err := latestValue(val, v.height); ok || err != nil {
			return out, err
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return nil, err
	}
	// Written after the view's height, or deleted: look the height up in the history.
	return v.getAt(kh)
}

// getAt reads the value record of kh at the view's height.
func (v *View) getAt(kh *types.Hash) ([]byte, error) {
	lo := valueKey(kh, v.height)
	hi := valueKey(kh, 0)
	hi = append(hi, 0) // just past the version-0 record
	it, err := v.s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	var out []byte
	if it.First() {
		out, err = recordValue(it.Key(), it.Value())
	}
	return out, cmp.Or(err, it.Close())
}

// latestValue decodes a latest-value record (the version it was written at, then the
// value): a copy of the value (non-nil) with ok when that version is at or below height.
func latestValue(val []byte, height uint64) (out []byte, ok bool, err error) {
	if len(val) < 8 {
		return nil, false, errors.New("corrupt latest value record")
	}
	if binary.BigEndian.Uint64(val) > height {
		return nil, false, nil
	}
	out = bytes.Clone(val[8:])
	if out == nil {
		out = []byte{}
	}
	return out, true, nil
}

// recordValue decodes the value record rec stored under key k (1 and the value, or 0 for
// a delete): a copy of the value (non-nil), nil when deleted.
func recordValue(k, rec []byte) ([]byte, error) {
	switch {
	case len(rec) == 0 || rec[0] > 1 || (rec[0] == 0 && len(rec) != 1):
		return nil, fmt.Errorf("corrupt value record %x", k)
	case rec[0] == 0:
		return nil, nil
	}
	out := bytes.Clone(rec[1:])
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// Prove returns a proof of key's value (or absence) at the view's height, to be checked
// with VerifyProof against Root. Cost: one node read per stored level (about
// log16(keys) with the default radix) and the hashing of the siblings.
func (v *View) Prove(key []byte) (*Proof, error) {
	p, err := prove(v.s, v.s.r, v.root, crypto.Keccak256Hash(key))
	if rerr := v.s.checkReadable(v.height); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, fmt.Errorf("state: prove %x at %d: %w", key, v.height, err)
	}
	return p, nil
}

// Prove returns a proof of key's value (or absence) at height; see View.Prove.
func (s *Store) Prove(height uint64, key []byte) (*Proof, error) {
	v, err := s.Reader(height)
	if err != nil {
		return nil, err
	}
	return v.Prove(key)
}

// Update is a prepared, uncommitted version: the root it will have and the writes that
// produce it. It does not alias the changes it was prepared from. Commit it at
// most once; an Update whose height was committed by another Update is rejected.
type Update struct {
	s      *Store
	height uint64
	parent rootRecord // root of height-1 (zero before genesis)
	init   bool       // parent exists
	root   rootRecord
	nodes  []kv
	values []kv
	stale  [][]byte
	keys   arena // holds the keys and value records of nodes, values and stale
	loads  int   // stored nodes read by Prepare
	hashes int   // keccak256 computed by Prepare's tree update
}

// Height returns the height the update is for.
func (u *Update) Height() uint64 { return u.height }

// Root returns the state root the update's height will have.
func (u *Update) Root() types.Hash { return u.root.hash }

// Prepare computes version height (Latest()+1, or 0 on an empty store) as the latest
// version with changes applied, and writes nothing: several Prepares of the same height
// may coexist (competing proposals), and reads continue meanwhile. changes may come in
// any order but name each key once; a nil Value deletes (deleting an absent key is a
// no-op). Prepare does not retain changes: the caller may reuse them when it returns.
// Cost: a sort, two keccak256 per change, and per changed path one read and one write
// per stored level plus the hashing of the changed nodes.
func (s *Store) Prepare(height uint64, changes []Change) (*Update, error) {
	s.mu.RLock()
	head := s.head
	s.mu.RUnlock()
	u := &Update{s: s, height: height, init: head.init, parent: head.root}
	switch {
	case !head.init && height != 0:
		return nil, fmt.Errorf("%w: empty store, prepare %d (genesis is 0)", ErrWrongHeight, height)
	case head.init && height != head.height+1:
		return nil, fmt.Errorf("%w: prepare %d, latest %d", ErrWrongHeight, height, head.height)
	}
	base := head.root
	if !head.init {
		base = rootRecord{kind: rootEmpty, hash: EmptyRoot}
	}

	items := make([]item, len(changes))
	hashItems := func(lo, hi int) {
		k := crypto.NewKeccakState()
		out := new(types.Hash) // Read's destination: a local would escape, once per hash
		for i := lo; i < hi; i++ {
			c := &changes[i]
			items[i].keyHash = keccakTo(k, out, c.Key)
			if c.Value != nil {
				items[i].value = c.Value
				items[i].valueHash = keccakTo(k, out, c.Value)
			}
		}
	}
	// Two keccak256 per change: spread over the cores for large blocks.
	if workers := min(runtime.GOMAXPROCS(0), len(changes)/512); workers > 1 && !s.serial {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hashItems(w*len(changes)/workers, (w+1)*len(changes)/workers)
			}()
		}
		wg.Wait()
	} else {
		hashItems(0, len(changes))
	}
	slices.SortFunc(items, func(a, b item) int { return bytes.Compare(a.keyHash[:], b.keyHash[:]) })
	for i := 1; i < len(items); i++ {
		if items[i].keyHash == items[i-1].keyHash {
			return nil, fmt.Errorf("%w: key hash %s", ErrDuplicateKey, items[i].keyHash)
		}
	}

	up := &updater{src: s, r: s.r, version: height, h: newHasher(), par: !s.serial}
	up.presize(len(items))
	root, err := up.applyRoot(base, items)
	if err != nil {
		if head.init && s.checkReadable(head.height) != nil {
			return nil, fmt.Errorf("%w: height %d was pruned during prepare", ErrWrongHeight, head.height)
		}
		return nil, fmt.Errorf("state: prepare %d: %w", height, err)
	}
	u.root, u.nodes, u.values, u.stale, u.keys = root, up.nodes, up.values, up.stale, up.keys
	u.loads, u.hashes = up.loads, up.h.n
	return u, nil
}

// Commit makes u the latest version. It writes u's nodes and values, the pruning of
// versions that leave the retention window, and whatever fn adds (the block, receipts,
// indices; fn may be nil) in one Pebble batch, synced to disk before Commit returns:
// after a crash either all of it is there or none. If fn fails nothing is written.
// Reads of other heights proceed during Commit. CommitNoSync does not wait for the disk.
func (s *Store) Commit(u *Update, fn func(b *pebble.Batch) error) error {
	return s.commit(u, fn, pebble.Sync)
}

func (s *Store) commit(u *Update, fn func(b *pebble.Batch) error, wo *pebble.WriteOptions) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.RLock()
	head := s.head
	s.mu.RUnlock()
	if u.s != s {
		return errors.New("state: update of another store")
	}
	if head.init != u.init || (head.init && (u.height != head.height+1 || head.root != u.parent)) {
		return fmt.Errorf("%w: update for %d, latest %d", ErrWrongHeight, u.height, head.height)
	}

	size := 64
	for _, w := range u.nodes {
		size += len(w.key) + w.size + 8
	}
	for _, w := range u.values {
		size += len(w.key) + len(w.value) + 8
	}
	b := s.db.NewBatchWithSize(size + len(u.stale)*64)
	defer b.Close()

	// Pruning first: its range deletions of the stale index must not cover the stale
	// entries this batch adds (later operations in a batch win).
	newOldest := max(s.oldest.Load(), s.windowStart(u.height))
	prunedTo := s.prunedTo
	if !s.archive && u.init {
		var err error
		if prunedTo.stale, prunedTo.roots, err = s.prune(b, newOldest, u.height); err != nil {
			return err
		}
	}
	if !u.init {
		if err := b.Set(metaKey, []byte{formatVersion, byte(s.r.b)}, nil); err != nil {
			return fmt.Errorf("state: commit %d: %w", u.height, err)
		}
	}
	for _, w := range u.nodes {
		if err := writeNode(b, w); err != nil {
			return fmt.Errorf("state: commit %d: %w", u.height, err)
		}
	}
	for _, w := range u.values {
		var err error
		if w.value == nil {
			err = b.Delete(w.key, nil)
		} else {
			err = b.Set(w.key, w.value, nil)
		}
		if err != nil {
			return fmt.Errorf("state: commit %d: %w", u.height, err)
		}
	}
	// The stale index is kept in archive mode too, so that an archive can later be
	// pruned: it costs one small key per replaced node or value.
	var sk []byte // Set copies the key
	for _, k := range u.stale {
		sk = appendStaleKey(sk[:0], u.height, k)
		if err := b.Set(sk, nil, nil); err != nil {
			return fmt.Errorf("state: commit %d: %w", u.height, err)
		}
	}
	if err := b.Set(rootKey(u.height), u.root.encode(), nil); err != nil {
		return fmt.Errorf("state: commit %d: %w", u.height, err)
	}
	if fn != nil {
		if err := fn(b); err != nil {
			return fmt.Errorf("state: commit %d: caller's writes: %w", u.height, err)
		}
	}
	// Raise the read watermark before anything below it can disappear.
	if newOldest > s.oldest.Load() {
		s.oldest.Store(newOldest)
	}
	// The node cache learns the new version while the batch is written and synced (a
	// tenth of Commit's CPU at 10k writes, off its wall time): nothing reads the new
	// version's nodes before the head moves below, and the nodes it replaces are only
	// dropped from the cache (a read of them goes to Pebble). If the batch fails, the new
	// nodes leave the cache again: a competing update of the same height would write
	// other nodes under the same keys.
	cached := make(chan struct{})
	go func() {
		defer close(cached)
		for _, k := range u.stale {
			if len(k) > 1 && k[1] == tagNode {
				s.cache.remove(k)
			}
		}
		for _, w := range u.nodes {
			s.cache.add(w.key, w.n)
		}
	}()
	if err := b.Commit(wo); err != nil {
		<-cached
		for _, w := range u.nodes {
			s.cache.remove(w.key)
		}
		return fmt.Errorf("state: commit %d: %w", u.height, err)
	}
	<-cached
	s.prunedTo = prunedTo
	s.mu.Lock()
	s.head.init, s.head.height, s.head.root = true, u.height, u.root
	s.mu.Unlock()
	// The batch holds copies of everything in the update's lists and keys: they serve
	// the next update. The lists' lengths stay (measurements read them).
	putKVs(u.nodes)
	putKVs(u.values)
	putKeys(u.stale)
	u.keys.release()
	return nil
}

// prune adds to b the deletion of every entry that left the tree at a version <= oldest
// (so belongs only to unreadable versions), whole versions at a time up to the prune
// limit, with their stale-index entries, and of the root records below oldest. It
// returns where its range deletions end, which the next prune starts from once this
// batch is committed.
func (s *Store) prune(b *pebble.Batch, oldest, height uint64) (staleEnd, rootEnd uint64, err error) {
	from := s.prunedTo
	if oldest == 0 {
		return from.stale, from.roots, nil
	}
	// Entries stale at height are in this batch, not yet in the DB.
	upto := min(oldest, height-1)
	if upto+1 <= from.stale {
		return from.stale, max(from.roots, oldest), s.pruneRoots(b, from.roots, oldest)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: staleKey(from.stale, nil), UpperBound: staleKey(upto+1, nil)})
	if err != nil {
		return 0, 0, fmt.Errorf("state: prune: %w", err)
	}
	end := upto + 1 // stale index entries below staleKey(end) are processed
	n := 0
	var last uint64
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) < 10 {
			it.Close()
			return 0, 0, fmt.Errorf("state: corrupt stale index key %x", k)
		}
		v := binary.BigEndian.Uint64(k[2:10])
		if n >= s.pruneLimit && v != last {
			end = v
			break
		}
		if err := b.Delete(k[10:], nil); err != nil {
			it.Close()
			return 0, 0, fmt.Errorf("state: prune: %w", err)
		}
		n++
		last = v
	}
	if err := cmp.Or(it.Error(), it.Close()); err != nil {
		return 0, 0, fmt.Errorf("state: prune: %w", err)
	}
	if end > from.stale {
		if err := b.DeleteRange(staleKey(from.stale, nil), staleKey(end, nil), nil); err != nil {
			return 0, 0, fmt.Errorf("state: prune: %w", err)
		}
	}
	return max(end, from.stale), max(from.roots, oldest), s.pruneRoots(b, from.roots, oldest)
}

// pruneRoots adds to b the deletion of the root records in [from, oldest).
func (s *Store) pruneRoots(b *pebble.Batch, from, oldest uint64) error {
	if oldest <= from {
		return nil
	}
	if err := b.DeleteRange(rootKey(from), rootKey(oldest), nil); err != nil {
		return fmt.Errorf("state: prune: %w", err)
	}
	return nil
}

// writeNode adds the tree node w.n under w.key to b, encoded in place in the batch (no
// copy of the encoding is made or kept; w.size is its length, computed by Prepare).
func writeNode(b *pebble.Batch, w kv) error {
	op := b.SetDeferred(len(w.key), w.size)
	copy(op.Key, w.key)
	if enc := w.n.encode(op.Value[:0]); len(enc) != w.size {
		return fmt.Errorf("state: node %x encoded in %d bytes, not %d", w.key, len(enc), w.size)
	}
	return op.Finish()
}

// keccakTo returns keccak256(b), read through *out (which a caller hashing many
// values allocates once: a local destination escapes through the interface).
func keccakTo(k crypto.KeccakState, out *types.Hash, b []byte) types.Hash {
	k.Reset()
	k.Write(b)
	k.Read(out[:])
	return *out
}

func keccak(k crypto.KeccakState, b []byte) (out types.Hash) {
	k.Reset()
	k.Write(b)
	k.Read(out[:])
	return out
}
