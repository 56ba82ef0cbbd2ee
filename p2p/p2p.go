// Package p2p is wnode's networking: a go-libp2p host (TCP and QUIC, Noise, Yamux) keyed by
// the node key, gossipsub topics for transactions and consensus messages with validators
// that reject or ignore bad messages before they spread, the request/response protocols
// /wnode/status/1 and /wnode/sync/1, state snapshots (/wnode/snapshot/1, with per-peer
// limits), bootnodes, peer exchange (/wnode/peers/1) up to a
// target peer count with the peers it met remembered across restarts, and optional mDNS
// discovery.
//
// The package moves bytes; what the bytes mean is the Handler's business, so p2p depends on
// neither the chain nor the consensus engine.
package p2p

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	ma "github.com/multiformats/go-multiaddr"
)

// Protocol identifiers, part of the wire spec (docs/spec/wire.md).
const (
	StatusProtocol = "/wnode/status/1"
	SyncProtocol   = "/wnode/sync/1"
)

// TxTopic is the gossipsub topic for transactions of chain chainID.
func TxTopic(chainID uint64) string { return fmt.Sprintf("/wnode/%d/tx/1", chainID) }

// ConsensusTopic is the gossipsub topic for proposals and votes of chain chainID.
func ConsensusTopic(chainID uint64) string { return fmt.Sprintf("/wnode/%d/consensus/1", chainID) }

// ErrIgnore, wrapped in a Handler's check error, means "drop the message but do not
// penalize the sender" (a stale vote, a tx we already have). Any other error rejects the
// message and lowers the sender's score.
var ErrIgnore = errors.New("ignore")

// Handler gives meaning to the bytes the network carries. Check methods run on gossipsub's
// validation goroutines for every message before it is forwarded, so they must be cheap
// enough to run on hostile input and safe for concurrent use; what they return is handed
// to the matching Deliver method, so a message is decoded once.
type Handler interface {
	// CheckTx checks a message of the tx topic sent (or relayed) by peer from.
	CheckTx(from peer.ID, data []byte) (any, error)
	DeliverTx(v any, from peer.ID)
	CheckConsensus(data []byte) (any, error)
	DeliverConsensus(v any, from peer.ID)
	// Status is what this node answers on /wnode/status/1.
	Status() Status
	// SyncBlocks returns up to max consecutive committed blocks from height on, each with
	// its commit certificate, encoded; fewer (or none) when the node has fewer.
	SyncBlocks(from uint64, max int) ([]SyncBlock, error)
}

// Config configures a Host. Zero values take the defaults noted.
type Config struct {
	ChainID     uint64
	ListenAddrs []string // multiaddrs; default /ip4/0.0.0.0/tcp/7946 and /ip4/0.0.0.0/udp/7946/quic-v1
	Bootnodes   []string // multiaddrs with /p2p/<peer id>
	MDNS        bool     // discover peers on the LAN
	// MaxPeers is the connection manager's high water mark (default 64); it trims back to
	// 3/4 of it.
	MaxPeers int
	// MaxMessageSize bounds a gossiped message (default 2 MiB: a block proposal with txs).
	MaxMessageSize int
	// ReconnectInterval is how often missing bootnodes are dialled again (default 2 s).
	ReconnectInterval time.Duration
	// TargetPeers is how many peers the node tries to be connected to (default
	// DefaultTargetPeers, at most MaxPeers/2 so the connection manager does not trim
	// them; negative: only bootnodes and mDNS, remembered peers not dialled). Below it, the node asks
	// its peers for theirs over PeersProtocol and dials them.
	TargetPeers int
	// DiscoveryInterval is how often the peer count is checked against TargetPeers
	// (default DefaultDiscoveryInterval).
	DiscoveryInterval time.Duration
	// PeersFile is where the peers this node was connected to are remembered across
	// restarts (empty: not remembered); they are dialled at start besides the bootnodes.
	PeersFile string
	// MaxKnownPeers bounds the remembered peers (default DefaultMaxKnownPeers).
	MaxKnownPeers int
	// Snapshots bounds what each peer can make the node spend on SnapshotProtocol.
	Snapshots SnapshotLimits
	// Penalties are the peers' penalties the host starts with, as another host's
	// Penalties returned them (the node's real host takes over those of the host of its
	// state sync); they decay from the host's start.
	Penalties map[peer.ID]float64
	Logger    *slog.Logger
}

// Host is a running libp2p node with wnode's topics and protocols. Close stops it.
type Host struct {
	cfg     Config
	h       host.Host
	ps      *pubsub.PubSub
	txT     *pubsub.Topic
	consT   *pubsub.Topic
	handler Handler
	log     *slog.Logger
	boot    []peer.AddrInfo
	mdns    mdns.Service
	known   *PeerStore

	scoreMu   sync.Mutex
	scores    map[peer.ID]float64
	penalties map[peer.ID]penalty

	snap snapshotServer

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NodeKeyToLibp2p converts the node's secp256k1 key into a libp2p identity key, so the
// node's peer ID, validator address and result-signing key all come from one secret.
func NodeKeyToLibp2p(key *ecdsa.PrivateKey) (lcrypto.PrivKey, error) {
	return lcrypto.UnmarshalSecp256k1PrivateKey(ethcrypto.FromECDSA(key))
}

// PeerIDFromKey returns the libp2p peer ID of a node key.
func PeerIDFromKey(key *ecdsa.PrivateKey) (peer.ID, error) {
	pk, err := NodeKeyToLibp2p(key)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(pk)
}

// New starts a host listening on cfg.ListenAddrs, joins the chain's topics and starts
// dialling bootnodes. It returns once the host listens; peers connect in the background.
//
// With a nil handler the host is a client only, as a node joining by state sync uses
// before it has a chain: no topics, no status or block-sync answers; it dials, exchanges
// peers, serves SnapshotProtocol if given a source, and sends requests.
func New(ctx context.Context, key *ecdsa.PrivateKey, cfg Config, handler Handler) (*Host, error) {
	if cfg.ChainID == 0 {
		return nil, errors.New("p2p: chain id is required")
	}
	if len(cfg.ListenAddrs) == 0 {
		cfg.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/7946", "/ip4/0.0.0.0/udp/7946/quic-v1"}
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = 64
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = 2 << 20
	}
	if cfg.ReconnectInterval <= 0 {
		cfg.ReconnectInterval = 2 * time.Second
	}
	if cfg.TargetPeers == 0 {
		cfg.TargetPeers = DefaultTargetPeers
	}
	cfg.TargetPeers = min(cfg.TargetPeers, cfg.MaxPeers/2)
	if cfg.DiscoveryInterval <= 0 {
		cfg.DiscoveryInterval = DefaultDiscoveryInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	known, err := OpenPeerStore(cfg.PeersFile, cfg.MaxKnownPeers)
	if err != nil {
		// The file only speeds up joining: start without it; the next save replaces it.
		log.Warn("p2p: ignoring the known-peers file", "err", err)
	}
	boot, err := parseBootnodes(cfg.Bootnodes)
	if err != nil {
		return nil, err
	}
	priv, err := NodeKeyToLibp2p(key)
	if err != nil {
		return nil, fmt.Errorf("p2p: node key: %w", err)
	}
	cm, err := connmgr.NewConnManager(cfg.MaxPeers*3/4, cfg.MaxPeers, connmgr.WithGracePeriod(20*time.Second))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	listen := make([]ma.Multiaddr, 0, len(cfg.ListenAddrs))
	for _, s := range cfg.ListenAddrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			cm.Close()
			return nil, fmt.Errorf("p2p: listen address %q: %w", s, err)
		}
		listen = append(listen, a)
	}
	h, err := newLibp2pHost(priv, listen, cm)
	if err != nil {
		cm.Close()
		return nil, fmt.Errorf("p2p: start host on %v: %w", cfg.ListenAddrs, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &Host{cfg: cfg, h: h, handler: handler, log: log, boot: boot, known: known, cancel: cancel,
		penalties: map[peer.ID]penalty{}}
	now := time.Now()
	for p, v := range cfg.Penalties {
		if v > 0 {
			n.penalties[p] = penalty{value: v, at: now}
		}
	}
	cfg.Snapshots.defaults()
	n.snap.limits, n.snap.peers = cfg.Snapshots, map[peer.ID]*peerBudget{}
	if handler != nil {
		if err := n.startPubsub(ctx); err != nil {
			cancel()
			h.Close()
			return nil, err
		}
		h.SetStreamHandler(StatusProtocol, n.serveStatus)
		h.SetStreamHandler(SyncProtocol, n.serveSync)
	}
	h.SetStreamHandler(PeersProtocol, n.servePeers)
	h.SetStreamHandler(SnapshotProtocol, n.serveSnapshot)
	if cfg.MDNS {
		n.mdns = mdns.NewMdnsService(h, fmt.Sprintf("wnode-%d", cfg.ChainID), mdnsNotifee{n: n, ctx: ctx})
		if err := n.mdns.Start(); err != nil {
			n.Close()
			return nil, fmt.Errorf("p2p: mdns: %w", err)
		}
	}
	n.wg.Add(1)
	go n.dialLoop(ctx)
	if cfg.TargetPeers > 0 {
		n.wg.Add(1)
		go n.discoveryLoop(ctx)
	}
	return n, nil
}

func parseBootnodes(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range addrs {
		if s == "" {
			continue
		}
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("p2p: bootnode %q: %w", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("p2p: bootnode %q must end in /p2p/<peer id>: %w", s, err)
		}
		out = append(out, *ai)
	}
	return out, nil
}

// WireOptions are the gossipsub options every wnode peer must share to talk to another:
// unsigned, authorless messages identified by the hash of their content, up to
// maxMessageSize bytes. Every payload we gossip (tx, proposal, vote, commit) carries its
// own secp256k1 signature, checked by the topic validators, so gossipsub's per-message
// libp2p signature would only repeat that work: it was ~46% of a node's CPU at 500 tx/s.
// A peer that sends signed or authored messages is rejected (and scored down) by
// gossipsub's signature policy.
func WireOptions(maxMessageSize int) []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(msgID),
		pubsub.WithMaxMessageSize(maxMessageSize),
	}
}

// msgID identifies a gossiped message by its content, so the same bytes published by two
// nodes (a tx submitted twice, a re-broadcast vote) are deduplicated by gossipsub.
func msgID(m *pb.Message) string {
	return string(ethcrypto.Keccak256(m.Data))
}

func (n *Host) startPubsub(ctx context.Context) error {
	txTopic, consTopic := TxTopic(n.cfg.ChainID), ConsensusTopic(n.cfg.ChainID)
	opts := append(WireOptions(n.cfg.MaxMessageSize),
		pubsub.WithPeerScore(scoreParams(n.appScore, txTopic, consTopic), scoreThresholds()),
		pubsub.WithSeenMessagesTTL(SeenMessagesTTL),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerScoreInspect(func(m map[peer.ID]float64) {
			n.scoreMu.Lock()
			n.scores = m
			n.scoreMu.Unlock()
		}, time.Second),
	)
	ps, err := pubsub.NewGossipSub(ctx, n.h, opts...)
	if err != nil {
		return fmt.Errorf("p2p: gossipsub: %w", err)
	}
	n.ps = ps
	if err := ps.RegisterTopicValidator(txTopic, n.validator(n.handler.CheckTx)); err != nil {
		return fmt.Errorf("p2p: tx validator: %w", err)
	}
	checkConsensus := func(_ peer.ID, data []byte) (any, error) { return n.handler.CheckConsensus(data) }
	if err := ps.RegisterTopicValidator(consTopic, n.validator(checkConsensus)); err != nil {
		return fmt.Errorf("p2p: consensus validator: %w", err)
	}
	if n.txT, err = ps.Join(txTopic); err != nil {
		return fmt.Errorf("p2p: join %s: %w", txTopic, err)
	}
	if n.consT, err = ps.Join(consTopic); err != nil {
		return fmt.Errorf("p2p: join %s: %w", consTopic, err)
	}
	txSub, err := n.txT.Subscribe()
	if err != nil {
		return fmt.Errorf("p2p: subscribe %s: %w", txTopic, err)
	}
	consSub, err := n.consT.Subscribe()
	if err != nil {
		return fmt.Errorf("p2p: subscribe %s: %w", consTopic, err)
	}
	n.wg.Add(2)
	go n.readLoop(ctx, txSub, n.handler.DeliverTx)
	go n.readLoop(ctx, consSub, n.handler.DeliverConsensus)
	return nil
}

// validator adapts a Handler check to gossipsub: accept, ignore (no penalty) or reject
// (the sender's score drops through InvalidMessageDeliveries).
func (n *Host) validator(check func(peer.ID, []byte) (any, error)) pubsub.ValidatorEx {
	return func(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if from == n.h.ID() {
			// Our own messages were checked before we published them; the decoded value is
			// still needed by nobody, since readLoop skips our own.
			return pubsub.ValidationAccept
		}
		v, err := check(from, m.Data)
		if err != nil {
			if errors.Is(err, ErrIgnore) {
				return pubsub.ValidationIgnore
			}
			n.log.Debug("p2p: rejected message", "peer", from, "topic", m.GetTopic(), "err", err)
			return pubsub.ValidationReject
		}
		m.ValidatorData = v
		return pubsub.ValidationAccept
	}
}

func (n *Host) readLoop(ctx context.Context, sub *pubsub.Subscription, deliver func(any, peer.ID)) {
	defer n.wg.Done()
	defer sub.Cancel()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return // context cancelled or subscription closed
		}
		if m.ReceivedFrom == n.h.ID() {
			continue
		}
		deliver(m.ValidatorData, m.ReceivedFrom)
	}
}

// PublishTx gossips an encoded transaction.
func (n *Host) PublishTx(ctx context.Context, data []byte) error {
	return n.txT.Publish(ctx, data)
}

// PublishConsensus gossips an encoded consensus message.
func (n *Host) PublishConsensus(ctx context.Context, data []byte) error {
	return n.consT.Publish(ctx, data)
}

// ID is this node's peer ID.
func (n *Host) ID() peer.ID { return n.h.ID() }

// Addrs returns the full multiaddrs (with /p2p/<id>) other nodes can use as bootnodes.
func (n *Host) Addrs() []string {
	var out []string
	for _, a := range n.h.Addrs() {
		out = append(out, fmt.Sprintf("%s/p2p/%s", a, n.h.ID()))
	}
	return out
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID      string   `json:"id"`
	Addrs   []string `json:"addrs"`
	Inbound bool     `json:"inbound"` // the peer dialled us
}

// Peers lists connected peers.
func (n *Host) Peers() []PeerInfo {
	var out []PeerInfo
	for _, p := range n.h.Network().Peers() {
		pi := PeerInfo{ID: p.String()}
		for _, c := range n.h.Network().ConnsToPeer(p) {
			pi.Addrs = append(pi.Addrs, c.RemoteMultiaddr().String())
			pi.Inbound = pi.Inbound || c.Stat().Direction == network.DirInbound
		}
		out = append(out, pi)
	}
	return out
}

// PeerScore is gossipsub's score of p as of its last inspection (once a second): zero for
// a well-behaved peer, negative for one that sent invalid messages.
func (n *Host) PeerScore(p peer.ID) float64 {
	n.scoreMu.Lock()
	defer n.scoreMu.Unlock()
	return n.scores[p]
}

// PeerCount is the number of connected peers.
func (n *Host) PeerCount() int { return len(n.h.Network().Peers()) }

// Connect dials a peer given as a multiaddr with /p2p/<id>.
func (n *Host) Connect(ctx context.Context, addr string) error {
	ais, err := parseBootnodes([]string{addr})
	if err != nil {
		return err
	}
	return n.h.Connect(ctx, ais[0])
}

// ConnectedPeers returns the IDs of connected peers, for sync.
func (n *Host) ConnectedPeers() []peer.ID { return n.h.Network().Peers() }

func (n *Host) dialLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.ReconnectInterval)
	defer t.Stop()
	for {
		for _, ai := range n.boot {
			if ai.ID == n.h.ID() || n.h.Network().Connectedness(ai.ID) == network.Connected {
				continue
			}
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := n.h.Connect(dctx, ai); err != nil {
				n.log.Debug("p2p: bootnode dial failed", "peer", ai.ID, "err", err)
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type mdnsNotifee struct {
	n   *Host
	ctx context.Context
}

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.h.ID() {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
	defer cancel()
	_ = m.n.h.Connect(ctx, ai)
}

// Close stops discovery, the topics and the host, and waits for its goroutines.
func (n *Host) Close() error {
	n.cancel()
	if n.mdns != nil {
		n.mdns.Close()
	}
	now := time.Now()
	for _, p := range n.h.Network().Peers() {
		n.known.Seen(p, n.h.Peerstore().Addrs(p), now)
	}
	err := n.h.Close()
	n.wg.Wait()
	if serr := n.known.Save(); serr != nil {
		n.log.Warn("p2p: could not save known peers", "err", serr)
	}
	return err
}

// KnownPeers returns the peers this node remembers, the most recently seen first.
func (n *Host) KnownPeers() []KnownPeer { return n.known.Peers() }
