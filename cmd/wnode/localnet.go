package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/node"
)

// `wnode localnet` makes (once) and runs an N-validator development network on
// loopback: node.OpenLocalnet lays out the directory, this file supervises one
// `wnode start` child process per node.

var localnetCommand = &cli.Command{
	Name:  "localnet",
	Usage: "run an N-validator development network on loopback, one process per node, until Ctrl-C",
	Description: "The first run creates the network in --datadir: node keys, a genesis of chain 1337 (a development\n" +
		"chain: the public dev account is funded and clients use it by default) with every node as a\n" +
		"validator, and each node's data dir and config.toml. Later runs restart the same network with its\n" +
		"state. Each node is a `wnode start --datadir DIR/nodeI` child process logging to DIR/nodeI.log.",
	ArgsUsage: " ",
	Flags:     localnetFlags,
	Action:    localnetAction,
}

// localnetBlockInterval is the minimum block interval of a new localnet of several
// validators. 30 ms since the commit left the critical path (session 7): at 1,000 tx/s
// on the quiet machine finality p50 was 50-53 ms against 58-82 ms at 50 ms, with the
// same closed-loop maximum (docs/rationale/localnet.md, "Series F7").
const localnetBlockInterval = 30 * time.Millisecond

func defaultLocalnetDir() string {
	return filepath.Join(filepath.Dir(node.DefaultDataDir()), ".wnode-localnet")
}

// child is a running node of the localnet.
type child struct {
	n      node.LocalnetNode
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// localnetAction is `wnode localnet`: open (or create) the network, then run its
// nodes until a signal.
func localnetAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("localnet takes no arguments")
	}
	p := newPrinter(c)
	dir, opts, err := localnetOptions(c)
	if err != nil {
		return err
	}
	l, created, err := node.OpenLocalnet(dir, opts)
	if err != nil {
		if errors.Is(err, node.ErrLocalnetMismatch) {
			return usagef("%v", err)
		}
		return err
	}
	if created {
		p.note("created a localnet of %d validators in %s (chain %d, genesis %s)", len(l.Nodes), dir, l.ChainID, l.GenesisHash.Hex())
	} else {
		p.note("restarting the localnet of %d validators in %s", len(l.Nodes), dir)
		for _, f := range []cli.Flag{localnetBasePortFlag, localnetTimeoutProposeFlag, localnetTimeoutVoteFlag, localnetHeartbeatFlag,
			localnetBlockIntervalFlag, localnetRebroadcastFlag} {
			if name := f.Names()[0]; c.IsSet(name) {
				p.note("--%s ignored: it shapes a new network (edit DIR/nodeI/config.toml to change an existing one)", name)
			}
		}
	}
	if c.Bool(localnetInitFlag.Name) {
		return printLocalnet(p, l, "created")
	}
	if err := checkPortsFree(l); err != nil {
		return err
	}
	return runLocalnet(c, p, l, dir)
}

// localnetOptions turns the flags into the network's directory and the options of a
// new network.
func localnetOptions(c *cli.Context) (string, node.LocalnetOptions, error) {
	nodes := c.Int(localnetNodesFlag.Name)
	if !c.IsSet(localnetNodesFlag.Name) {
		nodes = 0 // an existing network keeps its size; a new one gets the default
		if _, err := os.Stat(filepath.Join(c.String(localnetDirFlag.Name), node.LocalnetFile)); err != nil {
			nodes = localnetNodesFlag.Value
		}
	}
	if c.IsSet(localnetNodesFlag.Name) && (nodes < 1 || nodes > node.MaxLocalnetNodes) {
		return "", node.LocalnetOptions{}, usagef("--nodes %d: want 1 to %d", nodes, node.MaxLocalnetNodes)
	}
	dir, err := filepath.Abs(c.String(localnetDirFlag.Name))
	if err != nil {
		return "", node.LocalnetOptions{}, err
	}
	// One knob per timeout: as in consensus' defaults, each grows by half its base per round.
	propose, vote := c.Duration(localnetTimeoutProposeFlag.Name), c.Duration(localnetTimeoutVoteFlag.Name)
	// Loopback answers in microseconds: a localnet of several validators proposes 50 ms
	// after the previous block rather than consensus' 200 ms for real networks, which
	// cuts finality at 1,000 tx/s from ~360 to ~100 ms (docs/rationale/localnet.md). One
	// validator keeps consensus.DevConfig's 1 ms.
	interval := c.Duration(localnetBlockIntervalFlag.Name)
	if !c.IsSet(localnetBlockIntervalFlag.Name) && nodes > 1 {
		interval = localnetBlockInterval
	}
	return dir, node.LocalnetOptions{
		Nodes: nodes, BasePort: c.Int(localnetBasePortFlag.Name),
		Consensus: node.ConsensusConfig{
			TimeoutPropose: propose, TimeoutProposeDelta: propose / 2,
			TimeoutPrevote: vote, TimeoutPrevoteDelta: vote / 2, TimeoutPrecommit: vote, TimeoutPrecommitDelta: vote / 2,
			Heartbeat: c.Duration(localnetHeartbeatFlag.Name), MinBlockInterval: interval,
			RebroadcastInterval: c.Duration(localnetRebroadcastFlag.Name),
		},
	}, nil
}

// checkPortsFree fails when a node's RPC or p2p TCP address is taken.
func checkPortsFree(l *node.Localnet) error {
	for _, n := range l.Nodes {
		addrs := []string{n.RPCAddr}
		if f := strings.Split(n.P2PAddr, "/"); len(f) > 4 && f[1] == "ip4" && f[3] == "tcp" {
			addrs = append(addrs, f[2]+":"+f[4])
		}
		for _, a := range addrs {
			if err := portFree(a); err != nil {
				return fmt.Errorf("%s: address %s is in use (another localnet or node running? stop it, or create the network elsewhere with --base-port): %w", n.Name, a, err)
			}
		}
	}
	return nil
}

// runLocalnet starts one `wnode start` child per node, waits until each is healthy,
// prints the network, and supervises the children until a signal or until every one
// has exited; then it stops them and reports any that failed.
func runLocalnet(c *cli.Context, p *printer, l *node.Localnet, dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	exitc := make(chan *child, len(l.Nodes))
	children, err := startNodes(c, l, dir, exitc)
	// Whatever happens from here on, no child outlives this function.
	defer func() {
		for _, ch := range children {
			ch.kill()
		}
	}()
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, children, 60*time.Second); err != nil {
		stopChildren(children, 10*time.Second)
		return err
	}
	if err := printLocalnet(p, l, "running"); err != nil {
		return err
	}
	p.note("Ctrl-C stops every node")
	if f, ok := c.App.Writer.(*os.File); ok {
		f.Sync()
	}
	failed, running := superviseChildren(ctx, c.App.ErrWriter, len(children), exitc)
	stop() // a second signal kills the process, and with it (Pdeathsig) the nodes
	if ctx.Err() != nil {
		p.note("stopping %d nodes", running)
	}
	bad := stopChildren(children, 30*time.Second)
	var problems []string
	if len(failed) > 0 {
		problems = append(problems, "exited by themselves: "+strings.Join(failed, ", "))
	}
	if len(bad) > 0 {
		problems = append(problems, "did not stop cleanly: "+strings.Join(bad, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("localnet: nodes %s (logs in %s)", strings.Join(problems, "; "), dir)
	}
	p.note("all nodes stopped cleanly; `wnode localnet --datadir %s` restarts the network", dir)
	return nil
}

// startNodes starts one `wnode start --datadir DIR/nodeI` child per node, logging to
// DIR/nodeI.log; it returns the children started so far even on error.
func startNodes(c *cli.Context, l *node.Localnet, dir string, exitc chan<- *child) ([]*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the wnode executable: %w", err)
	}
	children := make([]*child, 0, len(l.Nodes))
	for i, n := range l.Nodes {
		args := []string{"start", "--datadir", l.Path(n)}
		if c.IsSet(logLevelFlag.Name) {
			args = append(args, "--log.level", c.String(logLevelFlag.Name))
		}
		if pp := c.Int(localnetPprofFlag.Name); pp != 0 {
			args = append(args, "--pprof", "127.0.0.1:"+strconv.Itoa(pp+i))
		}
		ch, err := startChild(exe, args, filepath.Join(dir, n.Name+".log"), n, exitc)
		if err != nil {
			return children, err
		}
		children = append(children, ch)
	}
	return children, nil
}

// superviseChildren waits until ctx ends (a signal) or all n children have exited,
// reporting each exit on errw, and returns the children that exited and how many still
// run.
func superviseChildren(ctx context.Context, errw io.Writer, n int, exitc <-chan *child) (failed []string, running int) {
	running = n
	for running > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case ch := <-exitc:
			running--
			failed = append(failed, fmt.Sprintf("%s (%v)", ch.n.Name, ch.err))
			fmt.Fprintf(errw, "%s exited: %v (log: %s)\n%s", ch.n.Name, ch.err, ch.log, tail(ch.log, 5))
		}
	}
	return failed, running
}

// startChild starts one node, its output appended to logPath. exitc receives the
// child when it exits.
func startChild(exe string, args []string, logPath string, n node.LocalnetNode, exitc chan<- *child) (*child, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", n.Name, err)
	}
	fmt.Fprintf(f, "\n=== %s: wnode %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = childEnv()
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: start: %w", n.Name, err)
	}
	ch := &child{n: n, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		ch.err = cmd.Wait()
		f.Close()
		close(ch.exited)
		exitc <- ch
	}()
	return ch, nil
}

// childEnv is this process's environment without WNODE_* variables: each node takes
// its settings from its config.toml, not from the shell of whoever runs the localnet.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WNODE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (ch *child) done() bool {
	select {
	case <-ch.exited:
		return true
	default:
		return false
	}
}

// kill ends the child at once (SIGKILL) and waits for it.
func (ch *child) kill() {
	if ch.done() {
		return
	}
	ch.cmd.Process.Kill()
	<-ch.exited
}

// stopChildren sends SIGTERM to every running child and waits up to grace for all of
// them; those still running are killed. It returns the names of the nodes that did not
// exit cleanly.
func stopChildren(children []*child, grace time.Duration) []string {
	var stopping []*child
	for _, ch := range children {
		if !ch.done() {
			ch.cmd.Process.Signal(syscall.SIGTERM)
			stopping = append(stopping, ch)
		}
	}
	deadline := time.After(grace)
	var bad []string
	for _, ch := range stopping {
		select {
		case <-ch.exited:
			if ch.err != nil {
				bad = append(bad, fmt.Sprintf("%s (%v)", ch.n.Name, ch.err))
			}
		case <-deadline:
			ch.kill()
			bad = append(bad, ch.n.Name+" (killed after "+grace.String()+")")
		}
	}
	return bad
}

// waitHealthy waits until every node answers /health with 200.
func waitHealthy(ctx context.Context, children []*child, limit time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for _, ch := range children {
		for {
			if ch.done() {
				return fmt.Errorf("%s exited while starting: %v (log: %s)\n%s", ch.n.Name, ch.err, ch.log, tail(ch.log, 10))
			}
			resp, err := hc.Get(ch.n.RPCURL() + "/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not healthy after %s (log: %s)\n%s", ch.n.Name, limit, ch.log, tail(ch.log, 10))
			}
			select {
			case <-ctx.Done():
				return errors.New("interrupted while the nodes were starting")
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// printLocalnet prints the network: its nodes' RPC URLs first.
func printLocalnet(p *printer, l *node.Localnet, status string) error {
	type entry struct {
		Name    string `json:"name"`
		RPC     string `json:"rpc"`
		Address string `json:"address"`
		P2P     string `json:"p2p"`
		DataDir string `json:"dataDir"`
		Log     string `json:"log"`
	}
	out := struct {
		Status      string  `json:"status"`
		Dir         string  `json:"dir"`
		ChainID     uint64  `json:"chainId"`
		GenesisHash string  `json:"genesisHash"`
		DevAccount  string  `json:"devAccount"`
		Nodes       []entry `json:"nodes"`
	}{Status: status, Dir: l.Dir, ChainID: l.ChainID, GenesisHash: l.GenesisHash.Hex(), DevAccount: genesis.DevAddress.Hex()}
	for _, n := range l.Nodes {
		out.Nodes = append(out.Nodes, entry{Name: n.Name, RPC: n.RPCURL(), Address: n.Address.Hex(), P2P: n.P2PAddr,
			DataDir: l.Path(n), Log: filepath.Join(l.Dir, n.Name+".log")})
	}
	return p.result(out, func(w io.Writer) {
		fmt.Fprintf(w, "wnode localnet: %d validators, dev chain %d (%s)\n", len(l.Nodes), l.ChainID, status)
		for _, n := range l.Nodes {
			fmt.Fprintf(w, "  %-7s %s  validator %s\n", n.Name, n.RPCURL(), n.Address.Hex())
		}
		fmt.Fprintf(w, "  dev account  %s  (private key 0x%s: public, dev chains only)\n", genesis.DevAddress.Hex(), genesis.DevKeyHex)
		fmt.Fprintf(w, "  directory    %s (logs: nodeI.log)\n", l.Dir)
		fmt.Fprintf(w, "try: wnode deploy --rpc %s examples/counter/counter.wasm\n", l.Nodes[len(l.Nodes)-1].RPCURL())
	})
}

// portFree reports an error if addr cannot be listened on.
func portFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// tail returns the last n lines of a file, indented, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ") + "\n"
}
