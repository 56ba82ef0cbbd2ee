package loadgen

import (
	"os"
	"testing"
	"time"

	"github.com/wnode/wnode/types"
)

// TestLoadWindow: a window counts the txs finalized inside it, their latency from
// submission, and the blocks whose timestamps fall inside it.
func TestLoadWindow(t *testing.T) {
	const ms = int64(time.Millisecond)
	r := newLoadRun(&Network{}, 4)
	// tx0 100 ms, tx1 300 ms, tx2 after the window, tx3 rejected.
	for i, v := range [][2]int64{{1000, 1100}, {1200, 1500}, {1900, 2500}, {1000, -1}} {
		r.sentAt[i].Store(v[0] * ms)
		r.doneAt[i].Store(v[1] * ms)
	}
	for h, at := range map[uint64]uint64{1: 900, 2: 1100, 3: 1500, 4: 1900, 5: 2500} {
		b := &blockInfo{ready: make(chan struct{}), timeMs: at, hashes: make([]types.Hash, int(h))}
		close(b.ready)
		r.blocks[h] = b
	}
	w := r.window(1000*ms, 2000*ms)
	if w.Committed != 2 || w.Seconds != 1 {
		t.Errorf("finalized %d in %.1f s, want 2 in 1 s", w.Committed, w.Seconds)
	}
	// The chain's rate over whole blocks: blocks 3 and 4 (7 txs) after block 2, in 0.8 s.
	if w.TxsPerSec != 7/0.8 {
		t.Errorf("committed %.2f tx/s, want %.2f", w.TxsPerSec, 7/0.8)
	}
	// With fewer than three blocks: finalized txs over the window.
	if w := r.window(1000*ms, 1200*ms); w.TxsPerSec != 1/0.2 {
		t.Errorf("committed %.2f tx/s in a one-block window, want 5", w.TxsPerSec)
	}
	if w.Latency.P50 != 300_000 || w.Latency.Max != 300_000 || w.Latency.Mean != 200_000 {
		t.Errorf("latency %+v, want mean 200 ms, max 300 ms", w.Latency)
	}
	// Blocks 2, 3, 4 (1100, 1500, 1900 ms): intervals 400 and 400 ms, 3 txs a block.
	if w.Blocks != 3 || w.Interval.N != 2 || w.Interval.Mean != 400_000 || w.TxsPerBlk != 3 {
		t.Errorf("blocks %d, interval %+v, %.1f txs/block", w.Blocks, w.Interval, w.TxsPerBlk)
	}
}

// TestSummarize: quantiles index the sorted samples, the mean is exact.
func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := Summarize(d)
	if l.N != 100 || l.P50 != 51_000 || l.P90 != 91_000 || l.P99 != 100_000 || l.Max != 100_000 || l.Mean != 50_500 {
		t.Errorf("summary %+v", l)
	}
	if (Summarize(nil) != Latencies{}) {
		t.Error("empty summary not zero")
	}
}

func TestParseVmHWM(t *testing.T) {
	got, err := parseVmHWM([]byte("Name:\twnode\nVmPeak:\t 2000 kB\nVmHWM:\t  206188 kB\nVmRSS:\t 100 kB\n"))
	if err != nil || got != 206188<<10 {
		t.Fatalf("parseVmHWM = %d, %v; want %d", got, err, 206188<<10)
	}
	for _, bad := range []string{"VmRSS:\t100 kB\n", "VmHWM:\t12 MB\n", "VmHWM:\tx kB\n", ""} {
		if _, err := parseVmHWM([]byte(bad)); err == nil {
			t.Errorf("parseVmHWM(%q): no error", bad)
		}
	}
	// This process's own figure is read, and is not below its current RSS.
	if rss, err := PeakRSS(os.Getpid()); err == nil && rss == 0 {
		t.Errorf("PeakRSS(self) = 0")
	}
	if got := rssText([]uint64{206_188_000, 0}); got != "206 / ? MB" {
		t.Errorf("rssText = %q", got)
	}
}
