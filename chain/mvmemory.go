package chain

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"sync"

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
// All methods are safe for concurrent use.
type mvMemory struct {
	base   state.Reader
	shards [mvShards]mvShard
}

// mvShards spreads the key map over locks, so that workers rarely wait for each other
// on it (a plain map lookup by string(key) does not allocate, unlike sync.Map's).
const mvShards = 64

type mvShard struct {
	mu   sync.RWMutex
	keys map[string]*mvKey
}

// mvKey holds one key's base value and its writes.
type mvKey struct {
	mu       sync.Mutex
	baseRead bool
	base     []byte
	baseErr  error
	entries  []mvEntry // sorted by tx
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
	m := &mvMemory{base: base}
	for i := range m.shards {
		m.shards[i].keys = make(map[string]*mvKey, keys/mvShards)
	}
	return m
}

// key returns k's entry, adding it on first use.
func (m *mvMemory) key(k []byte) *mvKey {
	// State keys end in hashes (of the address, the storage key or the code): their
	// last byte is spread evenly.
	var last byte
	if len(k) > 0 {
		last = k[len(k)-1]
	}
	sh := &m.shards[int(last)%mvShards]
	sh.mu.RLock()
	e := sh.keys[string(k)]
	sh.mu.RUnlock()
	if e != nil {
		return e
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e = sh.keys[string(k)]; e == nil {
		e = new(mvKey)
		sh.keys[string(k)] = e
	}
	return e
}

// read returns key's value as the transaction at position tx sees it: the newest write
// below tx plus the credits after it, or the base value plus every credit below tx.
func (m *mvMemory) read(key []byte, tx int) ([]byte, error) {
	return m.readKey(m.key(key), key, tx)
}

func (m *mvMemory) readKey(k *mvKey, key []byte, tx int) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.readLocked(m.base, key, tx)
}

func (k *mvKey) readLocked(base state.Reader, key []byte, tx int) ([]byte, error) {
	j := sort.Search(len(k.entries), func(j int) bool { return k.entries[j].tx >= tx })
	var credits []*uint256.Int
	for j--; j >= 0; j-- {
		e := &k.entries[j]
		if e.credit == nil {
			return addCredits(key, e.value, credits)
		}
		credits = append(credits, e.credit)
	}
	if !k.baseRead {
		k.base, k.baseErr = base.Get(key)
		k.baseRead = true
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
// execution and, when credit is non-nil, a credit to the account under creditKey. prev
// are the keys of its previous entries (nil if none); the keys of the new ones are
// returned, for the next replacement.
func (m *mvMemory) write(tx int, prev []string, changes []state.Change, creditKey []byte, credit *uint256.Int) []string {
	keys := make([]string, 0, len(changes)+1)
	for _, c := range changes {
		m.key(c.Key).set(mvEntry{tx: tx, value: c.Value})
		keys = append(keys, string(c.Key))
	}
	if credit != nil {
		m.key(creditKey).set(mvEntry{tx: tx, credit: credit})
		keys = append(keys, string(creditKey))
	}
	for _, p := range prev {
		if !slices.Contains(keys, p) {
			m.key([]byte(p)).remove(tx)
		}
	}
	return keys
}

func (k *mvKey) set(e mvEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	j := sort.Search(len(k.entries), func(j int) bool { return k.entries[j].tx >= e.tx })
	if j < len(k.entries) && k.entries[j].tx == e.tx {
		k.entries[j] = e
		return
	}
	k.entries = slices.Insert(k.entries, j, e)
}

func (k *mvKey) remove(tx int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	j := sort.Search(len(k.entries), func(j int) bool { return k.entries[j].tx >= tx })
	if j < len(k.entries) && k.entries[j].tx == tx {
		k.entries = slices.Delete(k.entries, j, j+1)
	}
}

// changes returns the write set of the first n transactions relative to the base,
// sorted by key, as state.StateDB.Changes would give it after executing them in order:
// every key whose value differs from the base (nil: deleted). Call it only when no
// transaction runs any more.
func (m *mvMemory) changes(n int) ([]state.Change, error) {
	var out []state.Change
	for i := range m.shards {
		for ks, k := range m.shards[i].keys {
			if len(k.entries) == 0 || k.entries[0].tx >= n {
				continue // never written below n: the base value
			}
			key := []byte(ks)
			val, err := k.readLocked(m.base, key, n)
			if err != nil {
				return nil, err
			}
			base, err := k.readLocked(m.base, key, 0)
			if err != nil {
				return nil, err
			}
			if (val == nil) == (base == nil) && bytes.Equal(val, base) {
				continue
			}
			out = append(out, state.Change{Key: key, Value: bytes.Clone(val)})
		}
	}
	slices.SortFunc(out, func(a, b state.Change) int { return bytes.Compare(a.Key, b.Key) })
	return out, nil
}

// mvView is the state.Reader of one execution of the transaction at position tx: it
// reads through the memory and records what it read, for validation.
type mvView struct {
	mv      *mvMemory
	tx      int
	reads   []mvRead
	watch   string // a key whose reading is reported in watched (the fee account)
	watched bool
}

type mvRead struct {
	k     *mvKey
	key   []byte
	value []byte
}

func (v *mvView) Get(key []byte) ([]byte, error) {
	k := v.mv.key(key)
	val, err := v.mv.readKey(k, key, v.tx)
	if err != nil {
		return nil, err
	}
	if v.reads == nil {
		v.reads = make([]mvRead, 0, 8)
	}
	// state.StateDB builds a new key for every read: it can be kept without a copy.
	v.reads = append(v.reads, mvRead{k: k, key: key, value: val})
	if !v.watched && string(key) == v.watch {
		v.watched = true
	}
	return val, nil
}

// valid reports whether every value the execution read is still the value the
// transaction sees now: if so, running it again would read, and so do, the same.
func (v *mvView) valid() bool {
	for _, r := range v.reads {
		val, err := v.mv.readKey(r.k, r.key, v.tx)
		if err != nil || (val == nil) != (r.value == nil) || !bytes.Equal(val, r.value) {
			return false
		}
	}
	return true
}
