package prepare

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
	"github.com/wnode/wnode/vm/internal/wasmgen"
	"pgregory.net/rapid"
)

// engines holds one wazero runtime per engine, shared by the tests of this file.
type engines struct {
	interp, compiler wazero.Runtime
}

func newEngines(t testing.TB) *engines {
	ctx := context.Background()
	e := &engines{
		interp:   wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2)),
		compiler: wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCoreFeatures(api.CoreFeaturesV2)),
	}
	t.Cleanup(func() {
		e.interp.Close(ctx)
		e.compiler.Close(ctx)
	})
	return e
}

// outcome is everything a run of "_run" lets one observe.
type outcome struct {
	results []uint64
	err     string // first line of the error, "" when the call returned
	mem     []byte
	globals []uint64 // _g0.._g3
	gasLeft int64    // instrumented modules only
	trap    uint64   // instrumented modules only
	stack   uint64   // instrumented modules only
}

func (o outcome) String() string {
	return fmt.Sprintf("results %x err %q globals %x gasLeft %d trap %d stack %d mem %d bytes", o.results, o.err, o.globals, o.gasLeft, o.trap, o.stack, len(o.mem))
}

// run instantiates bin and calls _run. For instrumented modules, gasLimit goes into the
// gas global first.
func run(t fataler, rt wazero.Runtime, bin []byte, instrumented bool, gasLimit int64) outcome {
	ctx := context.Background()
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer cm.Close(ctx)
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	defer mod.Close(ctx)
	var o outcome
	if instrumented {
		mod.ExportedGlobal(GasGlobal).(api.MutableGlobal).Set(uint64(gasLimit))
	}
	res, err := mod.ExportedFunction("_run").Call(ctx)
	if err != nil {
		o.err, _, _ = strings.Cut(err.Error(), "\n")
	}
	o.results = res
	mem, _ := mod.Memory().Read(0, mod.Memory().Size())
	o.mem = append([]byte{}, mem...)
	for i := range wasmgen.Globals {
		o.globals = append(o.globals, mod.ExportedGlobal(fmt.Sprintf("_g%d", i)).Get())
	}
	if instrumented {
		o.gasLeft = int64(mod.ExportedGlobal(GasGlobal).Get())
		o.trap = mod.ExportedGlobal(TrapGlobal).Get()
		o.stack = mod.ExportedGlobal(StackGlobal).Get()
	}
	return o
}

type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func isNaN(t wasm.ValType, bits uint64) bool {
	switch t {
	case wasm.F32:
		return math.IsNaN(float64(math.Float32frombits(uint32(bits))))
	case wasm.F64:
		return math.IsNaN(math.Float64frombits(bits))
	}
	return false
}

// sameValues compares values of the given types, taking any two NaNs as equal.
func sameValues(types []wasm.ValType, a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(isNaN(types[i], a[i]) && isNaN(types[i], b[i])) {
			return false
		}
	}
	return true
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

// TestInstrumentationKeepsMeaning runs random terminating programs before and after
// instrumentation, on wazero's interpreter and compiler:
//   - gas and stack instrumentation alone change nothing observable (bit for bit);
//   - the fully instrumented module gives the same answer, gas global and trap on both
//     engines, and (for programs that do not turn NaN bits into other bits) the same
//     answer as the original up to NaN payloads;
//   - for programs that return (a trap uses the whole gas limit): gas is exact, with
//     exactly the gas used the run is unchanged, with one less it ends with the gas
//     global negative (trapped at a check, or returned: both out of gas for the VM);
//   - and gas is an upper bound: the gas used, in milligas, is at least the static prices of
//     the instructions the original executed (counted one by one by executedMilligas);
//   - every instrumented module passes wazero's validation and re-validates with ours.
func TestInstrumentationKeepsMeaning(t *testing.T) {
	e := newEngines(t)
	rapid.Check(t, func(rt *rapid.T) { keepsMeaning(rt, e) })
}

// FuzzInstrumentation is TestInstrumentationKeepsMeaning driven by the fuzzer.
func FuzzInstrumentation(f *testing.F) {
	e := newEngines(f)
	f.Fuzz(rapid.MakeFuzz(func(rt *rapid.T) { keepsMeaning(rt, e) }))
}

func keepsMeaning(rt *rapid.T, e *engines) {
	s := gas.Default()
	if rapid.Bool().Draw(rt, "wholeGasPrices") {
		// Prices in whole gas leave block charges no rounding slack, so the upper-bound
		// check below sees any instruction a block charge misses.
		i := &s.Instr
		for _, p := range []*uint64{&i.Simple, &i.IntMul, &i.Local, &i.Global, &i.Load, &i.Store, &i.Branch,
			&i.Call, &i.CallIndirect, &i.IntDiv, &i.Float, &i.FloatDiv, &i.FloatSqrt, &i.MemorySize, &i.DataDrop} {
			*p = gas.CeilGas(*p) * gas.MilliGas
		}
	}
	const plenty = int64(1) << 40
	noLaunder := rapid.Bool().Draw(rt, "noLaunder")
	m := wasmgen.Program(rt, noLaunder)
	resultTypes := m.Types[m.Funcs[0]].Results
	orig := wasm.Encode(m)

	gasStack, err := prepare(orig, s, DefaultLimits(), passes{})
	if err != nil {
		rt.Fatalf("prepare: %v", err)
	}
	full, err := Prepare(orig, s, DefaultLimits())
	if err != nil {
		rt.Fatalf("Prepare: %v", err)
	}
	revalidate(rt, full.Instrumented)

	want := run(rt, e.interp, orig, false, 0)
	got := run(rt, e.interp, gasStack.Instrumented, true, plenty)
	if got.err != want.err || !equalU64(got.results, want.results) || !equalBytes(got.mem, want.mem) || !equalU64(got.globals, want.globals) {
		rt.Fatalf("gas+stack instrumentation changed the outcome:\noriginal     %v\ninstrumented %v", want, got)
	}
	if got.trap != TrapNone || (got.err == "" && got.stack != 0) {
		rt.Fatalf("gas+stack: trap %d stack %d after %v", got.trap, got.stack, got)
	}

	fi := run(rt, e.interp, full.Instrumented, true, plenty)
	fc := run(rt, e.compiler, full.Instrumented, true, plenty)
	if fi.err != fc.err || !equalU64(fi.results, fc.results) || !equalBytes(fi.mem, fc.mem) ||
		!equalU64(fi.globals, fc.globals) || fi.gasLeft != fc.gasLeft || fi.trap != fc.trap {
		rt.Fatalf("interpreter and compiler disagree:\ninterpreter %v\ncompiler    %v", fi, fc)
	}
	if noLaunder {
		if fi.err != want.err || !sameValues(resultTypes, fi.results, want.results) ||
			!equalBytes(fi.mem, want.mem) || !sameValues(wasmgen.Globals, fi.globals, want.globals) {
			rt.Fatalf("NaN canonicalization changed more than NaN bits:\noriginal     %v\ninstrumented %v", want, fi)
		}
	}

	if fi.err != "" {
		return // a trap uses the whole gas limit: the gas global is not read back
	}
	used := plenty - fi.gasLeft
	if used == 0 {
		return // an empty _run: nothing to charge
	}
	if milli := executedMilligas(rt, e.compiler, orig, s); uint64(used)*gas.MilliGas < milli {
		rt.Fatalf("charged %d gas for %d milligas of executed instructions", used, milli)
	}
	exact := run(rt, e.interp, full.Instrumented, true, used)
	if exact.err != fi.err || exact.gasLeft != 0 || !equalU64(exact.results, fi.results) {
		rt.Fatalf("with exactly the %d gas used: %v, want %v", used, exact, fi)
	}
	short := run(rt, e.compiler, full.Instrumented, true, used-1)
	// Out of gas: a check trapped with the gas global negative, or _run returned with it
	// negative (the charges after the last check; the VM reports ErrOutOfGas).
	if short.gasLeft >= 0 {
		rt.Fatalf("with %d gas (one less than used): %v, want the out-of-gas trap", used-1, short)
	}
}

// executedMilligas runs _run of orig with every instruction preceded by the addition of
// its static price (gas.Schedule.Instr, milligas) to a counter global, and returns the
// counter: the exact milligas of the instructions executed, to which the gas pass's
// block charges are compared. Dynamic charges (per page, per KiB) are left out.
func executedMilligas(t fataler, rt wazero.Runtime, orig []byte, s *gas.Schedule) uint64 {
	m, err := wasm.Decode(orig)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	ins := &instrumenter{s: &s.Instr}
	ins.initCosts()
	counter := uint64(len(m.Globals))
	for _, im := range m.Imports {
		if im.Kind == wasm.KindGlobal {
			counter++
		}
	}
	m.Globals = append(m.Globals, wasm.Global{Type: wasm.GlobalType{Type: wasm.I64, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI64Const}})
	m.Exports = append(m.Exports, wasm.Export{Name: "_milligas", Kind: wasm.KindGlobal, Index: uint32(counter)})
	for i := range m.Code {
		var body []wasm.Instr
		for _, in := range m.Code[i].Body {
			if c := ins.cost[costIndex(in.Op)]; c > 0 {
				body = append(body, wasm.Instr{Op: wasm.OpGlobalGet, Imm: counter}, wasm.I64Const(int64(c)),
					wasm.Instr{Op: wasm.OpI64Add}, wasm.Instr{Op: wasm.OpGlobalSet, Imm: counter})
			}
			body = append(body, in)
		}
		m.Code[i].Body = body
	}
	ctx := context.Background()
	cm, err := rt.CompileModule(ctx, wasm.Encode(m))
	if err != nil {
		t.Fatalf("compile the counting module: %v", err)
	}
	defer cm.Close(ctx)
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate the counting module: %v", err)
	}
	defer mod.Close(ctx)
	mod.ExportedFunction("_run").Call(ctx) // traps count up to the trapping instruction
	return mod.ExportedGlobal("_milligas").Get()
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// revalidate checks that an instrumented module passes wazero's validation and ours
// (with limits loose enough for what instrumentation adds).
func revalidate(t fataler, bin []byte) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("wazero rejects the instrumented module: %v", err)
	}
	cm.Close(ctx)
	m, err := wasm.Decode(bin)
	if err != nil {
		t.Fatalf("instrumented module does not decode: %v", err)
	}
	loose := DefaultLimits()
	loose.MaxFunctionSize *= 16
	loose.MaxFunctions++
	loose.MaxGlobals += 3
	loose.MaxLocals += 3
	loose.MaxNesting += 2
	loose.MaxExports += 3
	loose.MaxTypes += 2
	loose.MaxStackHeight *= 2
	if _, err := validate(m, &loose, true); err != nil {
		t.Fatalf("instrumented module does not re-validate: %v", err)
	}
}

// TestInfiniteLoopsRunOutOfGas puts an endless loop, closed by every kind of back edge
// and wrapped in random blocks, in front of random programs: every run must end in the
// out-of-gas trap (a metering gap would hang until the deadline instead).
func TestInfiniteLoopsRunOutOfGas(t *testing.T) {
	ctx := context.Background()
	cfgs := []wazero.RuntimeConfig{wazero.NewRuntimeConfigInterpreter(), wazero.NewRuntimeConfigCompiler()}
	var rts []wazero.Runtime
	for _, c := range cfgs {
		rt := wazero.NewRuntimeWithConfig(ctx, c.WithCoreFeatures(api.CoreFeaturesV2).WithCloseOnContextDone(true))
		defer rt.Close(ctx)
		rts = append(rts, rt)
	}
	rapid.Check(t, func(rt *rapid.T) {
		m := wasmgen.Program(rt, false)
		var loop []wasm.Instr
		bump := []wasm.Instr{{Op: wasm.OpGlobalGet}, wasm.I32Const(1), {Op: wasm.OpI32Add}, {Op: wasm.OpGlobalSet}}
		loop = append(loop, wasm.Instr{Op: wasm.OpLoop, Imm: blockImm(wasm.BlockEmpty)})
		wraps := rapid.IntRange(0, 3).Draw(rt, "wraps")
		for i := 0; i < wraps; i++ {
			if rapid.Bool().Draw(rt, "if") {
				loop = append(loop, wasm.I32Const(1), wasm.Instr{Op: wasm.OpIf, Imm: blockImm(wasm.BlockEmpty)})
			} else {
				loop = append(loop, wasm.Instr{Op: wasm.OpBlock, Imm: blockImm(wasm.BlockEmpty)})
			}
			if rapid.Bool().Draw(rt, "bump") {
				loop = append(loop, bump...)
			}
		}
		back := uint64(wraps) // label of the loop from inside the wraps
		switch rapid.IntRange(0, 2).Draw(rt, "backEdge") {
		case 0:
			loop = append(loop, wasm.Instr{Op: wasm.OpBr, Imm: back})
		case 1:
			loop = append(loop, wasm.I32Const(1), wasm.Instr{Op: wasm.OpBrIf, Imm: back})
		case 2:
			loop = append(loop, wasm.I32Const(rapid.Int32Range(0, 3).Draw(rt, "index")), m.Code[0].AddBrTable(uint32(back), uint32(back), uint32(back)))
		}
		for i := 0; i < wraps; i++ {
			loop = append(loop, wasm.Instr{Op: wasm.OpEnd})
		}
		loop = append(loop, wasm.Instr{Op: wasm.OpEnd})
		m.Code[0].Body = append(loop, m.Code[0].Body...)
		pm, err := Prepare(wasm.Encode(m), gas.Default(), DefaultLimits())
		if err != nil {
			rt.Fatalf("Prepare: %v", err)
		}
		for _, r := range rts {
			tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			mod, err := r.InstantiateWithConfig(tctx, pm.Instrumented, wazero.NewModuleConfig().WithName(""))
			if err != nil {
				cancel()
				rt.Fatalf("instantiate: %v", err)
			}
			mod.ExportedGlobal(GasGlobal).(api.MutableGlobal).Set(50_000)
			_, err = mod.ExportedFunction("_run").Call(tctx)
			left := int64(mod.ExportedGlobal(GasGlobal).Get())
			timedOut := tctx.Err() != nil
			cancel()
			mod.Close(ctx)
			if timedOut {
				rt.Fatalf("the loop did not run out of gas")
			}
			if left >= 0 || err == nil {
				rt.Fatalf("gas left %d, err %v: want the out-of-gas trap", left, err)
			}
		}
	})
}
