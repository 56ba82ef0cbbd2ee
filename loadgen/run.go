package loadgen

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// The run keeps the client off the critical path: every transaction is signed before
// the clock starts (sign), submissions go out as JSON-RPC batches (one per node every
// tick, four submitters per node), and finality comes from a newHeads subscription per
// node plus one block fetch per height, not from polling receipts. A transaction is final
// when the block holding it is the head of the node it was sent to, which is when that
// node serves its receipt.

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
	nw      *Network
	counter types.Address
	procs   []int // the nodes' process ids (Config.Processes)
	txs     []loadTx
	idx     map[types.Hash]int32

	sentAt []atomic.Int64 // unix ns the tx was (scheduled to be) submitted; 0 = not yet
	doneAt []atomic.Int64 // unix ns its block became the head of its node; -1 = rejected

	inflight  atomic.Int64
	finalized atomic.Int64
	rejected  atomic.Int64
	firstErr  atomic.Pointer[string]
	freed     chan struct{} // a closed-loop slot was freed (coalescing)

	blockMu sync.Mutex
	blocks  map[uint64]*blockInfo

	batches  []chan []int32 // per node: tx indices to submit
	trackers sync.WaitGroup
	submits  sync.WaitGroup
	errc     chan error // trackers' failures
	pending  [][]int32  // per node: txs queued this tick
	sent     int        // txs handed to the submitters
}

func newLoadRun(nw *Network, total int) *loadRun {
	return &loadRun{nw: nw, txs: make([]loadTx, total), idx: make(map[types.Hash]int32, total),
		sentAt: make([]atomic.Int64, total), doneAt: make([]atomic.Int64, total),
		freed: make(chan struct{}, 1), blocks: map[uint64]*blockInfo{}}
}

// run starts the trackers and submitters, runs the open or the closed loop, waits for
// the last transactions, stops everything and fills in the report's totals.
func (r *loadRun) run(ctx, setupCtx context.Context, cfg *Config) (*Report, error) {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := r.start(runCtx, setupCtx); err != nil {
		return nil, err
	}
	rep := &Report{Nodes: r.nw.URLs, Contract: r.counter, Senders: cfg.Senders}
	var err error
	if cfg.Rate > 0 {
		err = r.openLoop(ctx, cfg, rep)
	} else {
		err = r.closedLoop(ctx, cfg, rep)
	}
	r.stopSubmitters()
	stop()
	r.trackers.Wait()
	if err != nil {
		return nil, err
	}
	rep.Sent, rep.Rejected = int64(r.sent), r.rejected.Load()
	rep.Pending = rep.Sent - r.finalized.Load() - rep.Rejected
	if e := r.firstErr.Load(); e != nil {
		rep.FirstErr = *e
	}
	return rep, nil
}

// start follows every node's heads from its current head, and starts four submitters
// per node.
func (r *loadRun) start(ctx, setupCtx context.Context) error {
	nodes := len(r.nw.http)
	r.errc = make(chan error, 2*nodes)
	for k, h := range r.nw.http {
		head, err := h.BlockNumber(setupCtx)
		if err != nil {
			return err
		}
		r.trackers.Add(1)
		go r.track(ctx, k, head)
	}
	r.batches, r.pending = make([]chan []int32, nodes), make([][]int32, nodes)
	for k := range nodes {
		r.batches[k] = make(chan []int32, 4096)
		for range 4 {
			r.submits.Add(1)
			go func() {
				defer r.submits.Done()
				r.submit(ctx, k)
			}()
		}
	}
	return nil
}

// stopSubmitters lets the submitters finish their queues and waits for them.
func (r *loadRun) stopSubmitters() {
	for _, b := range r.batches {
		close(b)
	}
	r.submits.Wait()
}

// trackerErr returns a tracker's failure, if any.
func (r *loadRun) trackerErr() error {
	select {
	case err := <-r.errc:
		return err
	default:
		return nil
	}
}

// openLoop offers cfg.Rate tx/s for cfg.Duration; a transaction's latency counts from
// its scheduled send time, so a client falling behind shows as latency rather than
// hiding it.
func (r *loadRun) openLoop(ctx context.Context, cfg *Config, rep *Report) error {
	rep.Mode, rep.Rate, rep.duration = "open", cfg.Rate, cfg.Duration
	logf(cfg.Log, "open loop: %.0f tx/s for %s over %d nodes", cfg.Rate, cfg.Duration, len(r.nw.http))
	total := len(r.txs)
	start := time.Now()
	at := func(i int) int64 { return start.UnixNano() + int64(float64(i)/cfg.Rate*1e9) }
	for r.sent < total {
		r.send(min(total, int(cfg.Rate*time.Since(start).Seconds())+1), at)
		if err := r.trackerErr(); err != nil {
			return err
		}
		time.Sleep(cfg.Tick) // the submission period
	}
	end := r.waitFinal(ctx, 30*time.Second)
	w := r.window(start.UnixNano(), end)
	rep.Open = &w
	return nil
}

// closedLoop keeps each of cfg.InFlight transactions in flight for cfg.Duration, and
// stops after two steps in a row that add less than 5 % to the best committed rate (noise
// on a shared machine can make one step look flat), or when the signed txs run out.
func (r *loadRun) closedLoop(ctx context.Context, cfg *Config, rep *Report) error {
	steps := cfg.InFlight
	if len(steps) == 0 {
		steps = DefaultInFlight
	}
	rep.Mode = "closed"
	logf(cfg.Log, "closed loop: in flight %v, %s each, over %d nodes", steps, cfg.Duration, len(r.nw.http))
	flat := 0
	for _, inflight := range steps {
		st, err := r.step(ctx, cfg, inflight)
		if err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, st)
		if st.Partial {
			break // its figures are shown but do not compete for the maximum
		}
		logf(cfg.Log, "  in flight %5d: %s", inflight, indent(st.Window.String()))
		if rep.Best == nil || st.TxsPerSec > rep.Best.TxsPerSec*1.05 {
			flat = 0
		} else {
			flat++
		}
		if rep.Best == nil || st.TxsPerSec > rep.Best.TxsPerSec {
			best := st
			rep.Best = &best
		}
		if flat == 2 || r.sent == len(r.txs) {
			break
		}
	}
	r.waitFinal(ctx, 30*time.Second)
	return nil
}

// step keeps inflight transactions in flight for cfg.Duration, or until the signed
// transactions run out (then the step is Partial).
func (r *loadRun) step(ctx context.Context, cfg *Config, inflight int) (Step, error) {
	now := func(int) int64 { return time.Now().UnixNano() }
	start := time.Now()
	for time.Since(start) < cfg.Duration {
		if r.sent == len(r.txs) {
			logf(cfg.Log, "all %d signed transactions used: the step is cut short (give more --txs)", len(r.txs))
			break
		}
		if room := inflight - int(r.inflight.Load()); room > 0 {
			r.send(min(len(r.txs), r.sent+room), now)
		}
		if err := r.trackerErr(); err != nil {
			return Step{}, err
		}
		select {
		case <-r.freed:
		case <-time.After(cfg.Tick):
		case <-ctx.Done():
			return Step{}, ctx.Err()
		}
	}
	return Step{InFlight: inflight, Partial: time.Since(start) < cfg.Duration,
		Window: r.window(start.UnixNano(), time.Now().UnixNano())}, nil
}

// send hands txs [r.sent, to) to the submitters, stamped with at(i) (unix ns), in
// batches of at most 1000 per node (the server's batch limit).
func (r *loadRun) send(to int, at func(i int) int64) {
	for i := r.sent; i < to; i++ {
		r.sentAt[i].Store(at(i))
		r.inflight.Add(1)
		k := r.txs[i].node
		r.pending[k] = append(r.pending[k], int32(i))
	}
	r.sent = max(r.sent, to)
	for k, p := range r.pending {
		for len(p) > 0 {
			n := min(len(p), 1000)
			r.batches[k] <- slices.Clone(p[:n])
			p = p[n:]
		}
		r.pending[k] = r.pending[k][:0]
	}
}

// submit sends batches of node k's transactions until its channel closes; a refused
// transaction is finished as rejected.
func (r *loadRun) submit(ctx context.Context, k int) {
	for batch := range r.batches[k] {
		elems := make([]gethrpc.BatchElem, len(batch))
		hashes := make([]types.Hash, len(batch))
		for j, i := range batch {
			elems[j] = gethrpc.BatchElem{Method: "wn_sendRawTransaction", Args: []any{r.txs[i].raw}, Result: &hashes[j]}
		}
		err := r.nw.http[k].Raw().BatchCallContext(ctx, elems)
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

// track follows node k's heads from height from on, finishing the txs sent to k in
// each block at the time the head arrived.
func (r *loadRun) track(ctx context.Context, k int, from uint64) {
	defer r.trackers.Done()
	ch := make(chan *rpctypes.HeaderJSON, 1024)
	sub, err := r.nw.ws[k].SubscribeNewHeads(ctx, ch)
	if err != nil {
		r.errc <- fmt.Errorf("node %d: subscribe newHeads: %w", k, err)
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
				r.errc <- fmt.Errorf("node %d: newHeads: %w", k, err)
			}
			return
		case h := <-ch:
			if err := r.finishBlocks(ctx, k, last+1, uint64(h.Height), time.Now().UnixNano()); err != nil {
				if ctx.Err() == nil {
					r.errc <- err
				}
				return
			}
			last = max(last, uint64(h.Height))
		}
	}
}

// finishBlocks finishes, at time at, the txs sent to node k in its blocks from..to.
func (r *loadRun) finishBlocks(ctx context.Context, k int, from, to uint64, at int64) error {
	for height := from; height <= to; height++ {
		b := r.block(ctx, k, height)
		if b.err != nil {
			return fmt.Errorf("node %d: block %d: %w", k, height, b.err)
		}
		for _, hash := range b.hashes {
			if i, ok := r.idx[hash]; ok && r.txs[i].node == k {
				r.finish(i, at)
			}
		}
	}
	return nil
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
	res, err := r.nw.http[k].Block(ctx, rpctypes.BlockNumber(height), false)
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

// finish records tx i as final at unix ns at, or rejected (at -1), once.
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

// waitFinal waits until every sent tx is finalized or rejected, or until none has been
// finalized for idle. It returns the time of the last finalization (unix ns) plus one.
func (r *loadRun) waitFinal(ctx context.Context, idle time.Duration) int64 {
	sent := int64(r.sent)
	last, lastChange := r.finalized.Load(), time.Now()
	for r.finalized.Load()+r.rejected.Load() < sent && time.Since(lastChange) < idle && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // polls counters the trackers update
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
