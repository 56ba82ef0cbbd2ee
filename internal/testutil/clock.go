package testutil

import (
	"sync"
	"time"
)

// Clock is a clock a test moves by hand (Advance): its timers and tickers fire when the
// time they wait for is reached, never by themselves. It has the methods of
// network.Clock. Safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
}

type waiter struct {
	at     time.Time
	period time.Duration // 0 for a timer
	ch     chan time.Time
}

// NewClock returns a clock at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a channel that receives the time once the clock has advanced by d,
// and a function that stops the timer (true if it had not fired).
func (c *Clock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	w := c.add(d, 0)
	return w.ch, func() bool { return c.stop(w) }
}

// NewTicker returns a channel that receives the time every d of the clock's time (at
// most one tick waits in it, like time.Ticker), and a function that stops it.
func (c *Clock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		panic("testutil.Clock: non-positive ticker period")
	}
	w := c.add(d, d)
	return w.ch, func() { c.stop(w) }
}

// Waiters is the number of timers and tickers waiting: a test can wait for the code it
// drives to have armed one before it advances the clock.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Advance moves the clock forward by d and fires, in time order, every timer and tick
// due by then (a ticker whose reader is behind drops ticks).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	for {
		var next *waiter
		for _, w := range c.waiters {
			if !w.at.After(end) && (next == nil || w.at.Before(next.at)) {
				next = w
			}
		}
		if next == nil {
			break
		}
		c.now = next.at
		select {
		case next.ch <- c.now:
		default:
		}
		if next.period > 0 {
			next.at = next.at.Add(next.period)
		} else {
			c.remove(next)
		}
	}
	c.now = end
}

func (c *Clock) add(d, period time.Duration) *waiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &waiter{at: c.now.Add(d), period: period, ch: make(chan time.Time, 1)}
	if d <= 0 {
		w.ch <- c.now
		if period == 0 {
			return w
		}
		w.at = c.now.Add(period)
	}
	c.waiters = append(c.waiters, w)
	return w
}

func (c *Clock) stop(w *waiter) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remove(w)
}

func (c *Clock) remove(w *waiter) bool {
	for i, o := range c.waiters {
		if o == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return true
		}
	}
	return false
}
