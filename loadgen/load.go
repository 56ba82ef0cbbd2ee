package loadgen

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Config describes a load of a network with counter increments (wnode bench).
type Config struct {
	Key     *ecdsa.PrivateKey // funds the senders, and deploys the counter when Counter is zero
	Counter types.Address     // a deployed counter; zero: deploy Code
	Code    []byte            // the counter's code, deployed when Counter is zero
	Senders int               // fresh accounts sending the increments, each pinned to one node

	Rate     float64       // > 0: open loop, Rate tx/s offered for Duration
	Duration time.Duration // open loop: how long Rate is offered; closed loop: how long each step lasts
	InFlight []int         // closed loop: txs in flight, one step per value (nil: DefaultInFlight)
	Txs      int           // closed loop: txs signed in advance (the run ends when they are used up)
	Tick     time.Duration // submission period: each tick sends one JSON-RPC batch per node

	SetupTimeout time.Duration // bounds deploying, funding and reading the heads (0: none)
	// Processes are the nodes' process ids on this machine, in the order of the
	// network's URLs (0: unknown), whose peak RSS each window reports (Linux); nil:
	// not reported.
	Processes []int
	Log       func(format string, args ...any)
}

// DefaultInFlight are the closed loop's steps when Config.InFlight is empty.
var DefaultInFlight = []int{250, 500, 1000, 2000, 4000, 8000}

// MaxTxs bounds the transactions a run signs in advance (about 200 bytes each).
const MaxTxs = 10_000_000

// ErrConfig is wrapped by Run's errors about a Config that cannot run.
var ErrConfig = errors.New("bad load configuration")

// Check reports whether cfg's figures can run, and how many transactions it signs. It
// does not look at Key, Counter and Code, which Run checks.
func (cfg *Config) Check() (total int, err error) {
	if cfg.Rate < 0 || cfg.Duration <= 0 || cfg.Senders < 1 || cfg.Tick <= 0 {
		return 0, fmt.Errorf("%w: rate must be >= 0, duration, tick and senders positive", ErrConfig)
	}
	for _, s := range cfg.InFlight {
		if s < 1 {
			return 0, fmt.Errorf("%w: in flight %d: want a positive number", ErrConfig, s)
		}
	}
	total = cfg.Txs
	if cfg.Rate > 0 {
		total = int(cfg.Rate*cfg.Duration.Seconds() + 0.5)
	}
	if total < 1 || total > MaxTxs {
		return 0, fmt.Errorf("%w: %d transactions: want 1 to 10,000,000", ErrConfig, total)
	}
	return total, nil
}

// Network is the nodes under load: per node, an HTTP client for submissions and block
// fetches and a WebSocket client for newHeads.
type Network struct {
	URLs    []string // http(s)://host:port of each node
	ChainID uint64
	http    []*client.Client
	ws      []*client.Client
}

// Dial connects to every node of urls (http(s) URLs or host:port; the WebSocket URL is
// derived) and checks that they are on one chain.
func Dial(ctx context.Context, urls []string) (*Network, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no node URL", ErrConfig)
	}
	n := &Network{}
	for _, u := range urls {
		u = httpURL(u)
		h, err := client.Dial(ctx, u)
		if err != nil {
			n.Close()
			return nil, err
		}
		w, err := client.Dial(ctx, wsURL(u))
		if err != nil {
			h.Close()
			n.Close()
			return nil, fmt.Errorf("%s: %w (the load generator subscribes to newHeads over WebSocket)", wsURL(u), err)
		}
		n.URLs, n.http, n.ws = append(n.URLs, u), append(n.http, h), append(n.ws, w)
	}
	var err error
	if n.ChainID, err = n.http[0].ChainID(ctx); err != nil {
		n.Close()
		return nil, err
	}
	for k, h := range n.http[1:] {
		if id, err := h.ChainID(ctx); err != nil || id != n.ChainID {
			n.Close()
			return nil, fmt.Errorf("%s: chain %d (%v), %s is on chain %d", n.URLs[k+1], id, err, n.URLs[0], n.ChainID)
		}
	}
	return n, nil
}

// Close closes every connection.
func (n *Network) Close() {
	for _, c := range append(n.http, n.ws...) {
		c.Close()
	}
}

// Run loads nw as cfg says (setup, sign, run), checks that the counter moved by exactly
// the committed increments, and reports.
func Run(ctx context.Context, nw *Network, cfg Config) (*Report, error) {
	total, err := cfg.Check()
	if err != nil {
		return nil, err
	}
	if cfg.Key == nil || (cfg.Counter == (types.Address{}) && len(cfg.Code) == 0) {
		return nil, fmt.Errorf("%w: a key, and a counter or its code, are needed", ErrConfig)
	}
	setupCtx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.SetupTimeout > 0 {
		setupCtx, cancel = context.WithTimeout(ctx, cfg.SetupTimeout)
	}
	defer cancel()
	s, err := setup(setupCtx, nw, &cfg, total)
	if err != nil {
		return nil, err
	}
	logf(cfg.Log, "signing %d increments", total)
	r := sign(nw, s, total)
	r.procs = cfg.Processes
	rep, err := r.run(ctx, setupCtx, &cfg)
	if err != nil {
		return nil, err
	}
	if err := checkCounter(ctx, nw.http[0], s.inc.counter, s.before+uint64(r.finalized.Load()), uint64(rep.Pending)); err != nil {
		return nil, err
	}
	return rep, nil
}

// prepared is what setup leaves for the run: the signer of increments, the funded
// senders, and the counter's value before the run.
type prepared struct {
	inc    *increments
	keys   []*ecdsa.PrivateKey
	before uint64
}

// setup deploys the counter (unless cfg.Counter is set), prices an increment, and funds
// cfg.Senders fresh accounts with enough for their share of total increments.
func setup(ctx context.Context, nw *Network, cfg *Config, total int) (*prepared, error) {
	from := crypto.PubkeyToAddress(cfg.Key.PublicKey)
	counter := cfg.Counter
	if counter == (types.Address{}) {
		var err error
		if counter, err = Deploy(ctx, nw.http[0], cfg.Key, cfg.Code); err != nil {
			return nil, fmt.Errorf("deploy the counter: %w", err)
		}
		logf(cfg.Log, "deployed the counter at %s", counter.Hex())
	}
	inc, err := newIncrements(ctx, nw.http[0], counter, from)
	if err != nil {
		return nil, err
	}
	keys := make([]*ecdsa.PrivateKey, cfg.Senders)
	for i := range keys {
		if keys[i], err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
	}
	perSender := (total + cfg.Senders - 1) / cfg.Senders
	fund := inc.fee(perSender + 1)
	logf(cfg.Log, "funding %d senders with %s each from %s", cfg.Senders, fund.Dec(), from.Hex())
	if err := fundBatched(ctx, nw, cfg.Key, keys, fund, inc); err != nil {
		return nil, err
	}
	before, err := counterValue(ctx, nw.http[0], counter)
	if err != nil {
		return nil, err
	}
	return &prepared{inc: inc, keys: keys, before: before}, nil
}

// fundBatched sends fund to every key's address from key, in JSON-RPC batches of 500
// transfers, and waits after each batch until every node holds its last transfer (the
// pool bounds one sender's queue).
func fundBatched(ctx context.Context, nw *Network, key *ecdsa.PrivateKey, keys []*ecdsa.PrivateKey, fund *uint256.Int, inc *increments) error {
	cl := nw.http[0]
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := cl.PendingNonce(ctx, from)
	if err != nil {
		return err
	}
	// The intrinsic gas of a transfer, with room: a transfer runs no code.
	to0 := crypto.PubkeyToAddress(keys[0].PublicKey)
	gas, err := cl.EstimateGas(ctx, rpctypes.CallArgs{From: &from, To: &to0, Value: (*hexutil.U256)(fund)}, rpctypes.LatestBlock)
	if err != nil {
		return fmt.Errorf("estimate transfer: %w", err)
	}
	gas += gas / client.GasMargin
	for start := 0; start < len(keys); start += 500 {
		var last types.Hash
		elems := make([]gethrpc.BatchElem, 0, 500)
		for _, k := range keys[start:min(len(keys), start+500)] {
			tx := &types.Tx{ChainID: inc.chainID, Nonce: nonce, GasPrice: inc.price, GasLimit: gas, Kind: types.TxTransfer,
				To: crypto.PubkeyToAddress(k.PublicKey), Value: fund}
			if err := tx.Sign(key); err != nil {
				return err
			}
			nonce++
			last = tx.Hash()
			elems = append(elems, gethrpc.BatchElem{Method: "wn_sendRawTransaction", Args: []any{hexutil.Bytes(tx.Encode())}, Result: new(types.Hash)})
		}
		if err := sendBatch(ctx, cl, elems); err != nil {
			return fmt.Errorf("fund senders: %w", err)
		}
		r, err := cl.WaitReceipt(ctx, last)
		if err != nil {
			return fmt.Errorf("fund senders: %w", err)
		}
		if r.Status != 1 {
			return fmt.Errorf("fund senders: transfer failed: %s", r.Error)
		}
		if err := nw.waitHeight(ctx, uint64(r.Height)); err != nil {
			return err
		}
	}
	return nil
}

// sendBatch sends elems as one JSON-RPC batch and returns the first error.
func sendBatch(ctx context.Context, cl *client.Client, elems []gethrpc.BatchElem) error {
	if err := cl.Raw().BatchCallContext(ctx, elems); err != nil {
		return err
	}
	for _, e := range elems {
		if e.Error != nil {
			return e.Error
		}
	}
	return nil
}

// waitHeight waits until every node's head is at least height.
func (n *Network) waitHeight(ctx context.Context, height uint64) error {
	for k, cl := range n.http {
		for {
			h, err := cl.BlockNumber(ctx)
			if err != nil {
				return fmt.Errorf("node %d: %w", k, err)
			}
			if h >= height {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %d did not reach block %d: %w", k, height, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// sign signs total increments before the clock starts, on every CPU: increment i is
// sender i%len(keys)'s with nonce i/len(keys), sent to node (i%len(keys))%nodes so that
// each sender's nonces arrive in order at one node.
func sign(nw *Network, s *prepared, total int) *loadRun {
	r := newLoadRun(nw, total)
	nsend := len(s.keys)
	workers := runtime.GOMAXPROCS(0)
	done := make(chan struct{}, workers)
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := w; i < total; i += workers {
				tx := s.inc.sign(s.keys[i%nsend], uint64(i/nsend))
				r.txs[i] = loadTx{raw: tx.Encode(), hash: tx.Hash(), node: (i % nsend) % len(nw.http)}
			}
		}()
	}
	for range workers {
		<-done
	}
	for i := range r.txs {
		r.idx[r.txs[i].hash] = int32(i)
	}
	r.counter = s.inc.counter
	return r
}

// Report is the result of Run.
type Report struct {
	Nodes    []string      `json:"nodes"`
	Contract types.Address `json:"contract"`
	Senders  int           `json:"senders"`
	Mode     string        `json:"mode"` // open or closed
	Rate     float64       `json:"rate,omitempty"`
	Open     *Window       `json:"open,omitempty"`
	Steps    []Step        `json:"steps,omitempty"`
	Best     *Step         `json:"max,omitempty"`
	Sent     int64         `json:"sent"`
	Rejected int64         `json:"rejected"`
	Pending  int64         `json:"notFinalized"`
	FirstErr string        `json:"firstError,omitempty"`

	duration time.Duration // of the open loop, for the text
}

// Step is one closed-loop step: the transactions in flight and what they gave.
type Step struct {
	InFlight int  `json:"inFlight"`
	Partial  bool `json:"partial,omitempty"` // cut short: the signed txs ran out
	Window
}

// WriteText writes the report for people.
func (rep *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "wnode bench: %d nodes, %d senders, counter %s\n", len(rep.Nodes), rep.Senders, rep.Contract.Hex())
	if rep.Open != nil {
		fmt.Fprintf(w, "open loop, %.0f tx/s offered for %s\n  %s\n", rep.Rate, rep.duration, rep.Open)
	}
	for _, st := range rep.Steps {
		cut := ""
		if st.Partial {
			cut = " (cut short: out of signed txs, give more --txs; not counted)"
		}
		fmt.Fprintf(w, "closed loop, %d in flight%s\n  %s\n", st.InFlight, cut, st.Window)
	}
	if rep.Best != nil {
		fmt.Fprintf(w, "maximum: %.0f tx/s committed (%d in flight)\n", rep.Best.TxsPerSec, rep.Best.InFlight)
	} else if rep.Mode == "closed" {
		fmt.Fprintf(w, "no maximum: no step ran its full --duration (give more --txs)\n")
	}
	fmt.Fprintf(w, "sent %d, rejected %d, not finalized %d", rep.Sent, rep.Rejected, rep.Pending)
	if rep.FirstErr != "" {
		fmt.Fprintf(w, " (first error: %s)", rep.FirstErr)
	}
	fmt.Fprintln(w)
}

// indent indents every line of s but the first by two spaces.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
