package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		backlog float64
		want    int
	}{
		{0, gcPercentSmall},
		{200, gcPercentSmall}, // a node keeping up with 1,000 tx/s
		{gcBacklogSmall, gcPercentSmall},
		{(gcBacklogSmall + gcBacklogLarge) / 2, (gcPercentSmall + gcPercentLarge) / 2},
		{gcBacklogLarge, gcPercentLarge},
		{10000, gcPercentLarge},
	} {
		if got := gcPercentFor(tc.backlog); got != tc.want {
			t.Errorf("gcPercentFor(%.0f) = %d, want %d", tc.backlog, got, tc.want)
		}
	}
	prev := 0
	for b := 0.0; b < 2*gcBacklogLarge; b++ {
		p := gcPercentFor(b)
		if p < prev {
			t.Fatalf("the target falls from %d to %d at a backlog of %.0f", prev, p, b)
		}
		prev = p
	}
}

// gcPercent reads the collector's target without changing it: reading it with
// debug.SetGCPercent would write it, and an armed tuner setting it between the two
// calls would be overwritten (the tuner, which sets it only when its value changes,
// then never corrects it).
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestGCTuner: the tuner moves the target with the smoothed backlog, and collections
// drive it.
func TestGCTuner(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	var backlog atomic.Int64
	tu := &gcTuner{backlog: func() int { return int(backlog.Load()) }, percent: gcPercentLarge, avg: gcBacklogLarge}
	debug.SetGCPercent(tu.percent)
	// An idle pool: the average falls by a quarter of the gap each reading, past
	// gcBacklogSmall within a few readings.
	if got := tu.tune(); got == gcPercentSmall || got > gcPercentLarge {
		t.Fatalf("one idle reading after a backlog: target %d, want between %d and %d", got, gcPercentSmall, gcPercentLarge)
	}
	for range 10 {
		tu.tune()
	}
	if tu.percent != gcPercentSmall || gcPercent() != gcPercentSmall {
		t.Fatalf("idle: target %d (runtime %d), want %d", tu.percent, gcPercent(), gcPercentSmall)
	}
	backlog.Store(4000)
	for range 10 {
		tu.tune()
	}
	if tu.percent != gcPercentLarge || gcPercent() != gcPercentLarge {
		t.Fatalf("behind: target %d (runtime %d), want %d", tu.percent, gcPercent(), gcPercentLarge)
	}

	// Armed, the tuner runs after collections: an idle pool brings the target down.
	backlog.Store(0)
	tu.arm()
	defer tu.stop()
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() != gcPercentSmall {
		if time.Now().After(deadline) {
			t.Fatalf("the tuner did not run after collections: target %d", gcPercent())
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // the finalizer goroutine runs
	}
}
