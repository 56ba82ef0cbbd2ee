package p2p

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/types"
)

// memSnapshots serves fixed bytes; hold, when set, blocks every Chunk until closed.
type memSnapshots struct {
	list   []SnapshotInfo
	chunks map[uint64][]byte
	hold   chan struct{}
	mu     sync.Mutex
	served int
}

func (m *memSnapshots) Snapshots() []SnapshotInfo { return m.list }
func (m *memSnapshots) Manifest(height uint64) ([]byte, error) {
	if height != 7 {
		return nil, nil
	}
	return []byte("manifest-7"), nil
}

func (m *memSnapshots) LightBlock(height uint64) (*LightBlock, error) {
	if height != 7 {
		return nil, nil
	}
	return &LightBlock{Header: []byte("h7"), Commit: []byte("c7"), Validators: []LightValidator{{Address: types.Address{1}, PubKey: []byte{2}, Power: 3}}}, nil
}

func (m *memSnapshots) Chunk(height, index uint64) ([]byte, error) {
	if m.hold != nil {
		<-m.hold
	}
	m.mu.Lock()
	m.served++
	m.mu.Unlock()
	if height != 7 {
		return nil, nil
	}
	return m.chunks[index], nil
}

func snapshotPair(t *testing.T, limits SnapshotLimits, src SnapshotSource) (server, client *Host) {
	t.Helper()
	server, err := New(context.Background(), testutil.Key(t), Config{ChainID: testChain, ListenAddrs: tcpLoop, TargetPeers: -1, Snapshots: limits}, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	server.SetSnapshotSource(src)
	// The client is a client-only host (nil handler), as a node state-syncing is.
	client, err = New(context.Background(), testutil.Key(t), Config{ChainID: testChain, ListenAddrs: tcpLoop, TargetPeers: -1, Bootnodes: server.Addrs()[:1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	testutil.WaitFor(t, 10*time.Second, "client connected", func() bool { return client.PeerCount() == 1 })
	return server, client
}

func TestSnapshotProtocol(t *testing.T) {
	src := &memSnapshots{
		list:   []SnapshotInfo{{Height: 7, Format: 1, Chunks: 2, ManifestHash: types.Hash{7}}, {Height: 3, Format: 1, Chunks: 1}},
		chunks: map[uint64][]byte{0: bytes.Repeat([]byte{1}, 3<<20), 1: []byte("last")},
	}
	server, client := snapshotPair(t, SnapshotLimits{}, src)
	ctx := context.Background()
	list, err := client.ListSnapshots(ctx, server.ID())
	if err != nil || len(list) != 2 || list[0] != src.list[0] {
		t.Fatalf("list: %v %v", list, err)
	}
	if m, err := client.SnapshotManifest(ctx, server.ID(), 7); err != nil || string(m) != "manifest-7" {
		t.Fatalf("manifest: %q %v", m, err)
	}
	if m, err := client.SnapshotManifest(ctx, server.ID(), 8); err != nil || len(m) != 0 {
		t.Fatalf("absent manifest: %q %v (want empty)", m, err)
	}
	for i, want := range src.chunks {
		if c, err := client.SnapshotChunk(ctx, server.ID(), 7, i); err != nil || !bytes.Equal(c, want) {
			t.Fatalf("chunk %d: %d bytes, %v", i, len(c), err)
		}
	}
	if lb, err := client.RequestLightBlock(ctx, server.ID(), 7); err != nil || string(lb.Header) != "h7" || lb.Validators[0].Power != 3 {
		t.Fatalf("light block: %+v %v", lb, err)
	}
	if lb, err := client.RequestLightBlock(ctx, server.ID(), 8); err != nil || lb != nil {
		t.Fatalf("absent light block: %+v %v", lb, err)
	}
	// A client-only host answers no status or block sync.
	if _, err := server.RequestStatus(ctx, client.ID()); err == nil {
		t.Fatal("client-only host answered a status request")
	}
	if _, err := client.RequestStatus(ctx, server.ID()); err != nil {
		t.Fatalf("status from the full host: %v", err)
	}
}

// TestSnapshotAnswerBounded: answers above the client's bounds are cut off.
func TestSnapshotAnswerBounded(t *testing.T) {
	long := make([]SnapshotInfo, MaxSnapshotsListed+1)
	src := &memSnapshots{list: long, chunks: map[uint64][]byte{0: make([]byte, MaxSnapshotFrame+1)}}
	server, client := snapshotPair(t, SnapshotLimits{}, src)
	list, err := client.ListSnapshots(context.Background(), server.ID())
	if err != nil || len(list) != MaxSnapshotsListed {
		t.Fatalf("list of %d entries: %v (server must cut it to %d)", len(list), err, MaxSnapshotsListed)
	}
	if _, err := client.SnapshotChunk(context.Background(), server.ID(), 7, 0); err == nil {
		t.Fatal("a chunk above MaxSnapshotFrame was served")
	}
}

func TestSnapshotPerPeerStreams(t *testing.T) {
	src := &memSnapshots{chunks: map[uint64][]byte{0: []byte("c")}, hold: make(chan struct{})}
	server, client := snapshotPair(t, SnapshotLimits{Streams: 2}, src)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client.SnapshotChunk(context.Background(), server.ID(), 7, 0)
			errs <- err
		}()
	}
	testutil.WaitFor(t, 10*time.Second, "two streams held", func() bool {
		server.snap.mu.Lock()
		defer server.snap.mu.Unlock()
		return server.snap.streams == 2
	})
	if _, err := client.SnapshotChunk(context.Background(), server.ID(), 7, 0); err == nil {
		t.Fatal("a third concurrent stream was served with a limit of 2")
	}
	if server.SnapshotRequestsRefused() != 1 {
		t.Fatalf("%d refused, want 1", server.SnapshotRequestsRefused())
	}
	close(src.hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("held request: %v", err)
		}
	}
}

func TestSnapshotPerPeerRate(t *testing.T) {
	src := &memSnapshots{chunks: map[uint64][]byte{0: []byte("c")}}
	server, client := snapshotPair(t, SnapshotLimits{RequestsPerSecond: 0.01, RequestBurst: 3}, src)
	ok := 0
	for range 6 {
		if _, err := client.SnapshotChunk(context.Background(), server.ID(), 7, 0); err == nil {
			ok++
		}
	}
	if ok != 3 || server.SnapshotRequestsRefused() != 3 {
		t.Fatalf("%d served, %d refused; want the burst of 3 served and 3 refused", ok, server.SnapshotRequestsRefused())
	}
	// Another peer has its own budget.
	other, err := New(context.Background(), testutil.Key(t), Config{ChainID: testChain, ListenAddrs: tcpLoop, TargetPeers: -1, Bootnodes: server.Addrs()[:1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	testutil.WaitFor(t, 10*time.Second, "other connected", func() bool { return other.PeerCount() == 1 })
	if _, err := other.SnapshotChunk(context.Background(), server.ID(), 7, 0); err != nil {
		t.Fatalf("another peer refused: %v", err)
	}
}

func TestSnapshotPerPeerBytes(t *testing.T) {
	src := &memSnapshots{chunks: map[uint64][]byte{0: make([]byte, 1<<20)}}
	// 1 KiB/s after a burst of MaxSnapshotFrame: the first 4 chunks come at once, the
	// fifth would wait for about 17 minutes.
	server, client := snapshotPair(t, SnapshotLimits{BytesPerSecond: 1 << 10}, src)
	for i := range 4 {
		if _, err := client.SnapshotChunk(context.Background(), server.ID(), 7, 0); err != nil {
			t.Fatalf("chunk %d within the burst: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := client.SnapshotChunk(ctx, server.ID(), 7, 0); err == nil {
		t.Fatal("a chunk beyond the byte allowance was served at once")
	}
}

func TestPenalize(t *testing.T) {
	h := startHost(t, &testHandler{}, tcpLoop)
	p := peer.ID("somebody")
	if h.PeerPenalty(p) != 0 {
		t.Fatal("penalty before any")
	}
	h.Penalize(p, PenaltyBadData, "test")
	h.Penalize(p, PenaltyBadData, "test")
	if v := h.PeerPenalty(p); v < 2*PenaltyBadData-1 || v > 2*PenaltyBadData || h.appScore(p) > -1000 {
		t.Fatalf("penalty %v, app score %v", v, h.appScore(p))
	}
	if v := (penalty{value: 100, at: time.Unix(0, 0)}).now(time.Unix(0, 0).Add(penaltyHalfLife)); v < 49.9 || v > 50.1 {
		t.Fatalf("penalty after a half-life: %v", v)
	}
}

func FuzzSnapshotAnswers(f *testing.F) {
	list, _ := rlp.EncodeToBytes([]SnapshotInfo{{Height: 7, Format: 1, Chunks: 2, ManifestHash: types.Hash{7}}})
	lb, _ := rlp.EncodeToBytes(&LightBlock{Header: []byte("h"), Commit: []byte("c"), Validators: []LightValidator{{Address: types.Address{1}, PubKey: []byte{2}, Power: 3}}})
	f.Add(list)
	f.Add(lb)
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := decodeSnapshotList(b); err == nil && len(l) > MaxSnapshotsListed {
			t.Fatalf("%d entries accepted", len(l))
		}
		if x, err := decodeLightBlock(b); err == nil && len(x.Validators) > types.MaxValidators {
			t.Fatalf("%d validators accepted", len(x.Validators))
		}
	})
}
