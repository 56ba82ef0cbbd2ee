// Package vmtest provides an in-memory vm.StateDB with a journal, for tests of the vm
// package and of packages built on it. It is simple and not safe for concurrent use: give
// every goroutine its own State (or Copy one).
package vmtest

import (
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// State is an in-memory world state: balances, code and contract storage, with a journal
// so that RevertToSnapshot undoes changes exactly (the go-ethereum journal model).
// The zero value is not usable; call New.
type State struct {
	balances map[types.Address]*uint256.Int
	codeHash map[types.Address]types.Hash
	code     map[types.Hash][]byte
	storage  map[types.Address]map[string][]byte
	journal  []undo
}

// undo restores one changed entry.
type undo struct {
	kind    byte // 'b' balance, 's' storage
	addr    types.Address
	key     string
	balance *uint256.Int // previous balance (nil: absent)
	value   []byte       // previous value
	existed bool         // previous value existed
}

// New returns an empty State.
func New() *State {
	return &State{
		balances: map[types.Address]*uint256.Int{},
		codeHash: map[types.Address]types.Hash{},
		code:     map[types.Hash][]byte{},
		storage:  map[types.Address]map[string][]byte{},
	}
}

// GetBalance returns the balance of addr, zero when absent.
func (s *State) GetBalance(addr types.Address) *uint256.Int {
	if b, ok := s.balances[addr]; ok {
		return b
	}
	return new(uint256.Int)
}

// SetBalance sets a balance outside the journal (test set-up).
func (s *State) SetBalance(addr types.Address, v *uint256.Int) {
	s.balances[addr] = new(uint256.Int).Set(v)
}

func (s *State) setBalance(addr types.Address, v *uint256.Int) {
	prev, ok := s.balances[addr]
	u := undo{kind: 'b', addr: addr}
	if ok {
		u.balance = prev
	}
	s.journal = append(s.journal, u)
	s.balances[addr] = v
}

// SubBalance subtracts amount from addr's balance. It panics on underflow, which the VM
// never causes since it checks balances first: a panic here is a VM bug.
func (s *State) SubBalance(addr types.Address, amount *uint256.Int) {
	nb, under := new(uint256.Int).SubOverflow(s.GetBalance(addr), amount)
	if under {
		panic(fmt.Sprintf("vmtest: balance underflow of %s", addr))
	}
	s.setBalance(addr, nb)
}

// AddBalance adds amount to addr's balance.
func (s *State) AddBalance(addr types.Address, amount *uint256.Int) {
	s.setBalance(addr, new(uint256.Int).Add(s.GetBalance(addr), amount))
}

// SetCode installs code at addr outside the journal (test set-up, like a deploy that
// committed) and returns its keccak256 hash.
func (s *State) SetCode(addr types.Address, code []byte) types.Hash {
	h := types.Hash(crypto.Keccak256Hash(code))
	s.code[h] = append([]byte(nil), code...)
	s.codeHash[addr] = h
	return h
}

// GetCodeHash returns the hash of addr's code, the zero hash when it has none.
func (s *State) GetCodeHash(addr types.Address) types.Hash { return s.codeHash[addr] }

// GetCode returns code by hash, nil when unknown.
func (s *State) GetCode(h types.Hash) []byte { return s.code[h] }

// GetStorage returns contract's value under key and whether it exists.
func (s *State) GetStorage(contract types.Address, key []byte) ([]byte, bool) {
	v, ok := s.storage[contract][string(key)]
	return v, ok
}

func (s *State) put(contract types.Address, key string, value []byte, exists bool) {
	m := s.storage[contract]
	prev, had := m[key]
	s.journal = append(s.journal, undo{kind: 's', addr: contract, key: key, value: prev, existed: had})
	s.set(contract, key, value, exists)
}

func (s *State) set(contract types.Address, key string, value []byte, exists bool) {
	m := s.storage[contract]
	if !exists {
		delete(m, key)
		return
	}
	if m == nil {
		m = map[string][]byte{}
		s.storage[contract] = m
	}
	m[key] = value
}

// SetStorage writes a copy of value under key.
func (s *State) SetStorage(contract types.Address, key, value []byte) {
	s.put(contract, string(key), append([]byte{}, value...), true)
}

// DeleteStorage removes key.
func (s *State) DeleteStorage(contract types.Address, key []byte) {
	s.put(contract, string(key), nil, false)
}

// StorageLen returns the number of keys of contract (a test helper).
func (s *State) StorageLen(contract types.Address) int { return len(s.storage[contract]) }

// Snapshot returns the current journal position.
func (s *State) Snapshot() int { return len(s.journal) }

// RevertToSnapshot undoes every change made since Snapshot returned id. It panics on an
// id that is not a live snapshot (a caller bug).
func (s *State) RevertToSnapshot(id int) {
	if id < 0 || id > len(s.journal) {
		panic(fmt.Sprintf("vmtest: revert to invalid snapshot %d (journal %d)", id, len(s.journal)))
	}
	for i := len(s.journal) - 1; i >= id; i-- {
		u := s.journal[i]
		switch u.kind {
		case 'b':
			if u.balance == nil {
				delete(s.balances, u.addr)
			} else {
				s.balances[u.addr] = u.balance
			}
		case 's':
			s.set(u.addr, u.key, u.value, u.existed)
		}
	}
	s.journal = s.journal[:id]
}

// JournalLen returns the number of journaled changes (a test helper: 0 after a failed
// top-level call that began on an empty journal).
func (s *State) JournalLen() int { return len(s.journal) }

// Copy returns a deep copy of s with an empty journal.
func (s *State) Copy() *State {
	c := New()
	for a, b := range s.balances {
		c.balances[a] = new(uint256.Int).Set(b)
	}
	for a, h := range s.codeHash {
		c.codeHash[a] = h
	}
	for h, code := range s.code {
		c.code[h] = code
	}
	for a, m := range s.storage {
		cm := make(map[string][]byte, len(m))
		for k, v := range m {
			cm[k] = v
		}
		c.storage[a] = cm
	}
	return c
}

// Equal reports whether s and o hold the same balances (ignoring zero ones), code and
// storage. It is meant for tests asserting that a failed call changed nothing.
func (s *State) Equal(o *State) bool {
	nz := func(m map[types.Address]*uint256.Int) map[types.Address]*uint256.Int {
		r := map[types.Address]*uint256.Int{}
		for a, b := range m {
			if !b.IsZero() {
				r[a] = b
			}
		}
		return r
	}
	sb, ob := nz(s.balances), nz(o.balances)
	if len(sb) != len(ob) {
		return false
	}
	for a, b := range sb {
		if ob[a] == nil || !ob[a].Eq(b) {
			return false
		}
	}
	if len(s.codeHash) != len(o.codeHash) {
		return false
	}
	for a, h := range s.codeHash {
		if o.codeHash[a] != h {
			return false
		}
	}
	ns := func(m map[types.Address]map[string][]byte) int {
		n := 0
		for _, kv := range m {
			n += len(kv)
		}
		return n
	}
	if ns(s.storage) != ns(o.storage) {
		return false
	}
	for a, kv := range s.storage {
		for k, v := range kv {
			ov, ok := o.storage[a][k]
			if !ok || string(ov) != string(v) {
				return false
			}
		}
	}
	return true
}
