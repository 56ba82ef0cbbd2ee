package chain

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
)

// mvMemory is the multi-version memory of a parallel block execution (Block-STM's
// MVMemory): for every state key (the tree keys of package state) the writes of the
// block's transactions, by position in the block. A transaction at position i reads a key
// as the sequential execution would, if every transaction before it has run: the newest
// write of a lower position, else the parent state. Entries of transactions that have
// not been committed yet may be replaced or removed; the commit validates every read.
//
// Besides full values, the memory holds credits: the fee a transaction owes the proposer
// is added to the proposer's account as a commutative delta, so transactions that do not
// otherwise touch the proposer's account do not all write, and so conflict on, that one
// key (see docs/rationale/parallel-exec.md).
//
// All methods are safe for concurrent use, except changes.
type mvMemory struct {
	base    state.Reader
	workers int    // goroutines changes may use
	fee     *mvKey // the key credits usually go to, if set before the workers start
	shards  [mvShards]mvShard
}

// mvShards spreads the keys over locks, so that workers rarely wait for each other (a
// plain map lookup by string(key) does not allocate, unlike sync.Map's). (256 were
// tried in session 7: once the keys every transaction reads go through mvNear, two
// workers wait on a shard lock about once per 400 transactions with 64 shards and
// once per 850 with 256, which allocate 0.5 MB more per block of 5,000 transfers.)
const mvShards = 64

// mvShard is a part of the memory's keys; its lock guards its map and the entries of
// its keys. It fills a cache line, so that two cores locking neighbouring shards do not
// take the line from each other.
type mvShard struct {
	// Fills the line on 32-bit platforms; none on 64-bit. First: a zero-size last field
	// would be padded.
	_     [mvShardPad]byte
	mu    sync.RWMutex
	keys  map[string]*mvKey
	slabs []*[mvSlab]mvKey // where keys are allocated, a chunk at a time; kept by reset
	used  int              // keys of slabs in use
}

// mvShardPad fills a shard to 64 bytes where its fields take less (32-bit platforms).
const mvShardPad = 64 - (unsafe.Sizeof(sync.RWMutex{}) + unsafe.Sizeof(map[string]*mvKey(nil)) +
	unsafe.Sizeof([]*[mvSlab]mvKey(nil)) + unsafe.Sizeof(int(0)))

// A shard is exactly one cache line (compile-time check).
var _ [0]struct{} = [unsafe.Sizeof(mvShard{}) - 64]struct{}{}

// mvSlab is the number of keys a shard allocates at once: one allocation instead of
// one per key (a block of 5,000 transfers adds about 15,000 keys).
const mvSlab = 64

// mvKey holds one key's parent value and its writes.
type mvKey struct {
	// version counts the changes of entries (under the shard's lock), so that a read
	// taken at a version is still valid while the version has not moved: validation
	// then needs no lock and no comparison.
	version atomic.Uint64
	key     []byte // the key, as first read or written (callers do not modify keys)
	base    []byte // the parent state's value, read once before the key was added
	baseErr error
	entries []mvEntry  // sorted by tx; guarded by the shard's lock
	one     [1]mvEntry // the first entry's storage: most keys are written by one tx
}

// mvEntry is the write of the transaction at position tx: a value (nil deletes), or,
// when credit is non-nil, an amount added to the balance of the account under the key.
type mvEntry struct {
	tx     int
	value  []byte
	credit *uint256.Int
}

// newMVMemory returns an empty memory over base, sized for about keys keys (a hint).
func newMVMemory(base state.Reader, keys int) *mvMemory {
	m := new(mvMemory)
	m.init(base, keys, 1)
	return m
}

// init makes m, new or reset, an empty memory over base for changes on workers
// goroutines, sized for about keys keys (a hint; maps kept by reset keep their size).
func (m *mvMemory) init(base state.Reader, keys, workers int) {
	m.base, m.workers, m.fee = base, workers, nil
	for i := range m.shards {
		if m.shards[i].keys == nil {
			m.shards[i].keys = make(map[string]*mvKey, keys/mvShards)
		}
	}
}

// reset empties m, keeping its maps' and slabs' memory for the next block, and drops
// every reference it held (the parent state, values, keys). No goroutine may use m.
func (m *mvMemory) reset() {
	for i := range m.shards {
		sh := &m.shards[i]
		clear(sh.keys)
		for _, slab := range sh.slabs[:(sh.used+mvSlab-1)/mvSlab] {
			clear(slab[:])
		}
		sh.used = 0
	}
	m.base, m.fee = nil, nil
}

func (m *mvMemory) shard(key []byte) *mvShard {
	// State keys end in hashes or addresses (of the account, the storage key, the code):
	// their last byte is spread evenly.
	var last byte
	if len(key) > 0 {
		last = key[len(key)-1]
	}
	return &m.shards[int(last)%mvShards]
}

// read returns key's value as the transaction at position tx sees it: the newest write
// below tx plus the credits after it, or the parent value plus every credit below tx;
// with the key's entry and the version the value was read at. The parent state is read
// at most once per key, outside any lock.
func (m *mvMemory) read(key []byte, tx int) ([]byte, error) {
	_, val, _, err := m.readVersion(key, tx, nil)
	return val, err
}

// readVersion is read, also returning the key's entry and version; the parent value of
// a key not yet in the memory is read through base (the worker's own reader of the
// parent state), or the memory's when nil.
func (m *mvMemory) readVersion(key []byte, tx int, base state.Reader) (*mvKey, []byte, uint64, error) {
	sh := m.shard(key)
	sh.mu.RLock()
	if k := sh.keys[string(key)]; k != nil {
		val, err := k.readLocked(key, tx)
		ver := k.version.Load()
		sh.mu.RUnlock()
		return k, val, ver, err
	}
	sh.mu.RUnlock()
	if base == nil {
		base = m.base
	}
	val, baseErr := base.Get(key)
	sh.mu.Lock()
	k := sh.addLocked(key, val, baseErr)
	val, err := k.readLocked(key, tx) // under the lock that added it: no second lookup
	ver := k.version.Load()
	sh.mu.Unlock()
	return k, val, ver, err
}

// key returns key's entry, adding it on first use (its parent value read through base,
// or the memory's reader when nil).
func (m *mvMemory) key(key []byte, base state.Reader) *mvKey {
	sh := m.shard(key)
	sh.mu.RLock()
	k := sh.keys[string(key)]
	sh.mu.RUnlock()
	if k != nil {
		return k
	}
	if base == nil {
		base = m.base
	}
	return m.add(sh, key, base)
}

// add reads key's parent value and adds its entry to sh, unless another goroutine did
// meanwhile (the parent state does not change during the block, so either read will do).
func (m *mvMemory) add(sh *mvShard, key []byte, base state.Reader) *mvKey {
	val, err := base.Get(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.addLocked(key, val, err)
}

// addLocked adds key's entry with its parent value to sh, unless it is there already,
// and returns it. The caller holds sh's write lock.
func (sh *mvShard) addLocked(key, base []byte, err error) *mvKey {
	k := sh.keys[string(key)]
	if k == nil {
		// key is kept without a copy: state.StateDB builds a new key for every read,
		// and the keys of a write set are not modified afterwards (see write).
		if sh.used == len(sh.slabs)*mvSlab {
			sh.slabs = append(sh.slabs, new([mvSlab]mvKey))
		}
		k = &sh.slabs[sh.used/mvSlab][sh.used%mvSlab] // zero: new, or cleared by reset
		sh.used++
		k.key, k.base, k.baseErr = key, base, err
		sh.keys[string(key)] = k
	}
	return k
}

// below returns the number of entries of positions below tx.
func (k *mvKey) below(tx int) int {
	lo, hi := 0, len(k.entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if k.entries[mid].tx < tx {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// readLocked is read, under the shard's lock (read or write).
func (k *mvKey) readLocked(key []byte, tx int) ([]byte, error) {
	j := k.below(tx)
	var credits []*uint256.Int
	for j--; j >= 0; j-- {
		e := &k.entries[j]
		if e.credit == nil {
			return addCredits(key, e.value, credits)
		}
		credits = append(credits, e.credit)
	}
	if k.baseErr != nil {
		return nil, k.baseErr
	}
	return addCredits(key, k.base, credits)
}

// addCredits returns the account encoded in enc (nil: absent, the zero account) with
// credits added to its balance.
func addCredits(key, enc []byte, credits []*uint256.Int) ([]byte, error) {
	if len(credits) == 0 {
		return enc, nil
	}
	acc := &state.Account{Balance: new(uint256.Int)}
	if enc != nil {
		var err error
		if acc, err = state.DecodeAccount(enc); err != nil {
			return nil, fmt.Errorf("credit account %x: %w", key, err)
		}
	}
	// Added oldest first, as the sequential execution does (addition commutes; the
	// order only matters for where an impossible overflow is reported).
	for i := len(credits) - 1; i >= 0; i-- {
		if _, overflow := acc.Balance.AddOverflow(acc.Balance, credits[i]); overflow {
			return nil, fmt.Errorf("credit account %x: balance overflow", key)
		}
	}
	return state.EncodeAccount(acc), nil
}

// write replaces the entries of the transaction at position tx: the changes of its
// execution and, when credit is non-nil, a credit to the account under creditKey. The
// changes' keys and values must not be modified afterwards. prev are the keys of its
// previous entries (nil if none); the keys of the new ones are returned, for the next
// replacement, in prev's memory. view, when not nil, is the execution's view: the keys
// it read are found there without a lookup.
func (m *mvMemory) write(tx int, prev []*mvKey, view *mvView, changes []state.Change, creditKey []byte, credit *uint256.Int) []*mvKey {
	old := len(prev)
	keys := prev
	put := func(k *mvKey, key []byte, e mvEntry) {
		sh := m.shard(key)
		sh.mu.Lock()
		k.set(e)
		k.version.Add(1)
		sh.mu.Unlock()
		keys = append(keys, k)
	}
	var base state.Reader
	if view != nil {
		base = view.base
	}
	for _, c := range changes {
		var k *mvKey
		if view != nil {
			k = view.keyOf(c.Key)
		}
		if k == nil {
			k = m.key(c.Key, base)
		}
		put(k, c.Key, mvEntry{tx: tx, value: c.Value})
	}
	if credit != nil {
		k := m.fee
		if k == nil || !bytes.Equal(k.key, creditKey) {
			k = m.key(creditKey, base)
		}
		put(k, creditKey, mvEntry{tx: tx, credit: credit})
	}
	for _, k := range prev[:old] {
		if !slices.Contains(keys[old:], k) {
			sh := m.shard(k.key)
			sh.mu.Lock()
			if k.remove(tx) {
				k.version.Add(1)
			}
			sh.mu.Unlock()
		}
	}
	n := copy(keys, keys[old:])
	clear(keys[n:])
	return keys[:n]
}

func (k *mvKey) set(e mvEntry) {
	if k.entries == nil {
		k.one[0] = e
		k.entries = k.one[:]
		return
	}
	j := k.below(e.tx)
	if j < len(k.entries) && k.entries[j].tx == e.tx {
		k.entries[j] = e
		return
	}
	k.entries = slices.Insert(k.entries, j, e)
}

func (k *mvKey) remove(tx int) bool {
	j := k.below(tx)
	if j < len(k.entries) && k.entries[j].tx == tx {
		k.entries = slices.Delete(k.entries, j, j+1)
		return true
	}
	return false
}

// changes returns the write set of the first n transactions relative to the base,
// sorted by key, as state.StateDB.Changes would give it after executing them in order:
// every key whose value differs from the base (nil: deleted). With two workers or more,
// two goroutines (the caller's included) each collect and sort the keys of half of the
// shards, and the halves are merged: this runs after the block's execution, when the
// workers have stopped, so done on one it was the largest part of the parallel run
// that used one core. Call it only when no transaction runs any more. The keys and
// values are shared with the memory, which is not modified any more.
func (m *mvMemory) changes(n int) ([]state.Change, error) {
	if m.workers < 2 {
		return m.changesOf(m.shards[:], n)
	}
	half := len(m.shards) / 2
	var b []state.Change
	var errB error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b, errB = m.changesOf(m.shards[half:], n)
	}()
	a, err := m.changesOf(m.shards[:half], n)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if errB != nil {
		return nil, errB
	}
	out := make([]state.Change, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if bytes.Compare(a[0].Key, b[0].Key) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...), nil
}

// changesOf is changes for the keys of shards, sorted.
func (m *mvMemory) changesOf(shards []mvShard, n int) ([]state.Change, error) {
	written := func(k *mvKey) bool { return len(k.entries) > 0 && k.entries[0].tx < n }
	size := 0
	for i := range shards {
		for _, k := range shards[i].keys {
			if written(k) {
				size++
			}
		}
	}
	out := make([]state.Change, 0, size)
	for i := range shards {
		for _, k := range shards[i].keys {
			if !written(k) {
				continue // never written below n: the base value
			}
			val, err := k.readLocked(k.key, n)
			if err != nil {
				return nil, err
			}
			if k.baseErr != nil {
				return nil, k.baseErr
			}
			if (val == nil) == (k.base == nil) && bytes.Equal(val, k.base) {
				continue
			}
			out = append(out, state.Change{Key: k.key, Value: val})
		}
	}
	slices.SortFunc(out, func(a, b state.Change) int { return bytes.Compare(a.Key, b.Key) })
	return out, nil
}

// mvView is the state.Reader of one execution of the transaction at position tx: it
// reads through the memory and records what it read, for validation.
type mvView struct {
	mv      *mvMemory
	base    state.Reader // the worker's reader of the parent state, or nil: the memory's
	near    *mvNear      // the worker's, or nil
	tx      int
	reads   []mvRead
	watch   string // a key whose reading is reported in watched (the fee account)
	watched bool
}

type mvRead struct {
	k       *mvKey // and its key
	value   []byte
	version uint64
}

// mvNear is one worker's direct-mapped cache of the keys it read in the block. A key
// that no transaction has written (version 0) has its parent value, which never
// changes, so a read that finds it here takes no lock and writes no shared memory: the
// keys every transaction reads (the called contract's account and code) were two
// read-locks per transaction on the same two cache lines from both cores. A stale
// slot is harmless: the read then goes through the memory as before.
type mvNear [mvNearSlots]*mvKey

const (
	mvNearBits  = 10
	mvNearSlots = 1 << mvNearBits
)

// nearSlot is key's slot in an mvNear: state keys end in hashes or addresses, whose
// last eight bytes are spread evenly.
func nearSlot(key []byte) int {
	if len(key) < 8 {
		return -1
	}
	x := binary.LittleEndian.Uint64(key[len(key)-8:])
	return int((x * 0x9E3779B97F4A7C15) >> (64 - mvNearBits))
}

// reset makes v a fresh view of position tx, keeping its memory; near is the worker's
// cache of keys (nil: none).
func (v *mvView) reset(mv *mvMemory, base state.Reader, near *mvNear, tx int, watch string) {
	clear(v.reads)
	*v = mvView{mv: mv, base: base, near: near, tx: tx, reads: v.reads[:0], watch: watch}
}

func (v *mvView) Get(key []byte) ([]byte, error) {
	slot := -1
	if v.near != nil {
		if slot = nearSlot(key); slot >= 0 {
			// version 0: no entry was ever added (set once, under the shard's lock,
			// before the count moves), so the value is the parent's; a write that
			// lands right after this load is caught by the validation like any other.
			if k := v.near[slot]; k != nil && k.version.Load() == 0 && k.baseErr == nil && bytes.Equal(k.key, key) {
				v.record(k, key, k.base, 0)
				return k.base, nil
			}
		}
	}
	k, val, ver, err := v.mv.readVersion(key, v.tx, v.base)
	if err != nil {
		return nil, err
	}
	if slot >= 0 {
		v.near[slot] = k
	}
	v.record(k, key, val, ver)
	return val, nil
}

func (v *mvView) record(k *mvKey, key, val []byte, ver uint64) {
	v.reads = append(v.reads, mvRead{k: k, value: val, version: ver})
	if !v.watched && string(key) == v.watch {
		v.watched = true
	}
}

// keyOf returns the entry of key if the execution read it, else nil.
func (v *mvView) keyOf(key []byte) *mvKey {
	for i := range v.reads {
		if bytes.Equal(v.reads[i].k.key, key) {
			return v.reads[i].k
		}
	}
	return nil
}

// valid reports whether every value the execution read is still the value the
// transaction sees now: if so, running it again would read, and so do, the same. A key
// whose entries have not changed since it was read is valid without a look; the others
// are read again and compared by value.
func (v *mvView) valid() bool {
	for _, r := range v.reads {
		if r.k.version.Load() == r.version {
			continue
		}
		sh := v.mv.shard(r.k.key)
		sh.mu.RLock()
		val, err := r.k.readLocked(r.k.key, v.tx)
		sh.mu.RUnlock()
		if err != nil || (val == nil) != (r.value == nil) || !bytes.Equal(val, r.value) {
			return false
		}
	}
	return true
}
