package rpc

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"
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
