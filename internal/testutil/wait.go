package testutil

import (
	"log/slog"
	"os"
	"testing"
	"time"
)

// WaitFor polls cond every 10 ms until it holds, and fails the test after d (scaled by
// RaceSlowdown) naming what it waited for.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d*RaceSlowdown, what)
	}
}

// Eventually polls cond every 10 ms until it holds (true) or d, scaled by
// RaceSlowdown, has passed (false). For the goroutines of a test, which must not call
// t.Fatal; others use WaitFor.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d * RaceSlowdown)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Logger discards logs unless WNODE_TEST_LOG names a level (debug, info, ...); then it
// writes them to stderr, each line tagged with name.
func Logger(name string) *slog.Logger {
	lvl := os.Getenv("WNODE_TEST_LOG")
	if lvl == "" {
		return slog.New(slog.DiscardHandler)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(lvl)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("node", name)
}
