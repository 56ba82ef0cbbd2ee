package prepare

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// module builds a contract whose functions are given as (name, type, locals, body); each
// is exported under its name (use names starting with "_" for non-() -> () functions).
type fn struct {
	name   string
	typ    wasm.FuncType
	locals []wasm.LocalDecl
	body   []I
}

func module(globals []wasm.Global, table bool, fns ...fn) []byte {
	m := &wasm.Module{Memories: []wasm.Limits{{Min: 1, Max: 4, HasMax: true}}, Globals: globals}
	m.Exports = []wasm.Export{{Name: "memory", Kind: wasm.KindMemory}}
	for i := range globals {
		m.Exports = append(m.Exports, wasm.Export{Name: fmt.Sprintf("_g%d", i), Kind: wasm.KindGlobal, Index: uint32(i)})
	}
	types := map[string]uint32{}
	for i, f := range fns {
		ti, ok := types[f.typ.String()]
		if !ok {
			ti = uint32(len(m.Types))
			m.Types = append(m.Types, f.typ)
			types[f.typ.String()] = ti
		}
		m.Funcs = append(m.Funcs, ti)
		m.Code = append(m.Code, wasm.Code{Locals: f.locals, Body: append(f.body, end())})
		m.Exports = append(m.Exports, wasm.Export{Name: f.name, Kind: wasm.KindFunc, Index: uint32(i)})
	}
	if table {
		m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: uint32(len(fns))}}}
		el := wasm.Element{Type: wasm.FuncRef, Offset: wasm.ConstExpr{Op: wasm.OpI32Const}}
		for i := range fns {
			el.Funcs = append(el.Funcs, uint32(i))
		}
		m.Elements = []wasm.Element{el}
	}
	return wasm.Encode(m)
}

// call instantiates bin on rt, sets the gas global (when instrumented) and calls name.
func call(t testing.TB, rt wazero.Runtime, bin []byte, name string, gasLimit uint64) (res []uint64, mod api.Module, err error) {
	t.Helper()
	ctx := context.Background()
	mod, err = rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	if g := mod.ExportedGlobal(GasGlobal); g != nil {
		g.(api.MutableGlobal).Set(gasLimit)
	}
	res, err = mod.ExportedFunction(name).Call(ctx)
	return res, mod, err
}

// prepareDecoded prepares bin with the default schedule and limits and decodes the
// instrumented module, for tests that read the instructions the passes wrote.
func prepareDecoded(t testing.TB, bin []byte) (*Module, *wasm.Module) {
	t.Helper()
	pm, err := Prepare(bin, gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	m, err := wasm.Decode(pm.Instrumented)
	if err != nil {
		t.Fatal(err)
	}
	return pm, m
}

func f32Type() wasm.FuncType { return wasm.FuncType{Results: []wasm.ValType{wasm.F32}} }
func f64Type() wasm.FuncType { return wasm.FuncType{Results: []wasm.ValType{wasm.F64}} }
func f32c(bits uint32) I     { return I{Op: wasm.OpF32Const, Imm: uint64(bits)} }
func f64c(bits uint64) I     { return I{Op: wasm.OpF64Const, Imm: bits} }

func TestNaNCanonicalization(t *testing.T) {
	const (
		c32 = uint64(CanonicalNaN32)
		c64 = CanonicalNaN64
	)
	cases := []struct {
		f    fn
		want uint64
	}{
		{fn{"_div32", f32Type(), nil, []I{f32c(0), f32c(0), op(wasm.OpF32Div)}}, c32},
		{fn{"_sqrt32", f32Type(), nil, []I{f32c(0xbf800000), op(wasm.OpF32Sqrt)}}, c32},
		{fn{"_add32", f32Type(), nil, []I{f32c(0x7fa00001), f32c(0x3f800000), op(wasm.OpF32Add)}}, c32},
		{fn{"_sub32", f32Type(), nil, []I{f32c(0x3f800000), f32c(0xffc12345), op(wasm.OpF32Add + 1)}}, c32},
		{fn{"_mul32", f32Type(), nil, []I{f32c(0x7f800000), f32c(0), op(wasm.OpF32Add + 2)}}, c32},
		{fn{"_min32", f32Type(), nil, []I{f32c(0xffc00abc), f32c(0x3f800000), op(wasm.OpF32Min)}}, c32},
		{fn{"_max32", f32Type(), nil, []I{f32c(0x3f800000), f32c(0x7fa00001), op(wasm.OpF32Min + 1)}}, c32},
		{fn{"_ceil32", f32Type(), nil, []I{f32c(0xffc12345), op(wasm.OpF32Ceil)}}, c32},
		{fn{"_nearest32", f32Type(), nil, []I{f32c(0x7f812345), op(wasm.OpF32Ceil + 3)}}, c32},
		{fn{"_demote", f32Type(), nil, []I{f64c(0xfff0000000000123), op(wasm.OpF32DemoteF64)}}, c32},
		{fn{"_div64", f64Type(), nil, []I{f64c(0), f64c(0), op(wasm.OpF64Div)}}, c64},
		{fn{"_sqrt64", f64Type(), nil, []I{f64c(0xbff0000000000000), op(wasm.OpF64Sqrt)}}, c64},
		{fn{"_add64", f64Type(), nil, []I{f64c(0x7ff4000000000001), f64c(0), op(wasm.OpF64Add)}}, c64},
		{fn{"_max64", f64Type(), nil, []I{f64c(0xfff8000000000abc), f64c(0), op(wasm.OpF64Min + 1)}}, c64},
		{fn{"_trunc64", f64Type(), nil, []I{f64c(0x7ff0000000000001), op(wasm.OpF64Ceil + 2)}}, c64},
		{fn{"_promote", f64Type(), nil, []I{f32c(0x7fa00001), op(wasm.OpF64PromoteF32)}}, c64},
		// Bit-exact operations keep their bits.
		{fn{"_neg", f32Type(), nil, []I{f32c(0), f32c(0), op(wasm.OpF32Div), op(wasm.OpF32Neg)}}, 0xffc00000},
		{fn{"_abs", f64Type(), nil, []I{f64c(0xfff8000000000abc), op(wasm.OpF64Abs)}}, 0x7ff8000000000abc},
		{fn{"_const", f32Type(), nil, []I{f32c(0x7fa00001)}}, 0x7fa00001},
		{fn{"_copysign", f32Type(), nil, []I{f32c(0x7fa00001), f32c(0x80000000), op(wasm.OpF32Copysign)}}, 0xffa00001},
		{fn{"_reinterpret", f64Type(), nil, []I{wasm.I64Const(-1), op(wasm.OpF64ReinterpretI)}}, 0xffffffffffffffff},
		{fn{"_ordinary", f64Type(), nil, []I{f64c(0x3ff0000000000000), f64c(0x4000000000000000), op(wasm.OpF64Add)}}, 0x4008000000000000},
	}
	var fns []fn
	for _, c := range cases {
		fns = append(fns, c.f)
	}
	orig := module(nil, false, fns...)
	pm, err := Prepare(orig, gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	e := newEngines(t)
	differs := 0
	for _, c := range cases {
		for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
			res, _, err := call(t, rt, pm.Instrumented, c.f.name, 1<<30)
			if err != nil || len(res) != 1 || res[0] != c.want {
				t.Errorf("%s: %x, %v, want %#x", c.f.name, res, err, c.want)
			}
		}
		res, _, err := call(t, e.compiler, orig, c.f.name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res[0] != c.want {
			differs++
		}
	}
	// Without canonicalization this CPU produces other NaN bits for some of these (x86
	// gives the negative quiet NaN for 0/0 and keeps payloads): the pass is not idle.
	if differs == 0 {
		t.Error("the original computes canonical NaNs everywhere: the test does not exercise the pass")
	}
}

// TestStackLimit recurses until the stack trap: the depth reached is exactly what the
// frame costs allow, identical on both engines, and the trap global says why.
func TestStackLimit(t *testing.T) {
	depth := []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}}}
	bump := []I{opImm(wasm.OpGlobalGet, 0), i32c(1), op(wasm.OpI32Add), opImm(wasm.OpGlobalSet, 0)}
	params := wasm.FuncType{Params: []wasm.ValType{wasm.I64, wasm.I64}}
	cases := []struct {
		name string
		bin  []byte
		// frame costs of _run and of the recursive function
		runCost, recCost uint64
	}{
		{"direct", module(depth, false,
			fn{"_run", wasm.FuncType{}, nil, []I{opImm(wasm.OpCall, 1)}},
			fn{"_rec", wasm.FuncType{}, nil, append(bump, opImm(wasm.OpCall, 1))},
		), FrameOverhead, FrameOverhead + 2},
		{"indirect with params and locals", module(depth, true,
			fn{"_run", wasm.FuncType{}, nil, []I{wasm.I64Const(1), wasm.I64Const(2), i32c(1), opImm(wasm.OpCallIndirect, 1)}},
			fn{"_rec", params, []wasm.LocalDecl{{Count: 5, Type: wasm.F64}}, append(bump,
				opImm(wasm.OpLocalGet, 0), opImm(wasm.OpLocalGet, 1), i32c(1), opImm(wasm.OpCallIndirect, 1))},
		), FrameOverhead + 3, FrameOverhead + 2 + 5 + 3},
	}
	e := newEngines(t)
	for _, c := range cases {
		for _, limit := range []uint32{DefaultLimits().MaxStackHeight, 1000} {
			l := DefaultLimits()
			l.MaxStackHeight = limit
			pm, err := Prepare(c.bin, gas.Default(), l)
			if err != nil {
				t.Fatal(err)
			}
			want := (uint64(limit) - c.runCost) / c.recCost
			for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
				_, mod, err := call(t, rt, pm.Instrumented, "_run", 1<<40)
				if err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Fatalf("%s: %v, want the unreachable of the stack trap", c.name, err)
				}
				if trap := mod.ExportedGlobal(TrapGlobal).Get(); trap != TrapStackOverflow {
					t.Fatalf("%s: trap global %d", c.name, trap)
				}
				if got := mod.ExportedGlobal("_g0").Get(); got != want {
					t.Fatalf("%s, limit %d: recursion depth %d, want %d", c.name, limit, got, want)
				}
			}
		}
	}
}

// joinByBrIf is "block block (c) br_if 0; 5; drop; br 1 end; 7 / 3; drop end": the
// code after the inner end runs only when the br_if is taken.
func joinByBrIf(c int32) []I {
	return []I{
		blk(wasm.OpBlock, wasm.BlockEmpty), blk(wasm.OpBlock, wasm.BlockEmpty),
		i32c(c), opImm(wasm.OpBrIf, 0), i32c(5), op(wasm.OpDrop), opImm(wasm.OpBr, 1), end(),
		i32c(7), i32c(3), op(wasm.OpI32DivS), op(wasm.OpDrop), end(),
	}
}

// TestGasCharges checks the gas of small programs against the schedule's figures.
func TestGasCharges(t *testing.T) {
	s := gas.Default()
	in := s.Instr
	ceil := gas.CeilGas // instruction prices are milligas, charged in whole gas per block
	const n = 37
	loop := []I{
		i32c(n), opImm(wasm.OpLocalSet, 0),
		blk(wasm.OpLoop, wasm.BlockEmpty),
		opImm(wasm.OpLocalGet, 0), i32c(1), op(wasm.OpI32Sub), opImm(wasm.OpLocalTee, 0), opImm(wasm.OpBrIf, 0),
		end(),
	}
	one := []wasm.LocalDecl{{Count: 1, Type: wasm.I32}}
	cases := []struct {
		name string
		f    fn
		want uint64
	}{
		{"empty", fn{"_f", wasm.FuncType{}, nil, nil}, 0},
		// blocks: [const, local.set, loop] then n × [the loop body]
		{"counted loop", fn{"_f", wasm.FuncType{}, one, loop},
			ceil(in.Simple+in.Local) + n*ceil(in.Local+in.Simple+in.Simple+in.Local+in.Branch)},
		{"dead code is free", fn{"_f", wasm.FuncType{}, nil, []I{
			blk(wasm.OpBlock, wasm.BlockEmpty), opImm(wasm.OpBr, 0), i32c(1), op(wasm.OpDrop), end(),
		}}, ceil(in.Branch)},
		// blocks: [const, if], [else-branch], [after end]
		{"if takes one branch", fn{"_f", wasm.FuncType{}, one, []I{
			i32c(0), blk(wasm.OpIf, wasm.BlockEmpty), opImm(wasm.OpGlobalGet, 0), op(wasm.OpDrop),
			op(wasm.OpElse), i32c(7), i32c(3), op(wasm.OpI32DivS), op(wasm.OpDrop), end(),
			i32c(1), op(wasm.OpDrop),
		}}, ceil(in.Simple+in.Branch) + ceil(in.Simple+in.Simple+in.IntDiv+in.Simple) + ceil(2*in.Simple)},
		// The code after the end of a block reached only by one br_if is paid by the br_if's
		// block, whether the br_if is taken or not.
		{"branch-only join, taken", fn{"_f", wasm.FuncType{}, nil, joinByBrIf(1)},
			ceil(3*in.Simple + 2*in.Branch + 3*in.Simple + in.IntDiv)},
		{"branch-only join, not taken (paid in advance)", fn{"_f", wasm.FuncType{}, nil, joinByBrIf(0)},
			ceil(3*in.Simple + 2*in.Branch + 3*in.Simple + in.IntDiv)},
		{"int mul", fn{"_f", wasm.FuncType{}, nil, []I{i32c(6), i32c(7), op(wasm.OpI32Mul), op(wasm.OpDrop)}},
			ceil(3*in.Simple + in.IntMul)},
		{"memory.grow per page", fn{"_f", wasm.FuncType{}, nil, []I{i32c(2), op(wasm.OpMemoryGrow), op(wasm.OpDrop)}},
			ceil(2*in.Simple) + in.MemoryGrowBase + 2*in.MemoryGrowPerPage},
		// A refused grow adds no page and pays only its base (the result, -1, is dropped).
		{"memory.grow refused: base only", fn{"_f", wasm.FuncType{}, nil, []I{i32c(100_000), op(wasm.OpMemoryGrow), op(wasm.OpDrop)}},
			ceil(2*in.Simple) + in.MemoryGrowBase},
		{"memory.grow of 2^32-1 pages: base only", fn{"_f", wasm.FuncType{}, nil, []I{i32c(-1), op(wasm.OpMemoryGrow), op(wasm.OpDrop)}},
			ceil(2*in.Simple) + in.MemoryGrowBase},
		{"memory.fill per byte", fn{"_f", wasm.FuncType{}, nil, []I{i32c(0), i32c(9), i32c(5000), op(wasm.OpMemoryFill)}},
			ceil(3*in.Simple) + in.MemoryFill.Cost(5000)},
		{"memory.copy per byte", fn{"_f", wasm.FuncType{}, nil, []I{i32c(0), i32c(9), i32c(1), op(wasm.OpMemoryCopy)}},
			ceil(3*in.Simple) + in.MemoryCopy.Cost(1)},
		{"floats", fn{"_f", f64Type(), nil, []I{f64c(0x4000000000000000), op(wasm.OpF64Sqrt), f64c(0), op(wasm.OpF64Div)}},
			ceil(in.Simple + in.FloatSqrt + in.Simple + in.FloatDiv)},
	}
	e := newEngines(t)
	g := []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I32}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}}}
	for _, c := range cases {
		pm, err := Prepare(module(g, false, c.f), s, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
			const limit = 1 << 40
			_, mod, err := call(t, rt, pm.Instrumented, "_f", limit)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if used := limit - mod.ExportedGlobal(GasGlobal).Get(); used != c.want {
				t.Errorf("%s: used %d gas, want %d", c.name, used, c.want)
			}
		}
	}
}

// TestOutOfGasInLoop runs an infinite loop and an infinite recursion: both end in an
// out-of-gas trap with the gas global below zero, on both engines. The loop's head checks
// with a branch to unreachable (even though the head's own block is free: the back edge
// is paid after the inner block); the recursion is stopped by the branchless check at
// function entry, in each of its forms: a load out of bounds when the memory has a first
// page and stays below 4 GiB, else a division by zero. A loop of 1 000 iterations with
// enough gas runs through either form. (Loop heads: TestLoopHeadCharges.)
func TestOutOfGasInLoop(t *testing.T) {
	endless := []I{blk(wasm.OpLoop, wasm.BlockEmpty), blk(wasm.OpBlock, wasm.BlockEmpty), end(), opImm(wasm.OpBr, 0), end()}
	recurse := []I{opImm(wasm.OpCall, 2)} // function 2 is recurse itself
	counted := []I{
		i32c(1000), opImm(wasm.OpLocalSet, 0), blk(wasm.OpLoop, wasm.BlockEmpty),
		opImm(wasm.OpLocalGet, 0), i32c(1), op(wasm.OpI32Sub), opImm(wasm.OpLocalTee, 0), opImm(wasm.OpBrIf, 0), end(),
	}
	one := []wasm.LocalDecl{{Count: 1, Type: wasm.I32}}
	bigLimits := DefaultLimits()
	bigLimits.MaxMemoryPages = 65536
	cases := []struct {
		name    string
		mem     wasm.Limits
		limits  Limits
		wantErr string // of the recursion
	}{
		{"first page: load", wasm.Limits{Min: 1, Max: 4, HasMax: true}, DefaultLimits(), "out of bounds memory access"},
		{"no first page: division", wasm.Limits{Min: 0, Max: 4, HasMax: true}, DefaultLimits(), "integer divide by zero"},
		{"4 GiB maximum: division", wasm.Limits{Min: 1}, bigLimits, "integer divide by zero"},
	}
	e := newEngines(t)
	for _, c := range cases {
		m, err := wasm.Decode(module(nil, false, fn{"run", wasm.FuncType{}, nil, endless},
			fn{"count", wasm.FuncType{}, one, counted}, fn{"recurse", wasm.FuncType{}, nil, recurse}))
		if err != nil {
			t.Fatal(err)
		}
		m.Memories[0] = c.mem
		pm, err := Prepare(wasm.Encode(m), gas.Default(), c.limits)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
			for _, f := range []struct{ name, want string }{{"run", "unreachable"}, {"recurse", c.wantErr}} {
				// 100 gas: the recursion runs out long before the stack limit (1 024 frames).
				_, mod, err := call(t, rt, pm.Instrumented, f.name, 100)
				if err == nil {
					t.Fatalf("%s: endless %s returned", c.name, f.name)
				}
				if !strings.Contains(err.Error(), f.want) {
					t.Fatalf("%s: %s: error %q, want %q", c.name, f.name, err, f.want)
				}
				if trap := mod.ExportedGlobal(TrapGlobal).Get(); trap == TrapStackOverflow {
					t.Fatalf("%s: %s: trap global %d after out of gas", c.name, f.name, trap)
				}
				if left := int64(mod.ExportedGlobal(GasGlobal).Get()); left >= 0 {
					t.Fatalf("%s: %s: gas left %d after out of gas", c.name, f.name, left)
				}
			}
			if _, _, err := call(t, rt, pm.Instrumented, "count", 100_000); err != nil {
				t.Fatalf("%s: counted loop: %v", c.name, err)
			}
		}
	}
}

// TestLoopHeadCharges checks the charge at loop heads (a branch to unreachable instead
// of the branchless load): it appears at the first maxBranchCharges loop heads of a
// function and only there, and it charges exactly what the branchless charge does. A
// function of nested loops with an early exit and a conditional trap, run on both engines
// with the gas it uses, runs; with one gas less it runs out of gas (the gas global below
// zero), whatever the loop at which the gas runs out; and it uses the same gas as the
// same function whose loops are all charged without a branch (more loop heads than
// maxBranchCharges before it).
func TestLoopHeadCharges(t *testing.T) {
	e := newEngines(t)
	// f(n): x = 0; for i = n..1 { for j = 3..1 { x += i*j; if x >= 100 { break out } } };
	// if x == 6 { unreachable }; return x. n = 20 leaves by the early exit, n = 3 runs both
	// loops to the end (x = 36), n = 1 traps (x = 6).
	nested := func(n int32) []I {
		return []I{
			i32c(n), opImm(wasm.OpLocalSet, 0),
			blk(wasm.OpBlock, wasm.BlockEmpty),
			blk(wasm.OpLoop, wasm.BlockEmpty), // outer head
			i32c(3), opImm(wasm.OpLocalSet, 1),
			blk(wasm.OpLoop, wasm.BlockEmpty), // inner head
			opImm(wasm.OpLocalGet, 2), opImm(wasm.OpLocalGet, 0), opImm(wasm.OpLocalGet, 1), op(wasm.OpI32Mul), op(wasm.OpI32Add),
			opImm(wasm.OpLocalTee, 2), i32c(100), op(wasm.OpI32GeU), opImm(wasm.OpBrIf, 2), // early exit
			opImm(wasm.OpLocalGet, 1), i32c(1), op(wasm.OpI32Sub), opImm(wasm.OpLocalTee, 1), opImm(wasm.OpBrIf, 0),
			end(),
			opImm(wasm.OpLocalGet, 0), i32c(1), op(wasm.OpI32Sub), opImm(wasm.OpLocalTee, 0), opImm(wasm.OpBrIf, 0),
			end(),
			end(),
			opImm(wasm.OpLocalGet, 2), i32c(6), op(wasm.OpI32Eq), // x == 6 only for n = 1
			blk(wasm.OpIf, wasm.BlockEmpty), op(wasm.OpUnreachable), end(),
			opImm(wasm.OpLocalGet, 2),
		}
	}
	locals := []wasm.LocalDecl{{Count: 3, Type: wasm.I32}}
	res := wasm.FuncType{Results: []wasm.ValType{wasm.I32}}
	// many: maxBranchCharges loop heads first, so nested's loops get the branchless charge.
	var many []I
	for i := 0; i < maxBranchCharges; i++ {
		many = append(many, blk(wasm.OpLoop, wasm.BlockEmpty), i32c(0), opImm(wasm.OpBrIf, 0), end())
	}
	for _, n := range []int32{20, 3, 1} {
		body := nested(n)
		pm, m := prepareDecoded(t, module(nil, false,
			fn{"_branch", res, locals, body},
			fn{"_static", res, locals, append(slices.Clone(many), body...)},
		))
		// The stack pass adds one if per function; the branch charges add one each.
		ifs := func(c wasm.Code) (n int) {
			for _, in := range c.Body {
				if in.Op == wasm.OpIf {
					n++
				}
			}
			return n
		}
		if got := ifs(m.Code[0]); got != 1+1+2 { // stack, the contract's if, two loop heads
			t.Fatalf("n=%d: %d ifs in the instrumented nested loops, want 4", n, got)
		}
		if got := ifs(m.Code[1]); got != 1+1+maxBranchCharges {
			t.Fatalf("n=%d: %d ifs with %d loops before, want %d", n, got, maxBranchCharges, 2+maxBranchCharges)
		}
		manyFn := append(slices.Clone(many), i32c(0), op(wasm.OpDrop))
		pmMany, err := Prepare(module(nil, false, fn{"many", wasm.FuncType{}, nil, manyFn}), gas.Default(), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
			_, mm, err := call(t, rt, pmMany.Instrumented, "many", 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			manyGas := 1<<40 - mm.ExportedGlobal(GasGlobal).Get()
			const limit = 1 << 40
			r1, m1, err1 := call(t, rt, pm.Instrumented, "_branch", limit)
			used := limit - m1.ExportedGlobal(GasGlobal).Get()
			r2, m2, err2 := call(t, rt, pm.Instrumented, "_static", limit)
			used2 := limit - m2.ExportedGlobal(GasGlobal).Get()
			if (err1 == nil) != (err2 == nil) || fmt.Sprint(r1) != fmt.Sprint(r2) {
				t.Fatalf("n=%d: branch charges %v %v, branchless %v %v", n, r1, err1, r2, err2)
			}
			// "static" runs many's loops first: nested's part is the rest (minus the
			// final i32.const/drop block of many, which nested has not).
			if err1 == nil && used2-used != manyGas-1 {
				t.Fatalf("n=%d: gas %d with branch charges, %d without (%d for the loops before)", n, used, used2, manyGas)
			}
			if n == 1 && (err1 == nil || !strings.Contains(err1.Error(), "unreachable")) {
				t.Fatalf("n=1: %v, want the contract's trap", err1)
			}
			if err1 != nil {
				continue
			}
			for g := uint64(1); g <= used; g++ { // every limit below used runs out of gas, exactly
				_, m, err := call(t, rt, pm.Instrumented, "_branch", g-1)
				if int64(m.ExportedGlobal(GasGlobal).Get()) >= 0 { // trapped, or returned out of gas
					t.Fatalf("n=%d: with %d gas (used %d): %v, gas left %d", n, g-1, used, err, int64(m.ExportedGlobal(GasGlobal).Get()))
				}
			}
			if r, m, err := call(t, rt, pm.Instrumented, "_branch", used); err != nil || m.ExportedGlobal(GasGlobal).Get() != 0 || r[0] != r1[0] {
				t.Fatalf("n=%d: with exactly %d gas: %v %v", n, used, r, err)
			}
		}
	}
}

// TestChargeAfterFirstMemoryAccess pins where a metering block's charge goes (vm.Version
// 7): after the first load or store of the block's straight prefix, not at its start.
// A loop summing 100 words has its head's check after the load and before the back
// edge, and pays exactly the schedule's price of the instructions it runs, on both
// engines (one gas less runs out); a loop whose first load is out of bounds, run with no
// gas, traps on the load before its charge: out of bounds, with the gas global not
// negative (the VM charges the whole limit for either trap).
func TestChargeAfterFirstMemoryAccess(t *testing.T) {
	load := I{Op: wasm.OpI32Load, Imm2: 2}
	// sum = 0; for p = 0; p != 400; p += 4 { sum += mem[p] }; return sum
	sum := []I{
		i32c(0), opImm(wasm.OpLocalSet, 0),
		blk(wasm.OpLoop, wasm.BlockEmpty),
		opImm(wasm.OpLocalGet, 0), load, opImm(wasm.OpLocalGet, 1), op(wasm.OpI32Add), opImm(wasm.OpLocalSet, 1),
		opImm(wasm.OpLocalGet, 0), i32c(4), op(wasm.OpI32Add), opImm(wasm.OpLocalTee, 0), i32c(400), op(wasm.OpI32Ne),
		opImm(wasm.OpBrIf, 0),
		end(),
		opImm(wasm.OpLocalGet, 1),
	}
	oob := []I{blk(wasm.OpLoop, wasm.BlockEmpty), i32c(1 << 30), load, op(wasm.OpDrop), opImm(wasm.OpBr, 0), end()}
	pm, m := prepareDecoded(t, module(nil, false,
		fn{"_sum", wasm.FuncType{Results: []wasm.ValType{wasm.I32}}, []wasm.LocalDecl{{Count: 2, Type: wasm.I32}}, sum},
		fn{"oob", wasm.FuncType{}, nil, oob},
	))
	// In the instrumented sum: loop, then the load, then the head's check (an if), then
	// the back edge.
	var seq []wasm.Opcode
	for _, in := range m.Code[0].Body {
		switch in.Op {
		case wasm.OpLoop, wasm.OpI32Load, wasm.OpIf, wasm.OpBrIf:
			seq = append(seq, in.Op)
		}
	}
	want := []wasm.Opcode{wasm.OpIf /* stack pass */, wasm.OpLoop, wasm.OpI32Load, wasm.OpIf, wasm.OpBrIf}
	if !slices.Equal(seq, want) {
		t.Fatalf("instrumented sum: loop, load, if, br_if in the order %v, want %v", seq, want)
	}
	in := gas.Default().Instr
	perIter := gas.CeilGas(5*in.Local + 5*in.Simple + in.Load + in.Branch)
	wantGas := gas.CeilGas(in.Simple+in.Local) + 100*perIter + gas.CeilGas(in.Local)
	e := newEngines(t)
	for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
		const limit = 1 << 40
		_, mod, err := call(t, rt, pm.Instrumented, "_sum", limit)
		if err != nil {
			t.Fatal(err)
		}
		if used := limit - mod.ExportedGlobal(GasGlobal).Get(); used != wantGas {
			t.Fatalf("sum used %d gas, want %d", used, wantGas)
		}
		// One gas less: the block after the loop runs out (seen by the runtime after the
		// return); two less: the last iteration's check traps.
		for short := uint64(1); short <= 2; short++ {
			_, mod, err := call(t, rt, pm.Instrumented, "_sum", wantGas-short)
			if (err == nil) != (short == 1) || int64(mod.ExportedGlobal(GasGlobal).Get()) >= 0 {
				t.Fatalf("sum with %d gas: %v, gas global %d, want out of gas", wantGas-short, err, int64(mod.ExportedGlobal(GasGlobal).Get()))
			}
		}
		_, mod, err = call(t, rt, pm.Instrumented, "oob", 0)
		if err == nil || !strings.Contains(err.Error(), "out of bounds memory access") {
			t.Fatalf("oob with no gas: %v, want the load's trap", err)
		}
		if g := int64(mod.ExportedGlobal(GasGlobal).Get()); g != 0 {
			t.Fatalf("oob with no gas: gas global %d after the load's trap, want 0", g)
		}
	}
}

// TestTrapBeforeLoopHeadCheck pins which error wins when a loop head's block runs out of
// gas and an instruction of its straight prefix before the charge traps (vm.Version 7):
// the instruction's trap, not out of gas — for the first memory access (see
// TestChargeAfterFirstMemoryAccess) and for any instruction before it, here a division by
// zero. Run with no gas, the loop traps dividing by zero with the gas global at 0 (the VM
// reports "trap: integer divide by zero" and charges the whole limit), on both engines.
// The receipt's error text is consensus data, so this order is part of the gas rule
// (docs/spec/abi.md).
func TestTrapBeforeLoopHeadCheck(t *testing.T) {
	load := I{Op: wasm.OpI32Load, Imm2: 2}
	// loop { drop(1 / local0); drop(mem[0]); br 0 }, local0 = 0
	body := []I{
		blk(wasm.OpLoop, wasm.BlockEmpty),
		i32c(1), opImm(wasm.OpLocalGet, 0), op(wasm.OpI32DivU), op(wasm.OpDrop),
		i32c(0), load, op(wasm.OpDrop), opImm(wasm.OpBr, 0),
		end(),
	}
	pm, err := Prepare(module(nil, false, fn{"f", wasm.FuncType{}, []wasm.LocalDecl{{Count: 1, Type: wasm.I32}}, body}),
		gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	e := newEngines(t)
	for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
		_, mod, err := call(t, rt, pm.Instrumented, "f", 0)
		if err == nil || !strings.Contains(err.Error(), "integer divide by zero") {
			t.Fatalf("loop with no gas: %v, want the division's trap", err)
		}
		if g := int64(mod.ExportedGlobal(GasGlobal).Get()); g != 0 {
			t.Fatalf("gas global %d after the division's trap, want 0", g)
		}
	}
}
