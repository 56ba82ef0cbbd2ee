package app

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestCrashBeforeCommitIsDurable runs a single validator (dev mode) the way the node
// does: consensus over this App over a chain in Pebble, with the WAL and the guard in
// real files. It holds the disk's syncs while height 2 is decided and committed (the
// commit does not wait for the disk, so the validator is at height 3 with block 2 only
// in memory and in unsynced writes), then "crashes": Pebble keeps only what was synced
// and the WAL only what was synced. Restarted, the validator is back at height 2, replays
// its WAL (its own proposal, durable with the precommit's sync, and its precommit), and
// commits the same block again with the same state root; it never signs two different
// messages for one height, round and step.
func TestCrashBeforeCommitIsDurable(t *testing.T) {
	ctx := context.Background()
	tc := testutil.NewTestChain(t, 1, 1)
	dir := t.TempDir()
	fs := &gatedFS{FS: vfs.NewCrashableMem()}
	machine, err := vm.New(ctx, vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { machine.Close(ctx) })
	signed := map[[3]uint64]types.Hash{} // (height, round, type) -> sign bytes, over both lives

	n := startDevNode(t, fs, dir, tc, machine, signed)
	add := func(n *devNode, nonce uint64) {
		t.Helper()
		tx := testutil.SignTx(t, tc.Accounts[0], &types.Tx{Nonce: nonce, GasLimit: 100_000, Kind: types.TxTransfer,
			To: testutil.Addr(tc.Vals[0]), Value: uint256.NewInt(1)})
		if err := n.pool.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(n *devNode, nonce uint64) {
		t.Helper()
		add(n, nonce)
		if err := n.st.TxsAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	submit(n, 0)
	if h := n.chain.Head().Height; h != 1 {
		t.Fatalf("head %d after the first tx, want 1", h)
	}
	if err := n.app.WaitDurable(); err != nil {
		t.Fatal(err)
	}
	fs.hold() // block 2's background sync waits here
	add(n, 1)
	// Block 2 is decided and committed while the disk's syncs are held: a commit that
	// waited for the disk would never return (a deadline turns that hang into a failure).
	proposed := make(chan error, 1)
	go func() { proposed <- n.st.TxsAvailable(ctx) }()
	select {
	case err := <-proposed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("block 2 not committed while the disk's syncs are held: the commit waits for the disk")
	}
	if h := n.chain.Head().Height; h != 2 || n.st.Status().Height != 3 {
		t.Fatalf("head %d, consensus at %d; want 2 and 3", h, n.st.Status().Height)
	}
	hash2, root2 := n.chain.HeadHash(), n.chain.Head().StateRoot
	crashed := fs.CrashClone(vfs.CrashCloneCfg{}) // the machine stops: what was not synced is gone
	fs.release()
	n.close(t)

	r := startDevNode(t, &gatedFS{FS: crashed}, dir, tc, machine, signed)
	defer r.close(t)
	if h := r.chain.Head().Height; h != 2 {
		t.Fatalf("after the restart the head is %d, want 2 (block 2 decided again from the WAL)", h)
	}
	if r.restartedAt != 1 {
		t.Fatalf("the restarted chain opened at %d, want 1: the crash did not fall before block 2 was durable", r.restartedAt)
	}
	if r.chain.HeadHash() != hash2 || r.chain.Head().StateRoot != root2 {
		t.Fatalf("block 2 committed again as %s (state root %s), first as %s (%s)", r.chain.HeadHash(), r.chain.Head().StateRoot, hash2, root2)
	}
	submit(r, 2) // and it goes on
	if h := r.chain.Head().Height; h != 3 {
		t.Fatalf("head %d after a tx, want 3", h)
	}
}

// devNode is a single validator's consensus State over App, chain and Pebble on fs, with
// its WAL and guard in dir.
type devNode struct {
	db          *pebble.DB
	chain       *chain.Chain
	pool        *mempool.Pool
	app         *App
	st          *consensus.State
	wal         *syncedWAL
	guard       *consensus.FileGuardStore
	restartedAt uint64 // the chain's head when it was opened
}

func startDevNode(t *testing.T, fs vfs.FS, dir string, tc *testutil.TestChain, machine *vm.VM, signed map[[3]uint64]types.Hash) *devNode {
	t.Helper()
	db, st := statetest.OpenFS(t, fs)
	c, err := chain.New(db, st, machine, tc.Gen, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := &devNode{db: db, chain: c, restartedAt: c.Head().Height}
	n.pool = testutil.NewPool(tc.Gen, Accounts{Chain: c})
	n.app = NewApp(c, n.pool, testutil.Addr(tc.Vals[0]), AppOptions{})
	fw, err := consensus.OpenWAL(filepath.Join(dir, "wal"), consensus.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.wal = &syncedWAL{FileWAL: fw, path: filepath.Join(dir, "wal"), synced: fw.Size()}
	if n.guard, err = consensus.OpenFileGuardStore(filepath.Join(dir, "guard"), consensus.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *types.Commit
	if h := c.Head().Height; h > 0 {
		if last, err = c.CommitAt(h); err != nil {
			t.Fatal(err)
		}
	}
	cfg := consensus.DevConfig(tc.Gen.ChainID)
	cfg.MinBlockInterval = 0
	n.st, err = consensus.New(cfg, consensus.Deps{App: n.app, Signer: consensus.NewKeySigner(tc.Vals[0]), Guard: n.guard,
		WAL: n.wal, Broadcaster: &signCheck{t: t, chainID: tc.Gen.ChainID, signed: signed}, Clock: wallClock{}}, c.Head().Height, last)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.st.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

// close stops the node as a crash would leave it: the WAL loses what was not synced.
func (n *devNode) close(t *testing.T) {
	t.Helper()
	if err := n.app.WaitDurable(); err != nil { // no background sync may outlive the database
		t.Fatal(err)
	}
	n.db.Close()
	n.guard.Close()
	n.wal.Close()
	if err := os.Truncate(n.wal.path, n.wal.synced); err != nil {
		t.Fatal(err)
	}
}

// syncedWAL remembers how much of the WAL file was synced.
type syncedWAL struct {
	*consensus.FileWAL
	path   string
	synced int64
}

func (w *syncedWAL) Append(rec []byte, sync bool) error {
	if err := w.FileWAL.Append(rec, sync); err != nil {
		return err
	}
	if sync {
		w.synced = w.Size()
	}
	return nil
}

// AppendStartSync is FileWAL's, noting what its sync covers once it is over (consensus
// uses it for a precommit, syncing it while the guard saves the precommit).
func (w *syncedWAL) AppendStartSync(rec []byte) (func() error, error) {
	wait, err := w.FileWAL.AppendStartSync(rec)
	if err != nil {
		return nil, err
	}
	size := w.Size()
	return func() error {
		if err := wait(); err != nil {
			return err
		}
		w.synced = size
		return nil
	}, nil
}

// signCheck fails the test when the validator sends two different signed messages for
// the same height, round and step, across restarts.
type signCheck struct {
	t       *testing.T
	chainID uint64
	signed  map[[3]uint64]types.Hash
}

func (b *signCheck) Broadcast(m *consensus.Message) {
	var (
		k  [3]uint64
		sb types.Hash
	)
	switch {
	case m.Proposal != nil:
		k, sb = [3]uint64{m.Proposal.Height, uint64(m.Proposal.Round), uint64(types.ProposalType)}, m.Proposal.SignBytes(b.chainID)
	case m.Vote != nil:
		k, sb = [3]uint64{m.Vote.Height, uint64(m.Vote.Round), uint64(m.Vote.Type)}, m.Vote.SignBytes(b.chainID)
	default:
		return
	}
	if prev, ok := b.signed[k]; ok && prev != sb {
		b.t.Errorf("signed two different messages at height %d round %d type %d", k[0], k[1], k[2])
	}
	b.signed[k] = sb
}

type wallClock struct{}

func (wallClock) Now() time.Time             { return time.Now() }
func (wallClock) Schedule(consensus.Timeout) {} // no timer is needed: one validator decides at once

// gatedFS is a file system whose file syncs wait while the test holds them.
type gatedFS struct {
	vfs.FS
	mu   sync.Mutex
	gate chan struct{} // non-nil while held
}

func (g *gatedFS) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
}

func (g *gatedFS) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gate)
	g.gate = nil
}

func (g *gatedFS) wait() {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
}

// CrashClone is the inner file system's, for a crashable one.
func (g *gatedFS) CrashClone(cfg vfs.CrashCloneCfg) *vfs.MemFS {
	return g.FS.(*vfs.MemFS).CrashClone(cfg)
}

func (g *gatedFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &gatedFile{File: f, fs: g}, nil
}

func (g *gatedFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return g.wrap(g.FS.Create(name, c))
}

func (g *gatedFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return g.wrap(g.FS.OpenReadWrite(name, c, opts...))
}

func (g *gatedFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return g.wrap(g.FS.ReuseForWrite(oldname, newname, c))
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (f *gatedFile) Sync() error {
	f.fs.wait()
	return f.File.Sync()
}

func (f *gatedFile) SyncData() error {
	f.fs.wait()
	return f.File.SyncData()
}

func (f *gatedFile) SyncTo(length int64) (bool, error) {
	f.fs.wait()
	return f.File.SyncTo(length)
}
