// Package wasm is wnode's representation of a WebAssembly module with a strict binary
// decoder and an encoder, so that the deploy pipeline (vm/internal/prepare) can validate a
// contract and rewrite its function bodies.
//
// The decoder understands the feature set wnode accepts — WebAssembly 1.0 (MVP) plus
// sign-extension, mutable globals, non-trapping float-to-int, bulk memory, multi-value and
// the reference-types encodings compilers emit by default (a LEB table index in
// call_indirect, typed select, element segment forms) — and rejects everything else
// (SIMD, threads, exception handling, tail calls, memory64, GC, extended constants...) with
// an *UnsupportedError naming the feature. Malformed input is a *DecodeError with the byte
// offset. The decoder never panics and allocates at most a constant factor of its input:
// every count is checked against the bytes left before anything is allocated.
//
// Semantic checks (index bounds, operand types, limits) are not the decoder's job; they
// live in vm/internal/prepare.
//
// Encode(m) writes the canonical encoding (minimal LEB128s); Decode(Encode(m)) equals m
// for every m that Decode returned.
package wasm

import "slices"

// ValType is a value type, by its binary encoding.
type ValType byte

// Value types. V128 and the reference types are decoded so that an error can name them;
// wnode's validator accepts only the four number types in function signatures and locals.
const (
	I32       ValType = 0x7f
	I64       ValType = 0x7e
	F32       ValType = 0x7d
	F64       ValType = 0x7c
	V128      ValType = 0x7b
	FuncRef   ValType = 0x70
	ExternRef ValType = 0x6f
)

// String returns the text-format name of the type.
func (t ValType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case V128:
		return "v128"
	case FuncRef:
		return "funcref"
	case ExternRef:
		return "externref"
	}
	return "invalid"
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

// Equal reports whether t and u are the same signature.
func (t FuncType) Equal(u FuncType) bool {
	return slices.Equal(t.Params, u.Params) && slices.Equal(t.Results, u.Results)
}

// String returns the signature as "(i32, i64) -> (i32)".
func (t FuncType) String() string {
	s := "("
	for i, p := range t.Params {
		if i > 0 {
			s += ", "
		}
		s += p.String()
	}
	s += ") -> ("
	for i, r := range t.Results {
		if i > 0 {
			s += ", "
		}
		s += r.String()
	}
	return s + ")"
}

// ExternKind is the kind of an import or export.
type ExternKind byte

// Import and export kinds.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
)

// String returns the kind's name.
func (k ExternKind) String() string {
	switch k {
	case KindFunc:
		return "function"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	}
	return "invalid"
}

// Limits are the size limits of a table (in elements) or a memory (in 64 KiB pages).
type Limits struct {
	Min    uint32
	Max    uint32 // meaningful only when HasMax
	HasMax bool
}

// TableType is a table's element type and limits.
type TableType struct {
	Elem   ValType
	Limits Limits
}

// GlobalType is a global's value type and mutability.
type GlobalType struct {
	Type    ValType
	Mutable bool
}

// Import is one import. Which of Func, Table, Memory, Global is meaningful depends on Kind.
type Import struct {
	Module, Name string
	Kind         ExternKind
	Func         uint32 // type index, KindFunc
	Table        TableType
	Memory       Limits
	Global       GlobalType
}

// ConstExpr is a constant expression: one instruction followed by end. Op is one of
// OpI32Const, OpI64Const, OpF32Const, OpF64Const (Imm holds the value's bits, i32
// sign-extended to 64 bits), OpGlobalGet (Imm is the global index), OpRefNull (Imm is the
// reference type) or OpRefFunc (Imm is the function index).
type ConstExpr struct {
	Op  Opcode
	Imm uint64
}

// Global is a module-defined global.
type Global struct {
	Type GlobalType
	Init ConstExpr
}

// Export is one export.
type Export struct {
	Name  string
	Kind  ExternKind
	Index uint32
}

// Element segment flags (the binary form, kept so that the encoding round-trips).
// Bit 0: passive or declarative; bit 1: explicit table index (active) or declarative
// (non-active); bit 2: elements are expressions instead of function indices.
const (
	ElemPassiveOrDeclarative = 1 << 0
	ElemExplicitTable        = 1 << 1 // with bit 0 clear; with bit 0 set: declarative
	ElemExpressions          = 1 << 2
)

// Element is an element segment.
type Element struct {
	Flags  byte      // 0..7, see ElemPassiveOrDeclarative etc.
	Table  uint32    // active segments with ElemExplicitTable
	Offset ConstExpr // active segments
	// Type is the element kind (0x00 = funcref) for forms with function indices, or the
	// reference type for expression forms; forms 0 and 4 leave it implicit (funcref) and
	// hold FuncRef here.
	Type  ValType
	Funcs []uint32    // function indices (forms without ElemExpressions)
	Exprs []ConstExpr // expressions (forms with ElemExpressions)
}

// Active reports whether the segment is copied into a table at instantiation.
func (e *Element) Active() bool { return e.Flags&ElemPassiveOrDeclarative == 0 }

// Len returns the number of elements in the segment.
func (e *Element) Len() int {
	if e.Flags&ElemExpressions != 0 {
		return len(e.Exprs)
	}
	return len(e.Funcs)
}

// Data segment flags (binary form): 0 active in memory 0, 1 passive, 2 active with an
// explicit memory index.
const (
	DataActive         = 0
	DataPassive        = 1
	DataActiveExplicit = 2
)

// Data is a data segment.
type Data struct {
	Flags  byte
	Memory uint32    // DataActiveExplicit
	Offset ConstExpr // active segments
	Init   []byte
}

// LocalDecl declares Count locals of one type; a function's locals are the concatenation
// of its declarations. The decoder keeps the compressed form, so a declaration of 2^32-1
// locals costs nothing until a validator has checked the total.
type LocalDecl struct {
	Count uint32
	Type  ValType
}

// Code is a function body: local declarations and instructions. Body ends with the
// function's final OpEnd. Targets holds the labels of the body's br_table instructions,
// each br_table's labels contiguous (see BrTable).
type Code struct {
	Locals  []LocalDecl
	Body    []Instr
	Targets []uint32
}

// BrTable returns the labels of a br_table instruction of c, the default label last, and
// false when its immediates do not designate a non-empty range of c.Targets.
func (c *Code) BrTable(in *Instr) ([]uint32, bool) {
	start, n := in.Imm, uint64(in.Imm2)
	if n == 0 || start > uint64(len(c.Targets)) || n > uint64(len(c.Targets))-start {
		return nil, false
	}
	return c.Targets[start : start+n], true
}

// AddBrTable appends labels (the default last) to c.Targets and returns the br_table
// instruction that uses them.
func (c *Code) AddBrTable(labels ...uint32) Instr {
	in := Instr{Op: OpBrTable, Imm: uint64(len(c.Targets)), Imm2: uint32(len(labels))}
	c.Targets = append(c.Targets, labels...)
	return in
}

// NumLocals returns the total number of declared locals (without parameters), in 64 bits
// so that it cannot overflow.
func (c *Code) NumLocals() uint64 {
	var n uint64
	for _, d := range c.Locals {
		n += uint64(d.Count)
	}
	return n
}

// Custom is a custom section. After is the id of the last non-custom section that precedes
// it (0 when it comes first), so that the encoder puts it back in place.
type Custom struct {
	Name  string
	Data  []byte
	After SectionID
}

// SectionID identifies a section.
type SectionID byte

// Section ids.
const (
	SectionCustom    SectionID = 0
	SectionType      SectionID = 1
	SectionImport    SectionID = 2
	SectionFunction  SectionID = 3
	SectionTable     SectionID = 4
	SectionMemory    SectionID = 5
	SectionGlobal    SectionID = 6
	SectionExport    SectionID = 7
	SectionStart     SectionID = 8
	SectionElement   SectionID = 9
	SectionCode      SectionID = 10
	SectionData      SectionID = 11
	SectionDataCount SectionID = 12
	SectionTag       SectionID = 13
)

// String returns the section's name.
func (id SectionID) String() string {
	switch id {
	case SectionCustom:
		return "custom"
	case SectionType:
		return "type"
	case SectionImport:
		return "import"
	case SectionFunction:
		return "function"
	case SectionTable:
		return "table"
	case SectionMemory:
		return "memory"
	case SectionGlobal:
		return "global"
	case SectionExport:
		return "export"
	case SectionStart:
		return "start"
	case SectionElement:
		return "element"
	case SectionCode:
		return "code"
	case SectionData:
		return "data"
	case SectionDataCount:
		return "data count"
	case SectionTag:
		return "tag"
	}
	return "unknown"
}

// order returns the position of a non-custom section in the required order (the data
// count section comes between element and code).
func (id SectionID) order() int {
	switch id {
	case SectionDataCount:
		return 10 // after element (9)
	case SectionCode:
		return 11
	case SectionData:
		return 12
	}
	return int(id)
}

// Module is a decoded module. Index spaces (functions, tables, memories, globals) start
// with the imports of that kind, in order, followed by the module's own definitions.
type Module struct {
	Types    []FuncType
	Imports  []Import
	Funcs    []uint32 // type index of each defined function (function section)
	Tables   []TableType
	Memories []Limits
	Globals  []Global
	Exports  []Export

	HasStart bool
	Start    uint32

	Elements []Element

	HasDataCount bool
	DataCount    uint32

	Code []Code // one per entry of Funcs
	Data []Data

	Customs []Custom
}

// NumImported returns the number of imports of kind k.
func (m *Module) NumImported(k ExternKind) int {
	n := 0
	for i := range m.Imports {
		if m.Imports[i].Kind == k {
			n++
		}
	}
	return n
}

// FuncType returns the signature of function idx in the function index space, and false
// when idx or its type index is out of range.
func (m *Module) FuncType(idx uint32) (FuncType, bool) {
	var ti uint32
	n := uint32(0)
	found := false
	for i := range m.Imports {
		if m.Imports[i].Kind != KindFunc {
			continue
		}
		if n == idx {
			ti, found = m.Imports[i].Func, true
			break
		}
		n++
	}
	if !found {
		local := uint64(idx) - uint64(n)
		if uint64(idx) < uint64(n) || local >= uint64(len(m.Funcs)) {
			return FuncType{}, false
		}
		ti = m.Funcs[local]
	}
	if uint64(ti) >= uint64(len(m.Types)) {
		return FuncType{}, false
	}
	return m.Types[ti], true
}
