//go:build !js

package state

import "github.com/cockroachdb/pebble/v2"

// CommitNoSync is Commit without waiting for the disk: u is the latest version, readable,
// when it returns, but a crash may lose it, with every commit after it; never a part of
// one, nor one without those before it (Pebble's log is written in order, one batch per
// commit). Sync makes it durable.
func (s *Store) CommitNoSync(u *Update, fn func(b *pebble.Batch) error) error {
	return s.commit(u, fn, pebble.NoSync)
}

// Sync returns once every earlier write to the database (CommitNoSync's included) is
// durable: it appends an empty record to Pebble's log with a sync, which syncs the log up
// to it (earlier logs were synced when Pebble closed them). One sync, about as costly as
// Commit's own.
func (s *Store) Sync() error {
	return s.db.LogData(nil, pebble.Sync)
}
