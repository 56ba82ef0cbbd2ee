package state

import (
	"fmt"
	"testing"
)

// BenchmarkCursor reads keys of the 10^6-key tree at the latest height through View.Get
// and through one Cursor (a block's reads), in alternating rounds over the same keys
// once they have been read once (so that both find the same blocks cached). (Apart from
// bench_test.go, which scripts/bench-state-commit.sh runs against older code.)
func BenchmarkCursor(b *testing.B) {
	f := getFixture(b, benchRadixBits(b)[0])
	latest, _ := f.s.Latest()
	v, err := f.s.Reader(latest)
	if err != nil {
		b.Fatal(err)
	}
	key := func(i int) []byte { return benchKey(uint64(i%20_000*7919) % uint64(f.n)) }
	for i := range 20_000 {
		if _, err := v.Get(key(i)); err != nil {
			b.Fatal(err)
		}
	}
	for round := range 3 {
		b.Run(fmt.Sprintf("round%d/view-get", round), func(b *testing.B) {
			for i := range b.N {
				if _, err := v.Get(key(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("round%d/cursor-get", round), func(b *testing.B) {
			c, err := v.Cursor()
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for i := range b.N {
				if _, err := c.Get(key(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
