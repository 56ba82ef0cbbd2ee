package consensus

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wnode/wnode/types"
)

// BenchmarkDevHeight measures one height of a single-validator chain (--dev) with the
// WAL and the guard on real files with fsync: propose, prevote, precommit (each signed
// and guard-persisted, the precommit WAL-synced too, beside the guard's sync), commit. It
// is the floor of a transaction's latency in dev mode, on top of execution.
func BenchmarkDevHeight(b *testing.B) {
	height := devHeight(b, false)
	b.ResetTimer()
	for range b.N {
		height()
	}
}

// BenchmarkDevHeightWAL compares the precommit's WAL sync beside the guard's (the
// node's FileWAL, AppendStartSync) with the two one after the other (serialWAL hides
// AppendStartSync: the code before December 2026, session 8), alternating heights of two
// dev validators in separate directories so that both see the same drift of the disk's
// sync latency. It reports each one's median, 90th percentile and mean height, and their
// ratios.
func BenchmarkDevHeightWAL(b *testing.B) {
	overlapped, serial := devHeight(b, false), devHeight(b, true)
	var o, s []float64
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		overlapped()
		o = append(o, float64(time.Since(t).Microseconds())/1000)
		t = time.Now()
		serial()
		s = append(s, float64(time.Since(t).Microseconds())/1000)
	}
	b.StopTimer()
	for _, q := range []struct {
		name string
		f    func([]float64) float64
	}{{"median", median}, {"p90", p90}, {"mean", mean}} {
		mo, ms := q.f(o), q.f(s)
		b.ReportMetric(mo, "ms/height-overlapped-"+q.name)
		b.ReportMetric(ms, "ms/height-serial-"+q.name)
		b.ReportMetric(mo/ms, "overlapped/serial-"+q.name)
	}
}

func median(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
func p90(v []float64) float64    { slices.Sort(v); return v[len(v)*9/10] }

func mean(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// serialWAL is a FileWAL without AppendStartSync.
type serialWAL struct{ w *FileWAL }

func (s serialWAL) Append(rec []byte, sync bool) error { return s.w.Append(rec, sync) }
func (s serialWAL) ReadAll() ([][]byte, error)         { return s.w.ReadAll() }
func (s serialWAL) Reset(durable func() error) error   { return s.w.Reset(durable) }

// devHeight starts a single-validator State on real files in a new directory and returns
// a function that runs one height of it.
func devHeight(b *testing.B, serial bool) func() {
	keys := testKeys(b, 1)
	vals := testValidators(b, keys, equalPowers(1))
	dir := b.TempDir()
	wal, err := OpenWAL(filepath.Join(dir, "consensus.wal"), FileOptions{NoSync: benchNoSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { wal.Close() })
	guard, err := OpenFileGuardStore(filepath.Join(dir, "guard"), FileOptions{NoSync: benchNoSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { guard.Close() })
	cfg := DevConfig(testChainID)
	cfg.MinBlockInterval = 0
	app, clock := newTestApp(vals), newManualClock()
	var w WAL = wal
	if serial {
		w = serialWAL{wal}
	}
	st, err := New(cfg, Deps{App: app, Signer: NewKeySigner(keys[0]), Guard: guard, WAL: w,
		Broadcaster: &captureBroadcaster{}, Clock: clock}, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return func() {
		h := app.height()
		app.pending = true
		if err := st.TxsAvailable(ctx); err != nil {
			b.Fatal(err)
		}
		if got := app.height(); got != h+1 {
			b.Fatalf("height %d after one height from %d", got, h)
		}
	}
}

// BenchmarkHandleVote measures counting a prevote from the network in a 7-validator
// network: a new one (signature recovery, WAL append in memory, tally) and a duplicate
// (what most re-broadcast traffic is: dropped before any signature check).
func BenchmarkHandleVote(b *testing.B) {
	keys := testKeys(b, 7)
	vals := testValidators(b, keys, equalPowers(7))
	var votes []*Message
	for _, k := range keys {
		votes = append(votes, &Message{Vote: signVote(b, k, types.PrevoteType, 1, 0, testBlockHash("A", 1))})
	}
	ctx := context.Background()
	newState := func() *State {
		st, err := New(DefaultConfig(testChainID), Deps{App: newTestApp(vals), WAL: &memWAL{},
			Broadcaster: &captureBroadcaster{}, Clock: newManualClock()}, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Start(ctx); err != nil {
			b.Fatal(err)
		}
		return st
	}
	b.Run("new", func(b *testing.B) {
		st := newState()
		for i := range b.N {
			if i%len(votes) == 0 {
				b.StopTimer()
				st = newState()
				b.StartTimer()
			}
			if err := st.HandleMessage(ctx, votes[i%len(votes)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		st := newState()
		for _, m := range votes {
			_ = st.HandleMessage(ctx, m)
		}
		b.ResetTimer()
		for i := range b.N {
			if err := st.HandleMessage(ctx, votes[i%len(votes)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchNoSync (WNODE_BENCH_NOSYNC=1) runs BenchmarkDevHeight without fsync, to separate
// the cost of the disk from the cost of the code.
var benchNoSync = os.Getenv("WNODE_BENCH_NOSYNC") != ""

// BenchmarkSyncs measures the disk's fdatasync latency for the WAL's and the guard's
// writes in the temp directory (TMPDIR): a 300-byte append to a file (a WAL record), an
// overwrite in place (a guard slot), and both, synced one after the other (a precommit
// before session 8) or at the same time (State.sign now). It reports the median and
// 90th percentile of each.
func BenchmarkSyncs(b *testing.B) {
	dir := b.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	wal, guard := open("wal"), open("guard")
	rec := make([]byte, 300)
	var off int64
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	appendRec := func() { _, err := wal.WriteAt(rec, off); must(err); off += int64(len(rec)) }
	overwrite := func(i int) { _, err := guard.WriteAt(rec, int64(i%2)*4096); must(err) }
	timed := func(d *[]float64, f func()) {
		t := time.Now()
		f()
		*d = append(*d, float64(time.Since(t).Microseconds())/1000)
	}
	overwrite(0)
	overwrite(1)
	must(syncData(guard))
	var app, ovw, ser, par []float64
	b.ResetTimer()
	for i := range b.N {
		appendRec()
		timed(&app, func() { must(syncData(wal)) })
		overwrite(i)
		timed(&ovw, func() { must(syncData(guard)) })
		appendRec()
		overwrite(i)
		timed(&ser, func() { must(syncData(guard)); must(syncData(wal)) })
		appendRec()
		overwrite(i)
		timed(&par, func() {
			done := make(chan error, 1)
			go func() { done <- syncData(wal) }()
			must(syncData(guard))
			must(<-done)
		})
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		v    []float64
	}{{"append", app}, {"overwrite", ovw}, {"serial", ser}, {"overlapped", par}} {
		b.ReportMetric(median(m.v), "ms-"+m.name+"-median")
		b.ReportMetric(p90(m.v), "ms-"+m.name+"-p90")
	}
}
