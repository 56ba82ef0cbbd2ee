package state

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// Reader is a read-only view of one committed version of the state, addressed by tree key
// (AccountKey, CodeKey, StorageKey). Get returns nil, nil when the key is absent and a
// non-nil slice (possibly empty) when it is present. The caller must not modify the result.
type Reader interface {
	Get(key []byte) ([]byte, error)
}

// Change is one entry of a write set: Value nil deletes Key.
type Change struct {
	Key, Value []byte
}

// accountData is the in-memory form of an Account (balance held by value).
type accountData struct {
	nonce    uint64
	balance  uint256.Int
	codeHash types.Hash
	admin    types.Address
}

func (a *accountData) empty() bool {
	return a.nonce == 0 && a.balance.IsZero() && a.codeHash == (types.Hash{}) && a.admin == (types.Address{})
}

// stateAccount is an account loaded into the overlay: its value in the Reader and now.
type stateAccount struct {
	orig, cur accountData
}

// slot is a storage entry loaded into the overlay.
type slot struct {
	orig, cur             []byte
	origExists, curExists bool
}

// StateDB is a journaled overlay over a Reader: reads fall through to the Reader once and
// are cached; writes stay in memory until Changes collects them. It implements
// vm.StateDB. Snapshot/RevertToSnapshot undo writes exactly, in the manner of
// go-ethereum's core/state journal.
//
// The vm.StateDB methods cannot return errors, so a failing Reader (I/O error, corrupt
// entry) or a violated storage limit is recorded: the first such error is returned by Err,
// and the getters return zero values. A caller must check Err before using Changes.
//
// A StateDB is not safe for concurrent use.
type StateDB struct {
	r         Reader
	accounts  map[types.Address]*stateAccount
	storage   map[string]*slot
	code      map[types.Hash][]byte // code read from r or written, by hash
	newCode   map[types.Hash]bool   // code written in this overlay (part of Changes)
	journal   []journalEntry
	finalised int // journal entries dropped by Finalise: snapshot ids keep counting
	err       error
}

// NewStateDB returns an empty overlay over r.
func NewStateDB(r Reader) *StateDB {
	return &StateDB{
		r:        r,
		accounts: make(map[types.Address]*stateAccount),
		storage:  make(map[string]*slot),
		code:     make(map[types.Hash][]byte),
		newCode:  make(map[types.Hash]bool),
	}
}

// Reset empties s and makes it an overlay over r, as NewStateDB(r) would return, keeping
// its maps' and journal's memory for reuse (one StateDB per worker of a parallel block
// execution instead of one per transaction). Nothing s returned before (Changes, code,
// storage values) aliases what it will hold after.
func (s *StateDB) Reset(r Reader) {
	s.r = r
	clear(s.accounts)
	clear(s.storage)
	clear(s.code)
	clear(s.newCode)
	clear(s.journal)
	s.journal = s.journal[:0]
	s.finalised = 0
	s.err = nil
}

// Err returns the first error met by a read from the Reader or a storage limit check,
// or nil. Once set, the overlay's contents are unreliable and must be discarded.
func (s *StateDB) Err() error { return s.err }

func (s *StateDB) setErr(err error) {
	if s.err == nil {
		s.err = err
	}
}

// account returns addr's overlay entry, loading it from the Reader on first use.
func (s *StateDB) account(addr types.Address) *stateAccount {
	if a, ok := s.accounts[addr]; ok {
		return a
	}
	a := new(stateAccount)
	enc, err := s.r.Get(AccountKey(addr))
	switch {
	case err != nil:
		s.setErr(fmt.Errorf("read account %s: %w", addr, err))
	case enc != nil:
		acc, err := DecodeAccount(enc)
		if err != nil {
			s.setErr(fmt.Errorf("read account %s: %w", addr, err))
			break
		}
		a.orig = accountData{nonce: acc.Nonce, balance: *acc.Balance, codeHash: acc.CodeHash, admin: acc.Admin}
	}
	a.cur = a.orig
	s.accounts[addr] = a
	return a
}

// mutate journals addr's current account and returns it for modification.
func (s *StateDB) mutate(addr types.Address) *accountData {
	a := s.account(addr)
	s.journal = append(s.journal, journalEntry{kind: jAccount, addr: addr, acc: a.cur})
	return &a.cur
}

// GetAccount returns a copy of addr's account; an absent account reads as the zero Account
// (with a zero, non-nil balance).
func (s *StateDB) GetAccount(addr types.Address) *Account {
	c := &s.account(addr).cur
	return &Account{Nonce: c.nonce, Balance: new(uint256.Int).Set(&c.balance), CodeHash: c.codeHash, Admin: c.admin}
}

// Exists reports whether addr's account is non-empty (see Account).
func (s *StateDB) Exists(addr types.Address) bool { return !s.account(addr).cur.empty() }

// GetBalance returns a copy of addr's balance (zero for an absent account).
func (s *StateDB) GetBalance(addr types.Address) *uint256.Int {
	return new(uint256.Int).Set(&s.account(addr).cur.balance)
}

// AddBalance adds amount to addr's balance. An overflow of 2^256 (impossible with a
// bounded supply) is recorded as an error.
func (s *StateDB) AddBalance(addr types.Address, amount *uint256.Int) {
	if amount.IsZero() {
		return
	}
	a := s.mutate(addr)
	if _, overflow := a.balance.AddOverflow(&a.balance, amount); overflow {
		s.setErr(fmt.Errorf("add balance %s: overflow", addr))
	}
}

// SubBalance subtracts amount from addr's balance. The caller checks the balance first;
// an underflow is recorded as an error and leaves the balance at zero.
func (s *StateDB) SubBalance(addr types.Address, amount *uint256.Int) {
	if amount.IsZero() {
		return
	}
	a := s.mutate(addr)
	if _, underflow := a.balance.SubOverflow(&a.balance, amount); underflow {
		a.balance.Clear()
		s.setErr(fmt.Errorf("sub balance %s: underflow", addr))
	}
}

// GetNonce returns addr's nonce.
func (s *StateDB) GetNonce(addr types.Address) uint64 { return s.account(addr).cur.nonce }

// SetNonce sets addr's nonce.
func (s *StateDB) SetNonce(addr types.Address, nonce uint64) { s.mutate(addr).nonce = nonce }

// GetAdmin returns the admin of addr (zero when none).
func (s *StateDB) GetAdmin(addr types.Address) types.Address { return s.account(addr).cur.admin }

// SetAdmin sets the admin of addr.
func (s *StateDB) SetAdmin(addr, admin types.Address) { s.mutate(addr).admin = admin }

// GetCodeHash returns the keccak256 of addr's code, or the zero hash when it has none.
func (s *StateDB) GetCodeHash(addr types.Address) types.Hash { return s.account(addr).cur.codeHash }

// GetCode returns the code with hash h, or nil when unknown or h is zero. The caller must
// not modify the result.
func (s *StateDB) GetCode(h types.Hash) []byte {
	if h == (types.Hash{}) {
		return nil
	}
	if c, ok := s.code[h]; ok {
		return c
	}
	c, err := s.r.Get(CodeKey(h))
	if err != nil {
		s.setErr(fmt.Errorf("read code %s: %w", h, err))
		return nil
	}
	if c != nil {
		s.code[h] = c // code is immutable under its hash: cache only what exists
	}
	return c
}

// SetCode stores code under its keccak256 hash (once: code is shared by hash) and points
// addr's CodeHash at it. Empty code clears addr's CodeHash. Cost: one hash of the code
// and, for code not yet known, one read of the Reader.
func (s *StateDB) SetCode(addr types.Address, code []byte) {
	var h types.Hash
	if len(code) > 0 {
		h = crypto.Keccak256Hash(code)
		if s.GetCode(h) == nil {
			s.code[h] = bytes.Clone(code)
			s.newCode[h] = true
			s.journal = append(s.journal, journalEntry{kind: jCode, hash: h})
		}
	}
	s.mutate(addr).codeHash = h
}

// slot returns the overlay entry of a storage tree key, loading it on first use.
func (s *StateDB) slot(key []byte) *slot {
	if sl, ok := s.storage[string(key)]; ok {
		return sl
	}
	sl := new(slot)
	v, err := s.r.Get(key)
	if err != nil {
		s.setErr(fmt.Errorf("read storage %x: %w", key, err))
	} else if v != nil {
		sl.orig, sl.origExists = v, true
	}
	sl.cur, sl.curExists = sl.orig, sl.origExists
	s.storage[string(key)] = sl
	return sl
}

func checkStorageKey(key []byte) error {
	if len(key) > types.MaxStorageKeySize {
		return fmt.Errorf("%w: key of %d bytes > %d", ErrStorageLimit, len(key), types.MaxStorageKeySize)
	}
	return nil
}

// GetStorage returns the value of key in contract's storage and whether it exists. The
// caller must not modify the result.
func (s *StateDB) GetStorage(contract types.Address, key []byte) ([]byte, bool) {
	if err := checkStorageKey(key); err != nil {
		s.setErr(err)
		return nil, false
	}
	sl := s.slot(StorageKey(contract, key))
	return sl.cur, sl.curExists
}

// SetStorage sets key to a copy of value in contract's storage. Keys over
// types.MaxStorageKeySize or values over types.MaxStorageValueSize are refused with a sticky error.
func (s *StateDB) SetStorage(contract types.Address, key, value []byte) {
	if err := checkStorageKey(key); err != nil {
		s.setErr(err)
		return
	}
	if len(value) > types.MaxStorageValueSize {
		s.setErr(fmt.Errorf("%w: value of %d bytes > %d", ErrStorageLimit, len(value), types.MaxStorageValueSize))
		return
	}
	s.writeSlot(StorageKey(contract, key), bytes.Clone(value), true)
}

// DeleteStorage removes key from contract's storage (a no-op when absent).
func (s *StateDB) DeleteStorage(contract types.Address, key []byte) {
	if err := checkStorageKey(key); err != nil {
		s.setErr(err)
		return
	}
	s.writeSlot(StorageKey(contract, key), nil, false)
}

func (s *StateDB) writeSlot(tkey []byte, value []byte, exists bool) {
	sl := s.slot(tkey)
	if value == nil && exists {
		value = []byte{}
	}
	s.journal = append(s.journal, journalEntry{kind: jStorage, key: string(tkey), val: sl.cur, exists: sl.curExists})
	sl.cur, sl.curExists = value, exists
}

// Snapshot returns an identifier of the current state for RevertToSnapshot. Ids only
// grow, across Finalise too. Cost: O(1).
func (s *StateDB) Snapshot() int { return s.finalised + len(s.journal) }

// RevertToSnapshot undoes every change made since Snapshot returned id, newest first.
// Snapshots nest: reverting to id invalidates the ids taken after it. An id that is not
// a live snapshot is recorded as an error. Cost: O(changes undone).
func (s *StateDB) RevertToSnapshot(id int) {
	i := id - s.finalised
	if i < 0 || i > len(s.journal) {
		s.setErr(fmt.Errorf("revert to snapshot %d: live snapshots are %d to %d", id, s.finalised, s.Snapshot()))
		return
	}
	for j := len(s.journal) - 1; j >= i; j-- {
		s.journal[j].revert(s)
	}
	clear(s.journal[i:]) // drop references held by undone entries
	s.journal = s.journal[:i]
}

// Finalise ends the current unit of work (a transaction): its changes stay, but can no
// longer be undone, and every snapshot taken before a change that Finalise made
// permanent is invalid (RevertToSnapshot records an error for it). Like go-ethereum's
// StateDB.Finalise, it keeps the journal to one transaction's changes instead of a whole
// block's (which was a tenth of a loaded node's allocation). Cost: O(journal entries).
func (s *StateDB) Finalise() {
	s.finalised += len(s.journal)
	clear(s.journal)
	s.journal = s.journal[:0]
}

// Changes returns the overlay's write set relative to the Reader, sorted by key: every
// account, storage entry and new code whose value differs from the Reader's. Empty
// accounts are deletions (Value nil). Writes that were reverted, or that restore the
// original value, do not appear. The result does not alias the overlay. Cost:
// O(n log n) in the entries touched.
func (s *StateDB) Changes() []Change {
	out := s.AppendChanges(nil)
	slices.SortFunc(out, func(a, b Change) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// AppendChanges appends the write set Changes returns to dst, in no particular order,
// and returns the extended slice. Cost: O(n) in the entries touched.
func (s *StateDB) AppendChanges(dst []Change) []Change {
	out := dst
	for addr, a := range s.accounts {
		if a.cur == a.orig {
			continue
		}
		c := Change{Key: AccountKey(addr)}
		if !a.cur.empty() {
			c.Value = EncodeAccount(&Account{Nonce: a.cur.nonce, Balance: &a.cur.balance, CodeHash: a.cur.codeHash, Admin: a.cur.admin})
		} else if a.orig.empty() {
			continue // absent before and after
		}
		out = append(out, c)
	}
	for k, sl := range s.storage {
		if sl.curExists == sl.origExists && bytes.Equal(sl.cur, sl.orig) {
			continue
		}
		c := Change{Key: []byte(k)}
		if sl.curExists {
			c.Value = bytes.Clone(sl.cur)
			if c.Value == nil {
				c.Value = []byte{}
			}
		}
		out = append(out, c)
	}
	for h := range s.newCode {
		out = append(out, Change{Key: CodeKey(h), Value: bytes.Clone(s.code[h])})
	}
	return out
}

// Empty is a Reader of the empty state: every key is absent. Genesis executes over it.
var Empty Reader = emptyReader{}

type emptyReader struct{}

func (emptyReader) Get([]byte) ([]byte, error) { return nil, nil }
