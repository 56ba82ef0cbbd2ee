package prepare

import (
	"slices"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// instrumenter rewrites a validated module in place.
type instrumenter struct {
	mi   *moduleInfo
	s    *gas.Instructions
	l    *Limits
	cost [512]uint64 // static price by opcode (one-byte opcodes, then 0xFC sub-opcodes)

	gasG, stackG, trapG uint32 // indices of the added globals
	chargeFn            uint32 // index of the added dynamic-charge function
	trapByLoad          bool   // static charges trap with a load out of bounds, not a division
	memMax              uint32 // the memory's maximum in pages (≤ 65536), which bounds memory.grow
	types               map[string]uint32

	// scratch of charges and labelsOf
	chargeBuf []charge
	blockBuf  []mblock
	openBuf   []openBlock
	brIfBuf   []int
	labelBuf  []label
	stackBuf  []int
}

// instrument adds metering, the stack limit and NaN canonicalization to mi.m, as
// described in the package documentation.
func instrument(mi *moduleInfo, s *gas.Schedule, l *Limits, p passes) {
	m := mi.m
	ins := &instrumenter{mi: mi, s: &s.Instr, l: l, types: map[string]uint32{}}
	for i, t := range m.Types {
		if _, ok := ins.types[t.String()]; !ok {
			ins.types[t.String()] = uint32(i)
		}
	}
	ins.initCosts()

	// Globals and their exports.
	n := uint32(len(m.Globals))
	ins.gasG, ins.stackG, ins.trapG = n, n+1, n+2
	m.Globals = append(m.Globals,
		wasm.Global{Type: wasm.GlobalType{Type: wasm.I64, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI64Const}},
		wasm.Global{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}},
		wasm.Global{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}},
	)
	m.Exports = append(m.Exports,
		wasm.Export{Name: GasGlobal, Kind: wasm.KindGlobal, Index: ins.gasG},
		wasm.Export{Name: StackGlobal, Kind: wasm.KindGlobal, Index: ins.stackG},
		wasm.Export{Name: TrapGlobal, Kind: wasm.KindGlobal, Index: ins.trapG},
	)

	// A memory without a maximum could grow to 4 GiB; cap it.
	mem := &m.Memories[0]
	if !mem.HasMax {
		mem.Max, mem.HasMax = l.MaxMemoryPages, true
	}
	// Byte 0 is always in bounds (memory never shrinks) and byte 2^32-1 never is.
	ins.trapByLoad = mem.Min >= 1 && mem.Max < 65536
	ins.memMax = mem.Max
	m.Customs = nil

	ins.chargeFn = uint32(mi.numImported + len(m.Code))
	chargeType := ins.typeIndex(wasm.FuncType{Params: []wasm.ValType{wasm.I64}})

	var bufA, bufB []wasm.Instr
	for i := range m.Code {
		code := &m.Code[i]
		f := &mi.funcs[i]
		next := uint32(len(f.locals)) // index of the next added local
		var tmpI32, tmpF32, tmpF64 uint32
		gasL := next // the function's gas local (see gasPass)
		next++
		code.Locals = append(code.Locals, wasm.LocalDecl{Count: 1, Type: wasm.I64})
		need := scanNeeds(code.Body)
		if !p.nan {
			need.f32, need.f64 = false, false
		}
		if need.i32 {
			tmpI32, next = next, next+1
			code.Locals = append(code.Locals, wasm.LocalDecl{Count: 1, Type: wasm.I32})
		}
		if need.f32 {
			tmpF32, next = next, next+1
			code.Locals = append(code.Locals, wasm.LocalDecl{Count: 1, Type: wasm.F32})
		}
		if need.f64 {
			tmpF64 = next
			code.Locals = append(code.Locals, wasm.LocalDecl{Count: 1, Type: wasm.F64})
		}
		// The passes write into two buffers reused across functions; the body keeps an
		// exact-size copy.
		bufA = ins.gasPass(bufA[:0], code, tmpI32, gasL)
		bufB = ins.stackPass(bufB[:0], bufA, f.frameCost(), mi.funcTypes[mi.numImported+i].Results, gasL)
		body := bufB
		if p.nan {
			bufA = nanPass(bufA[:0], bufB, tmpF32, tmpF64)
			body = bufA
		}
		code.Body = slices.Clone(body)
	}

	m.Funcs = append(m.Funcs, chargeType)
	m.Code = append(m.Code, wasm.Code{Body: ins.chargeBody()})
}

// needs says which scratch locals a function body needs.
type needs struct{ i32, f32, f64 bool }

func scanNeeds(body []wasm.Instr) needs {
	var n needs
	for i := range body {
		switch op := body[i].Op; {
		case op == wasm.OpMemoryGrow || op == wasm.OpMemoryCopy || op == wasm.OpMemoryFill || op == wasm.OpMemoryInit:
			n.i32 = true
		case canonF32(op):
			n.f32 = true
		case canonF64(op):
			n.f64 = true
		}
	}
	return n
}

// typeIndex returns the index of a function type, adding it to the module if needed.
func (ins *instrumenter) typeIndex(t wasm.FuncType) uint32 {
	key := t.String()
	if i, ok := ins.types[key]; ok {
		return i
	}
	m := ins.mi.m
	i := uint32(len(m.Types))
	m.Types = append(m.Types, t)
	ins.types[key] = i
	return i
}

// trapWith appends "if (cond on the stack) { TrapGlobal = code; unreachable }".
func (ins *instrumenter) trapWith(out []wasm.Instr, code int32) []wasm.Instr {
	return append(out,
		wasm.Instr{Op: wasm.OpIf, Imm: blockImm(wasm.BlockEmpty)},
		wasm.I32Const(code),
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.trapG)},
		wasm.Instr{Op: wasm.OpUnreachable},
		wasm.Instr{Op: wasm.OpEnd},
	)
}

// chargeBody is the body of the added function charge(cost i64): subtract cost from the
// gas global and trap when it goes below zero.
func (ins *instrumenter) chargeBody() []wasm.Instr {
	g := uint64(ins.gasG)
	out := []wasm.Instr{
		{Op: wasm.OpGlobalGet, Imm: g},
		{Op: wasm.OpLocalGet, Imm: 0},
		{Op: wasm.OpI64Sub},
		{Op: wasm.OpGlobalSet, Imm: g},
		{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(0),
		{Op: wasm.OpI64LtS},
	}
	out = ins.trapWith(out, TrapOutOfGas)
	return append(out, wasm.Instr{Op: wasm.OpEnd})
}

// blockImm is the Instr.Imm of a block, loop or if of block type bt.
func blockImm(bt int64) uint64 { return uint64(bt) }
