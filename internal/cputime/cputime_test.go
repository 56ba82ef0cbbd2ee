//go:build unix

package cputime_test

import (
	"testing"

	"github.com/wnode/wnode/internal/cputime"
)

// TestProcessGrows: spinning for a while adds CPU time.
func TestProcessGrows(t *testing.T) {
	t0 := cputime.Process()
	if t0 <= 0 {
		t.Fatalf("CPU time %v, want > 0", t0)
	}
	x := uint64(1)
	for cputime.Process()-t0 < 5_000_000 { // 5 ms
		for range 100_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		t.Log(x)
	}
}
