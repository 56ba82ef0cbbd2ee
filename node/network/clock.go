package network

import "time"

// Clock is the network's time: when things happen, and the timers and tickers of what it
// does periodically (gossip batches and warm-up, re-gossip, block sync polls, the relay
// gap of consensus messages, the budget of a peer's txs). Config.Clock sets it; nil is
// the wall clock. Tests pass a clock they advance themselves.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives the time once d has passed, and a stop
	// function that reports whether it stopped the timer before it fired.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
	// NewTicker returns a channel that receives the time every d (dropping ticks a slow
	// reader misses, like time.Ticker), and a stop function.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

// wallClock is the Clock of a node: package time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func (wallClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
