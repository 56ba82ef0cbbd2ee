package node

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wnode/wnode/app"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/node/network"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/statesync"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/ui"
	"github.com/wnode/wnode/vm"
)

// Version is the node software's version, reported by wn_nodeInfo and `wnode version`.
const Version = "0.1.0"

// Options are what a Node needs beyond its Config: things a program or a test passes in.
type Options struct {
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// Network builds the node's network. nil: none on a dev chain, the p2p network
	// (package node/network) on any other.
	Network NetworkFactory
	// ConsensusConfig, when set, replaces the consensus timing derived from the chain
	// (consensus.DevConfig for a single validator, DefaultConfig otherwise) and from
	// Config.Consensus.
	ConsensusConfig func(chainID uint64, vals *types.ValidatorSet) consensus.Config
	// NetworkConfig, when set, adjusts the p2p network's configuration (built from
	// Config.P2P) before it starts: tests shorten its intervals or give it a clock. It
	// does not apply to a Network factory of one's own.
	NetworkConfig func(*network.Config)
}

// Node is a running wnode: chain, mempool, consensus, RPC and (optionally) network over
// one data dir. Create it with New, run it with Start, stop it with Close.
type Node struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	dir  DataDir

	key         *ecdsa.PrivateKey
	genesis     *genesis.Genesis
	genesisHash types.Hash
	dev         bool

	db      *pebble.DB
	machine *vm.VM
	// readVM runs calls and gas estimates (chain.Options.ReadVM): interruptible, so that
	// no call holds up the garbage collector and with it consensus, and memory-only, so
	// that code nobody paid for never reaches the on-disk compiled-code cache.
	readVM  *vm.VM
	chain   *chain.Chain
	pool    *mempool.Pool
	wal     *consensus.FileWAL
	guard   *consensus.FileGuardStore
	runner  *consensus.Runner
	proxy   *netProxy
	network Network
	snaps   *statesync.Snapshots // nil without --snapshots
	// syncPenalties are the peers' penalties at the end of the join by state sync, for
	// the network's host to start with.
	syncPenalties map[peer.ID]float64
	rpc           *rpc.Server
	backend       *backend
	metrics       *metrics

	ready    atomic.Bool
	stopping atomic.Bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	done     chan struct{} // closed when the node stops by itself (fatal error)
	errOnce  sync.Once
	err      error
	closeMu  sync.Mutex
	closed   bool
}

// New opens the node in cfg.DataDir: it initialises the data dir when it is empty and
// cfg.Dev (or cfg.Genesis) says how, then opens the database, the VM, the chain, the
// mempool, consensus (replaying its WAL) and the RPC server, without starting anything.
// On error everything opened is closed again.
func New(cfg Config, opts Options) (_ *Node, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir := DataDir(cfg.DataDir)
	if !dir.Initialized() && (cfg.Dev || cfg.Genesis != "") {
		if _, err := Init(cfg.DataDir, cfg.Dev, cfg.Genesis); err != nil {
			return nil, err
		}
	}
	n := &Node{cfg: cfg, opts: opts, log: opts.Logger, dir: dir, done: make(chan struct{}), metrics: newMetrics()}
	defer func() {
		if err != nil {
			n.closeParts()
		}
	}()
	if n.genesis, err = dir.LoadGenesis(); err != nil {
		return nil, err
	}
	n.genesisHash = n.genesis.Hash()
	n.dev = genesis.IsDevChain(n.genesis.ChainID)
	if cfg.Dev && !n.dev {
		return nil, fmt.Errorf("--dev: data dir %s holds chain %d, not a dev chain (id %d); use another --datadir", cfg.DataDir, n.genesis.ChainID, genesis.DevChainID)
	}
	if n.key, err = dir.LoadNodeKey(); err != nil {
		return nil, err
	}
	vals, err := n.genesis.ValidatorSet()
	if err != nil {
		return nil, err
	}
	addr := crypto.PubkeyToAddress(n.key.PublicKey)
	_, genesisValidator := vals.Index(addr)
	// A dev chain whose only genesis validator is this node needs no peers (`wnode start
	// --dev`); any other node, dev chains of several validators (`wnode localnet`)
	// included, is on the p2p network.
	if n.opts.Network == nil && !(n.dev && vals.Len() == 1 && genesisValidator) {
		n.opts.Network = p2pNetwork(n.opts.NetworkConfig)
	}

	if n.db, err = openDB(dir.Path(DBDir)); err != nil {
		return nil, fmt.Errorf("open database (is another wnode using %s?): %w", cfg.DataDir, err)
	}
	st, err := state.New(n.db, state.Options{KeepVersions: cfg.StateHistory})
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	if cfg.StateSync.Enabled && !st.Initialized() && n.opts.Network != nil {
		if err := n.stateSync(st); err != nil {
			return nil, err
		}
	}
	sched, err := gas.ByVersion(n.genesis.Params.GasScheduleVersion)
	if err != nil {
		return nil, err
	}
	if n.machine, err = vm.New(context.Background(), vm.Config{CacheDir: dir.Path(WasmCacheDir), Schedule: sched}); err != nil {
		return nil, fmt.Errorf("start VM: %w", err)
	}
	if n.readVM, err = vm.New(context.Background(), vm.Config{Schedule: sched, CacheEntries: 64, Interruptible: true}); err != nil {
		return nil, fmt.Errorf("start the VM of calls: %w", err)
	}
	rcfg := cfg.rpcConfig()
	gasCap := rcfg.GasCap
	if gasCap == 0 {
		gasCap = gas.DefaultCallCap
	}
	if n.chain, err = chain.New(n.db, st, n.machine, n.genesis, chain.Options{
		CallGasCap: gasCap, DebugLogs: n.dev, Logger: n.log.With("component", "chain"), ReadVM: n.readVM,
		ExecWorkers: cfg.ExecWorkers,
	}); err != nil {
		return nil, err
	}
	if cfg.Snapshots.Enabled {
		if n.snaps, err = statesync.OpenSnapshots(dir.Path(SnapshotsDir), st, statesync.SnapshotOptions{
			Interval: cfg.Snapshots.Interval, Keep: cfg.Snapshots.Keep, BytesPerSecond: cfg.Snapshots.Pace,
			Logger: n.log.With("component", "snapshots"),
		}); err != nil {
			return nil, err
		}
	}
	n.pool = mempool.New(mempool.Config{
		ChainID: n.genesis.ChainID, MaxTxs: cfg.Mempool.MaxTxs, MaxPerAccount: cfg.Mempool.MaxPerAccount,
		MaxTxBytes: int(n.genesis.Params.MaxTxBytes), MaxTxGas: n.genesis.Params.BlockGasLimit,
		MinGasPrice: n.genesis.Params.MinGasPrice.Int(), Schedule: sched,
		MaxQueued: cfg.Mempool.MaxQueued, MaxQueuedPerAccount: cfg.Mempool.MaxQueuedPerAccount,
	}, app.Accounts{Chain: n.chain, Logger: n.log})

	if err := n.openConsensus(n.chain.Validators(), addr); err != nil {
		return nil, err
	}

	n.backend = &backend{n: n, subs: map[*rpcSub]struct{}{}}
	n.network = noNetwork{}
	if n.rpc, err = rpc.NewServer(rcfg, n.backend, rpc.NewResultSigner(n.key, n.genesis.ChainID), n.metrics.reg, n.metrics.reg, n.log.With("component", "rpc")); err != nil {
		return nil, err
	}
	if cfg.RPC.uiEnabled(n.dev) {
		dash, err := ui.New(n.backend, ui.Options{Logger: n.log.With("component", "ui"), Genesis: n.genesis})
		if err != nil {
			return nil, err
		}
		n.rpc.Handle(ui.Prefix, dash)
	}
	n.registerGauges()
	return n, nil
}

func (n *Node) openConsensus(vals *types.ValidatorSet, addr types.Address) error {
	var err error
	fo := consensus.FileOptions{NoSync: n.cfg.NoSync}
	if n.wal, err = consensus.OpenWAL(n.dir.Path(WALFile), fo); err != nil {
		return fmt.Errorf("open consensus WAL: %w", err)
	}
	var ccfg consensus.Config
	switch {
	case n.opts.ConsensusConfig != nil:
		ccfg = n.opts.ConsensusConfig(n.genesis.ChainID, vals)
	case vals.Len() == 1:
		ccfg = consensus.DevConfig(n.genesis.ChainID)
	default:
		ccfg = consensus.DefaultConfig(n.genesis.ChainID)
	}
	if n.opts.ConsensusConfig == nil {
		n.cfg.Consensus.apply(&ccfg)
	}
	n.proxy = &netProxy{}
	deps := consensus.Deps{
		App: app.NewApp(n.chain, n.pool, addr, app.AppOptions{
			Logger: n.log.With("component", "app"),
			Observe: func(step string, took time.Duration) {
				n.metrics.blockTime.WithLabelValues(step).Observe(took.Seconds())
			},
		}),
		WAL: n.wal, Broadcaster: n.proxy, Syncer: n.proxy, Logger: n.log.With("component", "consensus"),
	}
	// Every node can sign: consensus signs only at heights whose validator set holds the
	// node key, so a node voted into the set starts signing at the switch height and one
	// voted out goes on as a follower.
	if n.guard, err = consensus.OpenFileGuardStore(n.dir.Path(GuardFile), fo); err != nil {
		return fmt.Errorf("open double-sign guard: %w", err)
	}
	deps.Signer, deps.Guard = consensus.NewKeySigner(n.key), n.guard
	head := n.chain.Head()
	var lastCommit *types.Commit
	if head.Height > 0 {
		if lastCommit, err = n.chain.CommitAt(head.Height); err != nil {
			return fmt.Errorf("last commit: %w", err)
		}
	}
	if n.runner, err = consensus.NewRunner(ccfg, deps, head.Height, lastCommit); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	return nil
}

func (n *Node) registerGauges() {
	n.metrics.gaugeFunc("mempool", "txs", "Transactions in the mempool that can go into the next block.", map[string]string{"state": "pending"},
		func() float64 { p, _ := n.pool.Stats(); return float64(p) })
	n.metrics.gaugeFunc("mempool", "txs", "Transactions in the mempool that can go into the next block.", map[string]string{"state": "queued"},
		func() float64 { _, q := n.pool.Stats(); return float64(q) })
	n.metrics.gaugeFunc("consensus", "round", "Consensus round of the height being decided.", nil,
		func() float64 { return float64(n.runner.Status().Round) })
	n.metrics.gaugeFunc("p2p", "peers", "Connected peers.", nil,
		func() float64 { return float64(len(n.network.Peers())) })
	// Each tx should be recovered once per node, however it arrives (RPC, gossip, block):
	// this count over the txs committed shows whether it is (docs/rationale/localnet.md).
	n.metrics.counterFunc("tx", "sender_recoveries_total", "Tx senders recovered from their signatures by this process.", nil,
		func() float64 { return float64(types.SenderRecoveries()) })
	n.metrics.height.Set(float64(n.chain.Head().Height))
	n.registerNetworkCounters()
}

// networkStats is what a Network with counters (the p2p one) offers to metrics.
type networkStats interface{ Stats() network.Stats }

// registerNetworkCounters exports the p2p network's counters (zero without one, in dev
// mode): gossip verdicts, own tx batches, re-gossip and block sync.
func (n *Node) registerNetworkCounters() {
	stats := func() network.Stats {
		if s, ok := n.network.(networkStats); ok {
			return s.Stats()
		}
		return network.Stats{}
	}
	for _, v := range []struct {
		name, help string
		labels     prometheus.Labels
		get        func(network.Stats) uint64
	}{
		{"gossip_txs_total", "Gossiped transactions, by verdict.", prometheus.Labels{"verdict": "accepted"}, func(s network.Stats) uint64 { return s.TxsAccepted }},
		{"gossip_txs_total", "Gossiped transactions, by verdict.", prometheus.Labels{"verdict": "ignored"}, func(s network.Stats) uint64 { return s.TxsIgnored }},
		{"gossip_txs_total", "Gossiped transactions, by verdict.", prometheus.Labels{"verdict": "rejected"}, func(s network.Stats) uint64 { return s.TxsRejected }},
		{"gossip_consensus_total", "Gossiped consensus messages, by verdict.", prometheus.Labels{"verdict": "accepted"}, func(s network.Stats) uint64 { return s.ConsensusAccepted }},
		{"gossip_consensus_total", "Gossiped consensus messages, by verdict.", prometheus.Labels{"verdict": "ignored"}, func(s network.Stats) uint64 { return s.ConsensusIgnored }},
		{"gossip_consensus_total", "Gossiped consensus messages, by verdict.", prometheus.Labels{"verdict": "rejected"}, func(s network.Stats) uint64 { return s.ConsensusRejected }},
		{"tx_batches_published_total", "Gossip messages of this node's own transactions.", nil, func(s network.Stats) uint64 { return s.TxBatchesPublished }},
		{"txs_regossiped_total", "Transactions gossiped again after waiting in the mempool.", nil, func(s network.Stats) uint64 { return s.TxsRegossiped }},
		{"tx_publish_failed_total", "Own transactions that could not be gossiped.", nil, func(s network.Stats) uint64 { return s.TxPublishFailed }},
		{"blocks_synced_total", "Blocks applied from block sync.", nil, func(s network.Stats) uint64 { return s.BlocksSynced }},
		{"bad_sync_blocks_total", "Blocks from peers that failed verification.", nil, func(s network.Stats) uint64 { return s.BadSyncBlocks }},
	} {
		get := v.get
		n.metrics.counterFunc("p2p", v.name, v.help, v.labels, func() float64 { return float64(get(stats())) })
	}
}

// Start starts the network, consensus and the RPC server, and returns once the RPC
// server listens. The node runs until Close, or until a fatal error closes Done.
func (n *Node) Start(ctx context.Context) error {
	ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if n.opts.Network != nil {
		nw, err := n.opts.Network(ctx, NetworkDeps{Key: n.key, ChainID: n.genesis.ChainID, Config: n.cfg.P2P,
			PeersFile: n.dir.Path(PeersFile), Chain: n.chain, Pool: n.pool, Consensus: n.runner, Logger: n.log.With("component", "p2p"),
			Snapshots: n.snapshotSource(), Penalties: n.syncPenalties})
		if err != nil {
			return fmt.Errorf("start network: %w", err)
		}
		n.network = nw
	}
	n.proxy.set(n.network)

	// Committed blocks: metrics and RPC subscriptions.
	blocks := make(chan *chain.BlockEvent, 1024)
	unsubscribe := n.chain.Subscribe(blocks)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer unsubscribe()
		for {
			select {
			case ev := <-blocks:
				n.metrics.observeCommitted(ev)
				if n.snaps != nil {
					n.snaps.Committed(ctx, ev.Block.Height())
				}
				n.backend.publish(ev)
				n.log.Debug("block committed", "height", ev.Block.Height(), "txs", len(ev.Block.Txs), "hash", ev.Hash)
			case <-ctx.Done():
				return
			}
		}
	}()

	// Accepted txs wake consensus up (the network gossips them from its own subscription).
	txs, unsubTxs := n.pool.Subscribe(4096)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer unsubTxs()
		for {
			select {
			case _, ok := <-txs:
				if !ok {
					return
				}
				n.runner.TxsAvailable()
			case <-ctx.Done():
				return
			}
		}
	}()

	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.runner.Run(ctx); err != nil {
			n.fail(fmt.Errorf("consensus stopped: %w", err))
		}
	}()
	if n.pool.HasPending() {
		n.runner.TxsAvailable()
	}

	if err := n.rpc.Start(); err != nil {
		n.cancel()
		n.wg.Wait()
		return err
	}
	n.ready.Store(true)
	head := n.chain.Head()
	n.log.Info("node started", "chain", n.genesis.ChainID, "height", head.Height, "validator", n.Validator(),
		"node", crypto.PubkeyToAddress(n.key.PublicKey), "rpc", "http://"+n.rpc.Addr(), "datadir", n.cfg.DataDir)
	if n.cfg.RPC.uiEnabled(n.dev) {
		n.log.Info("dashboard", "url", "http://"+n.rpc.Addr()+ui.Prefix)
	}
	return nil
}

// fail records a fatal error and closes Done.
func (n *Node) fail(err error) {
	n.errOnce.Do(func() {
		n.err = err
		n.log.Error("node failed", "err", err)
		close(n.done)
	})
}

// Done is closed when the node stops by itself after a fatal error (see Err).
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is the fatal error that closed Done, or nil.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

func (n *Node) health() error {
	switch {
	case n.stopping.Load():
		return fmt.Errorf("%w: shutting down", rpc.ErrNotReady)
	case !n.ready.Load():
		return fmt.Errorf("%w: starting", rpc.ErrNotReady)
	}
	if err := n.Err(); err != nil {
		return fmt.Errorf("%w: %v", rpc.ErrNotReady, err)
	}
	return nil
}

// Close stops the node gracefully: the RPC server stops taking requests (transactions
// included) and finishes those in flight, consensus finishes the block it is committing
// and stops, the network disconnects, then the WAL, the VM and the database are closed
// (Pebble flushes). It waits at most until ctx is done for requests in flight. It is
// idempotent.
func (n *Node) Close(ctx context.Context) error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.stopping.Store(true)
	var errs []error
	if n.rpc != nil {
		if err := n.rpc.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close rpc: %w", err))
		}
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.network != nil {
		if err := n.network.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close network: %w", err))
		}
	}
	errs = append(errs, n.closeParts())
	n.log.Info("node stopped", "height", n.headHeight())
	return errors.Join(errs...)
}

func (n *Node) headHeight() uint64 {
	if n.chain == nil {
		return 0
	}
	return n.chain.Head().Height
}

// closeParts closes what New opened, in reverse order.
func (n *Node) closeParts() error {
	var errs []error
	if n.snaps != nil {
		n.snaps.Wait() // its context is cancelled: it stops reading the database
	}
	if n.guard != nil {
		errs = append(errs, n.guard.Close())
		n.guard = nil
	}
	if n.wal != nil {
		errs = append(errs, n.wal.Close())
		n.wal = nil
	}
	for _, m := range []**vm.VM{&n.machine, &n.readVM} {
		if *m != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, (*m).Close(ctx))
			cancel()
			*m = nil
		}
	}
	if n.db != nil {
		errs = append(errs, n.db.Close())
		n.db = nil
	}
	return errors.Join(errs...)
}

// Accessors for tests and tools.

// RPCAddr is the RPC server's listen address (resolved after Start).
func (n *Node) RPCAddr() string { return n.rpc.Addr() }

// Chain is the node's chain.
func (n *Node) Chain() *chain.Chain { return n.chain }

// Snapshots are the state snapshots the node takes and serves; nil without
// Config.Snapshots.Enabled.
func (n *Node) Snapshots() *statesync.Snapshots { return n.snaps }

// Pool is the node's mempool.
func (n *Node) Pool() *mempool.Pool { return n.pool }

// Genesis is the node's genesis.
func (n *Node) Genesis() *genesis.Genesis { return n.genesis }

// Address is the node key's address: its validator address and result signer.
func (n *Node) Address() types.Address { return crypto.PubkeyToAddress(n.key.PublicKey) }

// DataDir is the node's data dir.
func (n *Node) DataDir() string { return filepath.Clean(n.cfg.DataDir) }

// Dev reports whether the node runs a development chain.
func (n *Node) Dev() bool { return n.dev }

// Validator reports whether the node key is in the validator set of the next height.
func (n *Node) Validator() bool {
	_, ok := n.chain.Validators().Index(n.Address())
	return ok
}

// P2P is the node's p2p network, or nil without one (a single dev node, or a Network
// factory of one's own).
func (n *Node) P2P() *network.Network {
	if a, ok := n.network.(p2pAdapter); ok {
		return a.n
	}
	return nil
}

// PeerID is the node's libp2p peer ID, or "" without a network (a single dev node).
func (n *Node) PeerID() string { return n.network.PeerID() }

// P2PAddrs are the multiaddrs (with /p2p/<id>) at which peers reach the node: what
// they give as --bootnodes. None without a network.
func (n *Node) P2PAddrs() []string { return n.network.ListenAddrs() }

// dbMemTableSize bounds a node's Pebble memtables (state.PebbleOptions has 16 MiB, for
// the state's commit benchmarks on 10^6 keys). Pebble grows each new memtable from 256
// KiB by doubling up to the bound and keeps the full one it flushed for reuse, both in
// C memory: a node busy for a while holds a full memtable and a filling one (at 1,000
// tx/s, 7.3 + 0.7 MiB resident). A node writes ~570 bytes per counter tx, so at 1,000
// tx/s an 8 MiB memtable fills in ~15 s, and a block of 5,000 txs (~2.9 MB) still
// commits below Pebble's large-batch threshold (half the memtable). 4 MiB took 4-6 MB
// off a node's peak RSS at 1,000 tx/s but cost 14-16 % more CPU per tx at 4,000 in
// flight (session 7, as in session 6). docs/rationale/node.md.
const dbMemTableSize = 8 << 20

// openDB opens the node's Pebble database in dir: state.PebbleOptions with memtables of
// dbMemTableSize.
func openDB(dir string) (*pebble.DB, error) {
	o := state.PebbleOptions(nil)
	defer o.Cache.Unref()
	o.MemTableSize = dbMemTableSize
	db, err := pebble.Open(dir, o)
	if err != nil {
		return nil, fmt.Errorf("open pebble %s: %w", dir, err)
	}
	return db, nil
}
