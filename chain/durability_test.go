package chain

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestCommitBlockNoSyncCrash commits blocks without a sync on a file system that keeps,
// in a "crash", what was synced and some of the rest: the chain reopens at a head between
// the last synced block and the last committed one, consistent (header, state root,
// receipts) and equal to what was committed; after WaitDurable a crash keeps every block.
func TestCommitBlockNoSyncCrash(t *testing.T) {
	machine := newVM(t, vm.EngineCompiler)
	g := testGenesis(nil)
	open := func(fs vfs.FS) *node {
		t.Helper()
		db, st := statetest.OpenFS(t, fs)
		c, err := New(db, st, machine, g, Options{})
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		return &node{db: db, st: st, c: c}
	}
	ctx := context.Background()
	fs := vfs.NewCrashableMem()
	n := open(fs)
	blk, last := produce(t, n, workload(t, n.c), nil) // block 1, synced
	blocks := []*types.Block{blk}
	for range 3 {
		b, err := n.c.BuildBlock(ctx, workload(t, n.c), n.c.Head().Time+1000, addrOf("v0"), last)
		if err != nil {
			t.Fatal(err)
		}
		last = commitFor(t, b)
		if err := n.c.CommitBlockNoSync(ctx, b, last); err != nil {
			t.Fatal(err)
		}
		if n.c.Head().Height != b.Height() || n.c.HeadHash() != b.Hash() {
			t.Fatalf("head %d after committing %d unsynced", n.c.Head().Height, b.Height())
		}
		if got, err := n.c.BlockByNumber(b.Height()); err != nil || got.Hash() != b.Hash() {
			t.Fatalf("unsynced block %d not readable: %v", b.Height(), err)
		}
		blocks = append(blocks, b)
	}
	rng := rand.New(rand.NewPCG(uint64(len(blocks)), 7))
	crashes := []*vfs.MemFS{
		fs.CrashClone(vfs.CrashCloneCfg{}),
		fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rng}),
	}
	if err := n.c.WaitDurable(); err != nil {
		t.Fatal(err)
	}
	durable := fs.CrashClone(vfs.CrashCloneCfg{})
	n.close()

	check := func(name string, fs vfs.FS, lo, hi uint64) {
		t.Helper()
		r := open(fs)
		defer r.close()
		head := r.c.Head()
		if head.Height < lo || head.Height > hi {
			t.Fatalf("%s: head %d, want %d..%d", name, head.Height, lo, hi)
		}
		for h := uint64(1); h <= head.Height; h++ {
			b, err := r.c.BlockByNumber(h)
			if err != nil || b.Hash() != blocks[h-1].Hash() {
				t.Fatalf("%s: block %d differs from the one committed: %v", name, h, err)
			}
			rs, err := r.c.Receipts(h)
			if err != nil || types.ReceiptRoot(rs) != b.Header.ReceiptRoot {
				t.Fatalf("%s: receipts of block %d: %v", name, h, err)
			}
		}
		t.Logf("%s: reopened at %d", name, head.Height)
	}
	// No sync has necessarily run before the first clone (its background sync may have
	// finished, so block 4 may be there); each reopens at some head, consistent.
	check("crash before the sync", crashes[0], 1, 4)
	check("crash before the sync, some unsynced data kept", crashes[1], 1, 4)
	check("crash after WaitDurable", durable, 4, 4)
}
