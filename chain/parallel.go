//go:build !js

package chain

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// Parallel block execution (docs/rationale/parallel-exec.md). Workers execute the
// block's transactions optimistically, each on its own state.StateDB over an mvView of
// the multi-version memory, in any order; whoever holds the commit lock then walks the
// block in order and, for each transaction, checks the pre-execution budgets and that
// every value its execution read is the value the sequential execution would have given
// it (all lower positions are committed by then, so that value is final). A transaction
// that passes is committed as it ran; one that does not is executed again right there,
// on the final values, which cannot fail validation. The committed state, receipts and
// gas are therefore those of the sequential execution, whatever the interleaving.
//
// This is Block-STM's multi-version memory and read-set validation with a simpler
// scheduler: no ESTIMATE markers or dependency lists; a transaction runs at most twice
// (once optimistically, once in order), and the in-order re-execution is what keeps a
// chain of conflicting transactions from costing more than running them in order.

// Status of a transaction in a parallel execution.
const (
	ptxPending   int32 = iota // not started
	ptxExecuting              // claimed by a worker or by the committer
	ptxExecuted               // optimistic result published
)

// ptx is one transaction of a parallel execution. The fields after status are written
// by the worker that claimed it, before it stores ptxExecuted, and read by the committer
// after it loads ptxExecuted.
type ptx struct {
	status atomic.Int32

	view    mvView // of its latest execution
	sender  types.Address
	size    uint64
	preErr  error // the pre-execution checks failed (without budgets)
	fatal   error // the execution must abandon the block (canceled, state error)
	receipt *types.Receipt
	logs    []string
	keys    []*mvKey // keys of this tx's entries in the memory
}

// parallelRun is one parallel execution of txs on an executor.
type parallelRun struct {
	e     *executor
	txs   []*types.Tx
	build bool // BuildBlock: drop what fails the checks, stop when no gas is left
	ptx   []ptx

	feeKey   []byte // the proposer's account key, credited with the fees
	feeWatch string // the same

	cursor atomic.Int64 // next position to execute optimistically

	commitMu sync.Mutex // held by the committer; guards the executor and next
	next     int        // first position not decided yet
	end      error      // why committing stopped early: an invalid tx or a fatal error
	done     chan struct{}
	wake     chan struct{} // a result was published
	closed   atomic.Bool
}

// executeParallel executes txs on workers goroutines (the caller's included) with the
// results of executing them in order: for a validation (build false) it returns the
// error of the first tx failing its checks, wrapped by invalid, or of a fatal failure;
// for a proposal it drops such txs as BuildBlock's loop does and stops when the block's
// gas is spent.
func (e *executor) executeParallel(txs []*types.Tx, workers int, build bool, invalid func(i int, tx *types.Tx, err error) error) error {
	a := e.c.arenas.get(e.base, len(txs), workers)
	p := &parallelRun{
		e: e, txs: txs, build: build, ptx: a.ptx[:len(txs)],
		done: make(chan struct{}), wake: make(chan struct{}, 1),
	}
	p.feeKey = state.AccountKey(e.header.Proposer)
	p.feeWatch = string(p.feeKey)
	e.mv, e.arena = &a.mv, a
	// Every transaction that pays a fee credits this key: found once, not once per
	// transaction under its shard's read-lock.
	e.mv.fee = e.mv.key(p.feeKey, nil)
	// Each worker reads the parent state through its own Pebble iterator (state.Cursor,
	// not safe for concurrent use), closed once the workers are done.
	if v, ok := e.base.(*state.View); ok {
		for _, w := range a.workers[:workers] {
			cur, err := v.Cursor()
			if err != nil {
				closeCursors(a.workers)
				e.mvErr = errParallelFailed
				e.releaseArena()
				return fmt.Errorf("chain: state of %d: %w", e.header.Height-1, err)
			}
			w.base = cur
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(a.workers[i], invalid)
		}()
	}
	p.work(a.workers[0], invalid)
	wg.Wait()
	closeCursors(a.workers)
	e.committed = p.next
	if p.end != nil {
		// The caller takes no write set from a failed execution.
		e.mvErr = errParallelFailed
		e.releaseArena()
	}
	return p.end
}

// work is one worker's loop: commit what can be, else execute the next transaction
// optimistically, else wait for a result to commit.
func (p *parallelRun) work(w *pworker, invalid func(int, *types.Tx, error) error) {
	n := len(p.txs)
	for !p.closed.Load() {
		if p.commitMu.TryLock() {
			p.commitLocked(w, invalid)
			p.commitMu.Unlock()
		}
		if i := int(p.cursor.Add(1) - 1); i < n {
			t := &p.ptx[i]
			if t.status.CompareAndSwap(ptxPending, ptxExecuting) {
				p.execute(w, i, math.MaxUint64, 0)
				t.status.Store(ptxExecuted)
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
			continue
		}
		p.commitMu.Lock()
		p.commitLocked(w, invalid)
		p.commitMu.Unlock()
		select {
		case <-p.wake:
		case <-p.done:
		}
	}
}

// commitLocked decides transactions in order from next until one is still running
// elsewhere or the execution is over, executing on sdb what must be. The caller holds
// commitMu.
func (p *parallelRun) commitLocked(w *pworker, invalid func(int, *types.Tx, error) error) {
	e, n := p.e, len(p.txs)
	minGas := e.c.sched.Tx.Base
	for !p.closed.Load() {
		if p.next == n || (p.build && e.gasLeft < minGas) {
			p.finish(nil)
			return
		}
		if err := e.ctx.Err(); err != nil {
			p.finish(fmt.Errorf("chain: execute: %w", err))
			return
		}
		i, t, tx := p.next, &p.ptx[p.next], p.txs[p.next]
		switch t.status.Load() {
		case ptxExecuting:
			return // its worker will publish it
		case ptxPending:
			if !t.status.CompareAndSwap(ptxPending, ptxExecuting) {
				return
			}
			p.execute(w, i, e.gasLeft, e.bytesUsed) // on final values: exact
		case ptxExecuted:
			if t.fatal != nil || t.preErr != nil || tx.GasLimit > e.gasLeft ||
				e.bytesUsed+t.size > e.c.params.MaxBlockBytes || !t.view.valid() {
				p.execute(w, i, e.gasLeft, e.bytesUsed)
			}
		}
		t.status.Store(ptxExecuted)
		switch {
		case t.fatal != nil:
			p.finish(t.fatal)
			return
		case t.preErr != nil:
			if !p.build {
				p.finish(invalid(i, tx, t.preErr))
				return
			}
			e.c.log.Debug("tx dropped from proposal", "tx", tx.Hash(), "err", t.preErr)
			t.keys = e.mv.write(i, t.keys, nil, nil, nil, nil)
		default:
			e.record(tx, t.receipt, t.logs, t.size)
		}
		p.next++
	}
}

// finish ends the execution: with err nil, every position below next is decided.
func (p *parallelRun) finish(err error) {
	p.end = err
	p.closed.Store(true)
	close(p.done)
}

// pworker is what one worker reuses from one execution to the next, and from one block
// to the next (parArena).
type pworker struct {
	base *state.Cursor // the worker's reader of the parent state during an execution, or nil
	// One StateDB per worker, reset for every execution: allocating one per transaction
	// (four maps, grown on first use) was a tenth of the parallel path's overhead.
	// (The VM reuses contract instances across calls and workers: no per-worker pool of
	// contract memories any more, see docs/rationale/parallel-exec.md.)
	sdb     *state.StateDB
	changes []state.Change // the write set of the last execution
	// Chunks the first read list and key list of each transaction it executes are cut
	// from: one allocation per 256 transactions instead of three or four per
	// transaction as the lists grow (an execution of a transfer or a token call reads
	// about five keys and writes about four).
	reads []mvRead
	keys  []*mvKey
	near  mvNear
}

// ptxLists is the capacity given to a transaction's read and key lists; a longer list
// grows on its own.
const ptxLists = 8

// lists gives t's view and key list their first memory, cut from w's chunks.
func (w *pworker) lists(t *ptx) {
	const chunk = 256 * ptxLists
	if cap(t.view.reads) == 0 {
		if len(w.reads)+ptxLists > cap(w.reads) {
			w.reads = make([]mvRead, 0, chunk)
		}
		n := len(w.reads)
		t.view.reads = w.reads[n : n : n+ptxLists]
		w.reads = w.reads[:n+ptxLists]
	}
	if cap(t.keys) == 0 {
		if len(w.keys)+ptxLists > cap(w.keys) {
			w.keys = make([]*mvKey, 0, chunk)
		}
		n := len(w.keys)
		t.keys = w.keys[n : n : n+ptxLists]
		w.keys = w.keys[:n+ptxLists]
	}
}

// execute runs the transaction at position i on w's StateDB, reset over a fresh view of
// the memory, with the given budgets and publishes its writes. The caller has claimed it.
func (p *parallelRun) execute(w *pworker, i int, gasLeft, bytesUsed uint64) {
	e, t, tx, sdb := p.e, &p.ptx[i], p.txs[i], w.sdb
	w.lists(t)
	view := &t.view
	view.reset(e.mv, w.readBase(), &w.near, i, p.feeWatch)
	sdb.Reset(view)
	t.receipt, t.logs, t.fatal = nil, nil, nil
	t.sender, t.size, t.preErr = e.precheckOn(sdb, tx, bytesUsed, gasLeft)
	if t.preErr == nil {
		if err := sdb.Err(); err != nil {
			t.fatal = fmt.Errorf("chain: state: %w", err)
		}
	}
	if t.preErr != nil || t.fatal != nil {
		t.keys = e.mv.write(i, t.keys, nil, nil, nil, nil)
		return
	}
	var credit *uint256.Int
	t.receipt, t.logs, t.fatal = e.execTx(e.ctx, sdb, tx, t.sender, t.size, func(fee *uint256.Int) {
		if view.watched {
			// The execution read the proposer's account: its credit is part of
			// what it read and wrote, in full.
			sdb.AddBalance(e.header.Proposer, fee)
			return
		}
		credit = fee
	})
	if t.fatal == nil {
		if err := sdb.Err(); err != nil {
			t.fatal = fmt.Errorf("chain: state: %w", err)
		}
	}
	if t.fatal != nil {
		t.keys = e.mv.write(i, t.keys, nil, nil, nil, nil)
		return
	}
	// The memory keeps the changes' keys and values, not the slice.
	w.changes = sdb.AppendChanges(w.changes[:0])
	t.keys = e.mv.write(i, t.keys, view, w.changes, p.feeKey, credit)
	clear(w.changes)
}

// readBase is the worker's reader of the parent state, nil when it has none (the
// memory's then).
func (w *pworker) readBase() state.Reader {
	if w.base == nil {
		return nil
	}
	return w.base
}

// closeCursors closes the workers' readers of the parent state.
func closeCursors(ws []*pworker) {
	for _, w := range ws {
		if w.base != nil {
			w.base.Close()
			w.base = nil
		}
	}
}
