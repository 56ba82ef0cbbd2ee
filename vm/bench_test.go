package vm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/internal/prepare"
)

// rawHost is a minimal, unmetered implementation of the imports the benchmark contracts
// use, for the raw-wazero baselines: what the VM costs is measured against it.
type rawHost struct {
	input, output []byte
	storage       map[string][]byte
}

var rawState rawHost

type rawRuntime struct {
	rt  wazero.Runtime
	cfg wazero.ModuleConfig
	ctx context.Context
}

// newRawRuntime returns a raw wazero runtime (compiler) with the host stubs; tuned uses
// the VM's module config and pooled memory, to separate what tuning gains from what
// metering costs.
func newRawRuntime(b *testing.B, tuned bool) *rawRuntime {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	h := rt.NewHostModuleBuilder("wnode")
	fn := func(name string, params, results []api.ValueType, f api.GoModuleFunc) {
		h.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	fn("input_size", nil, []api.ValueType{i32}, func(_ context.Context, _ api.Module, st []uint64) {
		st[0] = uint64(len(rawState.input))
	})
	fn("input_read", []api.ValueType{i32}, nil, func(_ context.Context, m api.Module, st []uint64) {
		m.Memory().Write(uint32(st[0]), rawState.input)
	})
	fn("return_data", []api.ValueType{i32, i32}, nil, func(_ context.Context, m api.Module, st []uint64) {
		b, _ := m.Memory().Read(uint32(st[0]), uint32(st[1]))
		rawState.output = append(rawState.output[:0], b...)
	})
	fn("revert", []api.ValueType{i32, i32}, nil, func(_ context.Context, m api.Module, st []uint64) {
		panic("revert")
	})
	fn("sha256", []api.ValueType{i32, i32, i32}, nil, func(_ context.Context, m api.Module, st []uint64) {
		b, _ := m.Memory().Read(uint32(st[0]), uint32(st[1]))
		sum := sha256.Sum256(b)
		m.Memory().Write(uint32(st[2]), sum[:])
	})
	fn("storage_read", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}, func(_ context.Context, m api.Module, st []uint64) {
		k, _ := m.Memory().Read(uint32(st[0]), uint32(st[1]))
		v, ok := rawState.storage[string(k)]
		if !ok {
			st[0] = ^uint64(0)
			return
		}
		m.Memory().Write(uint32(st[2]), v[:min(len(v), int(uint32(st[3])))])
		st[0] = uint64(len(v))
	})
	fn("storage_write", []api.ValueType{i32, i32, i32, i32}, nil, func(_ context.Context, m api.Module, st []uint64) {
		k, _ := m.Memory().Read(uint32(st[0]), uint32(st[1]))
		v, _ := m.Memory().Read(uint32(st[2]), uint32(st[3]))
		rawState.storage[string(k)] = bytes.Clone(v)
	})
	fn("storage_delete", []api.ValueType{i32, i32}, nil, func(_ context.Context, m api.Module, st []uint64) {
		k, _ := m.Memory().Read(uint32(st[0]), uint32(st[1]))
		delete(rawState.storage, string(k))
	})
	if _, err := h.Instantiate(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	r := &rawRuntime{rt: rt, cfg: wazero.NewModuleConfig().WithName("").WithStartFunctions(), ctx: ctx}
	if tuned {
		r.cfg = r.cfg.WithRandSource(bytes.NewReader(nil))
		r.ctx = experimental.WithMemoryAllocator(ctx, &testMemoryPool{})
	}
	return r
}

// testMemoryPool is a minimal pooled allocator like the VM's (zeroing on reuse).
type testMemoryPool struct{ free [][]byte }

type testMemory struct {
	p   *testMemoryPool
	buf []byte
	max uint64
}

func (p *testMemoryPool) Allocate(_, max uint64) experimental.LinearMemory {
	m := &testMemory{p: p, max: max}
	if n := len(p.free); n > 0 {
		m.buf, p.free = p.free[n-1][:0], p.free[:n-1]
	}
	return m
}

func (m *testMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		old := len(m.buf)
		m.buf = m.buf[:size]
		clear(m.buf[old:])
		return m.buf
	}
	nb := make([]byte, size, max(size, 2*uint64(cap(m.buf))))
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *testMemory) Free() { m.p.free = append(m.p.free, m.buf) }

// compile compiles the uninstrumented module.
func (r *rawRuntime) compile(b *testing.B, code []byte) wazero.CompiledModule {
	cm, err := r.rt.CompileModule(context.Background(), code)
	if err != nil {
		b.Fatal(err)
	}
	return cm
}

// call is the baseline: instantiate the uninstrumented module, call, close.
func (r *rawRuntime) call(b *testing.B, cm wazero.CompiledModule, method string, input []byte) []byte {
	ctx := r.ctx
	rawState.input = input
	mod, err := r.rt.InstantiateModule(ctx, cm, r.cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mod.ExportedFunction(method).Call(ctx); err != nil {
		b.Fatal(err)
	}
	mod.Close(ctx)
	return rawState.output
}

// timeIt returns the mean duration of n runs of f.
func timeIt(n int, f func()) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		f()
	}
	return time.Since(start) / time.Duration(n)
}

type workload struct {
	name   string
	to     types.Address
	file   string
	method string
	input  []byte
	native func() []byte // the same algorithm in Go; nil when none
}

func goLoop(n uint64) []byte {
	var x uint64
	for i := uint64(0); i < n; i++ {
		x = (x^(x>>31))*6364136223846793005 + i
	}
	return le64(x)
}

func goSha(n int) []byte {
	var h [32]byte
	for i := 0; i < n; i++ {
		h = sha256.Sum256(h[:])
	}
	return h[:]
}

func goSort(seed uint64, n int) []byte {
	a := make([]uint32, n)
	x := seed
	for i := range a {
		x = x*6364136223846793005 + 1442695040888963407
		a[i] = uint32(x >> 32)
	}
	for i := 1; i < n; i++ { // insertion sort, as the contract does
		v, j := a[i], i
		for j > 0 && a[j-1] > v {
			a[j] = a[j-1]
			j--
		}
		a[j] = v
	}
	var c uint64
	for _, v := range a {
		c = c*31 + uint64(v)
	}
	return le64(c)
}

var workloads = []workload{
	{"loop_1e6", cLoop, "testdata/c/loop.wasm", "run", le64(1_000_000), func() []byte { return goLoop(1_000_000) }},
	{"sha256_x1000", cSha, "testdata/c/sha256.wasm", "run", le64(1000), func() []byte { return goSha(1000) }},
	{"sort_1000", cSort, "testdata/c/sort.wasm", "run", nil, func() []byte { return goSort(0, 1000) }},
	{"sha256_host_x1000", cSha, "testdata/c/sha256.wasm", "run_host", le64(1000), func() []byte { return goSha(1000) }},
	{"storage_read_x1000", cStorage, "testdata/c/storage.wasm", "reads", le64(1000), nil},
	{"hello", exHello, "../examples/hello/hello.wasm", "hello", []byte("wnode"), nil},
}

// BenchmarkWorkloads: for each workload, the time of a metered VM call (instantiate +
// run + teardown) against, measured in the same loop (interleaved, so that load on the
// machine hits all alike): raw wazero with wazero's default module config (the
// uninstrumented module, an unmetered host), raw wazero tuned like the VM (pooled memory,
// constant rand source) and the same algorithm in Go. Metrics: vm-ns/op, raw-ns/op,
// tuned-ns/op, go-ns/op, the ratios x-raw, x-tuned, x-go, gas/op and gas/ns.
// (ns/op is the sum of all of them; read vm-ns/op.)
func BenchmarkWorkloads(b *testing.B) {
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			ctx := context.Background()
			v, err := vm.New(ctx, vm.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close(ctx)
			s := fullWorld(b)
			e := env(s)
			e.Debug = false
			rawState.storage = map[string][]byte{}
			if w.to == cStorage { // the key that reads reads
				r := v.Call(ctx, e, vm.Call{Caller: alice, Contract: cStorage, Method: "writes", Input: le64(1), Gas: 1e9})
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				k, _ := s.GetStorage(cStorage, append([]byte("w"), make([]byte, 8)...))
				rawState.storage["w\x00\x00\x00\x00\x00\x00\x00\x00"] = k
			}
			c := vm.Call{Caller: alice, Contract: w.to, Method: w.method, Input: w.input, Gas: 1e10}
			first := v.Call(ctx, e, c)
			if first.Err != nil {
				b.Fatal(first.Err)
			}
			raw := newRawRuntime(b, false)
			tuned := newRawRuntime(b, true)
			code := wasmFile(b, w.file)
			cm, tcm := raw.compile(b, code), tuned.compile(b, code)
			for _, r := range []*rawRuntime{raw, tuned} {
				cmx := cm
				if r == tuned {
					cmx = tcm
				}
				if out := r.call(b, cmx, w.method, w.input); !bytes.Equal(out, first.Output) {
					b.Fatalf("raw output %x, vm %x", out, first.Output)
				}
			}
			if w.native != nil {
				if out := w.native(); !bytes.Equal(out, first.Output) {
					b.Fatalf("Go output %x, vm %x", out, first.Output)
				}
			}
			var vmT, rawT, tunedT, goT time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				raw.call(b, cm, w.method, w.input)
				t1 := time.Now()
				tuned.call(b, tcm, w.method, w.input)
				t2 := time.Now()
				if r := v.Call(ctx, e, c); r.Err != nil {
					b.Fatal(r.Err)
				}
				t3 := time.Now()
				if w.native != nil {
					w.native()
				}
				t4 := time.Now()
				rawT, tunedT, vmT, goT = rawT+t1.Sub(t0), tunedT+t2.Sub(t1), vmT+t3.Sub(t2), goT+t4.Sub(t3)
			}
			b.StopTimer()
			n := float64(b.N)
			vmNs, rawNs, tunedNs, goNs := float64(vmT)/n, float64(rawT)/n, float64(tunedT)/n, float64(goT)/n
			b.ReportMetric(vmNs, "vm-ns/op")
			b.ReportMetric(rawNs, "raw-ns/op")
			b.ReportMetric(tunedNs, "tuned-ns/op")
			b.ReportMetric(vmNs/rawNs, "x-raw")
			b.ReportMetric(vmNs/tunedNs, "x-tuned")
			if w.native != nil {
				b.ReportMetric(goNs, "go-ns/op")
				b.ReportMetric(vmNs/goNs, "x-go")
			}
			b.ReportMetric(float64(first.GasUsed), "gas/op")
			b.ReportMetric(float64(first.GasUsed)/vmNs, "gas/ns")
		})
	}
}

// BenchmarkHostCall: the cost of one storage_read host call, from the difference of two
// call sizes (so instantiation cancels out), VM vs raw wazero.
func BenchmarkHostCall(b *testing.B) {
	ctx := context.Background()
	v, err := vm.New(ctx, vm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close(ctx)
	s := fullWorld(b)
	e := env(s)
	e.Debug = false
	if r := v.Call(ctx, e, vm.Call{Caller: alice, Contract: cStorage, Method: "writes", Input: le64(1), Gas: 1e9}); r.Err != nil {
		b.Fatal(r.Err)
	}
	raw := newRawRuntime(b, false)
	rawState.storage = map[string][]byte{"w\x00\x00\x00\x00\x00\x00\x00\x00": make([]byte, 32)}
	cm := raw.compile(b, wasmFile(b, "testdata/c/storage.wasm"))
	const small, big = 10, 10_010
	per := func(f func(n uint64)) float64 {
		t1 := timeIt(max(b.N/10, 3), func() { f(small) })
		t2 := timeIt(max(b.N/10, 3), func() { f(big) })
		return float64((t2 - t1).Nanoseconds()) / (big - small)
	}
	rawPer := per(func(n uint64) { raw.call(b, cm, "reads", le64(n)) })
	var g1, g2 uint64
	b.ResetTimer()
	vmPer := per(func(n uint64) {
		r := v.Call(ctx, e, vm.Call{Caller: alice, Contract: cStorage, Method: "reads", Input: le64(n), Gas: 1e10})
		if n == small {
			g1 = r.GasUsed
		} else {
			g2 = r.GasUsed
		}
	})
	b.StopTimer()
	gasPer := float64(g2-g1) / (big - small)
	b.ReportMetric(vmPer, "vm-ns/read")
	b.ReportMetric(rawPer, "raw-ns/read")
	b.ReportMetric(vmPer/rawPer, "x-raw")
	b.ReportMetric(gasPer, "gas/read")
	b.ReportMetric(gasPer/vmPer, "gas/ns")
}

// BenchmarkDeploy: Prepare (validate + instrument) and compile of a deploy, on a VM whose
// caches are empty, against wazero compiling the uninstrumented module.
func BenchmarkDeploy(b *testing.B) {
	ctx := context.Background()
	for _, file := range []string{"../examples/token/token.wasm", "testdata/c/sha256.wasm", "../examples/counter/counter.wasm"} {
		code := wasmFile(b, file)
		b.Run(file[bytes.LastIndexByte([]byte(file), '/')+1:], func(b *testing.B) {
			var total, prep, raw time.Duration
			for i := 0; i < b.N; i++ {
				v, err := vm.New(ctx, vm.Config{})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := v.Prepare(ctx, code); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				v.Close(ctx)
				start = time.Now()
				if _, err := prepare.Prepare(code, v.Schedule(), prepare.DefaultLimits()); err != nil {
					b.Fatal(err)
				}
				prep += time.Since(start)
				rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
				start = time.Now()
				if _, err := rt.CompileModule(ctx, code); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(start)
				rt.Close(ctx)
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Nanoseconds())/n, "deploy-ns/op")
			b.ReportMetric(float64(prep.Nanoseconds())/n, "prepare-ns/op")
			b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-compile-ns/op")
			b.ReportMetric(float64(len(code)), "code-bytes")
		})
	}
}

// BenchmarkCachedStart: the first call of a contract on a restarted node whose disk cache
// holds the compiled code (prepare again + load from disk), against a warm call.
func BenchmarkCachedStart(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s := fullWorld(b)
	e := env(s)
	c := vm.Call{Caller: alice, Contract: exToken, Method: "total_supply", Gas: 1e9}
	v0, err := vm.New(ctx, vm.Config{CacheDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if r := v0.Call(ctx, e, c); r.Err != nil {
		b.Fatal(r.Err)
	}
	warm := timeIt(max(b.N, 10), func() { v0.Call(ctx, e, c) })
	v0.Close(ctx)
	var cold time.Duration
	for i := 0; i < b.N; i++ {
		v, err := vm.New(ctx, vm.Config{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if r := v.Call(ctx, e, c); r.Err != nil {
			b.Fatal(r.Err)
		}
		cold += time.Since(start)
		v.Close(ctx)
	}
	b.ReportMetric(float64(cold.Nanoseconds())/float64(b.N), "first-call-ns/op")
	b.ReportMetric(float64(warm.Nanoseconds()), "warm-call-ns/op")
}

// rescaled is the schedule docs/rationale/vm.md proposes: instruction prices from
// BenchmarkInstrCalibration (1 gas ~ 0.15 ns, Simple = 1 being the cheapest integer
// price), host prices scaled by 6 to the same unit.
func rescaled(s *gas.Schedule) {
	s.Instr = gas.Instructions{
		Simple: 1, Local: 1, Global: 1, Load: 6, Store: 2, Branch: 4, Call: 10, CallIndirect: 20,
		IntDiv: 25, Float: 7, FloatDiv: 60, MemorySize: 2, DataDrop: 2,
		MemoryGrowBase: 1000, MemoryGrowPerPage: 30_000,
		MemoryCopy: gas.Linear{Base: 10, PerKiB: 130},
		MemoryFill: gas.Linear{Base: 10, PerKiB: 75},
		MemoryInit: gas.Linear{Base: 10, PerKiB: 130},
	}
	h := &s.Host
	for _, l := range []*gas.Linear{&h.InputSize, &h.InputRead, &h.ReturnData, &h.Revert, &h.StorageRead,
		&h.StorageWrite, &h.StorageDelete, &h.Caller, &h.Origin, &h.SelfAddress, &h.Value, &h.Balance,
		&h.Transfer, &h.BlockHeight, &h.BlockTime, &h.Emit, &h.Call, &h.ResultSize, &h.ResultRead,
		&h.Sha256, &h.Keccak256, &h.Ecrecover, &h.GasLeft, &h.Log} {
		l.Base *= 6
		l.PerKiB *= 6
	}
}

// BenchmarkCalibrate measures every workload round-robin (so that load on the machine
// hits all alike) and logs, for the current schedule and candidate variants, gas per ns
// of each workload and the spread (max/min) over the CPU workloads. A well calibrated
// schedule has a spread within ~3. Run: go test -run X -bench Calibrate -benchtime 20x ./vm/
func BenchmarkCalibrate(b *testing.B) {
	ctx := context.Background()
	variants := []struct {
		name string
		mod  func(s *gas.Schedule)
	}{
		{"v1", func(s *gas.Schedule) {}},
		{"local0", func(s *gas.Schedule) { s.Instr.Local = 0 }},
		{"rescaled", rescaled},
	}
	type vmRun struct {
		v *vm.VM
		e *vm.Env
	}
	runs := make([]vmRun, len(variants))
	for i, vr := range variants {
		s := gas.Default()
		vr.mod(s)
		v, err := vm.New(ctx, vm.Config{Schedule: s})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close(ctx)
		st := fullWorld(b)
		e := env(st)
		e.Debug = false
		if r := v.Call(ctx, e, vm.Call{Caller: alice, Contract: cStorage, Method: "writes", Input: le64(1), Gas: 1e9}); r.Err != nil {
			b.Fatal(r.Err)
		}
		runs[i] = vmRun{v, e}
	}
	ns := make([]time.Duration, len(workloads))
	gasOf := make([][]uint64, len(variants))
	for i := range variants {
		gasOf[i] = make([]uint64, len(workloads))
		for k, w := range workloads {
			r := runs[i].v.Call(ctx, runs[i].e, vm.Call{Caller: alice, Contract: w.to, Method: w.method, Input: w.input, Gas: 1e10})
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			gasOf[i][k] = r.GasUsed
		}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for k, w := range workloads {
			c := vm.Call{Caller: alice, Contract: w.to, Method: w.method, Input: w.input, Gas: 1e10}
			t0 := time.Now()
			runs[0].v.Call(ctx, runs[0].e, c)
			ns[k] += time.Since(t0)
		}
	}
	b.StopTimer()
	for i, vr := range variants {
		lo, hi := math.Inf(1), 0.0
		line := ""
		for k, w := range workloads {
			per := float64(ns[k].Nanoseconds()) / float64(b.N)
			gpn := float64(gasOf[i][k]) / per
			line += fmt.Sprintf("  %s %d gas %.0f ns %.3f gas/ns\n", w.name, gasOf[i][k], per, gpn)
			if w.name != "hello" { // hello is instantiation, paid by the tx base, not by gas used
				lo, hi = math.Min(lo, gpn), math.Max(hi, gpn)
			}
		}
		b.Logf("schedule %s: spread %.2f\n%s", vr.name, hi/lo, line)
		if i == 0 {
			b.ReportMetric(hi/lo, "spread")
		}
	}
}

// BenchmarkInstrCalibration measures, for each instruction class of
// testdata/wat/calib.wat (a loop over 16 instructions of one class), the time and gas of
// one instruction on the compiler engine, instrumentation included, net of the empty
// loop, and logs gas/ns per class. Times are minima over repetitions (robust to load).
// Run: go test -run X -bench InstrCalibration -benchtime 1x -v ./vm/
func BenchmarkInstrCalibration(b *testing.B) {
	ctx := context.Background()
	v, err := vm.New(ctx, vm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close(ctx)
	s := fullWorld(b)
	calib := types.Address{0xca, 0x11}
	s.SetCode(calib, wasmFile(b, "testdata/wat/calib.wasm"))
	e := env(s)
	e.Debug = false
	measure := func(method string, n uint32) (time.Duration, uint64) {
		c := vm.Call{Caller: alice, Contract: calib, Method: method, Input: le32(n), Gas: 1e12}
		best := time.Duration(math.MaxInt64)
		var g uint64
		for rep := 0; rep < 7; rep++ {
			t0 := time.Now()
			r := v.Call(ctx, e, c)
			d := time.Since(t0)
			if r.Err != nil {
				b.Fatal(method, r.Err)
			}
			best, g = min(best, d), r.GasUsed
		}
		return best, g
	}
	// per-iteration time and gas of a method, from two loop counts
	perIter := func(method string, n1, n2 uint32) (float64, float64) {
		t1, g1 := measure(method, n1)
		t2, g2 := measure(method, n2)
		return float64(t2-t1) / float64(n2-n1), float64(g2-g1) / float64(n2-n1)
	}
	for i := 0; i < b.N; i++ {
		emptyNs, emptyGas := perIter("empty", 1000, 200_000)
		b.Logf("empty loop: %.2f ns, %.0f gas per iteration", emptyNs, emptyGas)
		b.Logf("%-14s %10s %10s %8s", "class", "ns/unit", "gas/unit", "gas/ns")
		for _, c := range []string{"i64_add", "i64_mul", "i64_div", "local", "global", "load", "store", "br_if", "call",
			"call_indirect", "f64_add", "f64_mul", "f64_div", "f64_sqrt"} {
			ns, g := perIter(c, 1000, 100_000)
			ns, g = (ns-emptyNs)/16, (g-emptyGas)/16 // per unit (see calib.wat)
			b.Logf("%-14s %10.3f %10.2f %8.2f", c, ns, g, g/ns)
		}
		for _, c := range []string{"fill_64k", "copy_64k"} {
			ns, g := perIter(c, 10, 1000)
			ns, g = (ns-emptyNs)/65536, (g-emptyGas)/65536
			b.Logf("%-14s %10.4f %10.4f %8.2f  (per byte)", c, ns, g, g/ns)
		}
		ns, g := perIter("grow", 4, 254)
		b.Logf("%-14s %10.1f %10.0f %8.2f  (per page)", "memory.grow", ns, g, g/ns)
	}
}

// BenchmarkMeteringOverhead: the cost of metering alone on the CPU workloads. Each round
// calls, interleaved, the metered VM and raw wazero tuned like the VM (its module config,
// pooled memory, the uninstrumented module, an unmetered host) and raw wazero with its
// defaults; the figures are the minimum time of each over the rounds (minima are stable
// on a loaded machine where means are not) and their ratios x-tuned and x-raw. x-tuned-inst
// is the instrumented module run by the tuned raw runtime against the same baseline:
// what the instrumentation costs without the VM's own call path.
// Run: go test -run X -bench MeteringOverhead -benchtime 60x ./vm/
func BenchmarkMeteringOverhead(b *testing.B) {
	for _, w := range workloads[:3] {
		b.Run(w.name, func(b *testing.B) {
			ctx := context.Background()
			v, err := vm.New(ctx, vm.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close(ctx)
			e := env(fullWorld(b))
			e.Debug = false
			c := vm.Call{Caller: alice, Contract: w.to, Method: w.method, Input: w.input, Gas: 1e10}
			first := v.Call(ctx, e, c)
			if first.Err != nil {
				b.Fatal(first.Err)
			}
			raw, tuned := newRawRuntime(b, false), newRawRuntime(b, true)
			code := wasmFile(b, w.file)
			cm, tcm := raw.compile(b, code), tuned.compile(b, code)
			if out := tuned.call(b, tcm, w.method, w.input); !bytes.Equal(out, first.Output) {
				b.Fatalf("raw output %x, vm %x", out, first.Output)
			}
			// The instrumented module run by the tuned raw runtime: metering without the VM.
			pm, err := prepare.Prepare(code, v.Schedule(), prepare.DefaultLimits())
			if err != nil {
				b.Fatal(err)
			}
			icm := tuned.compile(b, pm.Instrumented)
			inst := func() {
				rawState.input = w.input
				mod, err := tuned.rt.InstantiateModule(tuned.ctx, icm, tuned.cfg)
				if err != nil {
					b.Fatal(err)
				}
				mod.ExportedGlobal(prepare.GasGlobal).(api.MutableGlobal).Set(1e10)
				if _, err := mod.ExportedFunction(w.method).Call(tuned.ctx); err != nil {
					b.Fatal(err)
				}
				mod.Close(tuned.ctx)
			}
			minVM, minTuned, minRaw, minInst := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				tuned.call(b, tcm, w.method, w.input)
				t1 := time.Now()
				if r := v.Call(ctx, e, c); r.Err != nil || r.GasUsed != first.GasUsed {
					b.Fatal(r.Err, r.GasUsed)
				}
				t2 := time.Now()
				raw.call(b, cm, w.method, w.input)
				t3 := time.Now()
				inst()
				t4 := time.Now()
				minTuned, minVM, minRaw = min(minTuned, t1.Sub(t0)), min(minVM, t2.Sub(t1)), min(minRaw, t3.Sub(t2))
				minInst = min(minInst, t4.Sub(t3))
			}
			b.StopTimer()
			b.ReportMetric(float64(minInst)/float64(minTuned), "x-tuned-inst")
			b.ReportMetric(float64(minVM.Nanoseconds()), "vm-min-ns")
			b.ReportMetric(float64(minTuned.Nanoseconds()), "tuned-min-ns")
			b.ReportMetric(float64(minRaw.Nanoseconds()), "raw-min-ns")
			b.ReportMetric(float64(minVM)/float64(minTuned), "x-tuned")
			b.ReportMetric(float64(minVM)/float64(minRaw), "x-raw")
			b.ReportMetric(float64(first.GasUsed), "gas/op")
		})
	}
}
