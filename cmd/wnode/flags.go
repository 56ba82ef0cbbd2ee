package main

import (
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc"
)

// Every flag of wnode, in one place, grouped by category. Each can also be set from the
// environment variable named in EnvVars (WNODE_<NAME>); for `start`, a flag not given
// on the command line nor in the environment takes its value from <datadir>/config.toml
// when that file sets it.

const (
	catNode    = "NODE"
	catRPC     = "RPC SERVER"
	catP2P     = "NETWORK"
	catLog     = "LOGGING"
	catClient  = "CLIENT"
	catTx      = "TRANSACTION"
	catArgs    = "ARGUMENTS"
	catAccount = "ACCOUNTS"
)

var (
	// Node.
	dataDirFlag = &cli.StringFlag{Name: "datadir", Category: catNode, EnvVars: []string{"WNODE_DATADIR"},
		Value: node.DefaultDataDir(), Usage: "data directory: keys, database, genesis, config.toml"}
	devFlag = &cli.BoolFlag{Name: "dev", Category: catNode, EnvVars: []string{"WNODE_DEV"},
		Usage: "development chain: one validator (this node), a funded public dev account, blocks as soon as txs arrive"}
	genesisFlag = &cli.StringFlag{Name: "genesis", Category: catNode, EnvVars: []string{"WNODE_GENESIS"},
		Usage: "genesis file to initialise an empty data dir with"}
	configFlag = &cli.StringFlag{Name: "config", Category: catNode, EnvVars: []string{"WNODE_CONFIG"},
		Usage: "TOML config file (default <datadir>/config.toml, if present)"}

	// RPC server.
	rpcAddrFlag = &cli.StringFlag{Name: "rpc.addr", Category: catRPC, EnvVars: []string{"WNODE_RPC_ADDR"},
		Value: rpc.DefaultAddr, Usage: "listen address of JSON-RPC (HTTP and WebSocket), /fn/, /metrics and /health"}
	rpcCORSFlag = &cli.StringSliceFlag{Name: "rpc.cors", Category: catRPC, EnvVars: []string{"WNODE_RPC_CORS"},
		Usage: "browser origins allowed on JSON-RPC (comma-separated, \"*\" for any; default none)"}
	fnCORSFlag = &cli.StringSliceFlag{Name: "fn.cors", Category: catRPC, EnvVars: []string{"WNODE_FN_CORS"},
		Usage: "browser origins allowed on the /fn/ gateway (default \"*\")"}
	rpcGasCapFlag = &cli.Uint64Flag{Name: "rpc.gascap", Category: catRPC, EnvVars: []string{"WNODE_RPC_GASCAP"},
		Value: gas.DefaultCallCap, Usage: "most gas a call or estimate may use"}
	rpcTimeoutFlag = &cli.DurationFlag{Name: "rpc.timeout", Category: catRPC, EnvVars: []string{"WNODE_RPC_TIMEOUT"},
		Value: rpc.DefaultRequestTimeout, Usage: "time limit of one request"}
	uiFlag = &cli.BoolFlag{Name: "ui", Category: catRPC, EnvVars: []string{"WNODE_UI"}, DefaultText: "on for dev chains (--dev, localnet), off otherwise",
		Usage: "serve the read-only dashboard at /ui/ on the RPC address (--ui=false turns it off)"}

	// Network.
	p2pListenFlag = &cli.StringSliceFlag{Name: "p2p.listen", Category: catP2P, EnvVars: []string{"WNODE_P2P_LISTEN"},
		Usage: "p2p listen multiaddrs (not used by --dev)"}
	bootnodesFlag = &cli.StringSliceFlag{Name: "bootnodes", Category: catP2P, EnvVars: []string{"WNODE_BOOTNODES"},
		Usage: "peers to connect to, multiaddrs with /p2p/<id> (not used by --dev)"}

	// Logging.
	logLevelFlag = &cli.StringFlag{Name: "log.level", Category: catLog, EnvVars: []string{"WNODE_LOG_LEVEL"},
		Value: "info", Usage: "debug, info, warn or error"}
	logFormatFlag = &cli.StringFlag{Name: "log.format", Category: catLog, EnvVars: []string{"WNODE_LOG_FORMAT"},
		Value: "text", Usage: "text or json"}
	pprofFlag = &cli.StringFlag{Name: "pprof", Category: catLog, EnvVars: []string{"WNODE_PPROF"},
		Usage: "serve Go's profiler (net/http/pprof, /debug/pprof/) on this address, e.g. 127.0.0.1:6060 (default off)"}

	// Client.
	rpcURLFlag = &cli.StringFlag{Name: "rpc", Category: catClient, EnvVars: []string{"WNODE_RPC"},
		Value: "http://" + rpc.DefaultAddr, Usage: "URL of the node (http://, ws://)"}
	fromFlag = &cli.StringFlag{Name: "from", Category: catClient, EnvVars: []string{"WNODE_FROM"},
		Usage: "sender: an address in the keystore, a key file (keystore JSON or hex), or \"dev\" (default on a dev chain: the dev account)"}
	passwordFileFlag = &cli.StringFlag{Name: "password-file", Category: catClient, EnvVars: []string{"WNODE_PASSWORD_FILE"},
		Usage: "file holding the keystore password (or set WNODE_PASSWORD; prompted on a terminal)"}
	jsonFlag = &cli.BoolFlag{Name: "json", Category: catClient, EnvVars: []string{"WNODE_JSON"},
		Usage: "print machine-readable JSON"}
	timeoutFlag = &cli.DurationFlag{Name: "timeout", Category: catClient, EnvVars: []string{"WNODE_TIMEOUT"},
		Value: time.Minute, Usage: "give up after this long (sending and waiting for the receipt)"}
	outFlag = &cli.StringFlag{Name: "out", Category: catClient, EnvVars: []string{"WNODE_OUT"},
		Value: "auto", Usage: "how to print a contract's output: auto (text if printable, else hex), text, hex or u64 (8-byte big-endian integer)"}
	signerFlag = &cli.StringFlag{Name: "signer", Category: catClient, EnvVars: []string{"WNODE_SIGNER"},
		Usage: "only accept answers signed by this node address"}

	// Transaction.
	valueFlag = &cli.StringFlag{Name: "value", Category: catTx, EnvVars: []string{"WNODE_VALUE"},
		Usage: "native coin to send with the tx, in base units (e.g. 1000, 1e18)"}
	gasFlag = &cli.Uint64Flag{Name: "gas", Category: catTx, EnvVars: []string{"WNODE_GAS"},
		Usage: "gas limit (default: estimated, +25%; giving it skips the estimate, so a failing tx is sent anyway)"}
	gasPriceFlag = &cli.StringFlag{Name: "gas-price", Category: catTx, EnvVars: []string{"WNODE_GAS_PRICE"},
		Usage: "gas price in base units (default: the node's minimum)"}
	nonceFlag = &cli.Uint64Flag{Name: "nonce", Category: catTx, EnvVars: []string{"WNODE_NONCE"},
		Usage: "nonce (default: the sender's next, counting its pending txs)"}

	// Arguments.
	hexFlag = &cli.BoolFlag{Name: "hex", Category: catArgs, EnvVars: []string{"WNODE_HEX"},
		Usage: "the ARGS are 0x-prefixed hex bytes, not UTF-8 text"}
	argsFileFlag = &cli.StringFlag{Name: "args-file", Category: catArgs, EnvVars: []string{"WNODE_ARGS_FILE"},
		Usage: "read the argument bytes from this file (\"-\": standard input)"}
	deployArgsFlag = &cli.StringFlag{Name: "args", Category: catArgs, EnvVars: []string{"WNODE_ARGS"},
		Usage: "argument of the contract's init (text; with --hex, hex)"}
	heightFlag = &cli.StringFlag{Name: "height", Category: catClient, EnvVars: []string{"WNODE_HEIGHT"},
		Value: "latest", Usage: "block whose state to read: latest or a number"}
	fullFlag = &cli.BoolFlag{Name: "full", Category: catClient, Usage: "print whole transactions"}

	// Accounts.
	lightKDFFlag = &cli.BoolFlag{Name: "lightkdf", Category: catAccount, EnvVars: []string{"WNODE_LIGHTKDF"},
		Usage: "encrypt new keys with light scrypt parameters (fast, weak: tests only)"}
)

// Flag sets of the commands.
var (
	nodeFlags   = []cli.Flag{dataDirFlag, devFlag, genesisFlag, configFlag, rpcAddrFlag, rpcCORSFlag, fnCORSFlag, rpcGasCapFlag, rpcTimeoutFlag, uiFlag, p2pListenFlag, bootnodesFlag, logLevelFlag, logFormatFlag, pprofFlag}
	clientFlags = []cli.Flag{rpcURLFlag, jsonFlag, timeoutFlag}
	sendFlags   = []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, valueFlag, gasFlag, gasPriceFlag, nonceFlag, outFlag}
	argsFlags   = []cli.Flag{hexFlag, argsFileFlag}
)

func flags(sets ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, s := range sets {
		out = append(out, s...)
	}
	return out
}
