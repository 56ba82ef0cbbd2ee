package prepare

import (
	"context"
	"fmt"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/internal/cputime"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// BenchmarkPrepare measures a deploy's validation and instrumentation of real ~100 KiB
// modules (rustc with std, TinyGo), raw and gzip-compressed.
func BenchmarkPrepare(b *testing.B) {
	s := gas.Default()
	for name, code := range bigModules(b) {
		for _, form := range []struct {
			name string
			code []byte
		}{{"raw", code}, {"gzip", gz(b, code)}} {
			b.Run(name+"/"+form.name, func(b *testing.B) {
				b.SetBytes(int64(len(code)))
				var out int
				cpu := cputime.Process()
				for b.Loop() {
					pm, err := Prepare(form.code, s, DefaultLimits())
					if err != nil {
						b.Fatal(err)
					}
					out = len(pm.Instrumented)
				}
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(out)/float64(len(code)), "growth")
			})
		}
	}
}

// worstCase is the module instrumentation grows the most and wazero compiles the slowest
// per byte: functions of MaxBlocks control instructions, as "i32.const 0; if; end"
// (each if starts two metering blocks), up to about 128 KiB.
func worstCase(l Limits) []byte {
	var fns []fn
	for size := 0; size < 128<<10; size += 5 * int(l.MaxBlocks) / 2 {
		var body []I
		for i := 0; i < int(l.MaxBlocks)/2; i++ {
			body = append(body, i32c(0), blk(wasm.OpIf, wasm.BlockEmpty), end())
		}
		fns = append(fns, fn{fmt.Sprintf("f%d", len(fns)), wasm.FuncType{}, nil, body})
	}
	return module(nil, false, fns...)
}

// loopWorstCase is worstCase for loops: "loop; i32.const 0; br_if 0; end" (two control
// instructions, and a loop head charged with a branch), MaxBlocks per function.
func loopWorstCase(l Limits) []byte {
	var fns []fn
	for size := 0; size < 128<<10; size += 3 * int(l.MaxBlocks) {
		var body []I
		for i := 0; i < int(l.MaxBlocks)/2; i++ {
			body = append(body, blk(wasm.OpLoop, wasm.BlockEmpty), i32c(0), I{Op: wasm.OpBrIf}, end())
		}
		fns = append(fns, fn{fmt.Sprintf("f%d", len(fns)), wasm.FuncType{}, nil, body})
	}
	return module(nil, false, fns...)
}

// BenchmarkPrepareWorstCase measures Prepare on worstCase.
func BenchmarkPrepareWorstCase(b *testing.B) {
	l := DefaultLimits()
	code := worstCase(l)
	b.SetBytes(int64(len(code)))
	var out int
	cpu := cputime.Process()
	for b.Loop() {
		pm, err := Prepare(code, gas.Default(), l)
		if err != nil {
			b.Fatal(err)
		}
		out = len(pm.Instrumented)
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(out)/float64(len(code)), "growth")
}

// BenchmarkDeploy is the compile time of a deploy: Prepare followed by wazero's compiler
// on the instrumented module (what every node does once per deployed code), for the real
// ~100 KiB modules and the worst case of BenchmarkPrepareWorstCase.
func BenchmarkDeploy(b *testing.B) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	s := gas.Default()
	mods := bigModules(b)
	l := DefaultLimits()
	mods["worst case"] = worstCase(l)
	mods["loop worst case"] = loopWorstCase(l)
	for name, code := range mods {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(code)))
			cpu := cputime.Process()
			for b.Loop() {
				pm, err := Prepare(code, s, l)
				if err != nil {
					b.Fatal(err)
				}
				cm, err := rt.CompileModule(ctx, pm.Instrumented)
				if err != nil {
					b.Fatal(err)
				}
				cm.Close(ctx) // drops it from wazero's cache, so the next iteration compiles
			}
			cpuPerOp := float64(cputime.Process()-cpu) / float64(b.N)
			pm, _ := Prepare(code, s, l)
			b.ReportMetric(cpuPerOp, "cpu-ns/op")
			b.ReportMetric(cpuPerOp/float64(len(code)), "cpu-ns/B")
			b.ReportMetric(cpuPerOp/float64(pm.Blocks), "cpu-ns/block")
			// Gas charged for it (Intrinsic's per-byte part plus CompileGas) over CPU ns.
			charged := float64(uint64(len(code))*s.Tx.CompilePerCodeByte + s.CompileGas(pm.Blocks))
			b.ReportMetric(charged/cpuPerOp, "gas/cpu-ns")
		})
	}
}
