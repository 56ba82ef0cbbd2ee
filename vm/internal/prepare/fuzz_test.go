package prepare

import (
	"testing"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

func fuzzSeeds(f *testing.F) {
	for _, b := range contracts(f) {
		if len(b) < 8192 { // the big modules make the mutator slow
			f.Add(b)
		}
	}
	f.Add(wasm.Encode(base()))
	f.Add(withMeta("v1 method run view none none\n"))
	f.Add(gz(f, wasm.Encode(base())))
	f.Add(module(nil, true, fn{"run", wasm.FuncType{}, nil, []I{blk(wasm.OpLoop, wasm.BlockEmpty), opImm(wasm.OpBr, 0), end()}}))
}

// FuzzValidate decodes and validates arbitrary bytes: never a panic; a rejection is an
// *Error or a decoder error.
func FuzzValidate(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wasm.Decode(b)
		if err != nil {
			return
		}
		l := DefaultLimits()
		if _, err := validate(m, &l, false); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("validation error of type %T: %v", err, err)
			}
		}
	})
}

// FuzzPrepare prepares arbitrary bytes: never a panic; when Prepare succeeds, its output
// compiles in wazero, re-validates with this package's validator and is the same on a
// second run.
func FuzzPrepare(f *testing.F) {
	fuzzSeeds(f)
	s := gas.Default()
	f.Fuzz(func(t *testing.T, b []byte) {
		pm, err := Prepare(b, s, DefaultLimits())
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		revalidate(t, pm.Instrumented)
		again, err := Prepare(b, s, DefaultLimits())
		if err != nil || string(again.Instrumented) != string(pm.Instrumented) {
			t.Fatal("Prepare is not deterministic")
		}
	})
}
