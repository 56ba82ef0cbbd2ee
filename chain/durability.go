//go:build !js

package chain

import (
	"context"
	"sync"

	"github.com/wnode/wnode/types"
)

// CommitBlockNoSync is CommitBlock without waiting for the disk: when it returns, b is the
// head and every read (and the next block's execution) sees it, and a sync of Pebble's
// log has started in the background. A crash before that sync ends may lose b, and the
// blocks committed after it, but never a part of a block nor a block without those before
// it (each block is one batch, and Pebble's log is written in order), so the store
// reopens at an earlier head, consistent. WaitDurable waits for the sync. Consensus
// commits this way and waits before it signs anything of the next height
// (docs/rationale/consensus.md, "Persistence").
func (c *Chain) CommitBlockNoSync(ctx context.Context, b *types.Block, commit *types.Commit) error {
	return c.commitBlock(ctx, b, commit, false)
}

// WaitDurable returns once every block committed so far is durable, and what the store
// held when the chain was opened (a process that crashed may have left writes in the
// operating system's cache that Pebble replayed but no sync covered). It costs nothing
// once the background sync is done, and starts one if none covers the latest commit. An
// error of a sync is returned by every later call.
func (c *Chain) WaitDurable() error {
	return c.durable.wait(c.st.Sync)
}

// durability runs one sync at a time in the background, each covering every commit
// requested before it started, so that commits faster than the disk (block sync) share
// syncs instead of queueing a goroutine each.
type durability struct {
	mu      sync.Mutex
	cond    sync.Cond
	want    uint64 // syncs requested: one per unsynced commit, one for what was opened
	done    uint64 // the highest want a completed sync covered
	running bool
	err     error
}

func (d *durability) init() {
	d.cond.L = &d.mu
	d.want = 1
}

// request notes an unsynced commit and starts a sync for it.
func (d *durability) request(sync func() error) {
	d.mu.Lock()
	d.want++
	d.start(sync)
	d.mu.Unlock()
}

// start runs the syncing goroutine if one is needed and none runs. d.mu is held.
func (d *durability) start(sync func() error) {
	if d.running || d.done >= d.want || d.err != nil {
		return
	}
	d.running = true
	go func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		for d.done < d.want && d.err == nil {
			target := d.want
			d.mu.Unlock()
			err := sync()
			d.mu.Lock()
			if err != nil {
				d.err = err
			} else {
				d.done = target
			}
			d.cond.Broadcast()
		}
		d.running = false
	}()
}

func (d *durability) wait(sync func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.start(sync)
	for d.done < d.want && d.err == nil {
		d.cond.Wait()
	}
	return d.err
}
