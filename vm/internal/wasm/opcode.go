package wasm

import "fmt"

// Opcode is an instruction's opcode. One-byte opcodes are their byte; opcodes behind the
// 0xFC prefix are 0xFC00 | sub-opcode.
type Opcode uint16

// PrefixMisc is the first byte of the 0xFC-prefixed instructions (saturating truncation,
// bulk memory, table operations).
const PrefixMisc = 0xFC

// Control, parametric and variable instructions.
const (
	OpUnreachable  Opcode = 0x00
	OpNop          Opcode = 0x01
	OpBlock        Opcode = 0x02
	OpLoop         Opcode = 0x03
	OpIf           Opcode = 0x04
	OpElse         Opcode = 0x05
	OpEnd          Opcode = 0x0b
	OpBr           Opcode = 0x0c
	OpBrIf         Opcode = 0x0d
	OpBrTable      Opcode = 0x0e
	OpReturn       Opcode = 0x0f
	OpCall         Opcode = 0x10
	OpCallIndirect Opcode = 0x11
	OpDrop         Opcode = 0x1a
	OpSelect       Opcode = 0x1b
	OpSelectT      Opcode = 0x1c // typed select (reference-types encoding)
	OpLocalGet     Opcode = 0x20
	OpLocalSet     Opcode = 0x21
	OpLocalTee     Opcode = 0x22
	OpGlobalGet    Opcode = 0x23
	OpGlobalSet    Opcode = 0x24
)

// Memory instructions.
const (
	OpI32Load    Opcode = 0x28
	OpI64Load    Opcode = 0x29
	OpF32Load    Opcode = 0x2a
	OpF64Load    Opcode = 0x2b
	OpI32Load8S  Opcode = 0x2c
	OpI32Load8U  Opcode = 0x2d
	OpI32Load16S Opcode = 0x2e
	OpI32Load16U Opcode = 0x2f
	OpI64Load8S  Opcode = 0x30
	OpI64Load8U  Opcode = 0x31
	OpI64Load16S Opcode = 0x32
	OpI64Load16U Opcode = 0x33
	OpI64Load32S Opcode = 0x34
	OpI64Load32U Opcode = 0x35
	OpI32Store   Opcode = 0x36
	OpI64Store   Opcode = 0x37
	OpF32Store   Opcode = 0x38
	OpF64Store   Opcode = 0x39
	OpI32Store8  Opcode = 0x3a
	OpI32Store16 Opcode = 0x3b
	OpI64Store8  Opcode = 0x3c
	OpI64Store16 Opcode = 0x3d
	OpI64Store32 Opcode = 0x3e
	OpMemorySize Opcode = 0x3f
	OpMemoryGrow Opcode = 0x40
)

// Constants and the numeric instructions the instrumenter emits or inspects. Every opcode
// from 0x45 to 0xC4 is a numeric instruction without immediates; see Info.
const (
	OpI32Const Opcode = 0x41
	OpI64Const Opcode = 0x42
	OpF32Const Opcode = 0x43
	OpF64Const Opcode = 0x44

	OpI32Eqz Opcode = 0x45
	OpI32Eq  Opcode = 0x46
	OpI32Ne  Opcode = 0x47
	OpI32LtS Opcode = 0x48
	OpI32LtU Opcode = 0x49
	OpI32GtS Opcode = 0x4a
	OpI32GtU Opcode = 0x4b
	OpI32LeS Opcode = 0x4c
	OpI32LeU Opcode = 0x4d
	OpI32GeS Opcode = 0x4e
	OpI32GeU Opcode = 0x4f
	OpI64Eqz Opcode = 0x50
	OpI64Eq  Opcode = 0x51
	OpI64LtS Opcode = 0x53
	OpI64LtU Opcode = 0x54
	OpI64GtS Opcode = 0x55
	OpI64GeS Opcode = 0x59
	OpI64GeU Opcode = 0x5a
	OpF32Eq  Opcode = 0x5b
	OpF32Ne  Opcode = 0x5c
	OpF64Eq  Opcode = 0x61
	OpF64Ne  Opcode = 0x62

	OpI32Add  Opcode = 0x6a
	OpI32Sub  Opcode = 0x6b
	OpI32Mul  Opcode = 0x6c
	OpI32DivS Opcode = 0x6d
	OpI32DivU Opcode = 0x6e
	OpI32RemU Opcode = 0x70
	OpI32And  Opcode = 0x71
	OpI32Xor  Opcode = 0x73
	OpI32Shl  Opcode = 0x74
	OpI32ShrU Opcode = 0x76
	OpI64Add  Opcode = 0x7c
	OpI64Sub  Opcode = 0x7d
	OpI64Mul  Opcode = 0x7e
	OpI64DivS Opcode = 0x7f
	OpI64RemU Opcode = 0x82
	OpI64And  Opcode = 0x83
	OpI64Or   Opcode = 0x84
	OpI64Xor  Opcode = 0x85
	OpI64Shl  Opcode = 0x86
	OpI64ShrS Opcode = 0x87
	OpI64ShrU Opcode = 0x88

	OpF32Abs      Opcode = 0x8b
	OpF32Neg      Opcode = 0x8c
	OpF32Ceil     Opcode = 0x8d
	OpF32Sqrt     Opcode = 0x91
	OpF32Add      Opcode = 0x92
	OpF32Div      Opcode = 0x95
	OpF32Min      Opcode = 0x96
	OpF32Copysign Opcode = 0x98
	OpF64Abs      Opcode = 0x99
	OpF64Neg      Opcode = 0x9a
	OpF64Ceil     Opcode = 0x9b
	OpF64Sqrt     Opcode = 0x9f
	OpF64Add      Opcode = 0xa0
	OpF64Div      Opcode = 0xa3
	OpF64Min      Opcode = 0xa4
	OpF64Copysign Opcode = 0xa6

	OpI32WrapI64      Opcode = 0xa7
	OpI64ExtendI32S   Opcode = 0xac
	OpI64ExtendI32U   Opcode = 0xad
	OpF32DemoteF64    Opcode = 0xb6
	OpF64PromoteF32   Opcode = 0xbb
	OpI32ReinterpretF Opcode = 0xbc
	OpI64ReinterpretF Opcode = 0xbd
	OpF32ReinterpretI Opcode = 0xbe
	OpF64ReinterpretI Opcode = 0xbf
	OpI32Extend8S     Opcode = 0xc0
	OpI64Extend32S    Opcode = 0xc4
	OpRefNull         Opcode = 0xd0
	OpRefIsNull       Opcode = 0xd1
	OpRefFunc         Opcode = 0xd2
	OpI32TruncSatF32S Opcode = 0xfc00
	OpI64TruncSatF64U Opcode = 0xfc07
	OpMemoryInit      Opcode = 0xfc08
	OpDataDrop        Opcode = 0xfc09
	OpMemoryCopy      Opcode = 0xfc0a
	OpMemoryFill      Opcode = 0xfc0b
	OpTableInit       Opcode = 0xfc0c
	OpElemDrop        Opcode = 0xfc0d
	OpTableCopy       Opcode = 0xfc0e
	OpTableGrow       Opcode = 0xfc0f
	OpTableSize       Opcode = 0xfc10
	OpTableFill       Opcode = 0xfc11
)

// ImmKind says which immediates an instruction carries and where Instr keeps them.
type ImmKind byte

// Immediate kinds.
const (
	ImmNone       ImmKind = iota
	ImmBlockType          // Imm: the block type as an s33 (see BlockType)
	ImmIndex              // Imm: a label, function, local, global or data index
	ImmBrTable            // Imm: index of the first label in Code.Targets; Imm2: number of labels, the default last
	ImmCallIndir          // Imm: type index; Imm2: table index
	ImmSelectT            // Imm: the single result type
	ImmMemArg             // Imm: offset; Imm2: alignment exponent
	ImmMemIndex           // Imm: memory index (memory.size, memory.grow, memory.fill)
	ImmI32                // Imm: the value sign-extended to 64 bits
	ImmI64                // Imm: the value's bits
	ImmF32                // Imm: the value's bits
	ImmF64                // Imm: the value's bits
	ImmMemoryInit         // Imm: data index; Imm2: memory index
	ImmMemoryCopy         // Imm: destination memory; Imm2: source memory
)

// Instr is one instruction with its immediates. Which fields are meaningful depends on the
// opcode's ImmKind. Instr holds no pointers (br_table labels live in Code.Targets), so
// instruction lists are cheap to copy and invisible to the garbage collector's scan.
type Instr struct {
	Op   Opcode
	Imm2 uint32
	Imm  uint64
}

// Block types are s33 values: a type index when >= 0, otherwise one of these.
const (
	BlockEmpty int64 = -0x40 // 0x40: no params, no results
	BlockI32   int64 = -0x01 // 0x7f
	BlockI64   int64 = -0x02 // 0x7e
	BlockF32   int64 = -0x03 // 0x7d
	BlockF64   int64 = -0x04 // 0x7c
)

// BlockType returns the block type of a block, loop or if instruction as an s33.
func (in Instr) BlockType() int64 { return int64(in.Imm) }

// BlockTypeOf returns the block type (for Instr.Imm of block, loop, if) with no params and
// the single result t.
func BlockTypeOf(t ValType) int64 { return int64(t) - 0x80 }

// BlockResult returns the single result type of a value-type block type, and false for
// an index or empty block type.
func BlockResult(bt int64) (ValType, bool) {
	if bt < 0 && bt != BlockEmpty {
		return ValType(bt + 0x80), true
	}
	return 0, false
}

// OpInfo describes an opcode: its name, immediates and, for numeric instructions without
// immediates, its operand and result types.
type OpInfo struct {
	Name string
	Imm  ImmKind
	// In and Out are the operand and result types of simple numeric instructions
	// (Numeric true); control, variable and memory instructions are typed by the validator.
	In      []ValType
	Out     ValType
	Numeric bool
	// Feature is non-empty for an opcode that wnode decodes but that belongs to a feature
	// it does not accept (table.*, ref.*).
	Feature string
}

// opInfos holds one-byte opcodes at their byte and 0xFC-prefixed ones at 256 + sub-opcode.
var opInfos [512]*OpInfo

func opIndex(op Opcode) int {
	if op>>8 == PrefixMisc {
		return 256 + int(op&0xff)
	}
	if op > 0xff {
		return -1
	}
	return int(op)
}

// Info returns the description of op, or nil when op is not a known instruction.
func Info(op Opcode) *OpInfo {
	if i := opIndex(op); i >= 0 {
		return opInfos[i]
	}
	return nil
}

// String returns the instruction's text-format name.
func (op Opcode) String() string {
	if i := Info(op); i != nil {
		return i.Name
	}
	if op > 0xff {
		return fmt.Sprintf("0x%02x 0x%02x", uint16(op)>>8, uint16(op)&0xff)
	}
	return fmt.Sprintf("0x%02x", byte(op))
}

func def(op Opcode, name string, imm ImmKind) {
	opInfos[opIndex(op)] = &OpInfo{Name: name, Imm: imm}
}

func num(op Opcode, name string, out ValType, in ...ValType) {
	opInfos[opIndex(op)] = &OpInfo{Name: name, In: in, Out: out, Numeric: true}
}

func init() {
	def(OpUnreachable, "unreachable", ImmNone)
	def(OpNop, "nop", ImmNone)
	def(OpBlock, "block", ImmBlockType)
	def(OpLoop, "loop", ImmBlockType)
	def(OpIf, "if", ImmBlockType)
	def(OpElse, "else", ImmNone)
	def(OpEnd, "end", ImmNone)
	def(OpBr, "br", ImmIndex)
	def(OpBrIf, "br_if", ImmIndex)
	def(OpBrTable, "br_table", ImmBrTable)
	def(OpReturn, "return", ImmNone)
	def(OpCall, "call", ImmIndex)
	def(OpCallIndirect, "call_indirect", ImmCallIndir)
	def(OpDrop, "drop", ImmNone)
	def(OpSelect, "select", ImmNone)
	def(OpSelectT, "select", ImmSelectT)
	def(OpLocalGet, "local.get", ImmIndex)
	def(OpLocalSet, "local.set", ImmIndex)
	def(OpLocalTee, "local.tee", ImmIndex)
	def(OpGlobalGet, "global.get", ImmIndex)
	def(OpGlobalSet, "global.set", ImmIndex)

	mem := []string{
		"i32.load", "i64.load", "f32.load", "f64.load",
		"i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u",
		"i64.load8_s", "i64.load8_u", "i64.load16_s", "i64.load16_u", "i64.load32_s", "i64.load32_u",
		"i32.store", "i64.store", "f32.store", "f64.store",
		"i32.store8", "i32.store16", "i64.store8", "i64.store16", "i64.store32",
	}
	for i, name := range mem {
		def(OpI32Load+Opcode(i), name, ImmMemArg)
	}
	def(OpMemorySize, "memory.size", ImmMemIndex)
	def(OpMemoryGrow, "memory.grow", ImmMemIndex)
	def(OpI32Const, "i32.const", ImmI32)
	def(OpI64Const, "i64.const", ImmI64)
	def(OpF32Const, "f32.const", ImmF32)
	def(OpF64Const, "f64.const", ImmF64)

	num(0x45, "i32.eqz", I32, I32)
	for i, n := range []string{"eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"} {
		num(0x46+Opcode(i), "i32."+n, I32, I32, I32)
		num(0x51+Opcode(i), "i64."+n, I32, I64, I64)
	}
	num(0x50, "i64.eqz", I32, I64)
	for i, n := range []string{"eq", "ne", "lt", "gt", "le", "ge"} {
		num(0x5b+Opcode(i), "f32."+n, I32, F32, F32)
		num(0x61+Opcode(i), "f64."+n, I32, F64, F64)
	}
	for i, n := range []string{"clz", "ctz", "popcnt"} {
		num(0x67+Opcode(i), "i32."+n, I32, I32)
		num(0x79+Opcode(i), "i64."+n, I64, I64)
	}
	for i, n := range []string{"add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u",
		"and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"} {
		num(0x6a+Opcode(i), "i32."+n, I32, I32, I32)
		num(0x7c+Opcode(i), "i64."+n, I64, I64, I64)
	}
	for i, n := range []string{"abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"} {
		num(0x8b+Opcode(i), "f32."+n, F32, F32)
		num(0x99+Opcode(i), "f64."+n, F64, F64)
	}
	for i, n := range []string{"add", "sub", "mul", "div", "min", "max", "copysign"} {
		num(0x92+Opcode(i), "f32."+n, F32, F32, F32)
		num(0xa0+Opcode(i), "f64."+n, F64, F64, F64)
	}
	num(0xa7, "i32.wrap_i64", I32, I64)
	num(0xa8, "i32.trunc_f32_s", I32, F32)
	num(0xa9, "i32.trunc_f32_u", I32, F32)
	num(0xaa, "i32.trunc_f64_s", I32, F64)
	num(0xab, "i32.trunc_f64_u", I32, F64)
	num(0xac, "i64.extend_i32_s", I64, I32)
	num(0xad, "i64.extend_i32_u", I64, I32)
	num(0xae, "i64.trunc_f32_s", I64, F32)
	num(0xaf, "i64.trunc_f32_u", I64, F32)
	num(0xb0, "i64.trunc_f64_s", I64, F64)
	num(0xb1, "i64.trunc_f64_u", I64, F64)
	num(0xb2, "f32.convert_i32_s", F32, I32)
	num(0xb3, "f32.convert_i32_u", F32, I32)
	num(0xb4, "f32.convert_i64_s", F32, I64)
	num(0xb5, "f32.convert_i64_u", F32, I64)
	num(0xb6, "f32.demote_f64", F32, F64)
	num(0xb7, "f64.convert_i32_s", F64, I32)
	num(0xb8, "f64.convert_i32_u", F64, I32)
	num(0xb9, "f64.convert_i64_s", F64, I64)
	num(0xba, "f64.convert_i64_u", F64, I64)
	num(0xbb, "f64.promote_f32", F64, F32)
	num(0xbc, "i32.reinterpret_f32", I32, F32)
	num(0xbd, "i64.reinterpret_f64", I64, F64)
	num(0xbe, "f32.reinterpret_i32", F32, I32)
	num(0xbf, "f64.reinterpret_i64", F64, I64)
	num(0xc0, "i32.extend8_s", I32, I32)
	num(0xc1, "i32.extend16_s", I32, I32)
	num(0xc2, "i64.extend8_s", I64, I64)
	num(0xc3, "i64.extend16_s", I64, I64)
	num(0xc4, "i64.extend32_s", I64, I64)
	sat := []struct {
		name    string
		out, in ValType
	}{
		{"i32.trunc_sat_f32_s", I32, F32}, {"i32.trunc_sat_f32_u", I32, F32},
		{"i32.trunc_sat_f64_s", I32, F64}, {"i32.trunc_sat_f64_u", I32, F64},
		{"i64.trunc_sat_f32_s", I64, F32}, {"i64.trunc_sat_f32_u", I64, F32},
		{"i64.trunc_sat_f64_s", I64, F64}, {"i64.trunc_sat_f64_u", I64, F64},
	}
	for i, s := range sat {
		num(OpI32TruncSatF32S+Opcode(i), s.name, s.out, s.in)
	}
	def(OpMemoryInit, "memory.init", ImmMemoryInit)
	def(OpDataDrop, "data.drop", ImmIndex)
	def(OpMemoryCopy, "memory.copy", ImmMemoryCopy)
	def(OpMemoryFill, "memory.fill", ImmMemIndex)

	// Reference-type and table instructions: decoded (so that the error can name them)
	// but refused by the validator.
	ref := func(op Opcode, name string, imm ImmKind) {
		opInfos[opIndex(op)] = &OpInfo{Name: name, Imm: imm, Feature: FeatureRefTypes}
	}
	ref(OpRefNull, "ref.null", ImmSelectT)
	ref(OpRefIsNull, "ref.is_null", ImmNone)
	ref(OpRefFunc, "ref.func", ImmIndex)
	ref(0x25, "table.get", ImmIndex)
	ref(0x26, "table.set", ImmIndex)
	ref(OpTableInit, "table.init", ImmMemoryInit) // elem index, table index
	ref(OpElemDrop, "elem.drop", ImmIndex)
	ref(OpTableCopy, "table.copy", ImmMemoryCopy)
	ref(OpTableGrow, "table.grow", ImmIndex)
	ref(OpTableSize, "table.size", ImmIndex)
	ref(OpTableFill, "table.fill", ImmIndex)
}
