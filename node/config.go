package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/rpc"
)

// Config is a node's configuration. It comes, by increasing precedence, from the
// defaults (DefaultConfig), the optional <datadir>/config.toml, WNODE_* environment
// variables and command-line flags (the last two are applied by cmd/wnode).
type Config struct {
	// DataDir holds everything the node keeps (see the package documentation).
	DataDir string `toml:"datadir"`
	// Dev runs a single-validator development chain with a funded, publicly known account.
	Dev bool `toml:"dev"`
	// Genesis is a genesis file to initialise an empty data dir with (copied to
	// <datadir>/genesis.json). Ignored when the data dir is initialised.
	Genesis string `toml:"genesis"`

	RPC       RPCConfig       `toml:"rpc"`
	P2P       P2PConfig       `toml:"p2p"`
	Mempool   MempoolConfig   `toml:"mempool"`
	Consensus ConsensusConfig `toml:"consensus"`
	Log       LogConfig       `toml:"log"`
	// StateHistory is how many of the latest heights keep their state: readable and
	// provable (wn_getProof, wn_callWitness). 0 means state.DefaultKeepVersions (256).
	StateHistory uint64 `toml:"state_history"`
	// NoSync turns off fsync of the database, consensus WAL and guard: faster, but a
	// machine crash can lose or corrupt recent blocks. For tests and benchmarks only.
	NoSync bool `toml:"nosync"`
	// ExecWorkers is the number of goroutines executing a block's transactions (chain.Options.ExecWorkers):
	// 0 or 1 executes them in order (the default), more in parallel with the same results.
	// See docs/rationale/parallel-exec.md for when it pays.
	ExecWorkers int `toml:"exec_workers"`
	// Snapshots makes the node take state snapshots and serve them to joining nodes.
	Snapshots SnapshotsConfig `toml:"snapshots"`
	// StateSync makes a node with no state yet join from a peer's snapshot.
	StateSync StateSyncConfig `toml:"state_sync"`
}

// SnapshotsConfig configures the snapshots a node takes (package statesync): off unless
// Enabled.
type SnapshotsConfig struct {
	Enabled bool `toml:"enabled"`
	// Interval: a snapshot of every height that is a multiple of it (0:
	// statesync.DefaultInterval, 1000).
	Interval uint64 `toml:"interval"`
	// Keep is how many snapshots are kept, the newest (0: statesync.DefaultKeep, 2).
	Keep int `toml:"keep"`
	// Pace is the bytes a second a snapshot is exported at (0:
	// statesync.DefaultBytesPerSecond, 2 MiB; negative: unpaced; at least
	// statesync.MinBytesPerSecond, 64 KiB), so that taking one leaves block execution
	// most of a core (docs/rationale/statesync.md).
	Pace int `toml:"pace"`
}

// StateSyncConfig configures the join by state sync: when Enabled and the node has no
// state, it restores the state of a snapshot offered by its peers, checked against a
// header certified by the genesis validators (and by TrustHash when given), then
// block-syncs the rest. A node that already has state ignores it.
type StateSyncConfig struct {
	Enabled bool `toml:"enabled"`
	// TrustHeight and TrustHash pin the chain: the header at TrustHeight must hash to
	// TrustHash (0x hex), and the snapshot is at TrustHeight or above.
	TrustHeight uint64 `toml:"trust_height"`
	TrustHash   string `toml:"trust_hash"`
	// Discovery is how long offers are gathered (0: 10 s); Timeout bounds the whole
	// state sync (0: 30 min).
	Discovery time.Duration `toml:"discovery"`
	Timeout   time.Duration `toml:"timeout"`
}

// RPCConfig configures the RPC server (see rpc.Config).
type RPCConfig struct {
	Addr           string        `toml:"addr"`     // listen address; default 127.0.0.1:8545
	CORS           []string      `toml:"cors"`     // origins allowed on JSON-RPC; default none
	FnCORS         []string      `toml:"fn_cors"`  // origins allowed on /fn/; default "*"
	GasCap         uint64        `toml:"gas_cap"`  // gas cap of calls; default 50,000,000
	RequestTimeout time.Duration `toml:"timeout"`  // per request; default 10s
	BodyLimit      int           `toml:"body_max"` // bytes; default 5 MiB
	BatchLimit     int           `toml:"batch_max"`
	WSOrigins      []string      `toml:"ws_origins"` // origins allowed on WebSocket; default none

	// Admission control of /fn/, wn_call and wn_estimateGas (zero: rpc's defaults).
	ExecSlots      int           `toml:"exec_slots"`       // running at once; default GOMAXPROCS/2
	ExecQueue      int           `toml:"exec_queue"`       // waiting; default max(8, 4 x slots)
	ExecQueueWait  time.Duration `toml:"exec_queue_wait"`  // default 250ms
	ExecPerClient  int           `toml:"exec_per_client"`  // running + waiting per client
	ExecTimeBudget time.Duration `toml:"exec_time_budget"` // per execution; default 2s
	ClientHeader   string        `toml:"client_header"`    // trusted proxy header naming the client
	ExecShare      float64       `toml:"exec_share"`       // share of a slot's processor; default 0.5
	SubsPerConn    int           `toml:"subs_per_conn"`    // default 32
	SubsTotal      int           `toml:"subs_total"`       // default 2048
	FnCache        int           `toml:"fn_cache"`         // /fn/ answers kept per head; default 1024, -1 off

	// UI serves the dashboard at /ui/ (package ui). nil: on for dev chains (`wnode start
	// --dev`, `wnode localnet`), off otherwise.
	UI *bool `toml:"ui"`
}

// uiEnabled says whether the node serves the dashboard on a chain that is (or not) a
// dev chain.
func (c RPCConfig) uiEnabled(dev bool) bool {
	if c.UI != nil {
		return *c.UI
	}
	return dev
}

// P2PConfig configures networking. A dev node that is its chain's only validator
// (`wnode start --dev`) does not network; every other node does.
type P2PConfig struct {
	Listen    []string `toml:"listen"`    // multiaddrs
	Bootnodes []string `toml:"bootnodes"` // multiaddrs with /p2p/<id>
	MDNS      bool     `toml:"mdns"`
	// TargetPeers is how many peers the node keeps by peer exchange (0: the default,
	// p2p.DefaultTargetPeers; negative: only bootnodes and mDNS).
	TargetPeers int `toml:"target_peers"`
}

// MempoolConfig bounds the mempool (zero: the mempool's defaults).
type MempoolConfig struct {
	MaxTxs        int `toml:"max_txs"`
	MaxPerAccount int `toml:"max_per_account"`
	// MaxQueued and MaxQueuedPerAccount bound the txs waiting behind a nonce gap.
	MaxQueued           int `toml:"max_queued"`
	MaxQueuedPerAccount int `toml:"max_queued_per_account"`
}

// ConsensusConfig overrides consensus timing (see consensus.Config for what each value
// does). A zero value keeps the default: consensus.DevConfig on a chain of one
// validator, consensus.DefaultConfig otherwise. Every validator of a network should use
// the same values; shorter timeouts suit loopback test networks (wnode localnet), longer
// ones slow links.
type ConsensusConfig struct {
	TimeoutPropose        time.Duration `toml:"timeout_propose"`
	TimeoutProposeDelta   time.Duration `toml:"timeout_propose_delta"`
	TimeoutPrevote        time.Duration `toml:"timeout_prevote"`
	TimeoutPrevoteDelta   time.Duration `toml:"timeout_prevote_delta"`
	TimeoutPrecommit      time.Duration `toml:"timeout_precommit"`
	TimeoutPrecommitDelta time.Duration `toml:"timeout_precommit_delta"`
	MinBlockInterval      time.Duration `toml:"min_block_interval"`
	Heartbeat             time.Duration `toml:"heartbeat"`
	RebroadcastInterval   time.Duration `toml:"rebroadcast_interval"`
}

// apply sets the non-zero values of c in cc.
func (c ConsensusConfig) apply(cc *consensus.Config) {
	set := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	set(&cc.TimeoutPropose, c.TimeoutPropose)
	set(&cc.TimeoutProposeDelta, c.TimeoutProposeDelta)
	set(&cc.TimeoutPrevote, c.TimeoutPrevote)
	set(&cc.TimeoutPrevoteDelta, c.TimeoutPrevoteDelta)
	set(&cc.TimeoutPrecommit, c.TimeoutPrecommit)
	set(&cc.TimeoutPrecommitDelta, c.TimeoutPrecommitDelta)
	set(&cc.MinBlockInterval, c.MinBlockInterval)
	set(&cc.Heartbeat, c.Heartbeat)
	set(&cc.RebroadcastInterval, c.RebroadcastInterval)
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn or error; default info
	Format string `toml:"format"` // text or json; default text
}

// DefaultDataDir is ~/.wnode (./.wnode when the home directory is unknown).
func DefaultDataDir() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ".wnode"
	}
	return filepath.Join(home, ".wnode")
}

// DefaultConfig returns the defaults: ~/.wnode, RPC on 127.0.0.1:8545, info logs.
func DefaultConfig() Config {
	return Config{
		DataDir: DefaultDataDir(),
		RPC:     RPCConfig{Addr: rpc.DefaultAddr},
		Log:     LogConfig{Level: "info", Format: "text"},
	}
}

// ConfigFileName is the optional configuration file inside the data dir.
const ConfigFileName = "config.toml"

// LoadConfigFile reads a TOML configuration file over cfg: keys present in the file
// replace cfg's values, others are kept. A missing file is not an error (found=false);
// unknown keys are, so that a typo does not go unnoticed.
func LoadConfigFile(path string, cfg *Config) (found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read config: %w", err)
	}
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		return true, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return true, fmt.Errorf("config %s: unknown key %q", path, und[0].String())
	}
	return true, nil
}

// rpcConfig converts the node's RPC settings.
func (c *Config) rpcConfig() rpc.Config {
	return rpc.Config{
		Addr: c.RPC.Addr, CORSOrigins: c.RPC.CORS, FnCORSOrigins: c.RPC.FnCORS, BodyLimit: c.RPC.BodyLimit,
		BatchLimit: c.RPC.BatchLimit, RequestTimeout: c.RPC.RequestTimeout, GasCap: c.RPC.GasCap,
		WSOrigins: c.RPC.WSOrigins, ExecSlots: c.RPC.ExecSlots, ExecQueue: c.RPC.ExecQueue,
		ExecQueueWait: c.RPC.ExecQueueWait, ExecPerClient: c.RPC.ExecPerClient,
		ExecTimeBudget: c.RPC.ExecTimeBudget, ClientHeader: c.RPC.ClientHeader, ExecShare: c.RPC.ExecShare,
		SubsPerConn: c.RPC.SubsPerConn, SubsTotal: c.RPC.SubsTotal, FnCache: c.RPC.FnCache,
	}
}
