package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holiman/uint256"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/types"
)

const testChain = 99

// testHandler accepts signed txs of testChain and consensus messages starting with "ok".
type testHandler struct {
	mu      sync.Mutex
	txs     []types.Hash
	cons    [][]byte
	height  uint64
	blocks  []SyncBlock
	rejects int
}

func (h *testHandler) CheckTx(_ peer.ID, b []byte) (any, error) {
	tx, err := types.DecodeTx(b)
	if err == nil {
		err = tx.ValidateBasic(testChain)
	}
	if err != nil {
		h.mu.Lock()
		h.rejects++
		h.mu.Unlock()
		return nil, err
	}
	return tx, nil
}

func (h *testHandler) DeliverTx(v any, _ peer.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.txs = append(h.txs, v.(*types.Tx).Hash())
}

func (h *testHandler) CheckConsensus(b []byte) (any, error) {
	if bytes.HasPrefix(b, []byte("stale")) {
		return nil, fmt.Errorf("old round: %w", ErrIgnore)
	}
	if !bytes.HasPrefix(b, []byte("ok")) {
		return nil, errors.New("bad consensus message")
	}
	return b, nil
}

func (h *testHandler) DeliverConsensus(v any, _ peer.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cons = append(h.cons, v.([]byte))
}

func (h *testHandler) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Status{ChainID: testChain, Height: h.height, BlockHash: types.Hash{byte(h.height)}}
}

func (h *testHandler) SyncBlocks(from uint64, max int) ([]SyncBlock, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []SyncBlock
	for i := from; i < uint64(len(h.blocks)) && len(out) < max; i++ {
		out = append(out, h.blocks[i])
	}
	return out, nil
}

func (h *testHandler) txCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.txs)
}

func (h *testHandler) consCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.cons)
}

func startHost(t *testing.T, h Handler, listen []string, boot ...string) *Host {
	t.Helper()
	n, err := New(context.Background(), testutil.Key(t), Config{
		ChainID: testChain, ListenAddrs: listen, Bootnodes: boot, ReconnectInterval: 200 * time.Millisecond,
	}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

var (
	tcpLoop  = []string{"/ip4/127.0.0.1/tcp/0"}
	quicLoop = []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
)

func signedTx(t *testing.T, nonce uint64) *types.Tx {
	t.Helper()
	tx := &types.Tx{ChainID: testChain, Nonce: nonce, GasPrice: uint256.NewInt(1), GasLimit: 21000,
		Kind: types.TxTransfer, To: types.Address{9}, Value: uint256.NewInt(1)}
	if err := tx.Sign(testutil.Key(t)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// topicPeers waits until n sees want peers subscribed to both topics, so a publish reaches them.
func waitTopicPeers(t *testing.T, n *Host, want int) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "topic peers", func() bool {
		return len(n.txT.ListPeers()) >= want && len(n.consT.ListPeers()) >= want
	})
}

func TestGossipStatusAndSync(t *testing.T) {
	ha, hb, hc := &testHandler{height: 7}, &testHandler{}, &testHandler{}
	for i := 0; i < 100; i++ {
		ha.blocks = append(ha.blocks, SyncBlock{Block: []byte{byte(i)}, Commit: []byte{byte(i), 1}})
	}
	a := startHost(t, ha, append(slices.Clone(tcpLoop), quicLoop...))
	// b listens on QUIC only and knows only a's QUIC address, so the test crosses both
	// transports.
	var aQUIC []string
	for _, s := range a.Addrs() {
		if strings.Contains(s, "/quic-v1/") {
			aQUIC = append(aQUIC, s)
		}
	}
	if len(aQUIC) == 0 {
		t.Fatalf("a listens on no QUIC address: %v", a.Addrs())
	}
	b := startHost(t, hb, quicLoop, aQUIC...)
	c := startHost(t, hc, tcpLoop, a.Addrs()...)
	waitTopicPeers(t, a, 2)
	waitTopicPeers(t, c, 1)
	if len(a.h.Network().ConnsToPeer(b.ID())) == 0 {
		t.Fatal("a has no connection to b")
	}
	if _, null := a.h.Network().ResourceManager().(*network.NullResourceManager); null {
		t.Fatal("the host runs without a resource manager")
	}
	for _, conn := range a.h.Network().ConnsToPeer(b.ID()) {
		if _, err := conn.RemoteMultiaddr().ValueForProtocol(ma.P_QUIC_V1); err != nil {
			t.Fatalf("b is connected to a over %s, not QUIC", conn.RemoteMultiaddr())
		}
	}
	warmUp(t, c, hc, ha, hb)

	ta, tb := ha.txCount(), hb.txCount()
	tx := signedTx(t, 0)
	if err := c.PublishTx(context.Background(), tx.Encode()); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "tx at a and b", func() bool { return ha.txCount() == ta+1 && hb.txCount() == tb+1 })
	if hc.txCount() != 0 {
		t.Fatal("a node delivered its own tx back to itself")
	}
	ha.mu.Lock()
	got := ha.txs[ta]
	ha.mu.Unlock()
	if got != tx.Hash() {
		t.Fatalf("delivered tx %s, want %s", got, tx.Hash())
	}

	cb, cc := hb.consCount(), hc.consCount()
	if err := a.PublishConsensus(context.Background(), []byte("ok vote")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "consensus message at b and c", func() bool { return hb.consCount() == cb+1 && hc.consCount() == cc+1 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.RequestStatus(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	if st.ChainID != testChain || st.Height != 7 || st.BlockHash != (types.Hash{7}) {
		t.Fatalf("status %+v", st)
	}
	blocks, err := b.RequestBlocks(ctx, a.ID(), 10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != MaxSyncBlocks {
		t.Fatalf("got %d blocks, want the cap %d", len(blocks), MaxSyncBlocks)
	}
	for i, sb := range blocks {
		if sb.Block[0] != byte(10+i) || sb.Commit[1] != 1 {
			t.Fatalf("block %d: %+v", i, sb)
		}
	}
	tail, err := b.RequestBlocks(ctx, a.ID(), 98, 10)
	if err != nil || len(tail) != 2 {
		t.Fatalf("tail sync: %d blocks, %v", len(tail), err)
	}
	if a.PeerCount() != 2 || len(a.Peers()) != 2 {
		t.Fatalf("a has %d peers", a.PeerCount())
	}
	for _, p := range a.Peers() {
		if !p.Inbound {
			t.Errorf("peer %s dialled a but is listed as outbound", p.ID)
		}
	}
}

// TestHostilePeer: a peer that gossips garbage, wrongly signed txs, oversized and stale
// messages gets them dropped, is scored down, and the node keeps serving honest peers.
func TestHostilePeer(t *testing.T) {
	ha, hb := &testHandler{}, &testHandler{}
	a := startHost(t, ha, tcpLoop)
	b := startHost(t, hb, tcpLoop, a.Addrs()...)

	// The hostile peer is a plain libp2p host with gossipsub and no validators.
	evil, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eps, err := pubsub.NewGossipSub(ctx, evil, append(WireOptions(8<<20), pubsub.WithFloodPublish(true))...)
	if err != nil {
		t.Fatal(err)
	}
	etx, _ := eps.Join(TxTopic(testChain))
	econs, _ := eps.Join(ConsensusTopic(testChain))
	for _, tp := range []*pubsub.Topic{etx, econs} {
		if _, err := tp.Subscribe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := evil.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "a and evil see each other in the topics", func() bool {
		return slices.Contains(a.txT.ListPeers(), evil.ID()) && slices.Contains(a.consT.ListPeers(), evil.ID()) &&
			len(etx.ListPeers()) >= 1 && len(econs.ListPeers()) >= 1
	})

	bad := signedTx(t, 0)
	bad.Sig[64] = 5 // invalid recovery id
	wrongChain := &types.Tx{ChainID: testChain + 1, GasPrice: uint256.NewInt(1), Kind: types.TxTransfer, To: types.Address{1}, Value: uint256.NewInt(1)}
	_ = wrongChain.Sign(testutil.Key(t))
	for _, m := range [][]byte{{0xde, 0xad}, bad.Encode(), wrongChain.Encode()} {
		_ = etx.Publish(ctx, m)
	}
	_ = econs.Publish(ctx, []byte("stale vote"))
	_ = econs.Publish(ctx, []byte("garbage"))

	testutil.WaitFor(t, 10*time.Second, "evil scored down", func() bool { return a.PeerScore(evil.ID()) < 0 })
	if ha.txCount() != 0 || ha.consCount() != 0 {
		t.Fatalf("a delivered hostile messages: %s", ha)
	}
	// An oversized message breaks only the hostile peer's stream.
	_ = etx.Publish(ctx, bytes.Repeat([]byte{1}, 3<<20))

	// Honest traffic still flows.
	warmUp(t, b, hb, ha)
	before := ha.txCount()
	tx := signedTx(t, 1)
	if err := b.PublishTx(ctx, tx.Encode()); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "honest tx at a", func() bool { return ha.txCount() == before+1 })
	ha.mu.Lock()
	defer ha.mu.Unlock()
	if ha.txs[before] != tx.Hash() {
		t.Fatal("a delivered a hostile tx")
	}
	for _, m := range ha.cons {
		if !bytes.HasPrefix(m, []byte("ok")) {
			t.Fatalf("a delivered hostile consensus message %q", m)
		}
	}
}

// TestSignedGossipRejected: a peer that gossips with libp2p message signatures (gossipsub's
// default, not wnode's wire options) is rejected by the signature policy and scored down.
func TestSignedGossipRejected(t *testing.T) {
	ha := &testHandler{}
	a := startHost(t, ha, tcpLoop)
	other, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ops, err := pubsub.NewGossipSub(ctx, other, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := ops.Join(TxTopic(testChain))
	if _, err := tp.Subscribe(); err != nil {
		t.Fatal(err)
	}
	if err := other.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "a and the other peer see each other", func() bool {
		return slices.Contains(a.txT.ListPeers(), other.ID()) && len(tp.ListPeers()) >= 1
	})
	for i := uint64(0); i < 3; i++ {
		_ = tp.Publish(ctx, signedTx(t, i).Encode())
	}
	testutil.WaitFor(t, 10*time.Second, "signed-gossip peer scored down", func() bool { return a.PeerScore(other.ID()) < 0 })
	if n := ha.txCount(); n != 0 {
		t.Fatalf("a delivered %d libp2p-signed messages", n)
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := New(context.Background(), testutil.Key(t), Config{}, &testHandler{}); err == nil {
		t.Error("no chain id accepted")
	}
	if _, err := New(context.Background(), testutil.Key(t), Config{ChainID: 1, Bootnodes: []string{"/ip4/127.0.0.1/tcp/1"}}, &testHandler{}); err == nil {
		t.Error("bootnode without /p2p/ id accepted")
	}
	if _, err := New(context.Background(), testutil.Key(t), Config{ChainID: 1, ListenAddrs: []string{"nonsense"}}, &testHandler{}); err == nil {
		t.Error("bad listen address accepted")
	}
}

func TestPeerIDMatchesKey(t *testing.T) {
	k := testutil.Key(t)
	id, err := PeerIDFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(context.Background(), k, Config{ChainID: 1, ListenAddrs: tcpLoop}, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.ID() != id {
		t.Fatalf("host id %s, want %s", n.ID(), id)
	}
}

// warmUp publishes probe messages from pub until every receiver got one on both topics.
// Gossipsub forms its mesh on a heartbeat; a message forwarded before that may reach only
// some peers (the node's periodic re-broadcast covers this in production).
func warmUp(t *testing.T, pub *Host, self *testHandler, recv ...*testHandler) {
	t.Helper()
	done := func() bool {
		for _, h := range recv {
			if h != self && (h.txCount() == 0 || h.consCount() == 0) {
				return false
			}
		}
		return true
	}
	for i := uint64(100); !done(); i++ {
		if i == 175 {
			t.Fatal("gossip mesh did not form after 75 probes")
		}
		_ = pub.PublishTx(context.Background(), signedTx(t, i).Encode())
		_ = pub.PublishConsensus(context.Background(), []byte(fmt.Sprintf("ok probe %d", i)))
		testutil.Eventually(200*time.Millisecond, done)
	}
}

func (h *testHandler) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("txs=%d cons=%d rejects=%d", len(h.txs), len(h.cons), h.rejects)
}
