package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/cputime"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

const (
	benchTxs     = 5000
	benchSenders = 500
)

// benchChain returns a chain whose head holds the counter contract, benchSenders funded
// accounts, and a function returning the signed txs of a block of benchTxs counter
// increments starting at the senders' nonce round (each round uses nonce round).
func benchChain(b *testing.B) (*node, types.Address, func(round uint64) []*types.Tx) {
	b.Helper()
	g := testGenesis(func(g *genesis.Genesis) {
		g.Params.BlockGasLimit = 2_000_000_000
		g.Params.MaxBlockBytes = genesis.MaxBlockBytesLimit
		for i := range benchSenders {
			g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(fmt.Sprint("bench-", i)), Balance: genesis.AmountOf(testFunds)})
		}
	})
	n := openNode(b, "", newVM(b, vm.EngineCompiler), g, Options{RecoveryWorkers: 1})
	b.Cleanup(n.close)
	deploy := signTx(b, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(b, "counter"), GasLimit: 5_000_000})
	produce(b, n, []*types.Tx{deploy}, nil)
	counter := types.ContractAddress(addrOf("alice"), 0)
	mk := func(round uint64) []*types.Tx {
		txs := make([]*types.Tx, benchTxs)
		for i := range txs {
			txs[i] = signTx(b, fmt.Sprint("bench-", i%benchSenders), &types.Tx{
				Kind: types.TxInvoke, To: counter, Method: "increment", GasLimit: 200_000,
				Nonce: round*(benchTxs/benchSenders) + uint64(i/benchSenders),
			})
		}
		return txs
	}
	return n, counter, mk
}

// fresh returns copies of txs decoded from their encoding: no cached hash or sender,
// as when a block arrives from the network.
func fresh(b *testing.B, txs []*types.Tx) []*types.Tx {
	out := make([]*types.Tx, len(txs))
	for i, tx := range txs {
		d, err := types.DecodeTx(tx.Encode())
		if err != nil {
			b.Fatal(err)
		}
		out[i] = d
	}
	return out
}

// BenchmarkExecuteBlock executes (BuildBlock: pre-checks, VM, state root) a block of
// 5,000 counter increments on one core, with sender recovery (txs as decoded from the
// network) and with senders already recovered (as the mempool hands them over).
func BenchmarkExecuteBlock(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	n, _, mk := benchChain(b)
	txs := mk(0)
	ctx := context.Background()
	head := n.c.Head()
	for _, recover := range []bool{true, false} {
		name := "presigned"
		if recover {
			name = "recover"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				in := txs
				if recover {
					b.StopTimer()
					in = fresh(b, txs)
					b.StartTimer()
				}
				blk, err := n.c.BuildBlock(ctx, in, head.Time+1000, addrOf("v0"), commitAtHead(b, n))
				if err != nil || len(blk.Txs) != benchTxs {
					b.Fatalf("%v, %d txs", err, len(blk.Txs))
				}
			}
			b.ReportMetric(float64(benchTxs)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

func commitAtHead(b *testing.B, n *node) *types.Commit {
	if n.c.Head().Height == 0 {
		return nil
	}
	cm, err := n.c.CommitAt(LatestHeight)
	if err != nil {
		b.Fatal(err)
	}
	return cm
}

// BenchmarkBlockParts measures, in one run and on one core, the parts of executing and
// committing a block of 5,000 counter increments, in ms per block:
//
//	sig-ms     recovering the 5,000 senders (txs as decoded from the network)
//	vm-ms      the 5,000 VM calls alone, on a state overlay
//	exec-ms    the block's tx loop with senders known: pre-checks, VM, nonces, fees
//	root-ms    the block's write set and state root (Changes + Prepare) and tx/receipt roots
//	commit-ms  writing state, block, receipts and indices in one batch (in-memory Pebble
//	           here: no fsync)
//
// exec - vm is the state overlay and bookkeeping; root + commit the authenticated store.
func BenchmarkBlockParts(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	n, counter, mk := benchChain(b)
	ctx := context.Background()
	var sig, vmT, exec, root, commit time.Duration
	round := uint64(0)
	for b.Loop() {
		b.StopTimer()
		txs := mk(round)
		round++
		dec := fresh(b, txs)
		b.StartTimer()

		t0 := time.Now()
		for _, tx := range dec {
			if _, err := tx.Sender(); err != nil {
				b.Fatal(err)
			}
		}
		sig += time.Since(t0)

		head := n.c.Head()
		view, err := n.st.Reader(head.Height)
		if err != nil {
			b.Fatal(err)
		}
		sdb := state.NewStateDB(view)
		env := &vm.Env{State: sdb, Block: vm.BlockContext{ChainID: testChainID, Height: head.Height + 1}}
		t0 = time.Now()
		for _, tx := range dec {
			snd, _ := tx.Sender()
			if r := n.c.vm.Call(ctx, env, vm.Call{Caller: snd, Contract: counter, Method: "increment", Gas: 100_000}); r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		vmT += time.Since(t0)

		// The executor's own path, as BuildBlock runs it, timed in two parts.
		last := commitAtHead(b, n)
		h := &types.Header{ChainID: testChainID, Height: head.Height + 1, Time: head.Time + 1000,
			ParentHash: n.c.HeadHash(), Proposer: addrOf("v0"), ValidatorsHash: n.c.Validators().Hash()}
		if last != nil {
			h.LastCommitHash = last.Hash()
		}
		e, err := n.c.newExecutor(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		for _, tx := range dec {
			snd, size, err := e.precheck(tx)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.apply(tx, snd, size); err != nil {
				b.Fatal(err)
			}
		}
		exec += time.Since(t0)
		t0 = time.Now()
		res, err := e.finish()
		if err != nil {
			b.Fatal(err)
		}
		root += time.Since(t0)
		res.block = &types.Block{Header: *h, Txs: e.txs, LastCommit: last}
		res.hash = h.Hash()
		n.c.cacheResults(res)

		cm := commitFor(b, res.block)
		t0 = time.Now()
		if err := n.c.CommitBlock(ctx, res.block, cm); err != nil {
			b.Fatal(err)
		}
		commit += time.Since(t0)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(per(sig), "sig-ms")
	b.ReportMetric(per(vmT), "vm-ms")
	b.ReportMetric(per(exec), "exec-ms")
	b.ReportMetric(per(root), "root-ms")
	b.ReportMetric(per(commit), "commit-ms")
}

// BenchmarkParallelExec executes (as ValidateBlock does: pre-checks, VM, nonces, fees,
// the block's write set; not the state root) a block of 5,000 token transfers
// (examples/token) from 5,000 distinct senders, on 1 worker (the sequential execution)
// and on 2, alternately in the same loop, on at most 2 cores; it reports the wall time
// (seq-ms, par2-ms) and the process's CPU time (seq-cpu-ms, par2-cpu-ms) of each per
// block, the medians of the pairs' ratios (speedup: wall, 1 worker over 2; cpu-ratio:
// CPU, 2 workers over 1) and the bytes allocated. The blocks:
//
//	independent  every tx pays a distinct recipient: no two txs touch the same key
//	             (the fees are credits to the proposer, see docs/rationale/parallel-exec.md)
//	conflicting  every other tx pays one hot recipient, whose token balance the 2,500 of
//	             them read and write in order
//
// Both must give the same write set and receipts. The figures go in
// docs/rationale/parallel-exec.md.
func BenchmarkParallelExec(b *testing.B) {
	const senders = benchTxs
	name := func(i int) string { return fmt.Sprint("par-", i) }
	g := testGenesis(func(g *genesis.Genesis) {
		g.Params.BlockGasLimit = 2_000_000_000
		g.Params.MaxBlockBytes = genesis.MaxBlockBytesLimit
		for i := range senders {
			g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(name(i)), Balance: genesis.AmountOf(testFunds)})
		}
	})
	n := openNode(b, "", newVM(b, vm.EngineCompiler), g, Options{ExecWorkers: 1})
	b.Cleanup(n.close)
	supply := binary.BigEndian.AppendUint64(nil, 1_000_000_000_000)
	_, cm := produce(b, n, []*types.Tx{signTx(b, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(b, "token"), Args: supply, GasLimit: 10_000_000})}, nil)
	token := types.ContractAddress(addrOf("alice"), 0)
	transfer := func(from string, nonce uint64, to types.Address) *types.Tx {
		return signTx(b, from, &types.Tx{Kind: types.TxInvoke, To: token, Method: "transfer",
			Args: tokenArgs(to, 1000), GasLimit: 1_000_000, Nonce: nonce})
	}
	fund := make([]*types.Tx, senders)
	for i := range fund {
		fund[i] = transfer("alice", uint64(1+i), addrOf(name(i)))
	}
	if blk, _ := produce(b, n, fund, cm); len(blk.Txs) != senders {
		b.Fatalf("funding block holds %d txs", len(blk.Txs))
	}

	ctx := context.Background()
	head := n.c.Head()
	cases := map[string][]*types.Tx{}
	for _, kind := range []string{"independent", "conflicting"} {
		txs := make([]*types.Tx, senders)
		for i := range txs {
			to := addrOf(fmt.Sprint("recipient-", i))
			if kind == "conflicting" && i%2 == 1 {
				to = addrOf("hot")
			}
			txs[i] = transfer(name(i), 0, to)
			_, _ = txs[i].Sender()
		}
		cases[kind] = txs
	}
	h := &types.Header{ChainID: testChainID, Height: head.Height + 1, Time: head.Time + 1000,
		ParentHash: n.c.HeadHash(), Proposer: addrOf("v0"), ValidatorsHash: n.c.Validators().Hash()}
	// execute runs the block on workers and returns the hash of its write set and
	// receipts and what it cost.
	execute := func(b *testing.B, txs []*types.Tx, workers int) (types.Hash, runCost) {
		// Every run starts on a collected heap, so that none pays for the garbage of
		// the one before.
		runtime.GC()
		c0, t0 := readCost(b), time.Now()
		var changes []state.Change
		var e *executor
		// Labelled, so that a CPU profile (-cpuprofile) splits by worker count:
		// go tool pprof -tagfocus 'workers=^2$' ...
		pprof.Do(ctx, pprof.Labels("workers", fmt.Sprint(workers)), func(ctx context.Context) {
			var err error
			if e, err = n.c.newExecutor(ctx, h); err != nil {
				b.Fatal(err)
			}
			if err := e.executeAll(txs, workers); err != nil {
				b.Fatal(err)
			}
			if changes, err = e.changes(); err != nil {
				b.Fatal(err)
			}
		})
		cost := readCost(b).sub(c0)
		cost.wall = time.Since(t0)
		var enc []byte
		for _, c := range changes {
			enc = append(append(enc, c.Key...), c.Value...)
		}
		for _, r := range e.receipts {
			if r.Status != types.ReceiptSuccess {
				b.Fatalf("tx %d: %s", r.Index, r.Error)
			}
			enc = append(enc, r.Encode()...)
		}
		return crypto.Keccak256Hash(enc), cost
	}
	// At most two cores, whatever the machine has: the goal is stated for a 2-core
	// machine. (-cpu 1 runs both on one: the parallel path's overhead without contention.)
	if runtime.GOMAXPROCS(0) > 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	for _, kind := range []string{"independent", "conflicting"} {
		b.Run(kind, func(b *testing.B) {
			var seq, par runCost
			var speedups, cpuRatios []float64
			for b.Loop() {
				// Alternate, so that both see the same load of the machine.
				h1, c1 := execute(b, cases[kind], 1)
				h2, c2 := execute(b, cases[kind], 2)
				if h1 != h2 {
					b.Fatal("2 workers give another write set or receipts than the sequential execution")
				}
				seq, par = seq.add(c1), par.add(c2)
				speedups = append(speedups, float64(c1.wall)/float64(c2.wall))
				cpuRatios = append(cpuRatios, float64(c2.cpu)/float64(c1.cpu))
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(ms(seq.wall), "seq-ms")
			b.ReportMetric(ms(par.wall), "par2-ms")
			b.ReportMetric(ms(seq.cpu), "seq-cpu-ms")
			b.ReportMetric(ms(par.cpu), "par2-cpu-ms")
			// The ratios are the medians of each pair's: a pair runs back to back, so
			// it sees about the same load; the median drops the pairs another process
			// disturbed.
			b.ReportMetric(median(speedups), "speedup")
			b.ReportMetric(median(cpuRatios), "cpu-ratio")
			mb := func(n uint64) float64 { return float64(n) / (1 << 20) / float64(b.N) }
			b.ReportMetric(mb(seq.alloc), "seq-alloc-MB")
			b.ReportMetric(mb(par.alloc), "par2-alloc-MB")
			per := func(n uint64) float64 { return float64(n) / float64(b.N) }
			b.ReportMetric(per(seq.faults), "seq-faults")
			b.ReportMetric(per(par.faults), "par2-faults")
		})
	}
}

// runCost is what a run cost the process: wall time, CPU time (user + system), the
// bytes allocated and the minor page faults (Linux; 0 elsewhere).
type runCost struct {
	wall, cpu     time.Duration
	alloc, faults uint64
}

func (c runCost) add(d runCost) runCost {
	return runCost{wall: c.wall + d.wall, cpu: c.cpu + d.cpu, alloc: c.alloc + d.alloc, faults: c.faults + d.faults}
}

func (c runCost) sub(d runCost) runCost {
	return runCost{wall: c.wall - d.wall, cpu: c.cpu - d.cpu, alloc: c.alloc - d.alloc, faults: c.faults - d.faults}
}

// readCost returns the process's totals so far (wall left zero).
func readCost(b *testing.B) runCost {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return runCost{cpu: cputime.Process(), alloc: s[0].Value.Uint64(), faults: minorFaults()}
}

// minorFaults returns the process's minor page faults so far (field 10 of
// /proc/self/stat), or 0 where there is no such file.
func minorFaults() uint64 {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 8 {
		return 0
	}
	n, _ := strconv.ParseUint(f[7], 10, 64) // field 10: the third is field 3
	return n
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
