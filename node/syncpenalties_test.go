package node

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/p2p"
)

// TestSyncPenaltiesCarriedOver: the penalties the host of the join by state sync gave
// (n.syncPenalties, from p2p.Host.Penalties) are those the node's own host starts with.
func TestSyncPenaltiesCarriedOver(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Dev, cfg.RPC.Addr = t.TempDir(), true, "127.0.0.1:0"
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	n, err := New(cfg, Options{Network: p2pNetwork(nil)})
	if err != nil {
		t.Fatal(err)
	}
	liar, other := peer.ID("a peer that lied during the join"), peer.ID("a peer that did not")
	n.syncPenalties = map[peer.ID]float64{liar: p2p.PenaltyBadData}
	if err := n.Start(context.Background()); err != nil {
		n.Close(context.Background())
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	nw := n.P2P()
	if nw == nil {
		t.Fatal("no p2p network")
	}
	if got := nw.PeerPenalty(liar); got < 0.9*p2p.PenaltyBadData {
		t.Errorf("the liar's penalty on the node's host: %v, want about %d", got, p2p.PenaltyBadData)
	}
	if got := nw.PeerPenalty(other); got != 0 {
		t.Errorf("another peer's penalty: %v", got)
	}
}
