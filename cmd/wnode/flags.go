package main

import (
	"reflect"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/statesync"
)

// Every flag of wnode, in one place, grouped by category. Each can also be set from an
// environment variable, which setEnvVars derives from its name in one loop (see envVar):
// the variables are not written here, so none can be missing or misspelled. For
// `start`, a flag not given on the command line nor in the environment takes its value
// from <datadir>/config.toml when that file sets it.

const (
	catNode    = "NODE"
	catRPC     = "RPC SERVER"
	catP2P     = "NETWORK"
	catLog     = "LOGGING"
	catClient  = "CLIENT"
	catTx      = "TRANSACTION"
	catArgs    = "ARGUMENTS"
	catAccount = "ACCOUNTS"
	catProject = "PROJECT"
	catVerify  = "VERIFICATION"

	// Categories of flags that only one command has: their environment variables carry
	// the command's name (envScope), so that `wnode genesis new --out` and `wnode call
	// --out`, or `wnode localnet --datadir` and `wnode start --datadir`, do not share one.
	catLocalnet = "LOCALNET"
	catGenesis  = "GENESIS"
	catBench    = "BENCHMARK"
)

// envScope is what a category adds after WNODE_ in its flags' environment variables.
var envScope = map[string]string{catLocalnet: "LOCALNET_", catGenesis: "GENESIS_", catBench: "BENCH_"}

// legacyEnv are environment variables that predate the rule and still work, after the
// derived one.
var legacyEnv = map[cli.Flag][]string{localnetDirFlag: {"WNODE_LOCALNET_DIR"}}

var (
	// Node.
	dataDirFlag = &cli.StringFlag{Name: "datadir", Category: catNode,
		Value: node.DefaultDataDir(), Usage: "data directory: keys, database, genesis, config.toml"}
	devFlag = &cli.BoolFlag{Name: "dev", Category: catNode,
		Usage: "development chain: one validator (this node), a funded public dev account, blocks as soon as txs arrive"}
	genesisFlag = &cli.StringFlag{Name: "genesis", Category: catNode,
		Usage: "genesis file to initialise an empty data dir with"}
	configFlag = &cli.StringFlag{Name: "config", Category: catNode,
		Usage: "TOML config file (default <datadir>/config.toml, if present)"}

	// RPC server.
	rpcAddrFlag = &cli.StringFlag{Name: "rpc.addr", Category: catRPC,
		Value: rpc.DefaultAddr, Usage: "listen address of JSON-RPC (HTTP and WebSocket), /fn/, /metrics and /health"}
	rpcCORSFlag = &cli.StringSliceFlag{Name: "rpc.cors", Aliases: []string{"rpc.corsdomain"}, Category: catRPC,
		Usage: "browser origins allowed on JSON-RPC over HTTP (comma-separated, \"*\" for any; default none)"}
	rpcWSOriginsFlag = &cli.StringSliceFlag{Name: "rpc.wsorigins", Category: catRPC,
		Usage: "browser origins allowed to open a JSON-RPC WebSocket (comma-separated, \"*\" for any; default none)"}
	rpcFnCacheFlag = &cli.IntFlag{Name: "rpc.fn.cache", Category: catRPC,
		Usage: "/fn/ answers kept to be served again while the head stays at their height (default 1024; -1: off)"}
	rpcExecSlotsFlag = &cli.IntFlag{Name: "rpc.exec.slots", Category: catRPC,
		Usage: "read-only executions (/fn/, wn_call, wn_estimateGas) running at once (default half the CPUs, at least 1)"}
	rpcExecQueueFlag = &cli.IntFlag{Name: "rpc.exec.queue", Category: catRPC,
		Usage: "executions waiting for a slot before new ones get 503 (default max(8, 4 x slots))"}
	rpcExecWaitFlag = &cli.DurationFlag{Name: "rpc.exec.wait", Category: catRPC,
		Value: rpc.DefaultExecQueueWait, Usage: "longest wait for an execution slot before 503"}
	rpcExecPerClientFlag = &cli.IntFlag{Name: "rpc.exec.perclient", Category: catRPC,
		Usage: "executions one client may run and wait for together before 429 (default max(2, (slots + queue)/2))"}
	rpcExecBudgetFlag = &cli.DurationFlag{Name: "rpc.exec.budget", Category: catRPC,
		Value: rpc.DefaultExecTimeBudget, Usage: "time budget of one execution, besides its gas"}
	rpcExecShareFlag = &cli.Float64Flag{Name: "rpc.exec.share", Category: catRPC,
		Value: rpc.DefaultExecShare, Usage: "share of each slot's processor read-only work may use, in (0, 1]: after an execution the slot rests in proportion"}
	rpcClientHeaderFlag = &cli.StringFlag{Name: "rpc.clientheader", Category: catRPC,
		Usage: "header of a trusted reverse proxy naming the client (its last value), e.g. X-Forwarded-For; default: the remote IP"}
	rpcSubsPerConnFlag = &cli.IntFlag{Name: "rpc.subs.perconn", Category: catRPC,
		Value: rpc.DefaultSubsPerConn, Usage: "subscriptions per WebSocket connection"}
	rpcSubsTotalFlag = &cli.IntFlag{Name: "rpc.subs.total", Category: catRPC,
		Value: rpc.DefaultSubsTotal, Usage: "subscriptions of the whole server"}
	fnCORSFlag = &cli.StringSliceFlag{Name: "fn.cors", Category: catRPC,
		Usage: "browser origins allowed on the /fn/ gateway (default \"*\")"}
	rpcGasCapFlag = &cli.Uint64Flag{Name: "rpc.gascap", Category: catRPC,
		Value: gas.DefaultCallCap, Usage: "most gas a call or estimate may use"}
	rpcTimeoutFlag = &cli.DurationFlag{Name: "rpc.timeout", Category: catRPC,
		Value: rpc.DefaultRequestTimeout, Usage: "time limit of one request"}
	uiFlag = &cli.BoolFlag{Name: "ui", Category: catRPC, DefaultText: "on for dev chains (--dev, localnet), off otherwise",
		Usage: "serve the read-only dashboard at /ui/ on the RPC address (--ui=false turns it off)"}

	// Network.
	p2pListenFlag = &cli.StringSliceFlag{Name: "p2p.listen", Category: catP2P,
		Usage: "p2p listen multiaddrs (not used by --dev)"}
	bootnodesFlag = &cli.StringSliceFlag{Name: "bootnodes", Category: catP2P,
		Usage: "peers to connect to, multiaddrs with /p2p/<id> (not used by --dev)"}
	p2pTargetPeersFlag = &cli.IntFlag{Name: "p2p.target-peers", Category: catP2P, Value: p2p.DefaultTargetPeers,
		Usage: "peers to keep: below it the node asks its peers for theirs and dials them (negative: only bootnodes and mDNS)"}

	// Logging.
	logLevelFlag = &cli.StringFlag{Name: "log.level", Category: catLog,
		Value: "info", Usage: "debug, info, warn or error"}
	logFormatFlag = &cli.StringFlag{Name: "log.format", Category: catLog,
		Value: "text", Usage: "text or json"}
	execWorkersFlag = &cli.IntFlag{Name: "exec.workers", Category: catNode, Value: 1,
		Usage: "goroutines executing a block's transactions: 1 in order, more in parallel with the same results (docs/rationale/parallel-exec.md)"}
	snapshotsFlag = &cli.BoolFlag{Name: "snapshots", Category: catNode,
		Usage: "take state snapshots every --snapshot.interval blocks and serve them to nodes joining by state sync"}
	snapshotIntervalFlag = &cli.Uint64Flag{Name: "snapshot.interval", Category: catNode, Value: statesync.DefaultInterval,
		Usage: "with --snapshots: snapshot the state at every height that is a multiple of this"}
	snapshotKeepFlag = &cli.IntFlag{Name: "snapshot.keep", Category: catNode, Value: statesync.DefaultKeep,
		Usage: "with --snapshots: how many snapshots to keep, the newest"}
	snapshotPaceFlag = &cli.IntFlag{Name: "snapshot.pace", Category: catNode, Value: statesync.DefaultBytesPerSecond,
		Usage: "with --snapshots: bytes a second a snapshot is written at, so that it leaves block execution most of a core (at least 65536; -1: unpaced; 0: the default)"}
	stateSyncFlag = &cli.BoolFlag{Name: "state-sync", Category: catNode,
		Usage: "join from a peer's state snapshot instead of replaying every block (only when the data dir has no state yet)"}
	stateSyncTrustHeightFlag = &cli.Uint64Flag{Name: "state-sync.trust-height", Category: catNode,
		Usage: "with --state-sync: a height whose header hash you trust (--state-sync.trust-hash); the snapshot is at or above it"}
	stateSyncTrustHashFlag = &cli.StringFlag{Name: "state-sync.trust-hash", Category: catNode,
		Usage: "with --state-sync: the 0x hash of the header at --state-sync.trust-height"}
	pprofFlag = &cli.StringFlag{Name: "pprof", Category: catLog,
		Usage: "serve Go's profiler (net/http/pprof, /debug/pprof/) on this address, e.g. 127.0.0.1:6060 (default off)"}

	// Client.
	rpcURLFlag = &cli.StringFlag{Name: "rpc", Category: catClient,
		Value: "http://" + rpc.DefaultAddr, Usage: "URL of the node (http://, ws://)"}
	fromFlag = &cli.StringFlag{Name: "from", Category: catClient,
		Usage: "sender: an address in the keystore, a key file (keystore JSON or hex), or \"dev\" (default on a dev chain: the dev account)"}
	passwordFileFlag = &cli.StringFlag{Name: "password-file", Category: catClient,
		Usage: "file holding the keystore password (or set WNODE_PASSWORD; prompted on a terminal)"}
	jsonFlag = &cli.BoolFlag{Name: "json", Category: catClient,
		Usage: "print machine-readable JSON"}
	timeoutFlag = &cli.DurationFlag{Name: "timeout", Category: catClient,
		Value: time.Minute, Usage: "give up after this long (sending and waiting for the receipt)"}
	outFlag = &cli.StringFlag{Name: "out", Category: catClient,
		Value: "auto", Usage: "how to print a contract's output: auto (text if printable, else hex), text, hex or u64 (8-byte big-endian integer)"}
	signerFlag = &cli.StringFlag{Name: "signer", Category: catClient,
		Usage: "only accept answers signed by this node address"}

	// Transaction.
	valueFlag = &cli.StringFlag{Name: "value", Category: catTx,
		Usage: "native coin to send with the tx, in base units (e.g. 1000, 1e18)"}
	gasFlag = &cli.Uint64Flag{Name: "gas", Category: catTx,
		Usage: "gas limit (default: estimated, +25%; giving it skips the estimate, so a failing tx is sent anyway)"}
	gasPriceFlag = &cli.StringFlag{Name: "gas-price", Category: catTx,
		Usage: "gas price in base units (default: the node's minimum)"}
	nonceFlag = &cli.Uint64Flag{Name: "nonce", Category: catTx,
		Usage: "nonce (default: the sender's next, counting its pending txs)"}

	// Arguments.
	hexFlag = &cli.BoolFlag{Name: "hex", Category: catArgs,
		Usage: "the ARGS are 0x-prefixed hex bytes, not UTF-8 text"}
	argsFileFlag = &cli.StringFlag{Name: "args-file", Category: catArgs,
		Usage: "read the argument bytes from this file (\"-\": standard input)"}
	deployArgsFlag = &cli.StringFlag{Name: "args", Category: catArgs,
		Usage: "argument of the contract's init (text; with --hex, hex)"}
	heightFlag = &cli.StringFlag{Name: "height", Category: catClient,
		Value: "latest", Usage: "block whose state to read: latest or a number"}
	fullFlag  = &cli.BoolFlag{Name: "full", Category: catClient, Usage: "print whole transactions"}
	powerFlag = &cli.Uint64Flag{Name: "power", Category: catTx,
		Usage: "voting power of the validator to add (at most 1/3 of the current total may change in one proposal)"}

	// Verification (--verify, wnode verify).
	verifyFlag = &cli.BoolFlag{Name: "verify", Category: catVerify,
		Usage: "check the answer by its proofs and the block's commit certificate against the trust root (--genesis or --validators-hash), trusting nothing the node says; exit 1 with the reason when it does not verify"}
	trustGenesisFlag = &cli.StringFlag{Name: "genesis", Category: catVerify,
		Usage: "trust root of verification: the chain's genesis file (e.g. <datadir>/genesis.json)"}
	trustValidatorsFlag = &cli.StringFlag{Name: "validators-hash", Category: catVerify,
		Usage: "trust root of verification instead of --genesis: the hash of the chain's validator set (0x…); the chain id is then the one that set signed"}
	trustChainIDFlag = &cli.Uint64Flag{Name: "chain-id", Category: catVerify,
		Usage: "with --validators-hash: the chain id answers must be signed for (default: the one the set signed)"}
	maxAgeFlag = &cli.DurationFlag{Name: "max-age", Category: catVerify,
		Usage: "refuse a verified answer whose block is older than this (default: any age)"}
	trustStoreFlag = &cli.StringFlag{Name: "trust-store", Category: catVerify,
		Usage: "with --genesis: the file where the light client keeps the heights it verified, to start from them next time (default: <dir of the genesis file>/light/trust-CHAINID-ROOT.json; off: keep none)"}
	trustHeightFlag = &cli.Uint64Flag{Name: "trust-height", Category: catVerify,
		Usage: "with --genesis and --trust-hash: trust the chain from this height instead of the genesis (its header, fetched from the node, must hash to --trust-hash)"}
	trustHashFlag = &cli.StringFlag{Name: "trust-hash", Category: catVerify,
		Usage: "the hash (0x…) of the header at --trust-height, from a source you trust"}
	trustingPeriodFlag = &cli.DurationFlag{Name: "trusting-period", Category: catVerify,
		Usage: "with --genesis: trust no header from a trusted height older than this (default: no limit)"}
	saveFlag = &cli.StringFlag{Name: "save", Category: catVerify,
		Usage: "with --verify: also write the answer's bundle (JSON) to this file, for `wnode verify`"}

	// Accounts.
	lightKDFFlag = &cli.BoolFlag{Name: "lightkdf", Category: catAccount,
		Usage: "encrypt new keys with light scrypt parameters (fast, weak: tests only)"}
	// Project (wnode new).
	langFlag = &cli.StringFlag{Name: "lang", Category: catProject, Value: "as",
		Usage: "the contract's language: as (AssemblyScript), rust or c"}

	// Localnet (wnode localnet).
	localnetNodesFlag = &cli.IntFlag{Name: "nodes", Aliases: []string{"n"}, Category: catLocalnet,
		Value: 4, Usage: "validators (when creating the network; an existing one keeps its own)"}
	localnetDirFlag = &cli.StringFlag{Name: "datadir", Category: catLocalnet,
		Value: defaultLocalnetDir(), Usage: "directory of the network: genesis, node0 … nodeN-1 data dirs, logs"}
	localnetBasePortFlag = &cli.IntFlag{Name: "base-port", Category: catLocalnet,
		Value: node.DefaultLocalnetBasePort, Usage: "node i serves RPC on base-port+i and p2p on base-port+nodes+i (when creating)"}
	localnetInitFlag = &cli.BoolFlag{Name: "init", Category: catLocalnet,
		Usage: "create the network's directory and exit without starting it"}
	localnetPprofFlag = &cli.IntFlag{Name: "pprof-base-port", Category: catLocalnet,
		Usage: "node i serves Go's profiler on 127.0.0.1:pprof-base-port+i (default off)"}
	// Consensus timing written into every node's config.toml when the network is created.
	localnetTimeoutProposeFlag = &cli.DurationFlag{Name: "consensus.timeout-propose", Category: catLocalnet,
		Usage: "wait for a proposal in round 0, +50% per round (default 1s; when creating)"}
	localnetTimeoutVoteFlag = &cli.DurationFlag{Name: "consensus.timeout-vote", Category: catLocalnet,
		Usage: "wait for more prevotes and precommits after 2/3+ of any, +50% per round (default 500ms; when creating)"}
	localnetHeartbeatFlag = &cli.DurationFlag{Name: "consensus.heartbeat", Category: catLocalnet,
		Usage: "empty block period when no tx is pending (default 2s; when creating)"}
	localnetBlockIntervalFlag = &cli.DurationFlag{Name: "consensus.block-interval", Category: catLocalnet,
		Usage: "minimum time between blocks (default 30ms, 1ms for one validator; when creating)"}
	localnetRebroadcastFlag = &cli.DurationFlag{Name: "consensus.rebroadcast", Category: catLocalnet,
		Usage: "re-send period of a validator's current messages (default 1s; when creating)"}

	// Genesis (wnode genesis new).
	genesisChainIDFlag = &cli.Uint64Flag{Name: "chain-id", Category: catGenesis, Required: true,
		Usage: "chain id (not the dev chain's)"}
	genesisValidatorFlag = &cli.StringSliceFlag{Name: "validator", Category: catGenesis,
		Usage: "validator PUBKEY[:POWER] (33-byte compressed hex; power 10 by default); repeat"}
	genesisFundFlag = &cli.StringSliceFlag{Name: "fund", Category: catGenesis,
		Usage: "funded account ADDRESS=AMOUNT (base units); repeat"}
	genesisOutFlag = &cli.StringFlag{Name: "out", Category: catGenesis,
		Usage: "write to this file instead of standard output"}

	// Benchmarks (wnode bench, bench fn, bench tx). The load's --rpc takes a list.
	loadRPCFlag = &cli.StringSliceFlag{Name: "rpc", Category: catClient,
		Usage: "the nodes' URLs, comma-separated (default http://127.0.0.1:8545)"}
	loadLocalnetFlag = &cli.StringFlag{Name: "localnet", Category: catClient,
		Usage: "load every node of the localnet in this directory (instead of --rpc)"}
	loadRateFlag = &cli.Float64Flag{Name: "rate", Category: catBench,
		Usage: "open loop: transactions per second offered (0: closed loop)"}
	loadDurationFlag = &cli.DurationFlag{Name: "duration", Category: catBench, Value: 10 * time.Second,
		Usage: "open loop: how long to offer --rate; closed loop: how long each step lasts"}
	loadInFlightFlag = &cli.IntSliceFlag{Name: "inflight", Category: catBench,
		Usage: "closed loop: transactions in flight per step (default 250,500,1000,2000,4000,8000: stop after two steps in a row without 5% more tx/s)"}
	loadSendersFlag = &cli.IntFlag{Name: "senders", Category: catBench, Value: 1000,
		Usage: "funded accounts sending the increments"}
	loadTxsFlag = &cli.IntFlag{Name: "txs", Category: catBench, Value: 60_000,
		Usage: "closed loop: transactions signed in advance (the run ends when they are used up)"}
	loadTickFlag = &cli.DurationFlag{Name: "tick", Category: catBench, Value: 5 * time.Millisecond,
		Usage: "submission period: each tick sends one batch per node"}
	benchConcurrencyFlag = &cli.IntFlag{Name: "concurrency", Category: catBench, Value: 8, Usage: "concurrent clients"}
	benchDurationFlag    = &cli.DurationFlag{Name: "duration", Category: catBench, Value: 5 * time.Second, Usage: "how long to load the node"}
	benchWasmFlag        = &cli.StringFlag{Name: "wasm", Category: catBench, Usage: "contract to deploy for the benchmark (default: the example's .wasm)"}
	benchContractFlag    = &cli.StringFlag{Name: "contract", Category: catBench, Usage: "use this deployed contract instead of deploying one"}
	benchMethodFlag      = &cli.StringFlag{Name: "method", Category: catBench, Value: "hello", Usage: "method to call"}
	benchInputFlag       = &cli.StringFlag{Name: "input", Category: catBench, Value: "world", Usage: "input of each call (text)"}
	benchSamplesFlag     = &cli.IntFlag{Name: "samples", Category: catBench, Value: 200, Usage: "sequential transactions timed from submit to receipt"}
	benchTxsFlag         = &cli.IntFlag{Name: "txs", Category: catBench, Value: 2000, Usage: "transactions of the throughput run"}
	benchSendersFlag     = &cli.IntFlag{Name: "senders", Category: catBench, Value: 4, Usage: "accounts sending in parallel in the throughput run (funded by --from)"}
	benchWindowFlag      = &cli.IntFlag{Name: "window", Category: catBench, Value: 256, Usage: "most transactions in flight per sender"}
	spinClientsFlag      = &cli.IntSliceFlag{Name: "clients", Category: catBench, Value: cli.NewIntSlice(0, 16, 64), Usage: "spinning clients at each step (the first is the baseline)"}
	spinPoliteFlag       = &cli.BoolFlag{Name: "polite", Category: catBench, Usage: "refused spinning clients wait as Retry-After says (default: retry at once, as a hostile client)"}
	spinDistinctFlag     = &cli.BoolFlag{Name: "distinct", Category: catBench, Value: true, Usage: "each spinning client from its own loopback address (127.0.1.x), as distinct users"}
)

// Flag sets of the commands.
var (
	nodeFlags   = []cli.Flag{dataDirFlag, devFlag, genesisFlag, configFlag, rpcAddrFlag, rpcCORSFlag, rpcWSOriginsFlag, fnCORSFlag, rpcGasCapFlag, rpcTimeoutFlag, rpcExecSlotsFlag, rpcExecQueueFlag, rpcExecWaitFlag, rpcExecPerClientFlag, rpcExecBudgetFlag, rpcExecShareFlag, rpcClientHeaderFlag, rpcSubsPerConnFlag, rpcSubsTotalFlag, rpcFnCacheFlag, uiFlag, p2pListenFlag, bootnodesFlag, p2pTargetPeersFlag, logLevelFlag, logFormatFlag, pprofFlag, execWorkersFlag, snapshotsFlag, snapshotIntervalFlag, snapshotKeepFlag, snapshotPaceFlag, stateSyncFlag, stateSyncTrustHeightFlag, stateSyncTrustHashFlag}
	clientFlags = []cli.Flag{rpcURLFlag, jsonFlag, timeoutFlag}
	sendFlags   = []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, valueFlag, gasFlag, gasPriceFlag, nonceFlag, outFlag}
	argsFlags   = []cli.Flag{hexFlag, argsFileFlag}
	verifyFlags = []cli.Flag{verifyFlag, trustGenesisFlag, trustValidatorsFlag, trustChainIDFlag, maxAgeFlag, trustStoreFlag, trustingPeriodFlag, trustHeightFlag, trustHashFlag, saveFlag}
	trustFlags  = []cli.Flag{trustGenesisFlag, trustValidatorsFlag, trustChainIDFlag, maxAgeFlag, trustStoreFlag, trustingPeriodFlag, trustHeightFlag, trustHashFlag}

	localnetFlags = []cli.Flag{localnetNodesFlag, localnetDirFlag, localnetBasePortFlag, localnetInitFlag, localnetPprofFlag,
		logLevelFlag, localnetTimeoutProposeFlag, localnetTimeoutVoteFlag, localnetHeartbeatFlag, localnetBlockIntervalFlag,
		localnetRebroadcastFlag, jsonFlag}
	genesisNewFlags = []cli.Flag{genesisChainIDFlag, genesisValidatorFlag, genesisFundFlag, genesisOutFlag}

	loadFlags = []cli.Flag{loadRPCFlag, loadLocalnetFlag, loadRateFlag, loadDurationFlag, loadInFlightFlag, loadSendersFlag,
		loadTxsFlag, loadTickFlag, benchContractFlag, benchWasmFlag, dataDirFlag, fromFlag, passwordFileFlag, jsonFlag, timeoutFlag}
	benchFnFlags = flags(clientFlags, []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, benchConcurrencyFlag, benchDurationFlag,
		benchWasmFlag, benchContractFlag, benchMethodFlag, benchInputFlag})
	benchSpinFlags = []cli.Flag{loadRPCFlag, loadLocalnetFlag, dataDirFlag, fromFlag, passwordFileFlag, benchWasmFlag, benchSamplesFlag,
		spinClientsFlag, spinDistinctFlag, spinPoliteFlag, jsonFlag, timeoutFlag}
	benchTxFlags = flags(clientFlags, []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, benchWasmFlag, benchSamplesFlag,
		benchTxsFlag, benchSendersFlag, benchWindowFlag})
)

func flags(sets ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, s := range sets {
		out = append(out, s...)
	}
	return out
}

// envVar is the environment variable of flag f: WNODE_, its category's scope (envScope),
// then its name in upper case with '.' and '-' as '_' (--rpc.addr: WNODE_RPC_ADDR;
// localnet's --base-port: WNODE_LOCALNET_BASE_PORT).
func envVar(f cli.Flag) string {
	name := strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(f.Names()[0]))
	scope := ""
	if cf, ok := f.(cli.CategorizableFlag); ok {
		scope = envScope[cf.GetCategory()]
	}
	return "WNODE_" + scope + name
}

// setEnvVars gives every flag of cmds and their subcommands its environment variable
// (envVar, then legacyEnv). It sets rather than appends, so it may run more than once.
func setEnvVars(cmds []*cli.Command) {
	for _, c := range cmds {
		for _, f := range c.Flags {
			env := reflect.ValueOf(f).Elem().FieldByName("EnvVars")
			env.Set(reflect.ValueOf(append([]string{envVar(f)}, legacyEnv[f]...)))
		}
		setEnvVars(c.Subcommands)
	}
}
