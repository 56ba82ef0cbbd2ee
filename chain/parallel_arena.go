//go:build !js

package chain

import (
	"errors"
	"sync"

	"github.com/wnode/wnode/state"
)

// parArena is the memory of one parallel block execution that the next one reuses: the
// multi-version memory (its shard maps and key slabs), the transactions' records with
// their read and key lists, and the workers' StateDBs, write-set buffers and key caches.
// Allocated afresh for every block they were about 6 MB of a block of 5,000 transfers,
// a quarter of what the 2-worker run allocated, and most of its page faults: the
// runtime gives such memory back to the kernel between blocks, and the next block
// faults it in again (docs/rationale/parallel-exec.md, session 8).
//
// An arena serves one execution at a time: executeParallel takes one from the chain's
// parArenas, and the executor gives it back once it has taken the block's write set
// (executor.changes) or when the execution failed. What the arena held is cleared then:
// nothing in it outlives the block, and the byte slices of the write set (keys and
// values) are never the arena's, so a write set handed out stays intact while the next
// block reuses the arena.
type parArena struct {
	mv      mvMemory
	ptx     []ptx // the first n are the execution's
	n       int
	workers []*pworker
}

// parArenas keeps the arenas of finished executions for the next ones. At most
// maxIdleArenas are kept: executions of one chain run one at a time, or two when the
// next block executes while the last one commits.
type parArenas struct {
	mu   sync.Mutex
	idle []*parArena
}

const maxIdleArenas = 2

// get returns an arena for an execution of n transactions on workers goroutines, its
// memory over base.
func (p *parArenas) get(base state.Reader, n, workers int) *parArena {
	var a *parArena
	p.mu.Lock()
	if k := len(p.idle); k > 0 {
		a, p.idle[k-1] = p.idle[k-1], nil
		p.idle = p.idle[:k-1]
	}
	p.mu.Unlock()
	if a == nil {
		a = new(parArena)
	}
	// A transfer or a token call touches about four keys (sender, recipient or contract,
	// code, storage): sizing the maps for that saves growing them under their locks.
	a.mv.init(base, 4*n, workers)
	if len(a.ptx) < n {
		a.ptx = make([]ptx, n)
	}
	a.n = n
	for len(a.workers) < workers {
		a.workers = append(a.workers, &pworker{sdb: state.NewStateDB(state.Empty)})
	}
	return a
}

// put clears a and keeps it for the next execution. No goroutine may use a any more.
func (p *parArenas) put(a *parArena) {
	a.mv.reset()
	for i := range a.ptx[:a.n] {
		t := &a.ptx[i]
		// The lists keep their memory (cut from a worker's chunk, or grown), not what
		// they point to.
		reads, keys := t.view.reads[:cap(t.view.reads)], t.keys[:cap(t.keys)]
		clear(reads)
		clear(keys)
		*t = ptx{}
		t.view.reads, t.keys = reads[:0], keys[:0]
	}
	for _, w := range a.workers {
		w.sdb.Reset(state.Empty)
		clear(w.near[:]) // its keys are the memory's, cleared above
	}
	p.mu.Lock()
	if len(p.idle) < maxIdleArenas {
		p.idle = append(p.idle, a)
	}
	p.mu.Unlock()
}

// parallelChanges returns the write set of the parallel execution, taken from the
// multi-version memory the first time, and gives the arena back.
func (e *executor) parallelChanges() ([]state.Change, error) {
	if e.arena != nil {
		e.mvChanges, e.mvErr = e.mv.changes(e.committed)
		e.releaseArena()
	}
	return e.mvChanges, e.mvErr
}

// releaseArena gives the executor's arena back to its chain: the memory is not read
// again (changes returns what parallelChanges took, or errParallelFailed).
func (e *executor) releaseArena() {
	if a := e.arena; a != nil {
		e.arena = nil
		e.c.arenas.put(a)
	}
}

// errParallelFailed is what changes returns after a failed parallel execution (no
// caller asks: the execution's own error is returned first).
var errParallelFailed = errors.New("chain: parallel execution failed: no write set")
