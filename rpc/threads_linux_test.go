package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// Executions run on at most n reused threads, each at the lowered priority; after close
// they still run, on threads of their own, also at that priority.
func TestExecThreads(t *testing.T) {
	p := newExecThreads(2)
	type ran struct{ tid, nice int }
	var mu sync.Mutex
	var got []ran
	job := func(wg *sync.WaitGroup) func() {
		return func() {
			defer wg.Done()
			tid := unix.Gettid()
			prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got = append(got, ran{tid, 20 - prio}) // the raw syscall answers 20 - nice
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		p.run(job(&wg))
	}
	wg.Wait()
	threads := map[int]bool{}
	for _, r := range got {
		threads[r.tid] = true
		if r.nice != execNice {
			t.Errorf("a job ran at nice %d, want %d", r.nice, execNice)
		}
	}
	if len(got) != 40 || len(threads) > 2 {
		t.Errorf("%d jobs ran on %d threads, want 40 on at most 2", len(got), len(threads))
	}
	p.close()
	got = nil
	wg.Add(1)
	p.run(job(&wg))
	wg.Wait()
	if len(got) != 1 || got[0].nice != execNice {
		t.Errorf("after close: %+v", got)
	}
}

// threadNice is the nice value of the calling OS thread.
func threadNice(t *testing.T) int {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Error(err)
	}
	return 20 - prio // the raw syscall answers 20 - nice
}

// A short execution runs inline at normal priority, once. One that outlasts the fast
// lane is stopped and runs again from the start on a thread at nice 10, whose answer is
// the one returned. Once the overflow budget is spent, executions go straight to the
// threads; with the lane off, always.
func TestExecFastLane(t *testing.T) {
	newServer := func(lane time.Duration) *Server {
		m, err := newMetrics(nil)
		if err != nil {
			t.Fatal(err)
		}
		// A share of 1: no slot rests after an execution, so that on a loaded machine
		// the next one is not refused for waiting out the rest (ExecQueueWait).
		cfg := Config{ExecFastLane: lane, ExecShare: 1}.withDefaults()
		s := &Server{cfg: cfg, metrics: m, threads: newExecThreads(cfg.ExecSlots), fast: newFastLane(cfg.ExecFastLane),
			admit: newAdmission(cfg.ExecSlots, cfg.ExecQueue, cfg.ExecPerClient, cfg.ExecQueueWait, m.admission)}
		t.Cleanup(s.threads.close)
		return s
	}
	type run struct {
		nice   int
		killed bool // its context ended before it returned
	}
	// exec runs one execution that takes d (or until its context ends) and returns
	// the runs it made and the answer.
	exec := func(s *Server, d time.Duration) ([]run, int, error) {
		var runs []run
		answer := 0
		err := s.execute(context.Background(), "test", func(ctx context.Context) error {
			r := run{nice: threadNice(t)}
			select {
			case <-time.After(d):
			case <-ctx.Done():
				r.killed = true
			}
			runs = append(runs, r)
			answer = len(runs)
			if r.killed {
				return ctx.Err()
			}
			return nil
		})
		return runs, answer, err
	}

	s := newServer(0) // the default lane
	runs, answer, err := exec(s, 0)
	if err != nil || len(runs) != 1 || runs[0].nice != 0 || answer != 1 {
		t.Fatalf("short execution: runs %+v, answer %d, err %v; want one inline run at nice 0", runs, answer, err)
	}
	runs, answer, err = exec(s, 20*DefaultExecFastLane)
	if err != nil || len(runs) != 2 || !runs[0].killed || runs[0].nice != 0 || runs[1].killed || runs[1].nice != execNice || answer != 2 {
		t.Fatalf("long execution: runs %+v, answer %d, err %v; want a stopped inline run, then a whole one at nice %d", runs, answer, err, execNice)
	}
	// Spend the overflow budget (no refill here, so that the test does not race it).
	s.fast.overflows = rate.NewLimiter(0, 3)
	for i := range 3 {
		if !s.fast.open() {
			t.Fatalf("the lane closed after %d overflows, want 3", i)
		}
		if _, _, err := exec(s, 20*DefaultExecFastLane); err != nil {
			t.Fatalf("overflow %d: %v", i, err)
		}
	}
	if s.fast.open() {
		t.Fatal("the lane is still open after the overflow budget was spent")
	}
	if runs, _, _ := exec(s, 0); len(runs) != 1 || runs[0].nice != execNice {
		t.Fatalf("lane closed: runs %+v, want one run on a thread", runs)
	}

	off := newServer(-1)
	if runs, _, _ := exec(off, 0); len(runs) != 1 || runs[0].nice != execNice {
		t.Fatalf("lane off: runs %+v, want one run on a thread", runs)
	}
}
