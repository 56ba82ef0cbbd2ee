package wasm

import (
	"encoding/binary"
	"math"
)

// Encode returns the binary encoding of m, with minimal LEB128s and custom sections where
// Decode found them (after the section named by Custom.After). An empty section is left
// out unless a custom section is anchored after it. Encode does not validate m: an invalid
// module encodes to an invalid binary.
func Encode(m *Module) []byte {
	e := encoder{m: m}
	out := make([]byte, 0, 1024)
	out = append(out, Magic...)
	out = append(out, Version...)
	out = e.customs(out, 0)
	for _, id := range []SectionID{
		SectionType, SectionImport, SectionFunction, SectionTable, SectionMemory,
		SectionGlobal, SectionExport, SectionStart, SectionElement, SectionDataCount,
		SectionCode, SectionData,
	} {
		if e.present(id) || e.anchored(id) {
			out = e.section(out, id)
		}
		out = e.customs(out, id)
	}
	return out
}

type encoder struct {
	m       *Module
	scratch []byte
}

func (e *encoder) present(id SectionID) bool {
	m := e.m
	switch id {
	case SectionType:
		return len(m.Types) > 0
	case SectionImport:
		return len(m.Imports) > 0
	case SectionFunction:
		return len(m.Funcs) > 0
	case SectionTable:
		return len(m.Tables) > 0
	case SectionMemory:
		return len(m.Memories) > 0
	case SectionGlobal:
		return len(m.Globals) > 0
	case SectionExport:
		return len(m.Exports) > 0
	case SectionStart:
		return m.HasStart
	case SectionElement:
		return len(m.Elements) > 0
	case SectionDataCount:
		return m.HasDataCount
	case SectionCode:
		return len(m.Code) > 0
	case SectionData:
		return len(m.Data) > 0
	}
	return false
}

// anchored reports whether a custom section sits after section id, which then must be
// written (even empty) so that decoding finds the custom section in the same place.
func (e *encoder) anchored(id SectionID) bool {
	if id == SectionStart || id == SectionDataCount {
		return false // these have no empty form; a decoded module that had one has the flag set
	}
	for i := range e.m.Customs {
		if e.m.Customs[i].After == id {
			return true
		}
	}
	return false
}

func (e *encoder) customs(out []byte, after SectionID) []byte {
	for i := range e.m.Customs {
		c := &e.m.Customs[i]
		if c.After != after {
			continue
		}
		body := appendName(nil, c.Name)
		body = append(body, c.Data...)
		out = append(out, byte(SectionCustom))
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out
}

func (e *encoder) section(out []byte, id SectionID) []byte {
	m := e.m
	b := e.scratch[:0]
	switch id {
	case SectionType:
		b = appendU32(b, uint32(len(m.Types)))
		for _, t := range m.Types {
			b = append(b, 0x60)
			b = appendValTypes(b, t.Params)
			b = appendValTypes(b, t.Results)
		}
	case SectionImport:
		b = appendU32(b, uint32(len(m.Imports)))
		for _, im := range m.Imports {
			b = appendName(b, im.Module)
			b = appendName(b, im.Name)
			b = append(b, byte(im.Kind))
			switch im.Kind {
			case KindFunc:
				b = appendU32(b, im.Func)
			case KindTable:
				b = append(b, byte(im.Table.Elem))
				b = appendLimits(b, im.Table.Limits)
			case KindMemory:
				b = appendLimits(b, im.Memory)
			case KindGlobal:
				b = appendGlobalType(b, im.Global)
			}
		}
	case SectionFunction:
		b = appendU32(b, uint32(len(m.Funcs)))
		for _, f := range m.Funcs {
			b = appendU32(b, f)
		}
	case SectionTable:
		b = appendU32(b, uint32(len(m.Tables)))
		for _, t := range m.Tables {
			b = append(b, byte(t.Elem))
			b = appendLimits(b, t.Limits)
		}
	case SectionMemory:
		b = appendU32(b, uint32(len(m.Memories)))
		for _, l := range m.Memories {
			b = appendLimits(b, l)
		}
	case SectionGlobal:
		b = appendU32(b, uint32(len(m.Globals)))
		for _, g := range m.Globals {
			b = appendGlobalType(b, g.Type)
			b = appendConstExpr(b, g.Init)
		}
	case SectionExport:
		b = appendU32(b, uint32(len(m.Exports)))
		for _, ex := range m.Exports {
			b = appendName(b, ex.Name)
			b = append(b, byte(ex.Kind))
			b = appendU32(b, ex.Index)
		}
	case SectionStart:
		b = appendU32(b, m.Start)
	case SectionElement:
		b = appendU32(b, uint32(len(m.Elements)))
		for i := range m.Elements {
			b = appendElement(b, &m.Elements[i])
		}
	case SectionDataCount:
		b = appendU32(b, m.DataCount)
	case SectionCode:
		b = appendU32(b, uint32(len(m.Code)))
		for i := range m.Code {
			b = appendU32(b, uint32(CodeSize(&m.Code[i])))
			b = AppendCode(b, &m.Code[i])
		}
	case SectionData:
		b = appendU32(b, uint32(len(m.Data)))
		for _, d := range m.Data {
			b = appendU32(b, uint32(d.Flags))
			if d.Flags == DataActiveExplicit {
				b = appendU32(b, d.Memory)
			}
			if d.Flags != DataPassive {
				b = appendConstExpr(b, d.Offset)
			}
			b = appendU32(b, uint32(len(d.Init)))
			b = append(b, d.Init...)
		}
	}
	e.scratch = b
	out = append(out, byte(id))
	out = appendU32(out, uint32(len(b)))
	return append(out, b...)
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

func appendValTypes(b []byte, ts []ValType) []byte {
	b = appendU32(b, uint32(len(ts)))
	for _, t := range ts {
		b = append(b, byte(t))
	}
	return b
}

func appendLimits(b []byte, l Limits) []byte {
	if l.HasMax {
		b = append(b, 1)
		b = appendU32(b, l.Min)
		return appendU32(b, l.Max)
	}
	b = append(b, 0)
	return appendU32(b, l.Min)
}

func appendGlobalType(b []byte, g GlobalType) []byte {
	b = append(b, byte(g.Type))
	if g.Mutable {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendConstExpr(b []byte, c ConstExpr) []byte {
	b = append(b, byte(c.Op))
	switch c.Op {
	case OpI32Const, OpI64Const:
		b = appendS64(b, int64(c.Imm))
	case OpF32Const:
		b = binary.LittleEndian.AppendUint32(b, uint32(c.Imm))
	case OpF64Const:
		b = binary.LittleEndian.AppendUint64(b, c.Imm)
	case OpGlobalGet, OpRefFunc:
		b = appendU32(b, uint32(c.Imm))
	case OpRefNull:
		b = append(b, byte(c.Imm))
	}
	return append(b, byte(OpEnd))
}

func appendElement(b []byte, e *Element) []byte {
	b = appendU32(b, uint32(e.Flags))
	active := e.Flags&ElemPassiveOrDeclarative == 0
	if active && e.Flags&ElemExplicitTable != 0 {
		b = appendU32(b, e.Table)
	}
	if active {
		b = appendConstExpr(b, e.Offset)
	}
	if e.Flags != 0 && e.Flags != 4 {
		if e.Flags&ElemExpressions == 0 {
			b = append(b, 0x00)
		} else {
			b = append(b, byte(e.Type))
		}
	}
	if e.Flags&ElemExpressions == 0 {
		b = appendU32(b, uint32(len(e.Funcs)))
		for _, f := range e.Funcs {
			b = appendU32(b, f)
		}
	} else {
		b = appendU32(b, uint32(len(e.Exprs)))
		for _, x := range e.Exprs {
			b = appendConstExpr(b, x)
		}
	}
	return b
}

// AppendCode appends the encoding of a function body (locals and instructions, without
// the body's size prefix) to b.
func AppendCode(b []byte, c *Code) []byte {
	b = appendU32(b, uint32(len(c.Locals)))
	for _, l := range c.Locals {
		b = appendU32(b, l.Count)
		b = append(b, byte(l.Type))
	}
	for i := range c.Body {
		b = AppendInstr(b, c, &c.Body[i])
	}
	return b
}

// AppendInstr appends the encoding of one instruction of c to b. The opcode must be one
// Info knows; a br_table whose labels are not in c.Targets is written without labels.
func AppendInstr(b []byte, c *Code, in *Instr) []byte {
	if in.Op > 0xff {
		b = append(b, byte(in.Op>>8))
		b = appendU32(b, uint32(in.Op&0xff))
	} else {
		b = append(b, byte(in.Op))
	}
	info := Info(in.Op)
	if info == nil {
		return b
	}
	switch info.Imm {
	case ImmBlockType:
		b = appendS64(b, int64(in.Imm))
	case ImmIndex, ImmMemIndex:
		b = appendU32(b, uint32(in.Imm))
	case ImmBrTable:
		labels, ok := c.BrTable(in)
		if !ok {
			return appendU32(b, 0)
		}
		b = appendU32(b, uint32(len(labels)-1))
		for _, t := range labels {
			b = appendU32(b, t)
		}
	case ImmCallIndir, ImmMemoryInit, ImmMemoryCopy:
		b = appendU32(b, uint32(in.Imm))
		b = appendU32(b, in.Imm2)
	case ImmSelectT:
		b = append(b, 1, byte(in.Imm))
	case ImmMemArg:
		b = appendU32(b, in.Imm2)
		b = appendU32(b, uint32(in.Imm))
	case ImmI32, ImmI64:
		b = appendS64(b, int64(in.Imm))
	case ImmF32:
		b = binary.LittleEndian.AppendUint32(b, uint32(in.Imm))
	case ImmF64:
		b = binary.LittleEndian.AppendUint64(b, in.Imm)
	}
	return b
}

// F32Const and F64Const return constant instructions for a float value, I32Const and
// I64Const for an integer; helpers for passes that emit code.
func F32Const(v float32) Instr { return Instr{Op: OpF32Const, Imm: uint64(math.Float32bits(v))} }

// F64Const returns an f64.const instruction.
func F64Const(v float64) Instr { return Instr{Op: OpF64Const, Imm: math.Float64bits(v)} }

// I32Const returns an i32.const instruction.
func I32Const(v int32) Instr { return Instr{Op: OpI32Const, Imm: uint64(int64(v))} }

// I64Const returns an i64.const instruction.
func I64Const(v int64) Instr { return Instr{Op: OpI64Const, Imm: uint64(v)} }

// CodeSize returns the length of AppendCode's encoding of c without building it.
func CodeSize(c *Code) int {
	n := sizeU32(uint32(len(c.Locals))) + len(c.Locals)
	for _, l := range c.Locals {
		n += sizeU32(l.Count)
	}
	for i := range c.Body {
		n += InstrSize(c, &c.Body[i])
	}
	return n
}

// InstrSize returns the length of AppendInstr's encoding of in, an instruction of c.
func InstrSize(c *Code, in *Instr) int {
	n := 1
	if in.Op > 0xff {
		n += sizeU32(uint32(in.Op & 0xff))
	}
	info := Info(in.Op)
	if info == nil {
		return n
	}
	switch info.Imm {
	case ImmBlockType, ImmI32, ImmI64:
		n += sizeS64(int64(in.Imm))
	case ImmIndex, ImmMemIndex:
		n += sizeU32(uint32(in.Imm))
	case ImmBrTable:
		labels, ok := c.BrTable(in)
		if !ok {
			return n + 1
		}
		n += sizeU32(uint32(len(labels) - 1))
		for _, t := range labels {
			n += sizeU32(t)
		}
	case ImmCallIndir, ImmMemoryInit, ImmMemoryCopy:
		n += sizeU32(uint32(in.Imm)) + sizeU32(in.Imm2)
	case ImmSelectT:
		n += 2
	case ImmMemArg:
		n += sizeU32(in.Imm2) + sizeU32(uint32(in.Imm))
	case ImmF32:
		n += 4
	case ImmF64:
		n += 8
	}
	return n
}

func sizeU32(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func sizeS64(v int64) int {
	n := 1
	for {
		c := v & 0x7f
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return n
		}
		n++
	}
}
