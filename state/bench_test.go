package state

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/internal/cputime"
	"github.com/wnode/wnode/types"
)

// Benchmarks run against an on-disk tree of -state.benchkeys keys (default 10^6), built
// once per radix per process in a temporary directory (about 30 s for the default radix on
// an idle 2-core machine). -state.radixes=2,4,16 compares the stored fan-outs (slow: the
// binary tree takes minutes to build).
var (
	benchKeys    = flag.Int("state.benchkeys", 1_000_000, "keys in the benchmark tree")
	benchRadixes = flag.String("state.radixes", "16", "comma-separated stored fan-outs to benchmark (2, 4, 16)")
	benchCache   = flag.Int("state.nodecache", 0, "node cache in MiB (0: the default)")
	benchLSM     = flag.Bool("state.lsm", false, "log Pebble's metrics (the LSM's levels, compactions) after each commit benchmark")
	benchDir     = flag.String("state.benchdir", "", "keep the benchmark tree in this directory and reuse it when it exists (copy a built one to compare code versions on the same tree)")
)

// benchRadixBits returns the radix bits selected by -state.radixes.
func benchRadixBits(b *testing.B) []int {
	var out []int
	for _, f := range strings.Split(*benchRadixes, ",") {
		switch strings.TrimSpace(f) {
		case "2":
			out = append(out, 1)
		case "4":
			out = append(out, 2)
		case "16":
			out = append(out, 4)
		default:
			b.Fatalf("-state.radixes: %q is not 2, 4 or 16", f)
		}
	}
	return out
}

// benchNodeReads, when set, returns the tree nodes s has read from Pebble so far (set by
// bench_reads_test.go, which scripts/bench-state-commit.sh does not copy to older code).
var benchNodeReads func(s *Store) int64

// benchCacheStats, when set, describes the node cache (set by bench_reads_test.go).
var benchCacheStats func(s *Store) string

// benchChildVersion returns the version of n's internal child at digit d (the layout of
// format 1 and of the first format 2 code, whose nodes held all R slots; set by
// bench_reads_test.go for today's).
var benchChildVersion = func(n *node, d int) uint64 { return n.children[d].version }

type fixture struct {
	dir  string
	db   *pebble.DB
	s    *Store
	n    int // keys "key<i>" for i < n
	rng  *rand.Rand
	keep bool // the directory outlives the process
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[int]*fixture{}
)

func benchKey(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte("key"), i) }

func benchValue(rng *rand.Rand) []byte {
	v := make([]byte, 64) // about an RLP account
	for i := 0; i < len(v); i += 8 {
		binary.LittleEndian.PutUint64(v[i:], rng.Uint64())
	}
	return v
}

// getFixture returns the tree of *benchKeys keys stored with radix 2^rb.
func getFixture(b *testing.B, rb int) *fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f := fixtures[rb]; f != nil {
		return f
	}
	dir, keep := *benchDir, *benchDir != ""
	reuse := false
	if keep {
		dir = filepath.Join(dir, fmt.Sprint(1<<rb))
		if _, err := os.Stat(dir); err == nil {
			reuse = true
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "wnode-state-bench"); err != nil {
			b.Fatal(err)
		}
	}
	db, err := OpenPebble(dir)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(db, Options{radixBits: rb, KeepVersions: 2, NodeCacheBytes: *benchCache << 20})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{dir: dir, db: db, s: s, n: *benchKeys, rng: rand.New(rand.NewPCG(1, uint64(rb))), keep: keep}
	if reuse {
		// A freshly built tree leaves the node cache warm; load the internal nodes so a
		// reused one starts alike (a restarted node starts cold, but not for long).
		h, _ := s.Latest()
		s.mu.RLock()
		root := s.head.root
		s.mu.RUnlock()
		var prime func(version uint64, depth int, path types.Hash)
		prime = func(version uint64, depth int, path types.Hash) {
			n, err := s.loadNode(nodeKey(version, depth, &path, s.r))
			if err != nil {
				b.Fatal(err)
			}
			for i := range s.r.size() {
				if n.present&(1<<i) != 0 && n.leaves&(1<<i) == 0 {
					prime(benchChildVersion(n, i), depth+1, s.r.withDigit(path, depth, i))
				}
			}
		}
		if root.kind == rootInternal {
			prime(root.version, 0, types.Hash{})
		}
		// Opening replayed the WAL of the run that left the tree; its flush and the
		// compactions it starts would otherwise be charged to the first timed blocks
		// (they would inflate the CPU of a short run). Pebble's estimated debt
		// of a reused tree may stay above zero, hence the shorter wait.
		settle(b, db, 20*time.Second)
		stats := ""
		if benchCacheStats != nil {
			stats = benchCacheStats(s)
		}
		b.Logf("radix %d: reusing the tree in %s at height %d%s", 1<<rb, dir, h, stats)
		fixtures[rb] = f
		return f
	}
	start := time.Now()
	const chunk = 100_000
	for lo := 0; lo < f.n; lo += chunk {
		var cs []Change
		for i := lo; i < min(lo+chunk, f.n); i++ {
			cs = append(cs, Change{Key: benchKey(uint64(i)), Value: benchValue(f.rng)})
		}
		commit(b, s, cs)
	}
	// Prune the build's history (so that timed commits prune only blocks like
	// themselves), flush, and let compactions settle, so that every radix starts from a
	// comparable LSM and background work of the build is not charged to the benchmark.
	for range 3 {
		commit(b, s, nil)
	}
	settle(b, db, 2*time.Minute)
	b.Logf("radix %d: built %d keys in %s, disk %d MiB", 1<<rb, f.n, time.Since(start).Round(time.Millisecond), db.Metrics().DiskSpaceUsage()>>20)
	fixtures[rb] = f
	return f
}

// settle flushes db and waits (up to maxWait) for its compactions to finish.
func settle(b *testing.B, db *pebble.DB, maxWait time.Duration) {
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(maxWait); time.Now().Before(deadline); {
		if m := db.Metrics(); m.Compact.NumInProgress == 0 && m.Compact.EstimatedDebt == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

// block returns a write set of w writes for the next height: 80% updates of existing keys,
// 20% new keys (numbered from the height, so they are new in a reused tree too).
func (f *fixture) block(w int) []Change {
	h, _ := f.s.Latest()
	next := uint64(f.n) + (h+1)<<20
	seen := make(map[uint64]bool, w)
	cs := make([]Change, 0, w)
	for len(cs) < w {
		var k uint64
		if f.rng.IntN(5) == 0 {
			k = next
			next++
		} else {
			k = f.rng.Uint64N(uint64(f.n))
		}
		if !seen[k] {
			seen[k] = true
			cs = append(cs, Change{Key: benchKey(k), Value: benchValue(f.rng)})
		}
	}
	return cs
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range fixtures {
		f.db.Close()
		if !f.keep {
			os.RemoveAll(f.dir)
		}
	}
	os.Exit(code)
}

// BenchmarkCommit commits blocks of 1k and 10k writes into the 10^6-key tree for each
// stored radix. Metrics: µs/write (prepare + commit), prepare (root computation) and commit
// ms per block, bytes written to the WAL per write, tree nodes written per write.
func BenchmarkCommit(b *testing.B) {
	for _, rb := range benchRadixBits(b) {
		for _, w := range []int{1_000, 10_000} {
			b.Run(fmt.Sprintf("radix%d/writes%d", 1<<rb, w), func(b *testing.B) {
				f := getFixture(b, rb)
				for range 2 { // steady state: the commits pruned are blocks like these
					h, _ := f.s.Latest()
					u, err := f.s.Prepare(h+1, f.block(w))
					if err != nil {
						b.Fatal(err)
					}
					if err := f.s.Commit(u, nil); err != nil {
						b.Fatal(err)
					}
				}
				var prep, comm, cpu time.Duration
				var walBytes, compBytes uint64
				var getTime time.Duration
				nodes, loads, hashes, dbReads := 0, 0, 0, int64(0)
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					cs := f.block(w)
					h, _ := f.s.Latest()
					m0 := f.db.Metrics()
					wal0, comp0 := m0.WAL.BytesWritten, compacted(m0)
					var reads0 int64
					if benchNodeReads != nil {
						reads0 = benchNodeReads(f.s)
					}
					cpu0 := cputime.Process()
					b.StartTimer()
					t0 := time.Now()
					u, err := f.s.Prepare(h+1, cs)
					if err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if err := f.s.Commit(u, nil); err != nil {
						b.Fatal(err)
					}
					t2 := time.Now()
					b.StopTimer()
					cpu += cputime.Process() - cpu0
					prep += t1.Sub(t0)
					comm += t2.Sub(t1)
					nodes += len(u.nodes)
					loads += u.loads
					hashes += u.hashes
					m1 := f.db.Metrics()
					walBytes += m1.WAL.BytesWritten - wal0
					compBytes += compacted(m1) - comp0
					if benchNodeReads != nil {
						dbReads += benchNodeReads(f.s) - reads0
					}
					getTime += f.timeGets(b, 1000)
					b.StartTimer()
				}
				if *benchLSM {
					b.Logf("after %d blocks of %d writes:\n%s", b.N, w, f.db.Metrics())
				}
				n := float64(b.N)
				b.ReportMetric(float64((prep+comm).Microseconds())/n/float64(w), "µs/write")
				b.ReportMetric(float64(cpu.Microseconds())/n/float64(w), "cpu-µs/write")
				b.ReportMetric(float64(prep.Microseconds())/n/1000, "prepare-ms")
				b.ReportMetric(float64(comm.Microseconds())/n/1000, "commit-ms")
				b.ReportMetric(float64(walBytes)/n/float64(w), "B/write")
				b.ReportMetric(float64(compBytes)/n/float64(w), "compact-B/write")
				b.ReportMetric(float64(getTime.Nanoseconds())/n/1000/1000, "get-µs")
				b.ReportMetric(float64(nodes)/n/float64(w), "nodes/write")
				b.ReportMetric(float64(loads)/n/float64(w), "reads/write")
				b.ReportMetric(float64(hashes)/n/float64(w), "hashes/write")
				if benchNodeReads != nil {
					b.ReportMetric(float64(dbReads)/n/float64(w), "dbreads/write")
				}
			})
		}
	}
}

// timeGets returns the time n reads of random present keys at the latest height take
// (the reads of block execution: one Bloom-filtered point lookup each, whose cost grows
// with the sstables of L0 that a read must probe).
func (f *fixture) timeGets(b *testing.B, n int) time.Duration {
	h, _ := f.s.Latest()
	v, err := f.s.Reader(h)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(h, 7)) // not f.rng: the blocks stay those of earlier runs
	t0 := time.Now()
	for range n {
		if _, err := v.Get(benchKey(rng.Uint64N(uint64(f.n)))); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0)
}

// compacted returns the bytes Pebble's compactions have written to sstables so far (they
// run in the background: a block is charged those that ran while it was timed).
func compacted(m *pebble.Metrics) uint64 {
	var n uint64
	for i := range m.Levels {
		n += m.Levels[i].TableBytesCompacted + m.Levels[i].BlobBytesCompacted
	}
	return n
}

// countingSource counts the nodes a proof reads.
type countingSource struct {
	src nodeSource
	n   int
}

func (c *countingSource) loadNode(key []byte) (*node, error) {
	c.n++
	return c.src.loadNode(key)
}

// BenchmarkProof proves and verifies random present and absent keys in the 10^6-key tree.
func BenchmarkProof(b *testing.B) {
	for _, rb := range benchRadixBits(b) {
		f := getFixture(b, rb)
		h, root := f.s.Latest()
		v, err := f.s.Reader(h)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("radix%d/prove", 1<<rb), func(b *testing.B) {
			size := 0
			src := &countingSource{src: f.s}
			for i := range b.N {
				k := benchKey(uint64(i*7919) % uint64(2*f.n)) // half absent
				p, err := prove(src, f.s.r, v.root, crypto.Keccak256Hash(k))
				if err != nil {
					b.Fatal(err)
				}
				size += len(p.Encode())
			}
			b.ReportMetric(float64(size)/float64(b.N), "proof-bytes")
			b.ReportMetric(float64(src.n)/float64(b.N), "reads/proof")
		})
		b.Run(fmt.Sprintf("radix%d/verify", 1<<rb), func(b *testing.B) {
			type pk struct {
				k, v []byte
				p    *Proof
			}
			var ps []pk
			for i := range 256 {
				k := benchKey(uint64(i*7919) % uint64(2*f.n))
				val, _ := v.Get(k)
				p, _ := v.Prove(k)
				ps = append(ps, pk{k, val, p})
			}
			b.ResetTimer()
			for i := range b.N {
				x := ps[i%len(ps)]
				if err := VerifyProof(root, x.k, x.v, x.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet reads random keys at the latest height and at the oldest one in the window.
func BenchmarkGet(b *testing.B) {
	f := getFixture(b, benchRadixBits(b)[0])
	for range 2 { // some history so that the old height differs
		h, _ := f.s.Latest()
		u, _ := f.s.Prepare(h+1, f.block(1000))
		if err := f.s.Commit(u, nil); err != nil {
			b.Fatal(err)
		}
	}
	latest, _ := f.s.Latest()
	for _, c := range []struct {
		name    string
		h       uint64
		history bool
	}{{"latest", latest, false}, {"latest-1", latest - 1, false}, {"history-seek", latest, true}} {
		// history-seek is the baseline: the versioned-record seek that Get falls back to
		// for keys written after the height read.
		b.Run(c.name, func(b *testing.B) {
			v, err := f.s.Reader(c.h)
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				k := benchKey(uint64(i*7919) % uint64(f.n))
				if c.history {
					kh := crypto.Keccak256Hash(k)
					_, err = v.getAt(&kh)
				} else {
					_, err = v.Get(k)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHash measures the hashing primitives the tree is made of.
func BenchmarkHash(b *testing.B) {
	h := newHasher()
	x := crypto.Keccak256Hash([]byte("x"))
	for range b.N {
		x = h.inner(x, x)
	}
}
