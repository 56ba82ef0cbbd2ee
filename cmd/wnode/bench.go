package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/loadgen"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// `wnode bench` measures a running node or network from the outside, the way its users
// load it; package loadgen does the work, these actions turn flags into its configs.

var benchCommand = &cli.Command{
	Name:  "bench",
	Usage: "load a network with counter increments (open or closed loop); `bench fn`, `bench tx`: one node",
	Description: "wnode bench [--localnet DIR | --rpc URL,URL,...] [--rate R --duration D | --inflight N,...]\n" +
		"funds --senders accounts, signs every increment in advance, spreads them over the nodes in JSON-RPC\n" +
		"batches and reports committed tx/s, submit → final latency (p50/p95/p99) and the block interval.\n" +
		"With --rate: an open loop at that rate for --duration. Without: a closed loop, --duration per step,\n" +
		"raising the transactions in flight until two steps in a row add less than 5% to the best committed rate.",
	ArgsUsage: " ",
	Flags:     loadFlags,
	Action:    benchLoad,
	Subcommands: []*cli.Command{
		{
			Name:      "fn",
			Usage:     "load the /fn/ gateway with read-only calls; compare with a bare net/http handler and the in-process VM call",
			ArgsUsage: " ",
			Flags:     benchFnFlags,
			Action:    benchFn,
		},
		{
			Name:  "spin",
			Usage: "time counter increments from submit to receipt while N clients loop a read-only call that burns the gas cap",
			Description: "wnode bench spin [--localnet DIR | --rpc URL,URL,...] [--clients 0,16,64] [--samples N]\n" +
				"deploys a counter and a contract whose method spin loops until the call gas cap, then at each --clients\n" +
				"count runs that many goroutines looping POST /fn/<spin>/spin over the nodes (each from its own loopback\n" +
				"address with --distinct) while --samples increments are sent to the first node one at a time; reports\n" +
				"submit → receipt p50/p99 and their ratio to the first count, and the calls' answers by HTTP status.",
			ArgsUsage: " ",
			Flags:     benchSpinFlags,
			Action:    benchSpin,
		},
		{
			Name:   "bare",
			Usage:  "serve the bare net/http baseline of `bench fn` (started by it; reads its answer on stdin)",
			Hidden: true,
			Action: benchBare,
		},
		{
			Name:      "tx",
			Usage:     "time counter increments from submit to receipt, then their sustained rate",
			ArgsUsage: " ",
			Flags:     benchTxFlags,
			Action:    benchTx,
		},
	},
}

// benchLoad is `wnode bench`: loadgen.Run over the nodes of --localnet or --rpc.
func benchLoad(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("bench takes no arguments (subcommands: fn, tx)")
	}
	urls, err := loadURLs(c)
	if err != nil {
		return err
	}
	p := newPrinter(c)
	setup := c.Duration(timeoutFlag.Name) + time.Minute
	var procs []int // the localnet's node processes, for their peak memory
	if dir := c.String(loadLocalnetFlag.Name); dir != "" {
		if l, err := node.LoadLocalnet(dir); err == nil {
			procs = l.Processes()
		}
	}
	cfg := loadgen.Config{Processes: procs, Senders: c.Int(loadSendersFlag.Name), Rate: c.Float64(loadRateFlag.Name),
		Duration: c.Duration(loadDurationFlag.Name), InFlight: c.IntSlice(loadInFlightFlag.Name), Txs: c.Int(loadTxsFlag.Name),
		Tick: c.Duration(loadTickFlag.Name), SetupTimeout: setup, Log: p.note}
	if _, err := cfg.Check(); err != nil {
		return usagef("%v", err)
	}
	if a := c.String(benchContractFlag.Name); a != "" {
		if cfg.Counter, err = rpctypes.ParseAddress(a); err != nil {
			return usagef("--contract: %v", err)
		}
	} else if _, cfg.Code, err = benchCode(c, "examples/counter/counter.wasm"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, setup)
	nw, err := loadgen.Dial(ctx, urls)
	cancel()
	if err != nil {
		return err
	}
	defer nw.Close()
	if cfg.Key, err = sender(c, p, nw.ChainID); err != nil {
		return err
	}
	rep, err := loadgen.Run(c.Context, nw, cfg)
	if err != nil {
		return err
	}
	return p.result(rep, rep.WriteText)
}

// loadURLs returns the nodes' RPC URLs from --localnet or --rpc.
func loadURLs(c *cli.Context) ([]string, error) {
	dir := c.String(loadLocalnetFlag.Name)
	if dir == "" {
		if urls := c.StringSlice(loadRPCFlag.Name); len(urls) > 0 {
			return urls, nil
		}
		return []string{rpcURLFlag.Value}, nil
	}
	if c.IsSet(loadRPCFlag.Name) {
		return nil, usagef("give --localnet or --rpc, not both")
	}
	l, err := node.LoadLocalnet(dir)
	if err != nil {
		return nil, err
	}
	var urls []string
	for _, n := range l.Nodes {
		urls = append(urls, n.RPCURL())
	}
	return urls, nil
}

// benchFn is `wnode bench fn`: loadgen.Fn on --contract, or on a deployed hello.
func benchFn(c *cli.Context) error {
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	cfg := loadgen.FnConfig{URL: c.String(rpcURLFlag.Name), Method: c.String(benchMethodFlag.Name),
		Input: []byte(c.String(benchInputFlag.Name)), Concurrency: c.Int(benchConcurrencyFlag.Name),
		Duration: c.Duration(benchDurationFlag.Name), Bare: spawnBare, Log: s.p.note}
	if a := c.String(benchContractFlag.Name); a != "" {
		if cfg.Contract, err = rpctypes.ParseAddress(a); err != nil {
			return usagef("--contract: %v", err)
		}
		if cfg.Code, err = s.node.Code(s.ctx, cfg.Contract, rpctypes.LatestBlock); err != nil {
			return s.wrap(err)
		}
		if len(cfg.Code) == 0 {
			return fmt.Errorf("no contract at %s", cfg.Contract.Hex())
		}
	} else if cfg.Contract, cfg.Code, _, err = s.deployFor("examples/hello/hello.wasm"); err != nil {
		return err
	}
	// --timeout bounds the setup; the gateway load and the baseline add their durations.
	ctx, cancel := context.WithTimeout(c.Context, c.Duration(timeoutFlag.Name)+2*cfg.Duration)
	defer cancel()
	rep, err := loadgen.Fn(ctx, s.node, cfg)
	if err != nil {
		return err
	}
	return s.p.result(rep, func(w io.Writer) { rep.WriteText(w, cfg.Duration) })
}

// bareAnswer is what `bench fn` hands its baseline process.
type bareAnswer struct {
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// spawnBare starts `wnode bench bare` as a process of its own, as the node is, and
// hands it the answer to serve; the process ends when stop closes its stdin (or with
// this one, on Linux).
func spawnBare(header http.Header, body []byte) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(exe, "bench", "bare")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { in.Close(); cmd.Wait() }
	if err := json.NewEncoder(in).Encode(bareAnswer{Header: header, Body: body}); err != nil {
		stop()
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		stop()
		return "", nil, fmt.Errorf("bench bare: %q, %v", line, err)
	}
	return strings.TrimSpace(line), stop, nil
}

// benchBare is `wnode bench bare`: loadgen.BareHandler on a loopback port, for the
// answer read from stdin, until stdin ends; it prints its URL first.
func benchBare(c *cli.Context) error {
	dec := json.NewDecoder(os.Stdin)
	var a bareAnswer
	if err := dec.Decode(&a); err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: loadgen.BareHandler(a.Header, a.Body)}
	go srv.Serve(ln)
	fmt.Printf("http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// benchTx is `wnode bench tx`: loadgen.Tx on a deployed counter, within --timeout.
func benchTx(c *cli.Context) error {
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	counter, _, key, err := s.deployFor("examples/counter/counter.wasm")
	if err != nil {
		return err
	}
	rep, err := loadgen.Tx(s.ctx, s.node, loadgen.TxConfig{Counter: counter, Key: key, Samples: c.Int(benchSamplesFlag.Name),
		Txs: c.Int(benchTxsFlag.Name), Senders: c.Int(benchSendersFlag.Name), Window: c.Int(benchWindowFlag.Name), Log: s.p.note})
	if err != nil {
		return s.wrap(err)
	}
	return s.p.result(rep, rep.WriteText)
}

// benchCode reads the contract of --wasm, or def, and returns its path and code.
func benchCode(c *cli.Context, def string) (string, []byte, error) {
	path := c.String(benchWasmFlag.Name)
	if path == "" {
		path = def
	}
	code, err := readCode(path)
	if err != nil {
		return "", nil, fmt.Errorf("%w (give --wasm or --contract)", err)
	}
	return path, code, nil
}

// deployFor deploys the contract of --wasm (or def), signed by the sender of --from,
// and returns its address, its code and the key.
func (s *session) deployFor(def string) (types.Address, []byte, *ecdsa.PrivateKey, error) {
	path, code, err := benchCode(s.c, def)
	if err != nil {
		return types.Address{}, nil, nil, err
	}
	chainID, err := s.node.ChainID(s.ctx)
	if err != nil {
		return types.Address{}, nil, nil, s.wrap(err)
	}
	key, err := sender(s.c, s.p, chainID)
	if err != nil {
		return types.Address{}, nil, nil, err
	}
	addr, err := loadgen.Deploy(s.ctx, s.node, key, code)
	if err != nil {
		return types.Address{}, nil, nil, s.wrap(fmt.Errorf("deploy %s: %w", path, err))
	}
	s.p.note("deployed %s at %s", path, addr.Hex())
	return addr, code, key, nil
}

// benchSpin is `wnode bench spin`: loadgen.Spin over the nodes of --localnet or --rpc.
func benchSpin(c *cli.Context) error {
	urls, err := loadURLs(c)
	if err != nil {
		return err
	}
	p := newPrinter(c)
	ctx, cancel := context.WithTimeout(c.Context, c.Duration(timeoutFlag.Name)+time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, urls[0])
	if err != nil {
		return err
	}
	defer cl.Close()
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		return err
	}
	key, err := sender(c, p, chainID)
	if err != nil {
		return err
	}
	_, code, err := benchCode(c, "examples/counter/counter.wasm")
	if err != nil {
		return err
	}
	cfg := loadgen.SpinConfig{URLs: urls, Key: key, Clients: c.IntSlice(spinClientsFlag.Name),
		Samples: c.Int(benchSamplesFlag.Name), DistinctIPs: c.Bool(spinDistinctFlag.Name), Polite: c.Bool(spinPoliteFlag.Name), Log: p.note}
	if cfg.Counter, err = loadgen.Deploy(ctx, cl, key, code); err != nil {
		return fmt.Errorf("deploy counter: %w", err)
	}
	if cfg.Spin, err = loadgen.Deploy(ctx, cl, key, loadgen.SpinCode); err != nil {
		return fmt.Errorf("deploy spin: %w", err)
	}
	rep, err := loadgen.Spin(c.Context, cl, cfg)
	if err != nil {
		return err
	}
	return p.result(rep, rep.WriteText)
}
