package vm_test

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/prepare"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// shifted returns code with k no-op global accesses (a get and a set of an added mutable
// global) at the start of every function: the same program, with its machine code moved
// by a few bytes per k.
func shifted(b *testing.B, code []byte, k int) []byte {
	m, err := wasm.Decode(code)
	if err != nil {
		b.Fatal(err)
	}
	g := uint64(m.NumImported(wasm.KindGlobal) + len(m.Globals))
	m.Globals = append(m.Globals, wasm.Global{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}})
	for i := range m.Code {
		body := make([]wasm.Instr, 0, 2*k+len(m.Code[i].Body))
		for range k {
			body = append(body, wasm.Instr{Op: wasm.OpGlobalGet, Imm: g}, wasm.Instr{Op: wasm.OpGlobalSet, Imm: g})
		}
		m.Code[i].Body = append(body, m.Code[i].Body...)
	}
	return wasm.Encode(m)
}

// BenchmarkMeteringLayouts: metering's cost on the CPU workloads averaged over code
// layouts. wazero's compiler does not align loops, and a tight loop runs a whole cycle
// per iteration faster or slower depending on where its machine code falls against
// 64-byte boundaries: shifting the uninstrumented insertion sort by a few bytes changes
// its time by up to 1.3× (docs/rationale/vm-prepare.md). One ratio of two modules then
// measures their layouts as much as the instrumentation. Here the original and the
// instrumented module (run by raw wazero tuned like the VM, as x-tuned-inst in
// BenchmarkMeteringOverhead) are each compiled in 16 layouts (shifted by 0..15 no-op
// global accesses per function, about 6 bytes of machine code each); every round runs
// all of them, interleaved. Metrics: x-layouts, the mean over the layouts of the
// instrumented module's minimum time divided by the same mean for the original;
// x-unshifted, the ratio of the two unshifted modules (BenchmarkMeteringOverhead's
// x-tuned-inst); raw-spread and inst-spread, each module's slowest layout over its
// fastest.
// Run: go test -run X -bench MeteringLayouts -benchtime 20x ./vm/
func BenchmarkMeteringLayouts(b *testing.B) {
	const layouts = 16
	for _, w := range workloads[:3] {
		b.Run(w.name, func(b *testing.B) {
			tuned := newRawRuntime(b, true)
			code := wasmFile(b, w.file)
			pm, err := prepare.Prepare(code, gas.Default(), prepare.DefaultLimits())
			if err != nil {
				b.Fatal(err)
			}
			var raws, insts []wazero.CompiledModule
			for k := range layouts {
				raws = append(raws, tuned.compile(b, shifted(b, code, k)))
				insts = append(insts, tuned.compile(b, shifted(b, pm.Instrumented, k)))
			}
			want := tuned.call(b, raws[0], w.method, w.input)
			want = bytes.Clone(want)
			run := func(cm wazero.CompiledModule, metered bool) time.Duration {
				rawState.input = w.input
				t0 := time.Now()
				mod, err := tuned.rt.InstantiateModule(tuned.ctx, cm, tuned.cfg)
				if err != nil {
					b.Fatal(err)
				}
				if metered {
					mod.ExportedGlobal(prepare.GasGlobal).(api.MutableGlobal).Set(1e10)
				}
				if _, err := mod.ExportedFunction(w.method).Call(tuned.ctx); err != nil {
					b.Fatal(err)
				}
				mod.Close(tuned.ctx)
				return time.Since(t0)
			}
			for k := range layouts { // every layout computes the same answer
				for _, cm := range []wazero.CompiledModule{raws[k], insts[k]} {
					run(cm, cm == insts[k])
					if !bytes.Equal(rawState.output, want) {
						b.Fatalf("layout %d: output %x, want %x", k, rawState.output, want)
					}
				}
			}
			minRaw, minInst := make([]time.Duration, layouts), make([]time.Duration, layouts)
			for k := range layouts {
				minRaw[k], minInst[k] = math.MaxInt64, math.MaxInt64
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range layouts {
					minRaw[k] = min(minRaw[k], run(raws[k], false))
					minInst[k] = min(minInst[k], run(insts[k], true))
				}
			}
			b.StopTimer()
			mean := func(ds []time.Duration) float64 {
				var s float64
				for _, d := range ds {
					s += float64(d)
				}
				return s / float64(len(ds))
			}
			spread := func(ds []time.Duration) float64 { return float64(slices.Max(ds)) / float64(slices.Min(ds)) }
			b.ReportMetric(mean(minInst)/mean(minRaw), "x-layouts")
			b.ReportMetric(float64(minInst[0])/float64(minRaw[0]), "x-unshifted")
			b.ReportMetric(spread(minRaw), "raw-spread")
			b.ReportMetric(spread(minInst), "inst-spread")
			b.ReportMetric(mean(minRaw), "raw-mean-ns")
			b.ReportMetric(mean(minInst), "inst-mean-ns")
		})
	}
}
