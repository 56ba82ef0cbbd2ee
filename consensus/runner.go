package consensus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wnode/wnode/types"
)

// runnerQueue is the capacity of the Runner's inbound message queue. When it is full
// (the State is slower than gossip), further messages are dropped: re-broadcast and
// gossip redundancy make up for it, and a backlog of stale votes helps nobody.
const runnerQueue = 4096

// Runner drives a State on one goroutine from channels, with wall-clock timers: the
// consensus event loop of the node. Its methods are safe for concurrent use.
type Runner struct {
	st       *State
	msgs     chan *Message
	timeouts chan Timeout
	txs      chan struct{}
	synced   chan syncRequest
	stop     chan struct{}
	running  atomic.Bool
	status   atomic.Pointer[Status]
	dropped  atomic.Uint64

	mu       sync.Mutex
	evidence []DuplicateVoteEvidence
	evCount  int
}

type syncRequest struct {
	block  []byte
	commit *types.Commit
	reply  chan error
}

// NewRunner returns a Runner over a new State (see New); deps.Clock is ignored and
// replaced by the wall clock.
func NewRunner(cfg Config, deps Deps, lastHeight uint64, lastCommit *types.Commit) (*Runner, error) {
	r := &Runner{
		msgs:     make(chan *Message, runnerQueue),
		timeouts: make(chan Timeout, 64),
		txs:      make(chan struct{}, 1),
		synced:   make(chan syncRequest),
		stop:     make(chan struct{}),
	}
	deps.Clock = &wallClock{ch: r.timeouts, stop: r.stop}
	st, err := New(cfg, deps, lastHeight, lastCommit)
	if err != nil {
		return nil, err
	}
	r.st = st
	r.publish()
	return r, nil
}

// Run starts the State (replaying the WAL) and processes its inputs until ctx is done
// (then it returns nil) or the State fails (it returns the fatal error). Call it once.
// Before it returns, the blocks it committed are durable (Application.WaitDurable): the
// caller may close the database then.
func (r *Runner) Run(ctx context.Context) (err error) {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("consensus runner already running")
	}
	defer close(r.stop)
	defer func() {
		if derr := r.st.deps.App.WaitDurable(); derr != nil && err == nil {
			err = fmt.Errorf("consensus: committed blocks not durable: %w", derr)
		}
	}()
	if err := r.st.Start(ctx); err != nil {
		return fmt.Errorf("start consensus: %w", err)
	}
	r.publish()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-r.msgs:
			if err := r.st.HandleMessage(ctx, m); err != nil && errors.Is(err, ErrInvalidMessage) {
				r.st.log.Debug("invalid consensus message", "msg", m, "err", err)
			}
		case t := <-r.timeouts:
			_ = r.st.HandleTimeout(ctx, t)
		case <-r.txs:
			_ = r.st.TxsAvailable(ctx)
		case req := <-r.synced:
			req.reply <- r.st.ApplySyncedBlock(ctx, req.block, req.commit)
		}
		if err := r.st.Err(); err != nil {
			return err
		}
		r.publish()
	}
}

func (r *Runner) publish() {
	st := r.st.Status()
	r.status.Store(&st)
	r.mu.Lock()
	if r.evCount != r.st.evCount {
		r.evidence, r.evCount = r.st.Evidence(), r.st.evCount
	}
	r.mu.Unlock()
}

// Deliver queues a message from a peer without blocking; it is dropped if the queue is
// full. The p2p layer should run VerifyMessage before relaying, not before Deliver: the
// State verifies what it counts.
func (r *Runner) Deliver(m *Message) {
	select {
	case r.msgs <- m:
	default:
		r.dropped.Add(1)
	}
}

// Dropped returns how many delivered messages were dropped because the queue was full.
func (r *Runner) Dropped() uint64 { return r.dropped.Load() }

// TxsAvailable notes that the mempool has transactions; it never blocks and coalesces.
func (r *Runner) TxsAvailable() {
	select {
	case r.txs <- struct{}{}:
	default:
	}
}

// ApplySyncedBlock hands a block fetched by block sync to the State (see
// State.ApplySyncedBlock) and waits for the result.
func (r *Runner) ApplySyncedBlock(ctx context.Context, block []byte, commit *types.Commit) error {
	req := syncRequest{block: block, commit: commit, reply: make(chan error, 1)}
	select {
	case r.synced <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stop:
		return errors.New("consensus stopped")
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status returns where consensus is (updated after every input).
func (r *Runner) Status() Status { return *r.status.Load() }

// Evidence returns the equivocations seen so far, oldest first.
func (r *Runner) Evidence() []DuplicateVoteEvidence {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]DuplicateVoteEvidence(nil), r.evidence...)
}

// wallClock is the Clock of a Runner: time.Now and time.AfterFunc timers feeding the
// Runner's timeout channel until it stops.
type wallClock struct {
	ch   chan<- Timeout
	stop <-chan struct{}
}

func (c *wallClock) Now() time.Time { return time.Now() }

func (c *wallClock) Schedule(t Timeout) {
	time.AfterFunc(t.Duration, func() {
		select {
		case c.ch <- t:
		case <-c.stop:
		}
	})
}
