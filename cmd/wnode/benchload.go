package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// `wnode bench` (no subcommand) is the load generator of a network: signed counter
// increments from many funded senders, spread over every node, either at a fixed rate
// (open loop) or with a fixed number in flight, raised step by step until the committed
// rate stops growing (closed loop: two steps in a row without 5 % more). It reports
// committed tx/s, the latency from submission to finality (the block holding the tx is
// the head of the node it was sent to, so its receipt is served), and the block interval
// from block timestamps.
//
// The client is kept off the critical path: every transaction is signed before the
// measurement, submissions go out as JSON-RPC batches (one per node every tick), and
// finality comes from newHeads subscriptions plus one block fetch per height, not from
// polling receipts.

var (
	loadRPCFlag = &cli.StringSliceFlag{Name: "rpc", Category: catClient, EnvVars: []string{"WNODE_RPC"},
		Usage: "the nodes' URLs, comma-separated (default http://127.0.0.1:8545)"}
	loadLocalnetFlag = &cli.StringFlag{Name: "localnet", Category: catClient,
		Usage: "load every node of the localnet in this directory (instead of --rpc)"}
	loadRateFlag     = &cli.Float64Flag{Name: "rate", Usage: "open loop: transactions per second offered (0: closed loop)"}
	loadDurationFlag = &cli.DurationFlag{Name: "duration", Value: 10 * time.Second,
		Usage: "open loop: how long to offer --rate; closed loop: how long each step lasts"}
	loadInFlightFlag = &cli.IntSliceFlag{Name: "inflight",
		Usage: "closed loop: transactions in flight per step (default 250,500,1000,2000,4000,8000: stop after two steps in a row without 5% more tx/s)"}
	loadSendersFlag = &cli.IntFlag{Name: "senders", Value: 1000, Usage: "funded accounts sending the increments"}
	loadTxsFlag     = &cli.IntFlag{Name: "txs", Value: 60_000, Usage: "closed loop: transactions signed in advance (the run ends when they are used up)"}
	loadTickFlag    = &cli.DurationFlag{Name: "tick", Value: 5 * time.Millisecond, Usage: "submission period: each tick sends one batch per node"}
)

// loadFlags are the flags of the load generator (`wnode bench`).
var loadFlags = []cli.Flag{loadRPCFlag, loadLocalnetFlag, loadRateFlag, loadDurationFlag, loadInFlightFlag, loadSendersFlag,
	loadTxsFlag, loadTickFlag, benchContractFlag, benchWasmFlag, dataDirFlag, fromFlag, passwordFileFlag, jsonFlag, timeoutFlag}

// loadTx is a pre-signed increment.
type loadTx struct {
	raw  hexutil.Bytes
	hash types.Hash
	node int // the node it is sent to (its sender's node)
}

// blockInfo is what the run learns about a committed block.
type blockInfo struct {
	ready  chan struct{} // closed when hashes and timeMs are set
	err    error
	hashes []types.Hash
	timeMs uint64
}

// loadRun is one load run over a network.
type loadRun struct {
	http []*client.Client // per node: submissions and block fetches
	ws   []*client.Client // per node: newHeads
	txs  []loadTx
	idx  map[types.Hash]int32

	sentAt []atomic.Int64 // unix ns the tx was (scheduled to be) submitted; 0 = not yet
	doneAt []atomic.Int64 // unix ns its block became the head of its node; -1 = rejected

	inflight  atomic.Int64
	finalized atomic.Int64
	rejected  atomic.Int64
	firstErr  atomic.Pointer[string]
	freed     chan struct{} // a closed-loop slot was freed (coalescing)

	blockMu sync.Mutex
	blocks  map[uint64]*blockInfo

	batches []chan []int32 // per node: tx indices to submit
	wg      sync.WaitGroup
}

// block returns the tx hashes and time of the block at height, fetched once from node k.
func (r *loadRun) block(ctx context.Context, k int, height uint64) *blockInfo {
	r.blockMu.Lock()
	b, ok := r.blocks[height]
	if !ok {
		b = &blockInfo{ready: make(chan struct{})}
		r.blocks[height] = b
	}
	r.blockMu.Unlock()
	if ok {
		select {
		case <-b.ready:
		case <-ctx.Done():
		}
		return b
	}
	res, err := r.http[k].Block(ctx, rpctypes.BlockNumber(height), false)
	switch {
	case err != nil:
		b.err = err
	case res == nil:
		b.err = fmt.Errorf("no block %d", height)
	default:
		b.hashes, b.timeMs = res.TxHashes, uint64(res.Time)
	}
	close(b.ready)
	return b
}

// track follows node k's heads from height from on, finishing the txs sent to k in
// each block at the time the head arrived.
func (r *loadRun) track(ctx context.Context, k int, from uint64, errc chan<- error) {
	defer r.wg.Done()
	ch := make(chan *rpctypes.HeaderJSON, 1024)
	sub, err := r.ws[k].SubscribeNewHeads(ctx, ch)
	if err != nil {
		errc <- fmt.Errorf("node %d: subscribe newHeads: %w", k, err)
		return
	}
	defer sub.Unsubscribe()
	last := from
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-sub.Err():
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("node %d: newHeads: %w", k, err)
			}
			return
		case h := <-ch:
			now := time.Now().UnixNano()
			for height := last + 1; height <= uint64(h.Height); height++ {
				b := r.block(ctx, k, height)
				if b.err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("node %d: block %d: %w", k, height, b.err)
					}
					return
				}
				for _, hash := range b.hashes {
					if i, ok := r.idx[hash]; ok && r.txs[i].node == k {
						r.finish(i, now)
					}
				}
			}
			last = max(last, uint64(h.Height))
		}
	}
}

func (r *loadRun) finish(i int32, at int64) {
	if r.doneAt[i].CompareAndSwap(0, at) {
		if at > 0 {
			r.finalized.Add(1)
		} else {
			r.rejected.Add(1)
		}
		r.inflight.Add(-1)
		select {
		case r.freed <- struct{}{}:
		default:
		}
	}
}

// submit sends batches of node k's transactions until its channel closes.
func (r *loadRun) submit(ctx context.Context, k int) {
	for batch := range r.batches[k] {
		elems := make([]gethrpc.BatchElem, len(batch))
		hashes := make([]types.Hash, len(batch))
		for j, i := range batch {
			elems[j] = gethrpc.BatchElem{Method: "wn_sendRawTransaction", Args: []any{r.txs[i].raw}, Result: &hashes[j]}
		}
		err := r.http[k].Raw().BatchCallContext(ctx, elems)
		for j, i := range batch {
			e := err
			if e == nil {
				e = elems[j].Error
			}
			if e != nil {
				msg := fmt.Sprintf("node %d: %v", k, e)
				r.firstErr.CompareAndSwap(nil, &msg)
				r.finish(i, -1)
			}
		}
	}
}

// send queues txs [from, to) for submission, stamped at time at (unix ns).
func (r *loadRun) send(from, to int, at func(i int) int64, pending [][]int32) {
	for i := from; i < to; i++ {
		r.sentAt[i].Store(at(i))
		r.inflight.Add(1)
		k := r.txs[i].node
		pending[k] = append(pending[k], int32(i))
	}
}

// flush hands the pending batches to the submitters (at most 1000 txs per batch, the
// server's limit).
func (r *loadRun) flush(pending [][]int32) {
	for k, p := range pending {
		for len(p) > 0 {
			n := min(len(p), 1000)
			r.batches[k] <- slices.Clone(p[:n])
			p = p[n:]
		}
		pending[k] = pending[k][:0]
	}
}

// window summarises the txs finalized in [from, to) (unix ns).
type window struct {
	Seconds   float64 `json:"seconds"`
	Committed int     `json:"committed"` // txs finalized in the window
	// TxsPerSec is the chain's committed rate over the window's whole blocks: the txs of
	// its blocks but the first over the time from the first block's timestamp to the
	// last's. Counting finalizations in the window instead would be off by up to a block
	// at each end, and blocks of thousands of txs come a few per second. With fewer than
	// three blocks it falls back to Committed / Seconds.
	TxsPerSec float64   `json:"committedTxsPerSec"`
	Latency   latencies `json:"submitToFinal"`
	P95       float64   `json:"p95Micros"`
	Blocks    int       `json:"blocks"`
	Interval  latencies `json:"blockInterval"`
	TxsPerBlk float64   `json:"txsPerBlock"`
}

func (r *loadRun) window(from, to int64) window {
	var lat []time.Duration
	for i := range r.txs {
		d := r.doneAt[i].Load()
		if d > 0 && d >= from && d < to {
			lat = append(lat, time.Duration(d-r.sentAt[i].Load()))
		}
	}
	w := window{Seconds: float64(to-from) / 1e9, Committed: len(lat)}
	w.TxsPerSec = float64(len(lat)) / w.Seconds
	if len(lat) > 0 {
		slices.Sort(lat)
		w.P95 = float64(lat[min(len(lat)-1, int(0.95*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	w.Latency = summarize(lat)
	// Blocks whose timestamps fall in the window: their intervals and sizes.
	r.blockMu.Lock()
	var heights []uint64
	for h, b := range r.blocks {
		select {
		case <-b.ready:
			if b.err == nil && int64(b.timeMs)*1e6 >= from && int64(b.timeMs)*1e6 < to {
				heights = append(heights, h)
			}
		default:
		}
	}
	slices.Sort(heights)
	var gaps []time.Duration
	txs := 0
	for j, h := range heights {
		txs += len(r.blocks[h].hashes)
		if j > 0 && heights[j-1] == h-1 {
			gaps = append(gaps, time.Duration(r.blocks[h].timeMs-r.blocks[h-1].timeMs)*time.Millisecond)
		}
	}
	if n := len(heights); n >= 3 {
		first, last := r.blocks[heights[0]], r.blocks[heights[n-1]]
		if span := float64(last.timeMs-first.timeMs) / 1e3; span > 0 {
			w.TxsPerSec = float64(txs-len(first.hashes)) / span
		}
	}
	r.blockMu.Unlock()
	w.Blocks, w.Interval = len(heights), summarize(gaps)
	if len(heights) > 0 {
		w.TxsPerBlk = float64(txs) / float64(len(heights))
	}
	return w
}

func (w window) String() string {
	return fmt.Sprintf("%.0f tx/s committed (%d finalized in %.1f s)\n    submit → final  p50 %s  p95 %s  p99 %s  max %s\n    blocks          %d, interval p50 %s mean %s, %.0f txs/block",
		w.TxsPerSec, w.Committed, w.Seconds, us(w.Latency.P50), us(w.P95), us(w.Latency.P99), us(w.Latency.Max),
		w.Blocks, us(w.Interval.P50), us(w.Interval.Mean), w.TxsPerBlk)
}

// loadReport is the result of `wnode bench`.
type loadReport struct {
	Nodes    []string      `json:"nodes"`
	Contract types.Address `json:"contract"`
	Senders  int           `json:"senders"`
	Mode     string        `json:"mode"` // open or closed
	Rate     float64       `json:"rate,omitempty"`
	Open     *window       `json:"open,omitempty"`
	Steps    []loadStep    `json:"steps,omitempty"`
	Best     *loadStep     `json:"max,omitempty"`
	Sent     int64         `json:"sent"`
	Rejected int64         `json:"rejected"`
	Pending  int64         `json:"notFinalized"`
	FirstErr string        `json:"firstError,omitempty"`
}

type loadStep struct {
	InFlight int  `json:"inFlight"`
	Partial  bool `json:"partial,omitempty"` // cut short: the signed txs ran out
	window
}

// loadURLs returns the nodes' RPC URLs from --localnet or --rpc.
func loadURLs(c *cli.Context) ([]string, error) {
	if dir := c.String(loadLocalnetFlag.Name); dir != "" {
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
	urls := c.StringSlice(loadRPCFlag.Name)
	if len(urls) == 0 {
		urls = []string{rpcURLFlag.Value}
	}
	for i, u := range urls {
		u = strings.TrimSuffix(strings.TrimSpace(u), "/")
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		urls[i] = u
	}
	return urls, nil
}

func wsURL(u string) string {
	u = strings.Replace(u, "http://", "ws://", 1)
	return strings.Replace(u, "https://", "wss://", 1)
}

func benchLoad(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("bench takes no arguments (subcommands: fn, tx)")
	}
	urls, err := loadURLs(c)
	if err != nil {
		return err
	}
	rate, dur := c.Float64(loadRateFlag.Name), c.Duration(loadDurationFlag.Name)
	nsend := c.Int(loadSendersFlag.Name)
	if rate < 0 || dur <= 0 || nsend < 1 || c.Duration(loadTickFlag.Name) <= 0 {
		return usagef("--rate must be >= 0, --duration, --tick and --senders positive")
	}
	steps := c.IntSlice(loadInFlightFlag.Name)
	if len(steps) == 0 {
		steps = []int{250, 500, 1000, 2000, 4000, 8000}
	}
	for _, s := range steps {
		if s < 1 {
			return usagef("--inflight %d: want a positive number", s)
		}
	}
	total := c.Int(loadTxsFlag.Name)
	if rate > 0 {
		total = int(rate*dur.Seconds() + 0.5)
	}
	if total < 1 || total > 10_000_000 {
		return usagef("%d transactions: want 1 to 10,000,000", total)
	}
	p := newPrinter(c)
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()

	// Connections: HTTP for batches and fetches, WebSocket for heads.
	r := &loadRun{blocks: map[uint64]*blockInfo{}, freed: make(chan struct{}, 1)}
	for _, u := range urls {
		h, err := client.Dial(ctx, u)
		if err != nil {
			return err
		}
		defer h.Close()
		w, err := client.Dial(ctx, wsURL(u))
		if err != nil {
			return fmt.Errorf("%s: %w (bench subscribes to newHeads over WebSocket)", wsURL(u), err)
		}
		defer w.Close()
		r.http, r.ws = append(r.http, h), append(r.ws, w)
	}
	setupCtx, setupCancel := context.WithTimeout(ctx, c.Duration(timeoutFlag.Name)+time.Minute)
	defer setupCancel()
	chainID, err := r.http[0].ChainID(setupCtx)
	if err != nil {
		return err
	}
	for k, h := range r.http[1:] {
		if id, err := h.ChainID(setupCtx); err != nil || id != chainID {
			return fmt.Errorf("%s: chain %d (%v), %s is on chain %d", urls[k+1], id, err, urls[0], chainID)
		}
	}
	key, err := sender(c, p, chainID)
	if err != nil {
		return err
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	counter, err := loadCounter(c, p, setupCtx, r.http[0], key, chainID)
	if err != nil {
		return err
	}
	price, err := r.http[0].GasPrice(setupCtx)
	if err != nil {
		return err
	}
	gas, err := r.http[0].EstimateGas(setupCtx, rpctypes.CallArgs{From: &from, To: &counter, Method: "increment"}, rpctypes.LatestBlock)
	if err != nil {
		return fmt.Errorf("estimate increment: %w", err)
	}
	gas += gas / client.GasMargin

	// Senders: fresh keys, funded from --from, each pinned to one node so that its
	// nonces arrive in order.
	perSender := (total + nsend - 1) / nsend
	keys := make([]*ecdsa.PrivateKey, nsend)
	for i := range keys {
		if keys[i], err = crypto.GenerateKey(); err != nil {
			return err
		}
	}
	fund := new(uint256.Int).Mul(uint256.NewInt(gas*uint64(perSender+1)), price)
	p.note("funding %d senders with %s each from %s", nsend, fund.Dec(), from.Hex())
	if err := loadFund(setupCtx, r.http, key, keys, fund, chainID, price); err != nil {
		return err
	}

	// Every increment signed before the clock starts.
	p.note("signing %d increments", total)
	r.txs = make([]loadTx, total)
	r.idx = make(map[types.Hash]int32, total)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += workers {
				s := i % nsend
				tx := &types.Tx{ChainID: chainID, Nonce: uint64(i / nsend), GasPrice: price, GasLimit: gas, Kind: types.TxInvoke,
					To: counter, Value: new(uint256.Int), Method: "increment"}
				if err := tx.Sign(keys[s]); err != nil {
					panic(err) // an in-memory key always signs
				}
				r.txs[i] = loadTx{raw: tx.Encode(), hash: tx.Hash(), node: s % len(urls)}
			}
		}()
	}
	wg.Wait()
	for i := range r.txs {
		r.idx[r.txs[i].hash] = int32(i)
	}
	r.sentAt, r.doneAt = make([]atomic.Int64, total), make([]atomic.Int64, total)
	before, err := counterGet(setupCtx, r.http[0], counter)
	if err != nil {
		return err
	}

	// Trackers from each node's current head, then submitters.
	errc := make(chan error, 2*len(urls))
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	for k, h := range r.http {
		head, err := h.BlockNumber(setupCtx)
		if err != nil {
			return err
		}
		r.wg.Add(1)
		go r.track(runCtx, k, head, errc)
	}
	subWG := sync.WaitGroup{}
	r.batches = make([]chan []int32, len(urls))
	for k := range urls {
		r.batches[k] = make(chan []int32, 4096)
		for range 4 {
			subWG.Add(1)
			go func() {
				defer subWG.Done()
				r.submit(runCtx, k)
			}()
		}
	}
	rep := loadReport{Nodes: urls, Contract: counter, Senders: nsend}
	tick := c.Duration(loadTickFlag.Name)
	pending := make([][]int32, len(urls))
	sent := 0
	checkErr := func() error {
		select {
		case err := <-errc:
			return err
		default:
			return nil
		}
	}

	if rate > 0 {
		rep.Mode, rep.Rate = "open", rate
		p.note("open loop: %.0f tx/s for %s over %d nodes", rate, dur, len(urls))
		start := time.Now()
		at := func(i int) int64 { return start.UnixNano() + int64(float64(i)/rate*1e9) }
		for sent < total {
			due := min(total, int(rate*time.Since(start).Seconds())+1)
			r.send(sent, due, at, pending)
			sent = due
			r.flush(pending)
			if err := checkErr(); err != nil {
				return err
			}
			time.Sleep(tick)
		}
		end := waitFinal(ctx, r, int64(sent), 30*time.Second)
		w := r.window(start.UnixNano(), end)
		rep.Open = &w
	} else {
		rep.Mode = "closed"
		p.note("closed loop: in flight %v, %s each, over %d nodes", steps, dur, len(urls))
		now := func(int) int64 { return time.Now().UnixNano() }
		flat := 0
	ramp:
		for _, inflight := range steps {
			stepStart := time.Now()
			for time.Since(stepStart) < dur {
				if sent == total {
					p.note("all %d signed transactions used: the step is cut short (give more --txs)", total)
					break
				}
				room := inflight - int(r.inflight.Load())
				if room > 0 {
					to := min(total, sent+room)
					r.send(sent, to, now, pending)
					sent = to
					r.flush(pending)
				}
				if err := checkErr(); err != nil {
					return err
				}
				select {
				case <-r.freed:
				case <-time.After(tick):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			st := loadStep{InFlight: inflight, window: r.window(stepStart.UnixNano(), time.Now().UnixNano())}
			if time.Since(stepStart) < dur {
				// Out of signed txs: the step neither lasted nor kept its load, so its
				// figures are shown but do not compete for the maximum.
				st.Partial = true
				rep.Steps = append(rep.Steps, st)
				break ramp
			}
			rep.Steps = append(rep.Steps, st)
			p.note("  in flight %5d: %s", inflight, strings.ReplaceAll(st.window.String(), "\n", "\n  "))
			// Noise on a shared machine can make one step look flat: give up only after
			// two steps in a row that do not beat the best by 5 %.
			if rep.Best == nil || st.TxsPerSec > rep.Best.TxsPerSec*1.05 {
				flat = 0
			} else {
				flat++
			}
			if rep.Best == nil || st.TxsPerSec > rep.Best.TxsPerSec {
				best := st
				rep.Best = &best
			}
			if flat == 2 || sent == total {
				break ramp
			}
		}
		waitFinal(ctx, r, int64(sent), 30*time.Second)
	}
	for k := range r.batches {
		close(r.batches[k])
	}
	subWG.Wait()
	rep.Sent, rep.Rejected = int64(sent), r.rejected.Load()
	rep.Pending = rep.Sent - r.finalized.Load() - rep.Rejected
	if e := r.firstErr.Load(); e != nil {
		rep.FirstErr = *e
	}
	stopRun()
	r.wg.Wait()

	// The counter must have moved by exactly the number of committed increments.
	if err := checkCounter(ctx, r.http[0], counter, before+uint64(r.finalized.Load()), uint64(rep.Pending)); err != nil {
		return err
	}
	return p.result(rep, func(w io.Writer) {
		fmt.Fprintf(w, "wnode bench: %d nodes, %d senders, counter %s\n", len(urls), nsend, counter.Hex())
		if rep.Open != nil {
			fmt.Fprintf(w, "open loop, %.0f tx/s offered for %s\n  %s\n", rate, dur, rep.Open)
		}
		for _, st := range rep.Steps {
			cut := ""
			if st.Partial {
				cut = " (cut short: out of signed txs, give more --txs; not counted)"
			}
			fmt.Fprintf(w, "closed loop, %d in flight%s\n  %s\n", st.InFlight, cut, st.window)
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
	})
}

// waitFinal waits until every sent tx is finalized or rejected, or until no tx has
// been finalized for idle. It returns the time of the last finalization (unix ns).
func waitFinal(ctx context.Context, r *loadRun, sent int64, idle time.Duration) int64 {
	last, lastChange := r.finalized.Load(), time.Now()
	for r.finalized.Load()+r.rejected.Load() < sent && time.Since(lastChange) < idle && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		if f := r.finalized.Load(); f != last {
			last, lastChange = f, time.Now()
		}
	}
	var end int64
	for i := range r.doneAt {
		end = max(end, r.doneAt[i].Load())
	}
	return end + 1
}

// loadCounter returns the counter of --contract, or deploys one.
func loadCounter(c *cli.Context, p *printer, ctx context.Context, cl *client.Client, key *ecdsa.PrivateKey, chainID uint64) (types.Address, error) {
	if a := c.String(benchContractFlag.Name); a != "" {
		addr, err := rpctypes.ParseAddress(a)
		if err != nil {
			return addr, usagef("--contract: %v", err)
		}
		return addr, nil
	}
	path := c.String(benchWasmFlag.Name)
	if path == "" {
		path = "examples/counter/counter.wasm"
	}
	code, err := readCode(path)
	if err != nil {
		return types.Address{}, fmt.Errorf("%w (give --wasm or --contract)", err)
	}
	_, rc, err := cl.Transact(ctx, key, &client.TxRequest{Kind: types.TxDeploy, Code: code, ChainID: chainID})
	if err != nil {
		return types.Address{}, fmt.Errorf("deploy %s: %w", path, err)
	}
	if rc.Status != 1 || rc.ContractAddress == nil {
		return types.Address{}, fmt.Errorf("deploy %s failed: %s", path, rc.Error)
	}
	p.note("deployed %s at %s", path, rc.ContractAddress.Hex())
	return *rc.ContractAddress, nil
}

// loadFund sends fund to every key's address from key, in batches of transfers, and
// waits until every node holds the last of them.
func loadFund(ctx context.Context, nodes []*client.Client, key *ecdsa.PrivateKey, keys []*ecdsa.PrivateKey, fund *uint256.Int, chainID uint64, price *uint256.Int) error {
	cl := nodes[0]
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
	var last types.Hash
	for start := 0; start < len(keys); start += 500 {
		end := min(len(keys), start+500)
		elems := make([]gethrpc.BatchElem, 0, end-start)
		for _, k := range keys[start:end] {
			tx := &types.Tx{ChainID: chainID, Nonce: nonce, GasPrice: price, GasLimit: gas, Kind: types.TxTransfer,
				To: crypto.PubkeyToAddress(k.PublicKey), Value: fund}
			if err := tx.Sign(key); err != nil {
				return err
			}
			nonce++
			last = tx.Hash()
			elems = append(elems, gethrpc.BatchElem{Method: "wn_sendRawTransaction", Args: []any{hexutil.Bytes(tx.Encode())}, Result: new(types.Hash)})
		}
		if err := cl.Raw().BatchCallContext(ctx, elems); err != nil {
			return fmt.Errorf("fund senders: %w", err)
		}
		for _, e := range elems {
			if e.Error != nil {
				return fmt.Errorf("fund senders: %w", e.Error)
			}
		}
		// Wait for this batch before the next: the pool bounds one sender's queue.
		r, err := cl.WaitReceipt(ctx, last)
		if err != nil {
			return fmt.Errorf("fund senders: %w", err)
		}
		if r.Status != 1 {
			return fmt.Errorf("fund senders: transfer failed: %s", r.Error)
		}
		for k, n := range nodes {
			for {
				h, err := n.BlockNumber(ctx)
				if err != nil {
					return fmt.Errorf("node %d: %w", k, err)
				}
				if h >= uint64(r.Height) {
					break
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("node %d did not reach block %d: %w", k, uint64(r.Height), ctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

func counterGet(ctx context.Context, cl *client.Client, counter types.Address) (uint64, error) {
	res, err := cl.Call(ctx, rpctypes.CallArgs{To: &counter, Method: "get"}, rpctypes.LatestBlock)
	if err != nil {
		return 0, fmt.Errorf("counter get: %w", err)
	}
	if len(res.Output) != 8 {
		return 0, fmt.Errorf("counter get: %d bytes, not 8 (is %s a counter?)", len(res.Output), counter.Hex())
	}
	var v uint64
	for _, b := range res.Output {
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// checkCounter waits a little for node 0 to show the counter at want (the last blocks
// may reach it after the other nodes), and reports a mismatch. Up to slack more are
// fine: transactions given up on may still have been committed.
func checkCounter(ctx context.Context, cl *client.Client, counter types.Address, want, slack uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		got, err := counterGet(ctx, cl, counter)
		if err != nil {
			return err
		}
		if got >= want && got <= want+slack {
			return nil
		}
		if got > want+slack || ctx.Err() != nil {
			return errors.New("counter is " + fmt.Sprint(got) + " after the run, want " + fmt.Sprint(want) +
				": the finality tracking missed increments (or someone else incremented it)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
