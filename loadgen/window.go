package loadgen

import (
	"fmt"
	"slices"
	"time"
)

// Window summarises the txs finalized in a span of time [from, to) (unix ns).
type Window struct {
	Seconds   float64 `json:"seconds"`
	Committed int     `json:"committed"` // txs finalized in the window
	// TxsPerSec is the chain's committed rate over the window's whole blocks: the txs of
	// its blocks but the first over the time from the first block's timestamp to the
	// last's. Counting finalizations in the window instead would be off by up to a block
	// at each end, and blocks of thousands of txs come a few per second. With fewer than
	// three blocks it falls back to Committed / Seconds.
	TxsPerSec float64   `json:"committedTxsPerSec"`
	Latency   Latencies `json:"submitToFinal"`
	P95       float64   `json:"p95Micros"`
	Blocks    int       `json:"blocks"`
	Interval  Latencies `json:"blockInterval"`
	TxsPerBlk float64   `json:"txsPerBlock"`
	// PeakRSS is each node's peak resident set size since it started, in bytes, read at
	// the window's end (Config.Processes; 0: unknown). The steps of a closed loop only
	// grow the load, so the peak of the step with the highest rate is that load's.
	PeakRSS []uint64 `json:"peakRSSBytes,omitempty"`
}

// window summarises the txs finalized in [from, to) and the blocks whose timestamps fall
// in it.
func (r *loadRun) window(from, to int64) Window {
	var lat []time.Duration
	for i := range r.txs {
		d := r.doneAt[i].Load()
		if d > 0 && d >= from && d < to {
			lat = append(lat, time.Duration(d-r.sentAt[i].Load()))
		}
	}
	w := Window{Seconds: float64(to-from) / 1e9, Committed: len(lat)}
	w.TxsPerSec = float64(len(lat)) / w.Seconds
	w.Latency = Summarize(lat) // sorts lat
	if len(lat) > 0 {
		w.P95 = quantile(lat, 0.95)
	}
	r.blockMu.Lock()
	defer r.blockMu.Unlock()
	heights := r.blocksIn(from, to)
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
	w.Blocks, w.Interval = len(heights), Summarize(gaps)
	w.PeakRSS = r.peakRSS()
	if len(heights) > 0 {
		w.TxsPerBlk = float64(txs) / float64(len(heights))
	}
	return w
}

// blocksIn returns, in order, the heights of the fetched blocks whose timestamps fall in
// [from, to) (unix ns). r.blockMu must be held.
func (r *loadRun) blocksIn(from, to int64) []uint64 {
	var heights []uint64
	for h, b := range r.blocks {
		select {
		case <-b.ready:
			if at := int64(b.timeMs) * 1e6; b.err == nil && at >= from && at < to {
				heights = append(heights, h)
			}
		default:
		}
	}
	slices.Sort(heights)
	return heights
}

func (w Window) String() string {
	s := fmt.Sprintf("%.0f tx/s committed (%d finalized in %.1f s)\n    submit → final  p50 %s  p95 %s  p99 %s  max %s\n    blocks          %d, interval p50 %s mean %s, %.0f txs/block",
		w.TxsPerSec, w.Committed, w.Seconds, us(w.Latency.P50), us(w.P95), us(w.Latency.P99), us(w.Latency.Max),
		w.Blocks, us(w.Interval.P50), us(w.Interval.Mean), w.TxsPerBlk)
	if len(w.PeakRSS) > 0 {
		s += "\n    peak RSS/node   " + rssText(w.PeakRSS)
	}
	return s
}
