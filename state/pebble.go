//go:build !js

package state

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// PebbleOptions returns the Pebble options wnode uses for its one database per node:
// a block cache of up to 384 MiB (filled only as blocks are read: the tree's leaves and
// bottom nodes, which the node cache leaves to Pebble, and the index and filter blocks
// every point read needs; at 10^6 keys it cut the CPU of a 10k-write commit by 40 %
// against 128 MiB, docs/rationale/state.md), 16 MiB
// memtables (a block of 10k writes, a few MB, fits in one; Pebble doubles a memtable's
// size at each rotation up to this bound and keeps the full one while it flushes, so
// with 64 MiB a busy node held 100+ MB of memtables, docs/rationale/localnet.md), 10-bit Bloom filters on every level (tree
// nodes and blocks are read by exact key: a filter skips the sstables that cannot hold it,
// as go-ethereum's Pebble settings do), compaction of L0 into the base level once 8
// sublevels (not 4) have piled up (see below), the newest format, and Pebble's informational
// logging routed to slog at debug level. fs nil means the OS file system. The caller must
// Unref opts.Cache after opening the database.
func PebbleOptions(fs vfs.FS) *pebble.Options {
	o := &pebble.Options{
		Cache:              pebble.NewCache(384 << 20),
		MemTableSize:       16 << 20,
		FormatMajorVersion: pebble.FormatNewest,
		// A committed block of state is one large batch that Pebble flushes as an L0
		// sstable of its own, spanning the whole key space (value records are keyed by
		// key hash): each L0 compaction rewrites the overlapping base level whatever its
		// input size, so compacting twice as many blocks at once cut the bytes compacted
		// per write up to 30 % and the commit's CPU 2–9 % (10k-write blocks on 10^6 keys,
		// docs/rationale/state.md), at the price of up to ~4 more sstables (Bloom filters)
		// for a point read to probe.
		L0CompactionThreshold: 8,
		L0StopWritesThreshold: 24,
		Logger:                slogLogger{},
		FS:                    fs,
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}

// OpenPebble opens (creating if needed) the Pebble database in dir with PebbleOptions.
// The node opens <datadir>/db once and shares it between the chain's block store and the
// state. The caller closes it.
func OpenPebble(dir string) (*pebble.DB, error) {
	o := PebbleOptions(nil)
	defer o.Cache.Unref()
	db, err := pebble.Open(dir, o)
	if err != nil {
		return nil, fmt.Errorf("open pebble %s: %w", dir, err)
	}
	return db, nil
}

// OpenMemPebble opens an empty in-memory Pebble database, for tests and tools.
func OpenMemPebble() (*pebble.DB, error) {
	o := PebbleOptions(vfs.NewMem())
	o.Cache.Unref()
	o.Cache = pebble.NewCache(8 << 20)
	o.MemTableSize = 4 << 20
	defer o.Cache.Unref()
	db, err := pebble.Open("", o)
	if err != nil {
		return nil, fmt.Errorf("open in-memory pebble: %w", err)
	}
	return db, nil
}

// slogLogger sends Pebble's log lines to slog: information at debug level (Pebble is
// chatty), errors at error level.
type slogLogger struct{}

func (slogLogger) Infof(format string, args ...any) {
	slog.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (slogLogger) Errorf(format string, args ...any) {
	slog.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (slogLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	slog.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}
