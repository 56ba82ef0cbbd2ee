package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc"
)

var initCommand = &cli.Command{
	Name:      "init",
	Usage:     "create a data dir: node key and genesis (--dev: a development chain; --genesis FILE: a network's)",
	ArgsUsage: " ",
	Flags:     []cli.Flag{dataDirFlag, devFlag, genesisFlag, jsonFlag},
	Action: func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usagef("init takes no arguments")
		}
		p := newPrinter(c)
		res, err := node.Init(c.String(dataDirFlag.Name), c.Bool(devFlag.Name), c.String(genesisFlag.Name))
		if err != nil {
			return err
		}
		if res.NoGenesis {
			return p.result(map[string]any{
				"datadir": res.DataDir, "genesis": false, "nodeAddress": res.NodeAddress, "nodePubKey": hexutil.Encode(res.NodePubKey),
			}, func(w io.Writer) {
				fmt.Fprintf(w, "node key in %s\nnode address  %s\nnode pub key  %s\n", res.DataDir, res.NodeAddress.Hex(), hexutil.Encode(res.NodePubKey))
				p.note("no genesis yet: put the pub keys of the validators in one (`wnode genesis new --chain-id N --validator PUBKEY ...`),\n" +
					"then `wnode init --genesis FILE` (or use `wnode start --dev` for a development chain)")
			})
		}
		return p.result(map[string]any{
			"datadir": res.DataDir, "created": res.Created, "chainId": res.ChainID, "genesisHash": res.GenesisHash,
			"nodeAddress": res.NodeAddress, "nodePubKey": hexutil.Encode(res.NodePubKey), "dev": res.Dev, "genesis": true,
		}, func(w io.Writer) {
			if res.Created {
				fmt.Fprintf(w, "initialised %s\n", res.DataDir)
			} else {
				fmt.Fprintf(w, "%s was already initialised\n", res.DataDir)
			}
			fmt.Fprintf(w, "chain id      %d\ngenesis hash  %s\nnode address  %s\nnode pub key  %s\n",
				res.ChainID, res.GenesisHash, res.NodeAddress.Hex(), hexutil.Encode(res.NodePubKey))
			if res.Dev {
				fmt.Fprintf(w, "dev account   %s (in the keystore, empty password)\n", res.DevAccount.Hex())
			}
		})
	},
}

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "run a node (--dev: a one-validator development chain, initialised on first start)",
	ArgsUsage: " ",
	Flags:     nodeFlags,
	Action:    startAction,
}

// nodeConfig builds the node's configuration: defaults, then the config file, then the
// flags and WNODE_* variables that are set.
func nodeConfig(c *cli.Context) (node.Config, error) {
	cfg := node.DefaultConfig()
	cfg.DataDir = c.String(dataDirFlag.Name)
	path := c.String(configFlag.Name)
	if path == "" {
		path = filepath.Join(cfg.DataDir, node.ConfigFileName)
	}
	found, err := node.LoadConfigFile(path, &cfg)
	if err != nil {
		return cfg, err
	}
	if !found && c.IsSet(configFlag.Name) {
		return cfg, fmt.Errorf("--config %s: no such file", path)
	}
	if c.IsSet(dataDirFlag.Name) || cfg.DataDir == "" {
		cfg.DataDir = c.String(dataDirFlag.Name)
	}
	set := func(name string, apply func()) {
		if c.IsSet(name) {
			apply()
		}
	}
	set(devFlag.Name, func() { cfg.Dev = c.Bool(devFlag.Name) })
	set(genesisFlag.Name, func() { cfg.Genesis = c.String(genesisFlag.Name) })
	set(rpcAddrFlag.Name, func() { cfg.RPC.Addr = c.String(rpcAddrFlag.Name) })
	set(rpcCORSFlag.Name, func() { cfg.RPC.CORS = c.StringSlice(rpcCORSFlag.Name) })
	set(fnCORSFlag.Name, func() { cfg.RPC.FnCORS = c.StringSlice(fnCORSFlag.Name) })
	set(rpcWSOriginsFlag.Name, func() { cfg.RPC.WSOrigins = c.StringSlice(rpcWSOriginsFlag.Name) })
	set(rpcExecSlotsFlag.Name, func() { cfg.RPC.ExecSlots = c.Int(rpcExecSlotsFlag.Name) })
	set(rpcExecQueueFlag.Name, func() { cfg.RPC.ExecQueue = c.Int(rpcExecQueueFlag.Name) })
	set(rpcExecWaitFlag.Name, func() { cfg.RPC.ExecQueueWait = c.Duration(rpcExecWaitFlag.Name) })
	set(rpcExecPerClientFlag.Name, func() { cfg.RPC.ExecPerClient = c.Int(rpcExecPerClientFlag.Name) })
	set(rpcExecBudgetFlag.Name, func() { cfg.RPC.ExecTimeBudget = c.Duration(rpcExecBudgetFlag.Name) })
	set(rpcClientHeaderFlag.Name, func() { cfg.RPC.ClientHeader = c.String(rpcClientHeaderFlag.Name) })
	set(rpcExecShareFlag.Name, func() { cfg.RPC.ExecShare = c.Float64(rpcExecShareFlag.Name) })
	set(rpcSubsPerConnFlag.Name, func() { cfg.RPC.SubsPerConn = c.Int(rpcSubsPerConnFlag.Name) })
	set(rpcFnCacheFlag.Name, func() { cfg.RPC.FnCache = c.Int(rpcFnCacheFlag.Name) })
	set(rpcSubsTotalFlag.Name, func() { cfg.RPC.SubsTotal = c.Int(rpcSubsTotalFlag.Name) })
	set(rpcGasCapFlag.Name, func() { cfg.RPC.GasCap = c.Uint64(rpcGasCapFlag.Name) })
	set(execWorkersFlag.Name, func() { cfg.ExecWorkers = c.Int(execWorkersFlag.Name) })
	set(snapshotsFlag.Name, func() { cfg.Snapshots.Enabled = c.Bool(snapshotsFlag.Name) })
	set(snapshotIntervalFlag.Name, func() { cfg.Snapshots.Interval = c.Uint64(snapshotIntervalFlag.Name) })
	set(snapshotKeepFlag.Name, func() { cfg.Snapshots.Keep = c.Int(snapshotKeepFlag.Name) })
	set(snapshotPaceFlag.Name, func() { cfg.Snapshots.Pace = c.Int(snapshotPaceFlag.Name) })
	set(stateSyncFlag.Name, func() { cfg.StateSync.Enabled = c.Bool(stateSyncFlag.Name) })
	set(stateSyncTrustHeightFlag.Name, func() { cfg.StateSync.TrustHeight = c.Uint64(stateSyncTrustHeightFlag.Name) })
	set(stateSyncTrustHashFlag.Name, func() { cfg.StateSync.TrustHash = c.String(stateSyncTrustHashFlag.Name) })
	set(rpcTimeoutFlag.Name, func() { cfg.RPC.RequestTimeout = c.Duration(rpcTimeoutFlag.Name) })
	set(uiFlag.Name, func() { on := c.Bool(uiFlag.Name); cfg.RPC.UI = &on })
	set(p2pListenFlag.Name, func() { cfg.P2P.Listen = c.StringSlice(p2pListenFlag.Name) })
	set(bootnodesFlag.Name, func() { cfg.P2P.Bootnodes = c.StringSlice(bootnodesFlag.Name) })
	set(p2pTargetPeersFlag.Name, func() { cfg.P2P.TargetPeers = c.Int(p2pTargetPeersFlag.Name) })
	set(logLevelFlag.Name, func() { cfg.Log.Level = c.String(logLevelFlag.Name) })
	set(logFormatFlag.Name, func() { cfg.Log.Format = c.String(logFormatFlag.Name) })
	return cfg, nil
}

// newLogger returns the node's slog logger on w.
func newLogger(cfg node.LogConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, usagef("--log.level %q: want debug, info, warn or error", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cfg.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log.format %q: want text or json", cfg.Format)
}

func startAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("start takes no arguments (flags go before them: wnode start --dev)")
	}
	cfg, err := nodeConfig(c)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.Log, c.App.ErrWriter)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	gcStartPercent()
	if c.String(pprofFlag.Name) == "" {
		// Without --pprof no one can read a heap profile: stop sampling allocations for
		// it. Every sampled call stack takes a bucket of the profiler's hash table (1.4
		// MB when spread over all of it): up to 1.5 MB of a node (BuckHashSys was 1.5 MB
		// at 1,000 tx/s).
		runtime.MemProfileRate = 0
	}
	cfg.RPC.ExecSlots = tuneProcs(cfg.RPC.ExecSlots)
	n, err := node.New(cfg, node.Options{Logger: logger})
	if err != nil {
		return err
	}
	tuneGC(func() int {
		pending, _ := n.Pool().Stats()
		return pending
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if a := c.String(pprofFlag.Name); a != "" {
		closePprof, err := servePprof(a, logger)
		if err != nil {
			n.Close(context.Background())
			return err
		}
		defer closePprof()
	}
	if err := n.Start(ctx); err != nil {
		n.Close(context.Background())
		return err
	}
	w := c.App.Writer
	printStarted(w, n)
	if f, ok := w.(*os.File); ok {
		f.Sync()
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down (signal again to force)")
	case <-n.Done():
		runErr = n.Err()
	}
	stop() // a second signal kills the process
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return runErr
}

// printStarted tells the user where a started node listens: for a dev chain also the
// dev account and what to try next.
func printStarted(w io.Writer, n *node.Node) {
	addr := n.RPCAddr()
	if n.Dev() {
		fmt.Fprintf(w, "wnode dev chain %d, node %s\n", n.Genesis().ChainID, n.Address().Hex())
		fmt.Fprintf(w, "  JSON-RPC     http://%s  (WebSocket ws://%s)\n", addr, addr)
		fmt.Fprintf(w, "  gateway      http://%s/fn/<address>/<method>\n", addr)
		fmt.Fprintf(w, "  dev account  %s  balance %s\n", genesis.DevAddress.Hex(), genesis.DevBalance)
		fmt.Fprintf(w, "  dev key      0x%s  (public, dev chains only; in the keystore with an empty password)\n", genesis.DevKeyHex)
		fmt.Fprintf(w, "  data dir     %s\n", n.DataDir())
		if id := n.PeerID(); id != "" {
			fmt.Fprintf(w, "  p2p          %s  (validator %v)\n", strings.Join(n.P2PAddrs(), " "), n.Validator())
		}
		if addr == rpc.DefaultAddr {
			fmt.Fprintf(w, "try: wnode deploy examples/hello/hello.wasm\n")
		} else {
			fmt.Fprintf(w, "try: wnode deploy --rpc http://%s examples/hello/hello.wasm\n", addr)
		}
	} else {
		fmt.Fprintf(w, "wnode chain %d, node %s, JSON-RPC http://%s, data dir %s\n", n.Genesis().ChainID, n.Address().Hex(), addr, n.DataDir())
		fmt.Fprintf(w, "  p2p %s  (validator %v)\n", strings.Join(n.P2PAddrs(), " "), n.Validator())
	}
}

// tuneProcs resolves the number of execution slots of read-only calls (slots, or the
// default from GOMAXPROCS) and, unless GOMAXPROCS is set in the environment, adds that
// many Go processors: a running call holds its processor (Wasm is preempted only at its
// loop headers), and without extra ones it would take them from block execution and
// consensus (docs/rationale/admission.md).
func tuneProcs(slots int) int {
	if slots <= 0 {
		slots = rpc.DefaultExecSlots()
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + slots)
	}
	return slots
}

// servePprof serves net/http/pprof's handlers on addr until the returned function is
// called. It listens before returning, so a busy address is an error at start.
func servePprof(addr string, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	logger.Info("pprof listening", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}
