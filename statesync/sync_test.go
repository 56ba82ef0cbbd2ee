package statesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// source is a chain of certified blocks on real Pebble with its state store.
type source struct {
	tc    *testutil.TestChain
	db    *pebble.DB
	st    *state.Store
	chain *chain.Chain
}

func openChain(t *testing.T, tc *testutil.TestChain, opts state.Options) (*pebble.DB, *state.Store, *chain.Chain) {
	t.Helper()
	db, err := state.OpenMemPebble()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := state.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.New(context.Background(), vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	c, err := chain.New(db, st, m, tc.Gen, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db, st, c
}

// newSource builds heights 1..blocks, each with transfers to new accounts.
func newSource(t *testing.T, blocks int) *source {
	t.Helper()
	tc := testutil.NewTestChain(t, 1, 40)
	s := &source{tc: tc}
	s.db, s.st, s.chain = openChain(t, tc, state.Options{SnapshotChunkSize: 512})
	ctx := context.Background()
	var last *types.Commit
	for h := 1; h <= blocks; h++ {
		var txs []*types.Tx
		for i, k := range tc.Accounts[:5] {
			txs = append(txs, testutil.SignTx(t, k, &types.Tx{Nonce: uint64(h - 1), GasLimit: 100_000, Kind: types.TxTransfer,
				To: types.Address{byte(h), byte(i), 0xee}, Value: uint256.NewInt(uint64(1000 + h))}))
		}
		head := s.chain.Head()
		blk, err := s.chain.BuildBlock(ctx, txs, head.Time+1000, testutil.Addr(tc.Vals[0]), last)
		if err != nil {
			t.Fatal(err)
		}
		last = testutil.Certify(t, blk.Height(), 0, blk.Hash(), tc.Vals...)
		if err := s.chain.CommitBlock(ctx, blk, last); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// blockHandler serves the source's blocks on /wnode/sync/1 (the rest of p2p.Handler
// ignores gossip).
type blockHandler struct{ c *chain.Chain }

func (blockHandler) CheckTx(peer.ID, []byte) (any, error) { return nil, p2p.ErrIgnore }
func (blockHandler) DeliverTx(any, peer.ID)               {}
func (blockHandler) CheckConsensus([]byte) (any, error)   { return nil, p2p.ErrIgnore }
func (blockHandler) DeliverConsensus(any, peer.ID)        {}
func (h blockHandler) Status() p2p.Status                 { return p2p.Status{ChainID: testutil.ChainID} }
func (h blockHandler) SyncBlocks(from uint64, max int) ([]p2p.SyncBlock, error) {
	var out []p2p.SyncBlock
	for x := from; x <= h.c.Head().Height && len(out) < max; x++ {
		b, err := h.c.BlockByNumber(x)
		if err != nil {
			return out, err
		}
		c, err := h.c.CommitAt(x)
		if err != nil {
			return out, err
		}
		out = append(out, p2p.SyncBlock{Block: b.Encode(), Commit: c.Encode()})
	}
	return out, nil
}

var loop = []string{"/ip4/127.0.0.1/tcp/0"}

func serve(t *testing.T, c *chain.Chain, src p2p.SnapshotSource) *p2p.Host {
	t.Helper()
	h, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1}, blockHandler{c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if l, ok := src.(*lying); ok {
		l.blocks = c
	}
	h.SetSnapshotSource(src)
	return h
}

// lying wraps honest snapshots and changes what it serves.
type lying struct {
	honest *Snapshots
	blocks Blocks
	list   func([]p2p.SnapshotInfo) []p2p.SnapshotInfo
	mani   func(height uint64, b []byte) []byte
	chunk  func(height, index uint64, b []byte) []byte
}

func (l *lying) Snapshots() []p2p.SnapshotInfo {
	if l.list != nil {
		return l.list(l.honest.Snapshots())
	}
	return l.honest.Snapshots()
}

func (l *lying) Manifest(height uint64) ([]byte, error) {
	b, err := l.honest.Manifest(height)
	if l.mani != nil {
		b = l.mani(height, b)
	}
	return b, err
}

func (l *lying) LightBlock(height uint64) (*p2p.LightBlock, error) {
	return (&Server{Blocks: l.blocks}).LightBlock(height)
}

func (l *lying) Chunk(height, index uint64) ([]byte, error) {
	b, err := l.honest.Chunk(height, index)
	if l.chunk != nil {
		b = l.chunk(height, index, b)
	}
	return b, err
}

func takeAll(t *testing.T, s *Snapshots, heights ...uint64) map[uint64]*state.Manifest {
	t.Helper()
	out := map[uint64]*state.Manifest{}
	for _, h := range heights {
		m, err := s.Take(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		out[h] = m
	}
	return out
}

// TestSyncWithLyingPeers: two honest peers offer the snapshot at 4; a third offers the
// same one but corrupts its chunks; a fourth offers a snapshot at 6 whose root is not
// the certified one; a fifth offers one at 5 with the certified root whose chunks (hashes
// consistent with its manifest) leave out a pair. The sync tries 6, then 5, then 4 and
// finishes from the honest peers; the three liars and only they are penalized; the
// restored chain opens at 4 and re-executes 5 and 6 to the source's roots.
func TestSyncWithLyingPeers(t *testing.T) {
	src := newSource(t, 6)
	snaps, err := OpenSnapshots(t.TempDir(), src.st, SnapshotOptions{Interval: 1, Keep: 8})
	if err != nil {
		t.Fatal(err)
	}
	ms := takeAll(t, snaps, 4, 5)
	if len(ms[4].ChunkHashes) < 6 {
		t.Fatalf("snapshot of %d chunks: too few to fetch in parallel", len(ms[4].ChunkHashes))
	}
	only := func(h uint64) func([]p2p.SnapshotInfo) []p2p.SnapshotInfo {
		return func(in []p2p.SnapshotInfo) []p2p.SnapshotInfo {
			return slices.DeleteFunc(in, func(x p2p.SnapshotInfo) bool { return x.Height != h })
		}
	}
	honest1 := serve(t, src.chain, &lying{honest: snaps, list: only(4)})
	honest2 := serve(t, src.chain, &lying{honest: snaps, list: only(4)})
	badChunk := serve(t, src.chain, &lying{honest: snaps, list: only(4), chunk: func(_, i uint64, b []byte) []byte {
		b = bytes.Clone(b)
		b[len(b)-1] ^= 1
		return b
	}})

	// A snapshot at 6 of another state: right format, wrong root.
	fake := *ms[5]
	fake.Height = 6
	fakeEnc := fake.Encode()
	badManifest := serve(t, src.chain, &lying{honest: snaps,
		list: func([]p2p.SnapshotInfo) []p2p.SnapshotInfo {
			return []p2p.SnapshotInfo{{Height: 6, Format: 1, Chunks: uint64(len(fake.ChunkHashes)), ManifestHash: crypto.Keccak256Hash(fakeEnc)}}
		},
		mani:  func(uint64, []byte) []byte { return fakeEnc },
		chunk: func(_, i uint64, _ []byte) []byte { b, _ := snaps.Chunk(5, i); return b },
	})

	// The snapshot at 5 with its first chunk's first pair dropped, hashes redone: only the
	// rebuilt root can catch it.
	c0, _ := snaps.Chunk(5, 0)
	pairs, err := state.DecodeChunk(c0)
	if err != nil {
		t.Fatal(err)
	}
	var short []byte
	for _, p := range pairs[1:] {
		short = state.AppendPair(short, p)
	}
	lie := *ms[5]
	lie.Pairs--
	lie.ChunkHashes = slices.Clone(lie.ChunkHashes)
	lie.ChunkHashes[0] = crypto.Keccak256Hash(short)
	lieEnc := lie.Encode()
	badRoot := serve(t, src.chain, &lying{honest: snaps,
		list: func([]p2p.SnapshotInfo) []p2p.SnapshotInfo {
			return []p2p.SnapshotInfo{{Height: 5, Format: 1, Chunks: uint64(len(lie.ChunkHashes)), ManifestHash: crypto.Keccak256Hash(lieEnc)}}
		},
		mani: func(uint64, []byte) []byte { return lieEnc },
		chunk: func(h, i uint64, b []byte) []byte {
			if i == 0 {
				return short
			}
			return b
		},
	})

	var boot []string
	servers := []*p2p.Host{honest1, honest2, badChunk, badManifest, badRoot}
	for _, h := range servers {
		boot = append(boot, h.Addrs()[0])
	}
	client, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1, Bootnodes: boot}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	testutil.WaitFor(t, 20*time.Second, "all servers connected", func() bool { return client.PeerCount() == len(servers) })

	tc := src.tc
	dstDB, dstSt, _ := func() (*pebble.DB, *state.Store, error) {
		db, err := state.OpenMemPebble()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st, err := state.New(db, state.Options{})
		return db, st, err
	}()
	vs, err := tc.Gen.ValidatorSet()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Sync(ctx, Config{ChainID: testutil.ChainID, Validators: vs, Discovery: 5 * time.Second, MinPeers: len(servers), Fetchers: 4, Logger: testutil.Logger("statesync")},
		client, dstSt, func(b *pebble.Batch, blk *types.Block, cm *types.Commit) error {
			return chain.WriteSyncBase(b, tc.Gen, blk, cm)
		})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := src.chain.HeaderByNumber(4)
	if res.Height != 4 || res.Root != want.StateRoot {
		t.Fatalf("synced to %d %s, want 4 %s", res.Height, res.Root, want.StateRoot)
	}
	liars := []peer.ID{badChunk.ID(), badManifest.ID(), badRoot.ID()}
	for _, p := range liars {
		if !slices.Contains(res.Penalized, p) || client.PeerPenalty(p) < 0.9*p2p.PenaltyBadData {
			t.Errorf("liar %s not penalized (penalized %v, penalty %v)", p, res.Penalized, client.PeerPenalty(p))
		}
	}
	for _, p := range []peer.ID{honest1.ID(), honest2.ID()} {
		if slices.Contains(res.Penalized, p) || client.PeerPenalty(p) >= p2p.PenaltyBadData {
			t.Errorf("honest %s penalized", p)
		}
	}
	// The host that takes over after the join (the node's own) starts with them.
	next, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1,
		Penalties: client.Penalties()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	for _, p := range liars {
		if next.PeerPenalty(p) < 0.9*p2p.PenaltyBadData {
			t.Errorf("liar %s: penalty %v on the next host", p, next.PeerPenalty(p))
		}
	}
	for _, p := range []peer.ID{honest1.ID(), honest2.ID()} {
		if next.PeerPenalty(p) >= p2p.PenaltyBadData {
			t.Errorf("honest %s: penalty %v on the next host", p, next.PeerPenalty(p))
		}
	}

	// The restored node opens its chain at 4 and goes on with the source's blocks.
	m, err := vm.New(context.Background(), vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	c, err := chain.New(dstDB, dstSt, m, tc.Gen, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Head().Height != 4 || c.Head().Hash() != want.Hash() {
		t.Fatalf("restored head %d", c.Head().Height)
	}
	if _, err := c.BlockByNumber(3); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("block below the snapshot: %v, want ErrNotFound", err)
	}
	for h := uint64(5); h <= 6; h++ {
		b, _ := src.chain.BlockByNumber(h)
		cm, _ := src.chain.CommitAt(h)
		if err := c.CommitBlock(context.Background(), b, cm); err != nil {
			t.Fatalf("block %d after the restore: %v", h, err)
		}
	}
	acct, err := c.Account(testutil.Addr(tc.Accounts[0]), 6)
	wantAcct, _ := src.chain.Account(testutil.Addr(tc.Accounts[0]), 6)
	if err != nil || acct.Nonce != wantAcct.Nonce || !acct.Balance.Eq(wantAcct.Balance) {
		t.Fatalf("account after sync and two blocks: %+v %v, source %+v", acct, err, wantAcct)
	}
}

// TestSyncTrustHash: a trust hash that is not the chain's stops the sync before any
// snapshot is fetched; the right one lets it through.
func TestSyncTrustHash(t *testing.T) {
	src := newSource(t, 3)
	snaps, err := OpenSnapshots(t.TempDir(), src.st, SnapshotOptions{Interval: 1})
	if err != nil {
		t.Fatal(err)
	}
	takeAll(t, snaps, 3)
	server := serve(t, src.chain, &Server{Kept: snaps, Blocks: src.chain})
	client, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1, Bootnodes: server.Addrs()[:1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	testutil.WaitFor(t, 10*time.Second, "connected", func() bool { return client.PeerCount() == 1 })
	vs, _ := src.tc.Gen.ValidatorSet()
	h2, _ := src.chain.HeaderByNumber(2)
	for _, tt := range []struct {
		height uint64
		hash   types.Hash
		ok     bool
	}{
		{2, types.Hash{1}, false},
		{4, h2.Hash(), false}, // no snapshot at or above 4
		{2, h2.Hash(), true},
	} {
		_, st, _ := func() (*pebble.DB, *state.Store, error) {
			db, _ := state.OpenMemPebble()
			t.Cleanup(func() { db.Close() })
			st, err := state.New(db, state.Options{})
			return db, st, err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := Sync(ctx, Config{ChainID: testutil.ChainID, Validators: vs, TrustHeight: tt.height, TrustHash: tt.hash, Discovery: 200 * time.Millisecond, MinPeers: 1}, client, st, nil)
		cancel()
		if (err == nil) != tt.ok || st.Initialized() != tt.ok {
			t.Fatalf("trust %d %s: err %v, initialized %v; want ok %v", tt.height, tt.hash, err, st.Initialized(), tt.ok)
		}
	}
}

// TestSnapshotsDirectory: snapshots survive a reopen, only Keep are kept, an interrupted
// one is dropped, Committed takes one at multiples of Interval in the background.
func TestSnapshotsDirectory(t *testing.T) {
	src := newSource(t, 4)
	dir := t.TempDir()
	s, err := OpenSnapshots(dir, src.st, SnapshotOptions{Interval: 2, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 4; h++ {
		s.Committed(context.Background(), h)
		s.Wait()
	}
	takeAll(t, s, 1)
	var heights []uint64
	for _, x := range s.Snapshots() {
		heights = append(heights, x.Height)
	}
	if fmt.Sprint(heights) != "[4 2]" {
		t.Fatalf("kept %v, want [4 2] (1 was older than the two kept)", heights)
	}
	if c, err := s.Chunk(4, 0); err != nil || len(c) == 0 {
		t.Fatalf("chunk: %v", err)
	}
	if c, err := s.Chunk(4, 1<<40); err != nil || c != nil {
		t.Fatalf("chunk beyond the snapshot: %d bytes %v", len(c), err)
	}
	if err := mkdirAll(dir, "9.tmp"); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSnapshots(dir, src.st, SnapshotOptions{Interval: 2, Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l := s2.Snapshots(); len(l) != 1 || l[0].Height != 4 || l[0].ManifestHash != s.Snapshots()[0].ManifestHash {
		t.Fatalf("after reopen with keep 1: %v", l)
	}
	if exists(dir, "9.tmp") || exists(dir, "2") {
		t.Fatal("an interrupted or extra snapshot was kept")
	}
}

// TestStateLimitsFitTheProtocol: every manifest and chunk the state package accepts
// fits one answer of the snapshot protocol.
func TestStateLimitsFitTheProtocol(t *testing.T) {
	if state.MaxSnapshotChunkSize > p2p.MaxSnapshotFrame || state.MaxSnapshotManifestSize > p2p.MaxSnapshotFrame {
		t.Fatal("a valid chunk or manifest does not fit p2p.MaxSnapshotFrame")
	}
}

// TestSyncWithLightClient: the snapshot's header is certified by a light client (from
// the genesis, following the validator set) fed with light blocks by the peers; a peer
// serving light blocks whose commit is not for their header is penalized.
func TestSyncWithLightClient(t *testing.T) {
	src := newSource(t, 4)
	snaps, err := OpenSnapshots(t.TempDir(), src.st, SnapshotOptions{Interval: 1})
	if err != nil {
		t.Fatal(err)
	}
	takeAll(t, snaps, 3)
	honest := serve(t, src.chain, &Server{Kept: snaps, Blocks: src.chain})
	liar := serve(t, src.chain, &badLight{Server{Blocks: src.chain}})
	client, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1,
		Bootnodes: []string{liar.Addrs()[0], honest.Addrs()[0]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	testutil.WaitFor(t, 10*time.Second, "connected", func() bool { return client.PeerCount() == 2 })
	root, err := light.GenesisState(src.tc.Gen)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := light.NewClient(root, &LightSource{Peers: client, ChainID: testutil.ChainID}, light.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, st, _ := func() (*pebble.DB, *state.Store, error) {
		db, _ := state.OpenMemPebble()
		t.Cleanup(func() { db.Close() })
		st, err := state.New(db, state.Options{})
		return db, st, err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Sync(ctx, Config{ChainID: testutil.ChainID, Headers: lc, Discovery: time.Second, MinPeers: 2}, client, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := src.chain.HeaderByNumber(3)
	if res.Height != 3 || res.Root != want.StateRoot {
		t.Fatalf("synced to %d %s", res.Height, res.Root)
	}
	// The first peer asked rotates: two more asks reach the liar if the sync did not.
	ls := &LightSource{Peers: client, ChainID: testutil.ChainID}
	for range 2 {
		if _, err := ls.Certificate(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	if client.PeerPenalty(liar.ID()) < 0.9*p2p.PenaltyBadData || client.PeerPenalty(honest.ID()) != 0 {
		t.Fatalf("penalties: liar %v, honest %v", client.PeerPenalty(liar.ID()), client.PeerPenalty(honest.ID()))
	}
}

// badLight serves light blocks whose commit is the next height's.
type badLight struct{ Server }

func (b *badLight) LightBlock(height uint64) (*p2p.LightBlock, error) {
	lb, err := b.Server.LightBlock(height)
	next, _ := b.Server.LightBlock(height + 1)
	if lb != nil && next != nil {
		lb.Commit = next.Commit
	}
	return lb, err
}

// slowChunks serves honest snapshots but holds chunks from index 5 on until released.
type slowChunks struct {
	Server
	hold chan struct{}
}

func (s *slowChunks) Chunk(height, index uint64) ([]byte, error) {
	if index >= 5 {
		<-s.hold
	}
	return s.Server.Chunk(height, index)
}

// TestSyncInterrupted: a sync stopped halfway (its context cancelled, as when the node is
// stopped) leaves the store without a version and without the pairs it wrote; a node
// opening that database finds it empty, and the next sync completes.
func TestSyncInterrupted(t *testing.T) {
	src := newSource(t, 3)
	snaps, err := OpenSnapshots(t.TempDir(), src.st, SnapshotOptions{Interval: 1})
	if err != nil {
		t.Fatal(err)
	}
	takeAll(t, snaps, 3)
	slow := &slowChunks{Server: Server{Kept: snaps, Blocks: src.chain}, hold: make(chan struct{})}
	server := serve(t, src.chain, slow)
	client, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loop, TargetPeers: -1, Bootnodes: server.Addrs()[:1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	testutil.WaitFor(t, 10*time.Second, "connected", func() bool { return client.PeerCount() == 1 })
	db, err := state.OpenPebble(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := state.New(db, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := src.tc.Gen.ValidatorSet()
	cfg := Config{ChainID: testutil.ChainID, Validators: vs, Discovery: time.Second, MinPeers: 1, Fetchers: 2}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := Sync(ctx, cfg, client, st, nil); errc <- err }()
	// The restore mark and pairs of the first chunks.
	testutil.WaitFor(t, 20*time.Second, "the first chunks written", func() bool { return countState(t, db) > 10 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: %v", err)
	}
	if st.Initialized() || countState(t, db) != 0 {
		t.Fatalf("after the interrupted sync: initialized %v, %d state keys", st.Initialized(), countState(t, db))
	}
	close(slow.hold)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Sync(ctx, cfg, client, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := src.chain.HeaderByNumber(3); res.Root != want.StateRoot || !st.Initialized() {
		t.Fatalf("second sync: root %s, want %s", res.Root, want.StateRoot)
	}
}

func countState(t *testing.T, db *pebble.DB) int {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{state.KeyPrefix}, UpperBound: []byte{state.KeyPrefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}
