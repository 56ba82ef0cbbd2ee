package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// mapReader is a Reader over a map, for tests.
type mapReader map[string][]byte

func (m mapReader) Get(key []byte) ([]byte, error) { return m[string(key)], nil }

// apply applies a write set to m.
func (m mapReader) apply(cs []Change) {
	for _, c := range cs {
		if c.Value == nil {
			delete(m, string(c.Key))
		} else {
			m[string(c.Key)] = c.Value
		}
	}
}

type errReader struct{}

func (errReader) Get([]byte) ([]byte, error) { return nil, errors.New("disk on fire") }

var (
	alice = types.Address{0xa1}
	bob   = types.Address{0xb0}
	ctr   = types.Address{0xc0}
)

func u(v uint64) *uint256.Int { return uint256.NewInt(v) }

func TestStateDBAccountsRoundTrip(t *testing.T) {
	m := mapReader{}
	s := NewStateDB(m)
	s.AddBalance(alice, u(100))
	s.SetNonce(alice, 7)
	s.SetCode(ctr, []byte("wasm"))
	s.SetAdmin(ctr, alice)
	s.SetStorage(ctr, []byte("k"), []byte("v"))
	s.SetStorage(ctr, []byte("empty"), nil)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	m.apply(s.Changes())

	r := NewStateDB(m)
	if got := r.GetBalance(alice); !got.Eq(u(100)) {
		t.Fatalf("balance %v", got)
	}
	if r.GetNonce(alice) != 7 || !r.Exists(alice) || r.Exists(bob) {
		t.Fatal("nonce/exists wrong")
	}
	h := r.GetCodeHash(ctr)
	if h != crypto.Keccak256Hash([]byte("wasm")) || string(r.GetCode(h)) != "wasm" {
		t.Fatalf("code hash %s", h)
	}
	if r.GetAdmin(ctr) != alice {
		t.Fatal("admin")
	}
	if v, ok := r.GetStorage(ctr, []byte("k")); !ok || string(v) != "v" {
		t.Fatalf("storage %q %v", v, ok)
	}
	if v, ok := r.GetStorage(ctr, []byte("empty")); !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty value must exist and be non-nil: %q %v", v, ok)
	}
	if _, ok := r.GetStorage(ctr, []byte("nope")); ok {
		t.Fatal("absent key exists")
	}
	acc := r.GetAccount(alice)
	if acc.Nonce != 7 || !acc.Balance.Eq(u(100)) {
		t.Fatalf("account %+v", acc)
	}
	if len(r.Changes()) != 0 {
		t.Fatal("reads produced changes")
	}
}

func TestStateDBJournalRevert(t *testing.T) {
	m := mapReader{}
	base := NewStateDB(m)
	base.AddBalance(alice, u(50))
	base.SetStorage(ctr, []byte("a"), []byte("1"))
	m.apply(base.Changes())

	s := NewStateDB(m)
	s.SubBalance(alice, u(10))
	s.SetStorage(ctr, []byte("a"), []byte("2"))
	outer := s.Snapshot()
	s.AddBalance(bob, u(5))
	s.SetStorage(ctr, []byte("b"), []byte("x"))
	s.DeleteStorage(ctr, []byte("a"))
	s.SetCode(ctr, []byte("code"))
	s.SetNonce(alice, 3)
	inner := s.Snapshot()
	s.SetAdmin(ctr, bob)
	s.AddBalance(alice, u(1000))
	s.RevertToSnapshot(inner)
	if s.GetAdmin(ctr) != (types.Address{}) || !s.GetBalance(alice).Eq(u(40)) {
		t.Fatal("inner revert")
	}
	if _, ok := s.GetStorage(ctr, []byte("a")); ok {
		t.Fatal("delete undone by inner revert")
	}
	s.RevertToSnapshot(outer)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !s.GetBalance(bob).IsZero() || s.Exists(bob) {
		t.Fatal("bob's credit not reverted")
	}
	if v, ok := s.GetStorage(ctr, []byte("a")); !ok || string(v) != "2" {
		t.Fatalf("a = %q %v", v, ok)
	}
	if _, ok := s.GetStorage(ctr, []byte("b")); ok {
		t.Fatal("b not reverted")
	}
	if s.GetCodeHash(ctr) != (types.Hash{}) || s.GetCode(crypto.Keccak256Hash([]byte("code"))) != nil {
		t.Fatal("code not reverted")
	}
	if s.GetNonce(alice) != 0 {
		t.Fatal("nonce not reverted")
	}
	want := []Change{
		{Key: AccountKey(alice), Value: EncodeAccount(&Account{Balance: u(40)})},
		{Key: StorageKey(ctr, []byte("a")), Value: []byte("2")},
	}
	assertChanges(t, s.Changes(), want)

	// Reverting everything leaves no changes at all.
	s.RevertToSnapshot(0)
	assertChanges(t, s.Changes(), nil)
}

func TestStateDBChangesMinimal(t *testing.T) {
	m := mapReader{}
	base := NewStateDB(m)
	base.AddBalance(alice, u(5))
	base.SetStorage(ctr, []byte("k"), []byte("v"))
	m.apply(base.Changes())

	s := NewStateDB(m)
	// Writes that restore the original value are not changes.
	s.AddBalance(alice, u(3))
	s.SubBalance(alice, u(3))
	s.SetStorage(ctr, []byte("k"), []byte("w"))
	s.SetStorage(ctr, []byte("k"), []byte("v"))
	// Touching an absent account with zero leaves it absent.
	s.AddBalance(bob, u(0))
	s.SetNonce(bob, 0)
	// Deleting an absent key is not a change.
	s.DeleteStorage(ctr, []byte("nope"))
	assertChanges(t, s.Changes(), nil)

	// Emptying an account deletes it.
	s.SubBalance(alice, u(5))
	s.DeleteStorage(ctr, []byte("k"))
	assertChanges(t, s.Changes(), []Change{
		{Key: AccountKey(alice)},
		{Key: StorageKey(ctr, []byte("k"))},
	})
}

func TestStateDBSharedCode(t *testing.T) {
	m := mapReader{}
	s := NewStateDB(m)
	s.SetCode(ctr, []byte("same"))
	m.apply(s.Changes())
	s2 := NewStateDB(m)
	s2.SetCode(bob, []byte("same"))
	cs := s2.Changes()
	if len(cs) != 1 || !bytes.Equal(cs[0].Key, AccountKey(bob)) {
		t.Fatalf("known code rewritten: %v", cs)
	}
	s2.SetCode(bob, nil)
	if s2.GetCodeHash(bob) != (types.Hash{}) {
		t.Fatal("empty code must clear the code hash")
	}
}

func TestStateDBErrors(t *testing.T) {
	s := NewStateDB(errReader{})
	if !s.GetBalance(alice).IsZero() || s.Err() == nil {
		t.Fatal("read error not recorded")
	}

	s = NewStateDB(mapReader{})
	s.SetStorage(ctr, make([]byte, types.MaxStorageKeySize), make([]byte, types.MaxStorageValueSize))
	if err := s.Err(); err != nil {
		t.Fatalf("limits are inclusive: %v", err)
	}
	s.SetStorage(ctr, make([]byte, types.MaxStorageKeySize+1), nil)
	if !errors.Is(s.Err(), ErrStorageLimit) {
		t.Fatalf("oversized key: %v", s.Err())
	}
	s = NewStateDB(mapReader{})
	s.SetStorage(ctr, []byte("k"), make([]byte, types.MaxStorageValueSize+1))
	if !errors.Is(s.Err(), ErrStorageLimit) {
		t.Fatalf("oversized value: %v", s.Err())
	}
	s = NewStateDB(mapReader{})
	s.SubBalance(alice, u(1))
	if s.Err() == nil {
		t.Fatal("underflow not recorded")
	}
	s = NewStateDB(mapReader{})
	s.RevertToSnapshot(3)
	if s.Err() == nil {
		t.Fatal("bad snapshot id not recorded")
	}
	s = NewStateDB(mapReader{string(AccountKey(alice)): {0xc0}})
	s.GetNonce(alice)
	if s.Err() == nil {
		t.Fatal("corrupt account not reported")
	}
}

func TestAccountEncoding(t *testing.T) {
	a := &Account{Nonce: 1, Balance: u(2), CodeHash: types.Hash{3}, Admin: types.Address{4}}
	got, err := DecodeAccount(EncodeAccount(a))
	if err != nil || got.Nonce != 1 || !got.Balance.Eq(u(2)) || got.CodeHash != a.CodeHash || got.Admin != a.Admin {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := DecodeAccount(append(EncodeAccount(a), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func assertChanges(t *testing.T, got, want []Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d changes %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) ||
			(got[i].Value == nil) != (want[i].Value == nil) {
			t.Fatalf("change %d: got %x=%x, want %x=%x", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
}

// TestStateDBFinalise checks that Finalise keeps every change, makes it permanent (a
// snapshot taken before a finalised change is refused) and leaves later snapshots working.
func TestStateDBFinalise(t *testing.T) {
	s := NewStateDB(mapReader{})
	before := s.Snapshot()
	s.AddBalance(alice, u(7))
	s.SetStorage(ctr, []byte("k"), []byte("v"))
	mid := s.Snapshot()
	s.SetNonce(alice, 1)
	s.Finalise()
	want := []Change{
		{Key: AccountKey(alice), Value: EncodeAccount(&Account{Nonce: 1, Balance: u(7)})},
		{Key: StorageKey(ctr, []byte("k")), Value: []byte("v")},
	}
	assertChanges(t, s.Changes(), want)

	// A snapshot of the next transaction undoes only that transaction.
	next := s.Snapshot()
	if next <= mid {
		t.Fatalf("snapshot ids went back: %d after %d", next, mid)
	}
	s.AddBalance(bob, u(1))
	s.SetStorage(ctr, []byte("k"), []byte("w"))
	s.RevertToSnapshot(next)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	assertChanges(t, s.Changes(), want)

	// Ids taken before the finalised changes are refused, whatever the journal's length.
	s.SetNonce(alice, 2)
	s.SetNonce(alice, 3)
	s.SetNonce(alice, 4) // the journal is longer than mid again
	for _, id := range []int{before, mid} {
		s := *s
		s.RevertToSnapshot(id)
		if s.Err() == nil {
			t.Fatalf("revert to snapshot %d from before Finalise accepted", id)
		}
	}
}

// TestStateDBReset checks that a reset StateDB is a fresh overlay over its new Reader:
// nothing of the old overlay (cached reads, writes, new code, journal, error) survives,
// and what it returned before is not changed by its reuse.
func TestStateDBReset(t *testing.T) {
	m := mapReader{}
	s := NewStateDB(m)
	s.AddBalance(alice, u(100))
	s.SetCode(ctr, []byte("wasm"))
	s.SetStorage(ctr, []byte("k"), []byte("v"))
	s.SetNonce(alice, 1)
	old := s.Changes()
	m.apply(old)
	oldCopy := make([]Change, len(old))
	for i, c := range old {
		oldCopy[i] = Change{Key: bytes.Clone(c.Key), Value: bytes.Clone(c.Value)}
	}
	_ = s.GetBalance(bob)
	s.GetStorage(alice, []byte("missing")) // the storage limit check sets no error here
	s.Reset(errReader{})
	if s.GetBalance(alice).Sign() != 0 || s.Err() == nil {
		t.Fatal("a reset StateDB answered from its old overlay instead of its new Reader")
	}

	s.Reset(m)
	if err := s.Err(); err != nil {
		t.Fatalf("Reset kept the error: %v", err)
	}
	if len(s.Changes()) != 0 || s.Snapshot() != 0 {
		t.Fatal("Reset kept writes or journal entries")
	}
	if got := s.GetBalance(alice); !got.Eq(u(100)) || s.GetNonce(alice) != 1 {
		t.Fatalf("after Reset: balance %v nonce %d, want the Reader's 100 and 1", got, s.GetNonce(alice))
	}
	if v, ok := s.GetStorage(ctr, []byte("k")); !ok || string(v) != "v" {
		t.Fatalf("after Reset: storage %q %v", v, ok)
	}
	s.Reset(m)
	s.SubBalance(alice, u(40))
	s.SetStorage(ctr, []byte("k"), []byte("w"))
	assertChanges(t, old, oldCopy)
	got := s.AppendChanges(nil)
	if len(got) != 2 {
		t.Fatalf("AppendChanges: %d changes, want 2", len(got))
	}
	want := s.Changes()
	for _, c := range got {
		found := false
		for _, w := range want {
			found = found || (bytes.Equal(c.Key, w.Key) && bytes.Equal(c.Value, w.Value))
		}
		if !found {
			t.Fatalf("AppendChanges gave %x=%x, not in Changes", c.Key, c.Value)
		}
	}
}
