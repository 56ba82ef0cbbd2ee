package statetest

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"pgregory.net/rapid"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// World is the committed state a StateDB under test starts from: what its reader holds
// before the VM changes anything. The zero World is the empty state.
type World struct {
	Balances map[types.Address]*uint256.Int
	Code     map[types.Address][]byte            // contract code (raw Wasm or any bytes)
	Storage  map[types.Address]map[string][]byte // contract → key → value
}

// NewDB builds a vm.StateDB over a committed World. RunStateDB calls it once per case,
// with a fresh World; the StateDB must hold exactly w (nothing else is read).
type NewDB func(t *testing.T, w *World) vm.StateDB

// RunStateDB is the conformance suite of vm.StateDB: every implementation the VM runs
// on must pass it. It checks what the VM relies on, through the interface only: reads of
// the committed world and of absent entries, balance and storage writes read back, an
// empty storage value being present, and Snapshot/RevertToSnapshot undoing exactly the
// changes made since the snapshot, nested, then a random sequence of all of these
// (pgregory.net/rapid) against a model. Storage keys and values stay within
// types.MaxStorageKeySize and MaxStorageValueSize, which the VM enforces before any call.
// Run it from a test of the implementation's package:
//
//	func TestStateDBConformance(t *testing.T) {
//		statetest.RunStateDB(t, func(t *testing.T, w *statetest.World) vm.StateDB {
//			return newMyStateDB(t, w)
//		})
//	}
func RunStateDB(t *testing.T, newDB NewDB) {
	t.Run("absent", func(t *testing.T) { conformAbsent(t, newDB) })
	t.Run("world", func(t *testing.T) { conformWorld(t, newDB) })
	t.Run("balances", func(t *testing.T) { conformBalances(t, newDB) })
	t.Run("storage", func(t *testing.T) { conformStorage(t, newDB) })
	t.Run("snapshots", func(t *testing.T) { conformSnapshots(t, newDB) })
	t.Run("random", func(t *testing.T) { conformRandom(t, newDB) })
}

// NewStateDB returns a state.StateDB over a Store whose genesis (height 0) is w: the
// committed state a block executes on. It is the state package's NewDB for RunStateDB,
// and a committed world for tests that need one (proofs, light clients).
func NewStateDB(t testing.TB, w *World) *state.StateDB {
	t.Helper()
	st, _ := NewStore(t, state.Options{})
	Genesis(t, st, WorldChanges(t, w))
	view, err := st.Reader(0)
	if err != nil {
		t.Fatal(err)
	}
	return state.NewStateDB(view)
}

// WorldChanges returns the state changes that write w into an empty state.
func WorldChanges(t testing.TB, w *World) []state.Change {
	t.Helper()
	sdb := state.NewStateDB(state.Empty)
	for a, b := range w.Balances {
		sdb.AddBalance(a, b)
	}
	for a, code := range w.Code {
		sdb.SetCode(a, code)
	}
	for a, kv := range w.Storage {
		for k, v := range kv {
			sdb.SetStorage(a, []byte(k), v)
		}
	}
	if err := sdb.Err(); err != nil {
		t.Fatal(err)
	}
	return sdb.Changes()
}

var (
	alice    = types.Address{0xa1}
	bob      = types.Address{0xb0}
	contract = types.Address{0xc0}
	other    = types.Address{0xc1}
	nobody   = types.Address{0xee}
)

func u(x uint64) *uint256.Int { return uint256.NewInt(x) }

// sampleWorld has funded accounts, two contracts with code and storage (one key equal
// in both, one empty value).
func sampleWorld() *World {
	return &World{
		Balances: map[types.Address]*uint256.Int{alice: u(1_000), bob: u(5), contract: u(77)},
		Code:     map[types.Address][]byte{contract: []byte("\x00asm code of c0"), other: []byte("\x00asm code of c1")},
		Storage: map[types.Address]map[string][]byte{
			contract: {"k": []byte("v"), "shared": []byte("c0"), "empty": {}},
			other:    {"shared": []byte("c1")},
		},
	}
}

func wantBalance(t *testing.T, db vm.StateDB, a types.Address, want uint64) {
	t.Helper()
	if got := db.GetBalance(a); got == nil || !got.Eq(u(want)) {
		t.Fatalf("balance of %s = %v, want %d", a, got, want)
	}
}

func wantStorage(t *testing.T, db vm.StateDB, c types.Address, key string, want []byte, wantOK bool) {
	t.Helper()
	got, ok := db.GetStorage(c, []byte(key))
	if ok != wantOK || !bytes.Equal(got, want) {
		t.Fatalf("storage %s[%q] = %q, %v; want %q, %v", c, key, got, ok, want, wantOK)
	}
}

func conformAbsent(t *testing.T, newDB NewDB) {
	for name, w := range map[string]*World{"empty world": {}, "sample world": sampleWorld()} {
		db := newDB(t, w)
		wantBalance(t, db, nobody, 0)
		if h := db.GetCodeHash(nobody); h != (types.Hash{}) {
			t.Errorf("%s: code hash of an absent account %s, want zero", name, h)
		}
		if code := db.GetCode(types.Hash{0x42}); len(code) != 0 {
			t.Errorf("%s: GetCode of an unknown hash returned %d bytes", name, len(code))
		}
		wantStorage(t, db, contract, "absent", nil, false)
		wantStorage(t, db, nobody, "k", nil, false)
	}
}

func conformWorld(t *testing.T, newDB NewDB) {
	w := sampleWorld()
	db := newDB(t, w)
	for a, b := range w.Balances {
		wantBalance(t, db, a, b.Uint64())
	}
	for a, code := range w.Code {
		h := db.GetCodeHash(a)
		if h != types.Hash(crypto.Keccak256Hash(code)) {
			t.Fatalf("code hash of %s = %s, want keccak256 of its code", a, h)
		}
		if got := db.GetCode(h); !bytes.Equal(got, code) {
			t.Fatalf("GetCode(%s) = %q, want %q", h, got, code)
		}
	}
	if h := db.GetCodeHash(alice); h != (types.Hash{}) {
		t.Fatalf("code hash of a plain account %s, want zero", h)
	}
	for c, kv := range w.Storage {
		for k, v := range kv {
			wantStorage(t, db, c, k, v, true)
		}
	}
}

func conformBalances(t *testing.T, newDB NewDB) {
	db := newDB(t, sampleWorld())
	db.AddBalance(alice, u(24))
	wantBalance(t, db, alice, 1_024)
	db.SubBalance(alice, u(1_024))
	wantBalance(t, db, alice, 0)
	db.AddBalance(nobody, u(3)) // creates the account
	wantBalance(t, db, nobody, 3)
	db.AddBalance(bob, u(0))
	db.SubBalance(bob, u(0))
	wantBalance(t, db, bob, 5)
	db.SubBalance(bob, u(5))
	db.AddBalance(alice, u(5)) // a transfer
	wantBalance(t, db, bob, 0)
	wantBalance(t, db, alice, 5)
	big := new(uint256.Int).Lsh(u(1), 200)
	db.AddBalance(nobody, big)
	if got, want := db.GetBalance(nobody), new(uint256.Int).Add(big, u(3)); !got.Eq(want) {
		t.Fatalf("balance %s, want %s", got, want)
	}
}

func conformStorage(t *testing.T, newDB NewDB) {
	db := newDB(t, sampleWorld())
	db.SetStorage(contract, []byte("new"), []byte("1"))
	wantStorage(t, db, contract, "new", []byte("1"), true)
	db.SetStorage(contract, []byte("new"), []byte("22")) // overwrite
	wantStorage(t, db, contract, "new", []byte("22"), true)
	db.SetStorage(contract, []byte("k"), []byte("v2")) // overwrite a committed key
	wantStorage(t, db, contract, "k", []byte("v2"), true)
	db.DeleteStorage(contract, []byte("shared")) // delete a committed key
	wantStorage(t, db, contract, "shared", nil, false)
	wantStorage(t, db, other, "shared", []byte("c1"), true) // another contract's key stays
	db.DeleteStorage(contract, []byte("never"))             // deleting an absent key is allowed
	wantStorage(t, db, contract, "never", nil, false)
	db.SetStorage(contract, []byte("e"), []byte{}) // an empty value is present
	wantStorage(t, db, contract, "e", []byte{}, true)
	db.DeleteStorage(contract, []byte("empty"))
	wantStorage(t, db, contract, "empty", nil, false)
	db.SetStorage(contract, []byte("shared"), []byte("back")) // re-create a deleted key
	wantStorage(t, db, contract, "shared", []byte("back"), true)
	// Keys are bytes, not strings: a key with a zero byte and the longest key.
	k0 := []byte{0, 'k', 0}
	db.SetStorage(nobody, k0, []byte{0})
	wantStorage(t, db, nobody, string(k0), []byte{0}, true)
	long := bytes.Repeat([]byte{0xfe}, types.MaxStorageKeySize)
	val := bytes.Repeat([]byte{7}, types.MaxStorageValueSize)
	db.SetStorage(contract, long, val)
	wantStorage(t, db, contract, string(long), val, true)
}

func conformSnapshots(t *testing.T, newDB NewDB) {
	db := newDB(t, sampleWorld())
	s0 := db.Snapshot()
	db.AddBalance(alice, u(1))
	db.SetStorage(contract, []byte("k"), []byte("x"))
	s1 := db.Snapshot()
	db.SubBalance(bob, u(5))
	db.AddBalance(nobody, u(5))
	db.DeleteStorage(contract, []byte("k"))
	db.SetStorage(contract, []byte("fresh"), []byte("f"))
	s2 := db.Snapshot()
	db.SetStorage(contract, []byte("fresh"), []byte("g"))
	db.RevertToSnapshot(s2) // undo one change
	wantStorage(t, db, contract, "fresh", []byte("f"), true)
	db.RevertToSnapshot(s1) // undo the inner frame: the outer's changes stay
	wantBalance(t, db, bob, 5)
	wantBalance(t, db, nobody, 0)
	wantBalance(t, db, alice, 1_001)
	wantStorage(t, db, contract, "k", []byte("x"), true)
	wantStorage(t, db, contract, "fresh", nil, false)
	// A new frame after a revert, then a revert of everything.
	s1b := db.Snapshot()
	db.SetStorage(other, []byte("shared"), []byte("changed"))
	db.RevertToSnapshot(s1b)
	wantStorage(t, db, other, "shared", []byte("c1"), true)
	db.SetStorage(contract, []byte("empty"), []byte("not any more"))
	db.RevertToSnapshot(s0)
	wantBalance(t, db, alice, 1_000)
	wantStorage(t, db, contract, "k", []byte("v"), true)
	wantStorage(t, db, contract, "empty", []byte{}, true)
	// A snapshot with nothing after it reverts to the same state.
	s := db.Snapshot()
	db.RevertToSnapshot(s)
	wantBalance(t, db, alice, 1_000)
	// Changes made after a full revert are kept.
	db.AddBalance(bob, u(1))
	wantBalance(t, db, bob, 6)
}

// model is the reference the random case checks against.
type model struct {
	bal     map[types.Address]uint64
	storage map[types.Address]map[string][]byte
}

func newModel(w *World) *model {
	m := &model{bal: map[types.Address]uint64{}, storage: map[types.Address]map[string][]byte{}}
	for a, b := range w.Balances {
		m.bal[a] = b.Uint64()
	}
	for c, kv := range w.Storage {
		m.storage[c] = map[string][]byte{}
		for k, v := range kv {
			m.storage[c][k] = v
		}
	}
	return m
}

func (m *model) copy() *model {
	return newModel(&World{Balances: m.balances(), Storage: m.storage})
}

func (m *model) balances() map[types.Address]*uint256.Int {
	out := map[types.Address]*uint256.Int{}
	for a, b := range m.bal {
		out[a] = u(b)
	}
	return out
}

func conformRandom(t *testing.T, newDB NewDB) {
	addrs := []types.Address{alice, bob, contract, other, nobody}
	keys := []string{"k", "shared", "empty", "a", "b"}
	rapid.Check(t, func(rt *rapid.T) {
		w := sampleWorld()
		db := newDB(t, w)
		m := newModel(w)
		type snap struct {
			id int
			m  *model
		}
		var snaps []snap
		check := func(step int) {
			for _, a := range addrs {
				if got := db.GetBalance(a); !got.Eq(u(m.bal[a])) {
					rt.Fatalf("step %d: balance of %s = %s, model %d", step, a, got, m.bal[a])
				}
				for _, k := range keys {
					want, wantOK := m.storage[a][k]
					got, ok := db.GetStorage(a, []byte(k))
					if ok != wantOK || !bytes.Equal(got, want) {
						rt.Fatalf("step %d: storage %s[%q] = %q, %v; model %q, %v", step, a, k, got, ok, want, wantOK)
					}
				}
			}
		}
		steps := rapid.IntRange(1, 80).Draw(rt, "steps")
		for i := range steps {
			a := rapid.SampledFrom(addrs).Draw(rt, "addr")
			k := rapid.SampledFrom(keys).Draw(rt, "key")
			switch op := rapid.IntRange(0, 6).Draw(rt, "op"); op {
			case 0:
				v := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(rt, "value")
				db.SetStorage(a, []byte(k), v)
				if m.storage[a] == nil {
					m.storage[a] = map[string][]byte{}
				}
				m.storage[a][k] = append([]byte{}, v...)
			case 1:
				db.DeleteStorage(a, []byte(k))
				delete(m.storage[a], k)
			case 2:
				x := rapid.Uint64Range(0, 100).Draw(rt, "add")
				db.AddBalance(a, u(x))
				m.bal[a] += x
			case 3: // the VM never subtracts more than the balance
				x := rapid.Uint64Range(0, m.bal[a]).Draw(rt, "sub")
				db.SubBalance(a, u(x))
				m.bal[a] -= x
			case 4:
				snaps = append(snaps, snap{db.Snapshot(), m.copy()})
			case 5, 6: // revert to a live snapshot (the newest more often, like call frames)
				if len(snaps) == 0 {
					continue
				}
				j := len(snaps) - 1
				if op == 6 {
					j = rapid.IntRange(0, len(snaps)-1).Draw(rt, "snap")
				}
				db.RevertToSnapshot(snaps[j].id)
				m = snaps[j].m
				snaps = snaps[:j]
			}
			check(i)
		}
		if len(snaps) > 0 {
			db.RevertToSnapshot(snaps[0].id)
			m = snaps[0].m
			check(steps)
		}
	})
}
