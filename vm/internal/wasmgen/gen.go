// Package wasmgen draws random valid, terminating WebAssembly modules for property tests
// of the instrumenter and the VM (pgregory.net/rapid generators). Only tests import it.
package wasmgen

import (
	"strings"

	"github.com/wnode/wnode/vm/internal/wasm"
	"pgregory.net/rapid"
)

// progGen draws random valid, terminating modules: acyclic calls (function i calls only
// functions j > i, directly or through the table, and only outside loops), loops bounded
// by counters no statement writes, ints and floats (NaNs with payloads included), memory
// loads and stores (mostly in bounds), bulk memory, memory.grow, multi-value results,
// br_if, br_table, early returns and traps (division by zero, out-of-bounds accesses,
// float-to-int overflow). Function 0 is exported as "_run" with no params; the four
// globals are exported as _g0.._g3.
type progGen struct {
	t *rapid.T
	m *wasm.Module
	// noLaunder leaves out what turns NaN bits into other observable bits
	// (i32.reinterpret_f32, i64.reinterpret_f64, copysign, float stores), so that the
	// original and the NaN-canonicalized module compute equal results up to NaN payloads.
	noLaunder bool

	sigs   []wasm.FuncType
	typeOf []uint32
	types  map[string]uint32

	fn        int
	locals    []wasm.ValType
	writable  []uint32
	counters  []uint32
	loopDepth int
	calls     int
	budget    int
	body      []wasm.Instr
	code      *wasm.Code
}

var numTypes = []wasm.ValType{wasm.I32, wasm.I64, wasm.F32, wasm.F64}

// Globals are the types of the module's four globals, exported as _g0.._g3.
var Globals = []wasm.ValType{wasm.I32, wasm.I64, wasm.F32, wasm.F64}

// opsByOut lists the numeric instructions without immediates by result type.
var opsByOut = func() map[wasm.ValType][]wasm.Opcode {
	out := map[wasm.ValType][]wasm.Opcode{}
	add := func(op wasm.Opcode) {
		if info := wasm.Info(op); info != nil && info.Numeric {
			out[info.Out] = append(out[info.Out], op)
		}
	}
	for op := wasm.Opcode(0x45); op <= 0xc4; op++ {
		add(op)
	}
	for op := wasm.OpI32TruncSatF32S; op <= wasm.OpI64TruncSatF64U; op++ {
		add(op)
	}
	return out
}()

func launders(op wasm.Opcode) bool {
	switch op {
	case wasm.OpI32ReinterpretF, wasm.OpI64ReinterpretF, wasm.OpF32Copysign, wasm.OpF64Copysign:
		return true
	}
	return false
}

// Program draws a module as progGen describes; with noLaunder it leaves out what turns
// NaN bits into other observable bits.
func Program(t *rapid.T, noLaunder bool) *wasm.Module {
	g := &progGen{t: t, noLaunder: noLaunder, m: &wasm.Module{}, types: map[string]uint32{}}
	nf := rapid.IntRange(1, 4).Draw(t, "funcs")
	for i := 0; i < nf; i++ {
		var sig wasm.FuncType
		if i > 0 {
			sig.Params = g.valTypes(0, 3, "params")
		}
		sig.Results = g.valTypes(0, 3, "results")
		g.sigs = append(g.sigs, sig)
		g.typeOf = append(g.typeOf, g.typeIndex(sig))
	}
	m := g.m
	m.Memories = []wasm.Limits{{Min: 1, Max: 2, HasMax: true}}
	m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: uint32(nf)}}}
	el := wasm.Element{Type: wasm.FuncRef, Offset: wasm.ConstExpr{Op: wasm.OpI32Const}}
	for i := 0; i < nf; i++ {
		el.Funcs = append(el.Funcs, uint32(i))
	}
	m.Elements = []wasm.Element{el}
	m.HasDataCount, m.DataCount = true, 2
	m.Data = []wasm.Data{
		{Offset: wasm.ConstExpr{Op: wasm.OpI32Const, Imm: 16}, Init: rapid.SliceOfN(rapid.Byte(), 8, 8).Draw(t, "data")},
		{Flags: wasm.DataPassive, Init: rapid.SliceOfN(rapid.Byte(), 8, 8).Draw(t, "passive")},
	}
	for i, gt := range Globals {
		init := wasm.ConstExpr{Op: map[wasm.ValType]wasm.Opcode{wasm.I32: wasm.OpI32Const, wasm.I64: wasm.OpI64Const, wasm.F32: wasm.OpF32Const, wasm.F64: wasm.OpF64Const}[gt]}
		m.Globals = append(m.Globals, wasm.Global{Type: wasm.GlobalType{Type: gt, Mutable: true}, Init: init})
		m.Exports = append(m.Exports, wasm.Export{Name: "_g" + string(rune('0'+i)), Kind: wasm.KindGlobal, Index: uint32(i)})
	}
	m.Exports = append(m.Exports,
		wasm.Export{Name: "memory", Kind: wasm.KindMemory},
		wasm.Export{Name: "_run", Kind: wasm.KindFunc},
	)
	for i := 0; i < nf; i++ {
		m.Funcs = append(m.Funcs, g.typeOf[i])
		m.Code = append(m.Code, g.function(i))
	}
	return m
}

func (g *progGen) typeIndex(t wasm.FuncType) uint32 {
	if i, ok := g.types[t.String()]; ok {
		return i
	}
	i := uint32(len(g.m.Types))
	g.m.Types = append(g.m.Types, t)
	g.types[t.String()] = i
	return i
}

func (g *progGen) valTypes(min, max int, label string) []wasm.ValType {
	ts := rapid.SliceOfN(rapid.SampledFrom(numTypes), min, max).Draw(g.t, label)
	if len(ts) == 0 {
		return nil
	}
	return ts
}

func (g *progGen) emit(in ...wasm.Instr) {
	g.body = append(g.body, in...)
	g.budget -= len(in)
}

func (g *progGen) function(fn int) wasm.Code {
	sig := g.sigs[fn]
	g.fn, g.body, g.budget, g.loopDepth = fn, nil, 250, 0
	g.calls = 2
	g.locals = append([]wasm.ValType{}, sig.Params...)
	var code wasm.Code
	g.code = &code
	for _, t := range g.valTypes(0, 4, "locals") {
		code.Locals = append(code.Locals, wasm.LocalDecl{Count: 1, Type: t})
		g.locals = append(g.locals, t)
	}
	g.writable = g.writable[:0]
	for i := range g.locals {
		g.writable = append(g.writable, uint32(i))
	}
	code.Locals = append(code.Locals, wasm.LocalDecl{Count: 2, Type: wasm.I32})
	g.counters = []uint32{uint32(len(g.locals)), uint32(len(g.locals) + 1)}
	g.locals = append(g.locals, wasm.I32, wasm.I32)

	for n := rapid.IntRange(1, 5).Draw(g.t, "stmts"); n > 0; n-- {
		g.stmt(3)
	}
	for _, r := range sig.Results {
		g.expr(r, 3)
	}
	g.emit(wasm.Instr{Op: wasm.OpEnd})
	code.Body = g.body
	return code
}

func (g *progGen) pick(n int, label string) int { return rapid.IntRange(0, n-1).Draw(g.t, label) }

func (g *progGen) localsOf(t wasm.ValType, writable bool) []uint32 {
	var out []uint32
	if writable {
		for _, i := range g.writable {
			if g.locals[i] == t {
				out = append(out, i)
			}
		}
		return out
	}
	for i, lt := range g.locals {
		if lt == t {
			out = append(out, uint32(i))
		}
	}
	return out
}

func globalOf(t wasm.ValType) uint64 {
	for i, gt := range Globals {
		if gt == t {
			return uint64(i)
		}
	}
	panic("no global of type " + t.String())
}

var special32 = []uint32{0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
	0x7fc00000, 0xffc00000, 0x7fa00000, 0x7fc00001, 0xff812345, 1, 0x4f000000, 0xcf000000}

var special64 = []uint64{0, 1 << 63, 0x3ff0000000000000, 0xbff0000000000000, 0x7ff0000000000000,
	0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000000, 0x7ff4000000000000,
	0x7ff8000000000001, 0xfff0000000abcdef, 1, 0x43e0000000000000, 0xc3e0000000000000}

func (g *progGen) constOf(t wasm.ValType) {
	switch t {
	case wasm.I32:
		v := rapid.OneOf(rapid.SampledFrom([]int32{0, 1, -1, 7, -2147483648, 2147483647}), rapid.Int32()).Draw(g.t, "i32")
		g.emit(wasm.I32Const(v))
	case wasm.I64:
		v := rapid.OneOf(rapid.SampledFrom([]int64{0, 1, -1, 3, -1 << 63, 1<<63 - 1}), rapid.Int64()).Draw(g.t, "i64")
		g.emit(wasm.I64Const(v))
	case wasm.F32:
		v := rapid.OneOf(rapid.SampledFrom(special32), rapid.Uint32()).Draw(g.t, "f32")
		g.emit(wasm.Instr{Op: wasm.OpF32Const, Imm: uint64(v)})
	case wasm.F64:
		v := rapid.OneOf(rapid.SampledFrom(special64), rapid.Uint64()).Draw(g.t, "f64")
		g.emit(wasm.Instr{Op: wasm.OpF64Const, Imm: v})
	}
}

func (g *progGen) leaf(t wasm.ValType) {
	switch g.pick(3, "leaf") {
	case 0:
		if ls := g.localsOf(t, false); len(ls) > 0 {
			g.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(ls[g.pick(len(ls), "local")])})
			return
		}
	case 1:
		g.emit(wasm.Instr{Op: wasm.OpGlobalGet, Imm: globalOf(t)})
		return
	}
	g.constOf(t)
}

// address pushes an i32 address, usually masked into the first page.
func (g *progGen) address(depth int) {
	g.expr(wasm.I32, depth)
	if g.pick(10, "oob") > 0 {
		g.emit(wasm.I32Const(0xfff0), wasm.Instr{Op: wasm.OpI32And})
	}
}

var loadsByType = map[wasm.ValType][]wasm.Opcode{
	wasm.I32: {wasm.OpI32Load, wasm.OpI32Load8S, wasm.OpI32Load8U, wasm.OpI32Load16S, wasm.OpI32Load16U},
	wasm.I64: {wasm.OpI64Load, wasm.OpI64Load8S, wasm.OpI64Load8U, wasm.OpI64Load16S, wasm.OpI64Load16U, wasm.OpI64Load32S, wasm.OpI64Load32U},
	wasm.F32: {wasm.OpF32Load},
	wasm.F64: {wasm.OpF64Load},
}

var storesByType = map[wasm.ValType][]wasm.Opcode{
	wasm.I32: {wasm.OpI32Store, wasm.OpI32Store8, wasm.OpI32Store16},
	wasm.I64: {wasm.OpI64Store, wasm.OpI64Store8, wasm.OpI64Store16, wasm.OpI64Store32},
	wasm.F32: {wasm.OpF32Store},
	wasm.F64: {wasm.OpF64Store},
}

func (g *progGen) memArg(op wasm.Opcode) wasm.Instr {
	return wasm.Instr{Op: op, Imm: uint64(g.pick(9, "offset")), Imm2: uint32(g.pick(int(naturalAlign(op))+1, "align"))}
}

func (g *progGen) blockOf(op wasm.Opcode, t wasm.ValType) wasm.Instr {
	return wasm.Instr{Op: op, Imm: blockImm(wasm.BlockTypeOf(t))}
}

// callee returns a function j > fn whose first result is t (any results when t is 0),
// or -1.
func (g *progGen) callee(t wasm.ValType) int {
	if g.calls == 0 || g.loopDepth > 0 {
		return -1
	}
	var cands []int
	for j := g.fn + 1; j < len(g.sigs); j++ {
		rs := g.sigs[j].Results
		if t == 0 || (len(rs) > 0 && rs[0] == t) {
			cands = append(cands, j)
		}
	}
	if len(cands) == 0 {
		return -1
	}
	return cands[g.pick(len(cands), "callee")]
}

func (g *progGen) call(j, depth int) {
	g.calls--
	for _, p := range g.sigs[j].Params {
		g.expr(p, depth)
	}
	if g.pick(2, "indirect") == 0 {
		g.emit(wasm.Instr{Op: wasm.OpCall, Imm: uint64(j)})
	} else {
		g.emit(wasm.I32Const(int32(j)), wasm.Instr{Op: wasm.OpCallIndirect, Imm: uint64(g.typeOf[j])})
	}
}

// expr emits code that pushes one value of type t.
func (g *progGen) expr(t wasm.ValType, depth int) {
	if depth <= 0 || g.budget <= 0 {
		g.leaf(t)
		return
	}
	switch g.pick(12, "expr") {
	case 0, 1:
		g.leaf(t)
	case 2, 3, 4:
		var ops []wasm.Opcode
		for _, op := range opsByOut[t] {
			if !g.noLaunder || !launders(op) {
				ops = append(ops, op)
			}
		}
		op := ops[g.pick(len(ops), "op")]
		for _, in := range wasm.Info(op).In {
			g.expr(in, depth-1)
		}
		g.emit(wasm.Instr{Op: op})
	case 5:
		ops := loadsByType[t]
		g.address(depth - 1)
		g.emit(g.memArg(ops[g.pick(len(ops), "load")]))
	case 6:
		g.expr(wasm.I32, depth-1)
		g.emit(g.blockOf(wasm.OpIf, t))
		g.expr(t, depth-1)
		g.emit(wasm.Instr{Op: wasm.OpElse})
		g.expr(t, depth-1)
		g.emit(wasm.Instr{Op: wasm.OpEnd})
	case 7:
		g.emit(g.blockOf(wasm.OpBlock, t))
		g.expr(t, depth-1)
		g.expr(wasm.I32, depth-1)
		g.emit(wasm.Instr{Op: wasm.OpBrIf, Imm: 0}, wasm.Instr{Op: wasm.OpDrop})
		g.expr(t, depth-1)
		g.emit(wasm.Instr{Op: wasm.OpEnd})
	case 8:
		j := g.callee(t)
		if j < 0 {
			g.leaf(t)
			return
		}
		g.call(j, depth-1)
		for range g.sigs[j].Results[1:] {
			g.emit(wasm.Instr{Op: wasm.OpDrop})
		}
	case 9:
		g.expr(t, depth-1)
		g.expr(t, depth-1)
		g.expr(wasm.I32, depth-1)
		if g.pick(2, "typed") == 0 {
			g.emit(wasm.Instr{Op: wasm.OpSelect})
		} else {
			g.emit(wasm.Instr{Op: wasm.OpSelectT, Imm: uint64(t)})
		}
	case 10:
		ls := g.localsOf(t, true)
		if len(ls) == 0 {
			g.leaf(t)
			return
		}
		g.expr(t, depth-1)
		g.emit(wasm.Instr{Op: wasm.OpLocalTee, Imm: uint64(ls[g.pick(len(ls), "tee")])})
	case 11:
		if t != wasm.I32 {
			g.leaf(t)
			return
		}
		if g.pick(2, "grow") == 0 {
			g.emit(wasm.Instr{Op: wasm.OpMemorySize})
			return
		}
		g.expr(wasm.I32, depth-1)
		g.emit(wasm.I32Const(1), wasm.Instr{Op: wasm.OpI32And}, wasm.Instr{Op: wasm.OpMemoryGrow})
	}
}

// stmt emits code that leaves the stack as it found it.
func (g *progGen) stmt(depth int) {
	if g.budget <= 0 {
		return
	}
	t := rapid.SampledFrom(numTypes).Draw(g.t, "stmtType")
	switch g.pick(13, "stmt") {
	case 0, 1:
		ls := g.localsOf(t, true)
		if len(ls) == 0 {
			return
		}
		g.expr(t, depth)
		g.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(ls[g.pick(len(ls), "set")])})
	case 2:
		g.expr(t, depth)
		g.emit(wasm.Instr{Op: wasm.OpGlobalSet, Imm: globalOf(t)})
	case 3:
		if g.noLaunder && (t == wasm.F32 || t == wasm.F64) {
			t = wasm.I64
		}
		ops := storesByType[t]
		g.address(depth - 1)
		g.expr(t, depth-1)
		g.emit(g.memArg(ops[g.pick(len(ops), "store")]))
	case 4:
		if depth <= 0 || g.loopDepth >= len(g.counters) {
			return
		}
		c := uint64(g.counters[g.loopDepth])
		g.emit(wasm.I32Const(int32(rapid.IntRange(1, 3).Draw(g.t, "iterations"))), wasm.Instr{Op: wasm.OpLocalSet, Imm: c})
		g.emit(wasm.Instr{Op: wasm.OpLoop, Imm: blockImm(wasm.BlockEmpty)})
		g.loopDepth++
		for n := rapid.IntRange(0, 3).Draw(g.t, "loopStmts"); n > 0; n-- {
			g.stmt(depth - 1)
		}
		g.loopDepth--
		g.emit(
			wasm.Instr{Op: wasm.OpLocalGet, Imm: c}, wasm.I32Const(1), wasm.Instr{Op: wasm.OpI32Sub},
			wasm.Instr{Op: wasm.OpLocalTee, Imm: c}, wasm.Instr{Op: wasm.OpBrIf, Imm: 0},
			wasm.Instr{Op: wasm.OpEnd},
		)
	case 5:
		if depth <= 0 {
			return
		}
		g.expr(wasm.I32, depth-1)
		g.emit(wasm.Instr{Op: wasm.OpIf, Imm: blockImm(wasm.BlockEmpty)})
		g.stmts(depth - 1)
		if g.pick(2, "else") == 0 {
			g.emit(wasm.Instr{Op: wasm.OpElse})
			g.stmts(depth - 1)
		}
		g.emit(wasm.Instr{Op: wasm.OpEnd})
	case 6:
		if depth <= 0 {
			return
		}
		g.emit(wasm.Instr{Op: wasm.OpBlock, Imm: blockImm(wasm.BlockEmpty)})
		switch g.pick(3, "brtable") {
		case 0:
			g.emit(wasm.Instr{Op: wasm.OpBlock, Imm: blockImm(wasm.BlockEmpty)})
			g.stmts(depth - 1)
			g.expr(wasm.I32, depth-1)
			g.emit(g.code.AddBrTable(0, 1, 1), wasm.Instr{Op: wasm.OpEnd})
		case 1:
			// A join reached only by a br_if (the code after the inner end), which the
			// gas pass charges in the br_if's block.
			g.emit(wasm.Instr{Op: wasm.OpBlock, Imm: blockImm(wasm.BlockEmpty)})
			g.stmts(depth - 1)
			g.expr(wasm.I32, depth-1)
			g.emit(wasm.Instr{Op: wasm.OpBrIf, Imm: 0})
			g.stmts(depth - 1)
			g.emit(wasm.Instr{Op: wasm.OpBr, Imm: 1}, wasm.Instr{Op: wasm.OpEnd})
		default:
			g.stmts(depth - 1)
			g.expr(wasm.I32, depth-1)
			g.emit(wasm.Instr{Op: wasm.OpBrIf, Imm: 0})
		}
		g.stmts(depth - 1)
		g.emit(wasm.Instr{Op: wasm.OpEnd})
	case 7:
		g.expr(t, depth)
		g.emit(wasm.Instr{Op: wasm.OpDrop})
	case 8:
		g.emit(wasm.I32Const(int32(g.pick(0x7fff, "dst"))))
		switch g.pick(3, "bulk") {
		case 0:
			g.expr(wasm.I32, depth-1)
			g.emit(wasm.I32Const(int32(g.pick(256, "len"))), wasm.Instr{Op: wasm.OpMemoryFill})
		case 1:
			g.emit(wasm.I32Const(int32(g.pick(0x7fff, "src"))), wasm.I32Const(int32(g.pick(256, "len"))), wasm.Instr{Op: wasm.OpMemoryCopy})
		case 2:
			src := g.pick(9, "src")
			g.emit(wasm.I32Const(int32(src)), wasm.I32Const(int32(g.pick(9-src, "len"))), wasm.Instr{Op: wasm.OpMemoryInit, Imm: 1})
			if g.pick(4, "drop") == 0 {
				g.emit(wasm.Instr{Op: wasm.OpDataDrop, Imm: 1})
			}
		}
	case 9:
		j := g.callee(0)
		if j < 0 {
			return
		}
		g.call(j, depth-1)
		for range g.sigs[j].Results {
			g.emit(wasm.Instr{Op: wasm.OpDrop})
		}
	case 10:
		if g.pick(4, "return") != 0 {
			return
		}
		for _, r := range g.sigs[g.fn].Results {
			g.expr(r, depth-1)
		}
		g.emit(wasm.Instr{Op: wasm.OpReturn})
	case 11, 12:
		// Division and conversions that may trap, kept as statements.
		g.expr(t, depth)
		g.emit(wasm.Instr{Op: wasm.OpDrop})
	}
}

func (g *progGen) stmts(depth int) {
	for n := rapid.IntRange(0, 3).Draw(g.t, "n"); n > 0; n-- {
		g.stmt(depth)
	}
}

// blockImm is the Instr.Imm of a block, loop or if of block type bt.
func blockImm(bt int64) uint64 { return uint64(bt) }

// naturalAlign is the natural alignment (log2 of the access width) of a load or store,
// read from its name: i32.load8_u → 0, i64.store16 → 1, i64.load32_s → 2, f64.load → 3.
func naturalAlign(op wasm.Opcode) uint32 {
	name := wasm.Info(op).Name
	switch {
	case strings.Contains(name, "8"):
		return 0
	case strings.Contains(name, "16"):
		return 1
	case strings.Contains(name, "32_"), strings.HasSuffix(name, "store32"), strings.HasPrefix(name, "i32."), strings.HasPrefix(name, "f32."):
		return 2
	}
	return 3
}
