// Package statetest provides test helpers for code that uses package state: an in-memory
// Pebble database and a Store over it, both closed when the test ends, a committed
// world to execute on (NewStateDB), and RunStateDB, the conformance suite every
// implementation of vm.StateDB runs (state's StateDB, vm/vmtest's State, and any other:
// call it from a test of the implementation's package).
package statetest

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/wnode/wnode/state"
)

// OpenFS opens (or creates) the database "db" on fs with the node's Pebble options and a
// Store over it, for tests that crash a file system (vfs.NewCrashableMem) and reopen it.
// The caller closes the database: a crash test drops it without closing.
func OpenFS(t testing.TB, fs vfs.FS) (*pebble.DB, *state.Store) {
	t.Helper()
	o := state.PebbleOptions(fs)
	defer o.Cache.Unref()
	db, err := pebble.Open("db", o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.New(db, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db, st
}

// NewPebble returns an empty in-memory Pebble database closed at the end of the test.
func NewPebble(t testing.TB) *pebble.DB {
	t.Helper()
	db, err := state.OpenMemPebble()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// NewStore returns an empty Store over a fresh in-memory database, with opts.
func NewStore(t testing.TB, opts state.Options) (*state.Store, *pebble.DB) {
	t.Helper()
	db := NewPebble(t)
	s, err := state.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// Genesis commits changes as height 0 (genesis) of the empty store s.
func Genesis(t testing.TB, s *state.Store, changes []state.Change) {
	t.Helper()
	u, err := s.Prepare(0, changes)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(u, nil); err != nil {
		t.Fatal(err)
	}
}
