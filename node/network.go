package node

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/node/network"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/rpc"
)

// Network connects a node to its peers: it gossips the transactions the local mempool
// accepts (it subscribes to NetworkDeps.Pool itself) and the consensus messages of the
// local validator, hands what peers send to
// the mempool (Pool.Add) and to consensus (Runner.Deliver), and fetches blocks the node
// missed (Runner.ApplySyncedBlock). A dev node that is its chain's only validator has
// none.
//
// Every method must be safe for concurrent use and must not block on the network.
type Network interface {
	// Broadcast gossips a consensus message of this validator (consensus.Broadcaster).
	Broadcast(m *consensus.Message)
	// NeedSync asks for the committed blocks up to height (consensus.Syncer).
	NeedSync(height uint64)
	// Peers lists connected peers.
	Peers() []rpc.PeerInfo
	// PeerID and ListenAddrs describe this node on the network.
	PeerID() string
	ListenAddrs() []string
	// Close disconnects and stops every goroutine of the network.
	Close() error
}

// NetworkDeps are what a Network is built from: the node's key, configuration and parts.
type NetworkDeps struct {
	Key     *ecdsa.PrivateKey
	ChainID uint64
	Config  P2PConfig
	// PeersFile remembers the peers met across restarts (DataDir/peers.json).
	PeersFile string
	Chain     *chain.Chain
	Pool      *mempool.Pool
	Consensus *consensus.Runner
	Logger    *slog.Logger
	// Snapshots, when not nil, are served to peers on /wnode/snapshot/1.
	Snapshots p2p.SnapshotSource
	// Penalties are the penalties of the peers met during the join by state sync
	// (p2p.Host.Penalties of its host), to start the node's host with.
	Penalties map[peer.ID]float64
}

// NetworkFactory builds a node's Network once its parts exist. Options.Network sets it;
// the p2p package's adapter is the production one.
type NetworkFactory func(ctx context.Context, deps NetworkDeps) (Network, error)

// noNetwork is the network of a single node: nothing to send, nobody to hear.
type noNetwork struct{}

func (noNetwork) Broadcast(*consensus.Message) {}
func (noNetwork) NeedSync(uint64)              {}
func (noNetwork) Peers() []rpc.PeerInfo        { return nil }
func (noNetwork) PeerID() string               { return "" }
func (noNetwork) ListenAddrs() []string        { return nil }
func (noNetwork) Close() error                 { return nil }

// netProxy lets consensus be built before the network: it forwards to the network once
// it is set (messages before that are dropped; consensus re-broadcasts).
type netProxy struct {
	n atomic.Pointer[Network]
}

func (p *netProxy) set(n Network) { p.n.Store(&n) }

func (p *netProxy) Broadcast(m *consensus.Message) {
	if n := p.n.Load(); n != nil {
		(*n).Broadcast(m)
	}
}

func (p *netProxy) NeedSync(height uint64) {
	if n := p.n.Load(); n != nil {
		(*n).NeedSync(height)
	}
}

// p2pNetwork is the production Network: package node/network over libp2p, its
// configuration adjusted by tune if set. It gossips the mempool's transactions,
// delivers consensus messages to the runner and syncs missed blocks.
func p2pNetwork(tune func(*network.Config)) NetworkFactory {
	return func(ctx context.Context, deps NetworkDeps) (Network, error) {
		cfg := network.Config{Listen: deps.Config.Listen, Bootnodes: deps.Config.Bootnodes, MDNS: deps.Config.MDNS,
			TargetPeers: deps.Config.TargetPeers, PeersFile: deps.PeersFile, Penalties: deps.Penalties, Logger: deps.Logger}
		if tune != nil {
			tune(&cfg)
		}
		nw, err := network.New(ctx, cfg, deps.Key, deps.Chain, deps.Pool)
		if err != nil {
			return nil, err
		}
		if deps.Snapshots != nil {
			nw.SetSnapshotSource(deps.Snapshots)
		}
		if err := nw.Start(deps.Consensus); err != nil {
			nw.Close()
			return nil, err
		}
		return p2pAdapter{nw}, nil
	}
}

type p2pAdapter struct{ n *network.Network }

func (a p2pAdapter) Broadcast(m *consensus.Message) { a.n.Broadcast(m) }
func (a p2pAdapter) NeedSync(height uint64)         { a.n.NeedSync(height) }
func (a p2pAdapter) PeerID() string                 { return a.n.ID() }
func (a p2pAdapter) ListenAddrs() []string          { return a.n.Addrs() }
func (a p2pAdapter) Close() error                   { return a.n.Close() }
func (a p2pAdapter) Stats() network.Stats           { return a.n.Stats() }
func (a p2pAdapter) Peers() []rpc.PeerInfo {
	var out []rpc.PeerInfo
	for _, p := range a.n.Peers() {
		out = append(out, rpc.PeerInfo{ID: p.ID, Addrs: p.Addrs})
	}
	return out
}
