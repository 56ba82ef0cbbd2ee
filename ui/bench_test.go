package ui_test

import (
	"io"
	"net/http"
	"testing"
)

// benchGet times GET path on the fixture's node over loopback HTTP, body read included.
func benchGet(b *testing.B, path string) {
	c := &http.Client{}
	var n int64
	for b.Loop() {
		resp, err := c.Get(fx.base + path)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		n = m
	}
	b.ReportMetric(float64(n), "bytes/page")
}

// BenchmarkOverview is the server's side of a first render of /ui/: 20 blocks, 10 commit
// certificates, the data dir size (cached 10 s), the template.
func BenchmarkOverview(b *testing.B) { benchGet(b, "/ui/") }

// BenchmarkStatus is what an open overview costs the node per new head it is told of
// (one request at a time): the blocks above the last shown, signing marks, mempool.
func BenchmarkStatus(b *testing.B) { benchGet(b, "/ui/api/status?since=1") }

// BenchmarkStatusUpToDate is that request when no block is new: the common case on a
// chain that is faster than the page's round trip.
func BenchmarkStatusUpToDate(b *testing.B) {
	benchGet(b, "/ui/api/status?since=18446744073709551615")
}
