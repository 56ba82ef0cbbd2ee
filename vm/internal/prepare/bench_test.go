package prepare

import (
	"testing"

	"github.com/wnode/wnode/gas"
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
				for b.Loop() {
					pm, err := Prepare(form.code, s, DefaultLimits())
					if err != nil {
						b.Fatal(err)
					}
					out = len(pm.Instrumented)
				}
				b.ReportMetric(float64(out)/float64(len(code)), "growth")
			})
		}
	}
}

// BenchmarkPrepareWorstCase measures the module that instrumentation grows the most: one
// maximal function of "i32.const 0; br_if 0" pairs, each of which starts a metering block.
func BenchmarkPrepareWorstCase(b *testing.B) {
	l := DefaultLimits()
	var body []I
	for len(body)*2 < int(l.MaxFunctionSize)-16 {
		body = append(body, i32c(0), opImm(wasm.OpBrIf, 0))
	}
	code := module(nil, false, fn{"run", wasm.FuncType{}, nil, body})
	b.SetBytes(int64(len(code)))
	var out int
	for b.Loop() {
		pm, err := Prepare(code, gas.Default(), l)
		if err != nil {
			b.Fatal(err)
		}
		out = len(pm.Instrumented)
	}
	b.ReportMetric(float64(out)/float64(len(code)), "growth")
}
