package network

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// What the tests of package network_test, which build nodes with node.New, look at
// inside a Network.

// PeerScore is the gossip score this node gives peer id.
func (n *Network) PeerScore(id peer.ID) float64 { return n.host.PeerScore(id) }

// Connect dials a peer at addr (a multiaddr with /p2p/<id>).
func (n *Network) Connect(ctx context.Context, addr string) error { return n.host.Connect(ctx, addr) }

// MarkGossiped makes the network take tx for one it received from gossip, so that it
// does not publish it when the pool accepts it.
func (n *Network) MarkGossiped(tx *types.Tx) { n.h.gossiped.add(tx) }

// Handler is what the network serves its peers.
func (n *Network) Handler() p2p.Handler { return n.h }

// GossipWarmUp is how long a node waits after its first peer before it gossips its txs.
const GossipWarmUp = gossipWarmUp

// BadPeerTimeout is how long block sync leaves out a peer that served a bad block.
const BadPeerTimeout = badPeerTimeout
