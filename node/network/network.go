package network

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// Consensus is what a Network needs from the consensus engine; *consensus.Runner
// implements it.
type Consensus interface {
	// Deliver queues a verified message from a peer without blocking.
	Deliver(m *consensus.Message)
	// ApplySyncedBlock decides the current height with a block fetched by block sync
	// and its commit certificate, and waits for the result.
	ApplySyncedBlock(ctx context.Context, block []byte, commit *types.Commit) error
}

var _ Consensus = (*consensus.Runner)(nil)

// Config configures a Network. Zero values take the defaults noted.
type Config struct {
	// Listen are the multiaddrs to listen on (default: all interfaces, port 7946, TCP
	// and QUIC; see p2p.Config).
	Listen []string
	// Bootnodes are multiaddrs with /p2p/<peer id> dialled at start and whenever the
	// connection drops.
	Bootnodes []string
	// MDNS discovers peers on the LAN.
	MDNS bool
	// TargetPeers is how many peers the node keeps by peer exchange (see
	// p2p.Config.TargetPeers: 0 the default, negative none).
	TargetPeers int
	// PeersFile remembers the peers met across restarts (empty: not remembered).
	PeersFile string
	// Penalties are the peers' penalties to start with (p2p.Config.Penalties): those
	// the node's state sync gave.
	Penalties map[peer.ID]float64
	// MaxPeers bounds connections (p2p default 64).
	MaxPeers int
	// SyncInterval is how often peers' status is polled to detect that this node is
	// behind (default 1 s). Consensus also wakes block sync up when it sees it is behind.
	SyncInterval time.Duration
	// SyncBatch is how many blocks one sync request asks for (default and maximum
	// p2p.MaxSyncBlocks).
	SyncBatch int
	// TxRegossipInterval is how often, and after how long in the pool, executable txs are
	// gossiped again (default 5 s; at most txRegossipMax each time): gossip is best
	// effort, and a tx whose messages were all dropped would otherwise never reach a
	// validator from a node that does not propose.
	TxRegossipInterval time.Duration
	// Logger receives the network's logs; nil discards them.
	Logger *slog.Logger
	// Clock is the network's time; nil is the wall clock. Tests set it. (The p2p host,
	// gossipsub and the mempool keep the wall clock.)
	Clock Clock
}

// DefaultSyncInterval is Config.SyncInterval's default: how often peers' status is
// polled.
const DefaultSyncInterval = time.Second

// DefaultTxRegossipInterval is Config.TxRegossipInterval's default.
const DefaultTxRegossipInterval = 5 * time.Second

const (
	// statusTimeout bounds one status request; syncTimeout one block batch.
	statusTimeout = 2 * time.Second
	syncTimeout   = 20 * time.Second
	// outQueue is the capacity of the outbound consensus queue, txQueue of the pool feed
	// and of the backlog of txs waiting for peers.
	outQueue = 1024
	txQueue  = 4096
	// gossipWarmUp is how long a node waits after its first peer connects before it
	// gossips its own transactions: subscriptions are exchanged and the gossipsub mesh
	// forms on a 1 s heartbeat.
	gossipWarmUp = time.Second
	// txGossipInterval is the least time between two tx batches this node publishes;
	// txBatchLen and txBatchBytes bound a batch (well within types.MaxTxBatchLen and
	// MaxTxBatchSize, a largest tx included).
	txGossipInterval = 10 * time.Millisecond
	txBatchLen       = 256
	txBatchBytes     = 256 << 10
	// txRegossipMax bounds the txs gossiped again per Config.TxRegossipInterval.
	txRegossipMax = 1024
)

// Network connects a node to its peers over p2p: it relays transactions to and from
// the mempool, consensus messages to and from the consensus engine, serves its chain's
// status and blocks, and fetches the blocks it missed (block sync). Create it with New,
// attach consensus with Start, stop it with Close. Its methods are safe for concurrent
// use.
type Network struct {
	cfg   Config
	log   *slog.Logger
	chain *chain.Chain
	host  *p2p.Host
	h     *handler
	sync  *syncer
	stats stats

	out outbox

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	startMu sync.Mutex
	started bool
	closed  bool
}

// New starts the node's p2p host on cfg.Listen with key as its identity, joined to the
// chain's topics and dialling cfg.Bootnodes, and returns once it listens. From then on
// it serves status and blocks, adds valid gossiped transactions to pool and gossips
// those the pool accepts; consensus messages are ignored until Start. The network lives
// until Close (or until ctx is done).
func New(ctx context.Context, cfg Config, key *ecdsa.PrivateKey, c *chain.Chain, pool *mempool.Pool) (*Network, error) {
	if key == nil || c == nil || pool == nil {
		return nil, errors.New("network: key, chain and pool are required")
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.TxRegossipInterval <= 0 {
		cfg.TxRegossipInterval = DefaultTxRegossipInterval
	}
	if cfg.SyncBatch <= 0 || cfg.SyncBatch > p2p.MaxSyncBlocks {
		cfg.SyncBatch = p2p.MaxSyncBlocks
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	n := &Network{cfg: cfg, log: cfg.Logger, chain: c}
	n.out.init()
	n.h = &handler{
		chain: c, pool: pool, chainID: c.ChainID(), genesisHash: c.Genesis().Hash(),
		stats: &n.stats, republish: make(chan *types.Tx, txQueue), clk: cfg.Clock,
	}
	n.sync = newSyncer(n)
	n.h.ahead = n.sync.wake
	n.ctx, n.cancel = context.WithCancel(ctx)
	host, err := p2p.New(n.ctx, key, p2p.Config{
		ChainID: c.ChainID(), ListenAddrs: cfg.Listen, Bootnodes: cfg.Bootnodes, MDNS: cfg.MDNS,
		MaxPeers: cfg.MaxPeers, MaxMessageSize: consensus.MaxMessageSize, Logger: cfg.Logger,
		TargetPeers: cfg.TargetPeers, PeersFile: cfg.PeersFile, Penalties: cfg.Penalties,
	}, n.h)
	if err != nil {
		n.cancel()
		return nil, fmt.Errorf("network: %w", err)
	}
	n.host = host
	txs, unsubscribe := pool.Subscribe(txQueue)
	n.wg.Add(2)
	go n.publishConsensus()
	go n.publishTxs(txs, unsubscribe)
	n.log.Info("p2p listening", "id", host.ID(), "addrs", host.Addrs())
	return n, nil
}

// Start attaches the consensus engine: gossiped consensus messages are delivered to it
// from now on and block sync starts. Call it once, before or after the engine runs
// (block sync waits for it to run).
func (n *Network) Start(c Consensus) error {
	if c == nil {
		return errors.New("network: start without consensus")
	}
	n.startMu.Lock()
	defer n.startMu.Unlock()
	if n.closed {
		return errors.New("network: start after close")
	}
	if n.started {
		return errors.New("network: already started")
	}
	n.started = true
	n.h.cons.Store(&consensusBox{c})
	n.sync.cons = c
	n.wg.Add(1)
	go n.sync.run(n.ctx)
	return nil
}

// Close stops block sync and gossip, disconnects and waits for every goroutine of the
// network. It is idempotent.
func (n *Network) Close() error {
	n.startMu.Lock()
	if n.closed {
		n.startMu.Unlock()
		return nil
	}
	n.closed = true
	n.startMu.Unlock()
	n.cancel()
	n.wg.Wait()
	if err := n.host.Close(); err != nil {
		return fmt.Errorf("network: close: %w", err)
	}
	return nil
}

// Broadcast gossips a message of this validator (consensus.Broadcaster). It never
// blocks: the message is queued for a sender goroutine. A message whose content (all
// but its Resend stamp) is already waiting in the queue is dropped, as is one that
// finds the queue full (counted in Stats; consensus re-broadcasts).
func (n *Network) Broadcast(m *consensus.Message) {
	if !n.out.push(m) {
		n.stats.broadcastDropped.Add(1)
	}
}

// outbox is the queue of consensus messages to publish, with at most one message per
// content: when publishing falls behind (a loaded machine, a slow peer), re-sends of a
// message still waiting would only lengthen the queue.
type outbox struct {
	mu     sync.Mutex
	queue  []*consensus.Message
	keys   map[types.Hash]bool
	signal chan struct{}
}

func (o *outbox) init() {
	o.keys = map[types.Hash]bool{}
	o.signal = make(chan struct{}, 1)
}

// push queues m unless its content is queued already; it reports false if the queue is
// full.
func (o *outbox) push(m *consensus.Message) bool {
	k := contentKey(m, false)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys[k] {
		return true
	}
	if len(o.queue) >= outQueue {
		return false
	}
	o.queue = append(o.queue, m)
	o.keys[k] = true
	select {
	case o.signal <- struct{}{}:
	default:
	}
	return true
}

// pop returns the oldest queued message, or nil.
func (o *outbox) pop() *consensus.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 {
		return nil
	}
	m := o.queue[0]
	o.queue[0] = nil
	o.queue = o.queue[1:]
	delete(o.keys, contentKey(m, false))
	return m
}

// NeedSync asks block sync for the blocks up to height (consensus.Syncer). It never
// blocks; repeated calls coalesce.
func (n *Network) NeedSync(height uint64) { n.sync.need(height) }

// publishConsensus publishes the queued consensus messages in order, skipping those of
// heights below the head (decided: nobody needs them any more, except the commit of the
// head itself).
func (n *Network) publishConsensus() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.out.signal:
		}
		for m := n.out.pop(); m != nil && n.ctx.Err() == nil; m = n.out.pop() {
			if m.Height() < n.chain.Head().Height {
				continue
			}
			data, err := consensus.EncodeMessage(m)
			if err != nil {
				n.log.Error("encode consensus message", "msg", m, "err", err)
				continue
			}
			if err := n.host.PublishConsensus(n.ctx, data); err != nil && n.ctx.Err() == nil {
				n.log.Debug("publish consensus message", "msg", m, "err", err)
			}
		}
	}
}

// publishTxs gossips every transaction the pool accepts, except those CheckTx took from
// gossip (gossipsub relays them itself), in batches (types.EncodeTxs): one gossip message
// per tx cost more than the tx's own checks once a node took thousands per second. A tx
// that comes after txGossipInterval without any is published at once, alone; later ones
// wait for the rest of the interval, or until a batch is full (txBatchLen txs or
// txBatchBytes). While the node has had no peer for gossipWarmUp, transactions wait in a
// backlog (at most txQueue of them): published to nobody, gossipsub would count them as
// sent and drop them when published again. Every Config.TxRegossipInterval the executable
// txs that have waited in the pool that long are published again, in new batches
// (peers that hold them ignore them at the cost of a hash lookup).
func (n *Network) publishTxs(txs <-chan *types.Tx, unsubscribe func()) {
	defer n.wg.Done()
	defer unsubscribe()
	clock := n.cfg.Clock
	var (
		backlog    []*types.Tx
		peersSince time.Time // when the node last went from no peer to some
		batch      []*types.Tx
		batchBytes int
		last       time.Time // the last publication
	)
	tick, stopTick := clock.NewTicker(gossipWarmUp / 4)
	defer stopTick()
	regossip, stopRegossip := clock.NewTicker(n.cfg.TxRegossipInterval)
	defer stopRegossip()
	inBatch := make(map[types.Hash]struct{}) // a tx twice would make the batch malformed
	var (
		flush     <-chan time.Time // non-nil only while a batch waits
		stopFlush func() bool
	)
	ready := func() bool {
		if n.host.PeerCount() == 0 {
			peersSince = time.Time{}
			return false
		}
		if peersSince.IsZero() {
			peersSince = clock.Now()
		}
		return clock.Now().Sub(peersSince) >= gossipWarmUp
	}
	publish := func() {
		if flush != nil {
			stopFlush()
			flush = nil
		}
		if len(batch) == 0 {
			return
		}
		if err := n.host.PublishTx(n.ctx, types.EncodeTxs(batch)); err != nil && n.ctx.Err() == nil {
			n.stats.txPublishDropped.Add(uint64(len(batch)))
			n.log.Debug("publish txs", "txs", len(batch), "err", err)
		} else {
			n.stats.txBatchesPublished.Add(1)
		}
		clear(batch)
		clear(inBatch)
		batch, batchBytes, last = batch[:0], 0, clock.Now()
	}
	add := func(tx *types.Tx) {
		if _, dup := inBatch[tx.Hash()]; dup {
			return
		}
		if len(batch) > 0 && batchBytes+tx.Size() > txBatchBytes {
			publish()
		}
		inBatch[tx.Hash()] = struct{}{}
		batch = append(batch, tx)
		batchBytes += tx.Size()
		switch wait := txGossipInterval - clock.Now().Sub(last); {
		case len(batch) >= txBatchLen || batchBytes >= txBatchBytes || wait <= 0:
			publish()
		case flush == nil:
			flush, stopFlush = clock.NewTimer(wait)
		}
	}
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-flush:
			flush = nil
			if !ready() { // the peers left meanwhile: wait for them like any tx
				keep := min(len(batch), max(txQueue-len(backlog), 0))
				backlog = append(backlog, batch[:keep]...)
				n.stats.txPublishDropped.Add(uint64(len(batch) - keep))
				clear(batch)
				clear(inBatch)
				batch, batchBytes = batch[:0], 0
				continue
			}
			publish()
		case <-regossip:
			if len(backlog) == 0 && ready() {
				stale := n.h.pool.Stale(n.cfg.TxRegossipInterval, txRegossipMax)
				for _, tx := range stale {
					add(tx)
				}
				publish()
				n.stats.txsRegossiped.Add(uint64(len(stale)))
			}
		case <-tick:
			if len(backlog) > 0 && ready() {
				for _, tx := range backlog {
					add(tx)
				}
				backlog = nil
				publish()
			}
		case tx := <-n.h.republish:
			switch {
			case ready():
				add(tx)
			case len(backlog) < txQueue:
				backlog = append(backlog, tx)
			default:
				n.stats.txPublishDropped.Add(1)
			}
		case tx, ok := <-txs:
			if !ok {
				return
			}
			if n.h.gossiped.take(tx) {
				continue
			}
			switch {
			case len(backlog) == 0 && ready():
				add(tx)
			case len(backlog) < txQueue:
				backlog = append(backlog, tx)
			default:
				n.stats.txPublishDropped.Add(1)
			}
		}
	}
}

// ID is this node's libp2p peer ID (derived from the node key).
func (n *Network) ID() string { return n.host.ID().String() }

// Addrs are the multiaddrs, with /p2p/<id>, at which other nodes reach this one: what
// they pass as bootnodes.
func (n *Network) Addrs() []string { return n.host.Addrs() }

// SetSnapshotSource serves src's state snapshots on /wnode/snapshot/1.
func (n *Network) SetSnapshotSource(src p2p.SnapshotSource) { n.host.SetSnapshotSource(src) }

// PeerPenalty is peer id's penalty on this node's host (p2p.Host.PeerPenalty).
func (n *Network) PeerPenalty(id peer.ID) float64 { return n.host.PeerPenalty(id) }

// PeerCount is the number of connected peers (net_peerCount).
func (n *Network) PeerCount() int { return n.host.PeerCount() }

// Peers lists the connected peers with their addresses (net_peers).
func (n *Network) Peers() []p2p.PeerInfo { return n.host.Peers() }

// SyncInfo says how this node's chain compares with its peers'.
type SyncInfo struct {
	Height     uint64 // this node's head
	PeerHeight uint64 // the highest head a peer of the same chain reported at the last poll
	Syncing    bool   // block sync is fetching blocks
}

// Sync reports where block sync stands.
func (n *Network) Sync() SyncInfo { return n.sync.info() }

// Stats are counters of what the network did, for metrics and tests.
type Stats struct {
	TxsAccepted, TxsIgnored, TxsRejected                   uint64 // gossiped txs accepted and ignored; messages rejected
	TxBatchesPublished                                     uint64 // gossip messages of this node's own txs
	TxsRegossiped                                          uint64 // txs handed to gossip again after TxRegossipInterval in the pool (failures in TxPublishFailed)
	ConsensusAccepted, ConsensusIgnored, ConsensusRejected uint64 // gossiped consensus messages
	// ConsensusUndelivered counts verified messages dropped because consensus was not
	// attached yet; BroadcastDropped own messages dropped on a full outbound queue;
	// TxPublishFailed own txs gossipsub refused or the backlog had no room for.
	ConsensusUndelivered, BroadcastDropped, TxPublishFailed uint64
	BlocksSynced                                            uint64 // blocks this node applied from block sync
	BadSyncBlocks                                           uint64 // blocks from peers that failed verification
	SyncRequestsServed                                      uint64 // block batches served to peers
}

// Stats returns the counters so far.
func (n *Network) Stats() Stats {
	s := &n.stats
	return Stats{
		TxsAccepted: s.txsAccepted.Load(), TxsIgnored: s.txsIgnored.Load(), TxsRejected: s.txsRejected.Load(),
		TxBatchesPublished: s.txBatchesPublished.Load(), TxsRegossiped: s.txsRegossiped.Load(),
		ConsensusAccepted: s.consAccepted.Load(), ConsensusIgnored: s.consIgnored.Load(), ConsensusRejected: s.consRejected.Load(),
		ConsensusUndelivered: s.consDeliverDropped.Load(), BroadcastDropped: s.broadcastDropped.Load(),
		TxPublishFailed: s.txPublishDropped.Load(), BlocksSynced: s.blocksSynced.Load(),
		BadSyncBlocks: s.badSyncBlocks.Load(), SyncRequestsServed: s.syncRequestsServed.Load(),
	}
}
