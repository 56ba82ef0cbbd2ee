package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// The garbage collector's target of a running node, unless GOGC is set, follows how
// many executable txs wait in its pool. The heap grows to live × (1 + target/100)
// before a collection, so the target sets most of a node's memory (issue 15: no more
// per node than a CometBFT node at the same load), and halving it doubles the
// collector's work per allocated byte. A node that keeps up with its load holds about
// a block's worth of txs (tens to a few hundred at 1,000 tx/s): it has CPU to spare and
// gets gcPercentSmall, which took 6–8 MB off its peak RSS at 1,000 tx/s. A node behind
// its load (thousands waiting: the closed loop's maximum) is short of CPU and keeps
// gcPercentLarge, the target of sessions 5 and 6. Linear in between; the backlog is
// smoothed over collections. docs/rationale/node.md.
const (
	gcPercentSmall = 25
	gcPercentLarge = 50
	gcBacklogSmall = 500  // executable txs waiting in the pool
	gcBacklogLarge = 1500 //
)

// gcPercentFor is the collector's target for a backlog of waiting txs.
func gcPercentFor(backlog float64) int {
	switch {
	case backlog <= gcBacklogSmall:
		return gcPercentSmall
	case backlog >= gcBacklogLarge:
		return gcPercentLarge
	}
	return gcPercentSmall + int((backlog-gcBacklogSmall)*(gcPercentLarge-gcPercentSmall)/(gcBacklogLarge-gcBacklogSmall))
}

// gcStartPercent is the target while the node starts, before its pool exists.
func gcStartPercent() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercentLarge)
	}
}

// tuneGC sets the collector's target from backlog (the pool's executable txs) after
// every collection, leaving an explicit GOGC alone.
func tuneGC(backlog func() int) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	t := &gcTuner{backlog: backlog, percent: gcPercentLarge, avg: gcBacklogLarge}
	t.tune()
	t.arm()
}

// gcTuner re-reads the backlog after each collection: a finalizer on an object
// allocated after one collection runs after the next, then arms another.
type gcTuner struct {
	backlog func() int
	mu      sync.Mutex
	percent int
	avg     float64 // the backlog, smoothed: each reading weighs a quarter
	stopped bool    // no more tuning (tests)
}

// gcSentinel is only a finalizer's anchor. It holds a pointer so that it is not placed
// in a tiny-allocation block, whose finalizers may never run.
type gcSentinel struct{ _ *int }

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		t.mu.Lock()
		stopped := t.stopped
		t.mu.Unlock()
		if !stopped {
			t.tune()
			t.arm()
		}
	})
}

// stop ends the tuning: once it returns the tuner sets the target no more (a finalizer
// running meanwhile sees it under t.mu), and its finalizer stops re-arming.
func (t *gcTuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
}

// tune folds the current backlog into the average, sets the target for it and
// returns it.
func (t *gcTuner) tune() int {
	b := float64(t.backlog())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return t.percent
	}
	t.avg += (b - t.avg) / 4
	if p := gcPercentFor(t.avg); p != t.percent {
		t.percent = p
		debug.SetGCPercent(p)
	}
	return t.percent
}
