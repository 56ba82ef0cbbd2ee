package rpc

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestAdmissionRoundRobin: waiting clients are served in turn, so a client with many
// queued requests does not starve one with a single request that arrived after them.
func TestAdmissionRoundRobin(t *testing.T) {
	a := newAdmission(1, 10, 10, 10*time.Second, newAdmissionMetrics())
	ctx := context.Background()
	release, err := a.acquire(ctx, "holder")
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 4)
	enqueue := func(client string) {
		queued := a.queuedNow()
		go func() {
			rel, err := a.acquire(ctx, client)
			if err != nil {
				t.Error(err)
				return
			}
			order <- client
			rel(0)
		}()
		for a.queuedNow() == queued { // wait until it is in the queue: order matters
			time.Sleep(time.Millisecond)
		}
	}
	enqueue("heavy")
	enqueue("heavy")
	enqueue("heavy")
	enqueue("light")
	release(0)
	var got []string
	for range 4 {
		got = append(got, <-order)
	}
	want := []string{"heavy", "light", "heavy", "heavy"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("service order %v, want %v", got, want)
		}
	}
	deadline := time.Now().Add(5 * time.Second) // the last release may still be under way
	for {
		a.mu.Lock()
		clients, running, queued := len(a.clients), a.running, a.queued
		a.mu.Unlock()
		if clients == 0 && running == 0 && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left %d clients, %d running, %d queued", clients, running, queued)
		}
		time.Sleep(time.Millisecond)
	}
}

func (a *admission) queuedNow() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queued
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8545": true, "[::1]:1": true, "0.0.0.0:8545": false, "192.0.2.1:80": false, "[::]:8545": false} {
		ta, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(ta); got != want {
			t.Errorf("%s: %v", addr, got)
		}
	}
}
