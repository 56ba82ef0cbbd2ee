package testutil

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Unix(1000, 0)
	c := NewClock(start)
	timer, stopTimer := c.NewTimer(3 * time.Second)
	tick, stopTick := c.NewTicker(time.Second)
	stopped, stop := c.NewTimer(time.Second)
	if !stop() || c.Waiters() != 2 {
		t.Fatalf("stop of an armed timer, %d waiters", c.Waiters())
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-timer:
		t.Fatal("timer fired early")
	case <-tick:
		t.Fatal("ticker fired early")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-tick; !got.Equal(start.Add(time.Second)) {
		t.Fatalf("tick at %v", got)
	}
	c.Advance(5 * time.Second) // ticks at 2 s .. 6 s: one waits, the others drop
	if got := <-tick; !got.Equal(start.Add(2 * time.Second)) {
		t.Fatalf("tick at %v, want the first missed one", got)
	}
	if got := <-timer; !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("timer at %v", got)
	}
	if stopTimer() {
		t.Fatal("stop of a fired timer reported true")
	}
	select {
	case <-stopped:
		t.Fatal("a stopped timer fired")
	default:
	}
	stopTick()
	c.Advance(time.Hour)
	if c.Waiters() != 0 || !c.Now().Equal(start.Add(time.Hour+6*time.Second)) {
		t.Fatalf("%d waiters at %v", c.Waiters(), c.Now())
	}
}
