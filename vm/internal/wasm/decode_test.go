package wasm

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func roundTrip(t fataler, m *Module) []byte {
	t.Helper()
	enc := Encode(m)
	m2, err := Decode(enc)
	if err != nil {
		t.Fatalf("decode(encode(m)): %v", err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("decode(encode(m)) != m\n got: %+v\nwant: %+v", m2, m)
	}
	if enc2 := Encode(m2); !bytes.Equal(enc, enc2) {
		t.Fatal("encoding is not stable")
	}
	return enc
}

func TestRoundTripCorpus(t *testing.T) {
	for name, b := range corpus(t) {
		m, err := Decode(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		enc := roundTrip(t, m)
		if len(enc) > len(b) {
			// Minimal LEB128s and no padding: the canonical form is never longer.
			t.Errorf("%s: re-encoding grew from %d to %d bytes", name, len(b), len(enc))
		}
	}
}

// everything is a module that uses every section, every element and data segment form,
// custom sections in several places and every immediate kind.
func everything() *Module {
	body := []Instr{
		{Op: OpBlock, Imm: s64(BlockEmpty)},
		{Op: OpLoop, Imm: s64(BlockTypeOf(I32))},
		{Op: OpI32Const, Imm: s64(-1)},
		{Op: OpBrIf, Imm: 1},
		{Op: OpI32Const, Imm: 7},
		{Op: OpEnd},
		{Op: OpIf, Imm: 0}, // type index 0
		{Op: OpElse},
		{Op: OpEnd},
		{Op: OpEnd},
		{Op: OpI32Const, Imm: s64(-2147483648)},
		{Op: OpBrTable, Imm: 0, Imm2: 3},
		{Op: OpI64Const, Imm: 1 << 63},
		{Op: OpF32Const, Imm: 0x7fc00001},
		{Op: OpF64Const, Imm: 0xfff0000000000001},
		{Op: OpSelectT, Imm: uint64(F64)},
		{Op: OpCall, Imm: 1},
		{Op: OpCallIndirect, Imm: 0, Imm2: 0},
		{Op: OpLocalGet, Imm: 3},
		{Op: OpGlobalSet, Imm: 0},
		{Op: OpI64Load32U, Imm: 0xffffffff, Imm2: 2},
		{Op: OpF64Store, Imm: 8, Imm2: 3},
		{Op: OpMemorySize},
		{Op: OpMemoryGrow},
		{Op: OpMemoryInit, Imm: 1},
		{Op: OpDataDrop, Imm: 1},
		{Op: OpMemoryCopy},
		{Op: OpMemoryFill},
		{Op: OpI32TruncSatF32S},
		{Op: OpI64TruncSatF64U},
		{Op: OpI64Extend32S},
		{Op: OpF64Copysign},
		{Op: OpReturn},
		{Op: OpUnreachable},
		{Op: OpEnd},
	}
	return &Module{
		Types: []FuncType{
			{},
			{Params: []ValType{I32, I64, F32, F64}, Results: []ValType{I32, I64}},
		},
		Imports: []Import{
			{Module: "wnode", Name: "f", Kind: KindFunc, Func: 1},
			{Module: "env", Name: "t", Kind: KindTable, Table: TableType{Elem: FuncRef, Limits: Limits{Min: 1}}},
			{Module: "env", Name: "m", Kind: KindMemory, Memory: Limits{Min: 1, Max: 2, HasMax: true}},
			{Module: "env", Name: "g", Kind: KindGlobal, Global: GlobalType{Type: F32, Mutable: true}},
		},
		Funcs:    []uint32{0, 1},
		Tables:   []TableType{{Elem: FuncRef, Limits: Limits{Min: 10, Max: 20, HasMax: true}}},
		Memories: []Limits{{Min: 17}},
		Globals: []Global{
			{Type: GlobalType{Type: I32, Mutable: true}, Init: ConstExpr{Op: OpI32Const, Imm: s64(-5)}},
			{Type: GlobalType{Type: I64}, Init: ConstExpr{Op: OpI64Const, Imm: 1 << 40}},
			{Type: GlobalType{Type: F32}, Init: ConstExpr{Op: OpF32Const, Imm: 0x3f800000}},
			{Type: GlobalType{Type: F64}, Init: ConstExpr{Op: OpF64Const, Imm: 0x3ff0000000000000}},
			{Type: GlobalType{Type: F32}, Init: ConstExpr{Op: OpGlobalGet, Imm: 0}},
		},
		Exports: []Export{
			{Name: "memory", Kind: KindMemory, Index: 1},
			{Name: "run", Kind: KindFunc, Index: 1},
			{Name: "ünïcode ✓", Kind: KindGlobal, Index: 2},
			{Name: "", Kind: KindTable, Index: 0},
		},
		HasStart: true,
		Start:    1,
		Elements: []Element{
			{Flags: 0, Type: FuncRef, Offset: ConstExpr{Op: OpI32Const, Imm: 1}, Funcs: []uint32{1, 2}},
			{Flags: 1, Type: FuncRef, Funcs: []uint32{2}},
			{Flags: 2, Type: FuncRef, Table: 1, Offset: ConstExpr{Op: OpGlobalGet, Imm: 0}, Funcs: []uint32{1}},
			{Flags: 3, Type: FuncRef},
			{Flags: 4, Type: FuncRef, Offset: ConstExpr{Op: OpI32Const}, Exprs: []ConstExpr{{Op: OpRefFunc, Imm: 1}, {Op: OpRefNull, Imm: uint64(FuncRef)}}},
			{Flags: 5, Type: ExternRef, Exprs: []ConstExpr{{Op: OpRefNull, Imm: uint64(ExternRef)}}},
			{Flags: 6, Type: FuncRef, Table: 0, Offset: ConstExpr{Op: OpI32Const, Imm: 3}, Exprs: []ConstExpr{{Op: OpRefFunc, Imm: 2}}},
			{Flags: 7, Type: FuncRef, Exprs: []ConstExpr{{Op: OpRefFunc, Imm: 2}}},
		},
		HasDataCount: true,
		DataCount:    3,
		Code: []Code{
			{Body: []Instr{{Op: OpEnd}}},
			{Locals: []LocalDecl{{Count: 2, Type: I32}, {Count: 0xffffffff, Type: F64}}, Body: body, Targets: []uint32{0, 0, 0}},
		},
		Data: []Data{
			{Flags: DataActive, Offset: ConstExpr{Op: OpI32Const, Imm: 1024}, Init: []byte("hello")},
			{Flags: DataPassive, Init: []byte{0, 1, 2}},
			{Flags: DataActiveExplicit, Offset: ConstExpr{Op: OpI32Const}},
		},
		Customs: []Custom{
			{Name: "first", Data: []byte{1}, After: 0},
			{Name: "mid", After: SectionTable},
			{Name: "mid2", Data: []byte("x"), After: SectionTable},
			{Name: "name", Data: []byte{0, 1, 0}, After: SectionData},
		},
	}
}

func TestRoundTripEverything(t *testing.T) {
	roundTrip(t, everything())
}

func TestRoundTripCustomAfterEmptySection(t *testing.T) {
	// An empty type section followed by a custom section: the custom section must come
	// back after the type section, so the encoder writes the empty section.
	b := bin(sec(1, 0), sec(0, 1, 'c', 9), sec(3, 0))
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Customs) != 1 || m.Customs[0].After != SectionType {
		t.Fatalf("customs: %+v", m.Customs)
	}
	roundTrip(t, m)
}

// genModule draws a structurally encodable (not necessarily valid) module.
func genModule(t *rapid.T) *Module {
	num := rapid.SampledFrom([]ValType{I32, I64, F32, F64})
	types := func(label string) []ValType {
		ts := rapid.SliceOfN(num, 0, 4).Draw(t, label)
		if len(ts) == 0 {
			return nil
		}
		return ts
	}
	u32 := rapid.Uint32()
	constExpr := func(label string) ConstExpr {
		op := rapid.SampledFrom([]Opcode{OpI32Const, OpI64Const, OpF32Const, OpF64Const, OpGlobalGet}).Draw(t, label+"op")
		c := ConstExpr{Op: op}
		switch op {
		case OpI32Const:
			c.Imm = uint64(int64(rapid.Int32().Draw(t, label)))
		case OpF32Const, OpGlobalGet:
			c.Imm = uint64(u32.Draw(t, label))
		default:
			c.Imm = rapid.Uint64().Draw(t, label)
		}
		return c
	}
	var simple []Opcode
	for i, info := range opInfos {
		op := Opcode(i)
		if i >= 256 {
			op = PrefixMisc<<8 | Opcode(i-256)
		}
		if info != nil && info.Feature == "" && info.Imm != ImmBlockType && op != OpEnd && op != OpElse {
			simple = append(simple, op)
		}
	}
	sortOps(simple)
	instr := func(label string) Instr {
		op := rapid.SampledFrom(simple).Draw(t, label)
		in := Instr{Op: op}
		switch Info(op).Imm {
		case ImmIndex, ImmCallIndir, ImmMemArg:
			in.Imm = uint64(u32.Draw(t, label+"imm"))
			if Info(op).Imm == ImmCallIndir {
				in.Imm2 = u32.Draw(t, label+"imm2")
			}
			if Info(op).Imm == ImmMemArg {
				in.Imm2 = rapid.Uint32Range(0, 63).Draw(t, label+"align")
			}
		case ImmMemoryInit:
			in.Imm = uint64(u32.Draw(t, label+"imm"))
		case ImmBrTable:
			// The labels go to Code.Targets; the caller fixes Imm and Imm2.
			in.Imm2 = uint32(rapid.IntRange(1, 5).Draw(t, label+"ntargets"))
		case ImmSelectT:
			in.Imm = uint64(num.Draw(t, label+"type"))
		case ImmI32:
			in.Imm = uint64(int64(rapid.Int32().Draw(t, label+"imm")))
		case ImmF32:
			in.Imm = uint64(u32.Draw(t, label+"imm"))
		case ImmI64, ImmF64:
			in.Imm = rapid.Uint64().Draw(t, label+"imm")
		}
		return in
	}
	m := &Module{}
	for i := rapid.IntRange(0, 3).Draw(t, "ntypes"); i > 0; i-- {
		m.Types = append(m.Types, FuncType{Params: types("params"), Results: types("results")})
	}
	for i := rapid.IntRange(0, 2).Draw(t, "nimports"); i > 0; i-- {
		m.Imports = append(m.Imports, Import{Module: rapid.String().Draw(t, "mod"), Name: rapid.String().Draw(t, "name"), Kind: KindFunc, Func: u32.Draw(t, "type")})
	}
	for i := rapid.IntRange(0, 3).Draw(t, "nfuncs"); i > 0; i-- {
		m.Funcs = append(m.Funcs, u32.Draw(t, "ftype"))
		var c Code
		for j := rapid.IntRange(0, 2).Draw(t, "ndecl"); j > 0; j-- {
			c.Locals = append(c.Locals, LocalDecl{Count: u32.Draw(t, "count"), Type: num.Draw(t, "ltype")})
		}
		depth := 0
		for j := rapid.IntRange(0, 30).Draw(t, "ninstr"); j > 0; j-- {
			switch rapid.IntRange(0, 5).Draw(t, "shape") {
			case 0:
				bt := rapid.SampledFrom([]int64{BlockEmpty, BlockI32, BlockI64, BlockF32, BlockF64, 0, 5, 1 << 30}).Draw(t, "bt")
				op := rapid.SampledFrom([]Opcode{OpBlock, OpLoop, OpIf}).Draw(t, "blockop")
				c.Body = append(c.Body, Instr{Op: op, Imm: uint64(bt)})
				depth++
			case 1:
				if depth > 0 {
					c.Body = append(c.Body, Instr{Op: OpEnd})
					depth--
				}
			default:
				in := instr("instr")
				if in.Op == OpBrTable {
					in = c.AddBrTable(rapid.SliceOfN(u32, int(in.Imm2), int(in.Imm2)).Draw(t, "targets")...)
				}
				c.Body = append(c.Body, in)
			}
		}
		for ; depth >= 0; depth-- {
			c.Body = append(c.Body, Instr{Op: OpEnd})
		}
		m.Code = append(m.Code, c)
	}
	if rapid.Bool().Draw(t, "hasTable") {
		m.Tables = []TableType{{Elem: FuncRef, Limits: Limits{Min: u32.Draw(t, "tmin")}}}
	}
	if rapid.Bool().Draw(t, "hasMemory") {
		l := Limits{Min: u32.Draw(t, "min")}
		if rapid.Bool().Draw(t, "hasMax") {
			l.Max, l.HasMax = u32.Draw(t, "max"), true
		}
		m.Memories = []Limits{l}
	}
	for i := rapid.IntRange(0, 2).Draw(t, "nglobals"); i > 0; i-- {
		m.Globals = append(m.Globals, Global{Type: GlobalType{Type: num.Draw(t, "gt"), Mutable: rapid.Bool().Draw(t, "mut")}, Init: constExpr("ginit")})
	}
	for i := rapid.IntRange(0, 3).Draw(t, "nexports"); i > 0; i-- {
		m.Exports = append(m.Exports, Export{Name: rapid.String().Draw(t, "ename"), Kind: ExternKind(rapid.IntRange(0, 3).Draw(t, "kind")), Index: u32.Draw(t, "eidx")})
	}
	if rapid.Bool().Draw(t, "hasStart") {
		m.HasStart, m.Start = true, u32.Draw(t, "start")
	}
	for i := rapid.IntRange(0, 2).Draw(t, "nelems"); i > 0; i-- {
		e := Element{Flags: byte(rapid.IntRange(0, 3).Draw(t, "eflags")), Type: FuncRef}
		if e.Active() {
			e.Offset = constExpr("eoff")
			if e.Flags&ElemExplicitTable != 0 {
				e.Table = u32.Draw(t, "etable")
			}
		}
		if fs := rapid.SliceOfN(u32, 0, 4).Draw(t, "efuncs"); len(fs) > 0 {
			e.Funcs = fs
		}
		m.Elements = append(m.Elements, e)
	}
	for i := rapid.IntRange(0, 2).Draw(t, "ndata"); i > 0; i-- {
		d := Data{Flags: byte(rapid.IntRange(0, 2).Draw(t, "dflags"))}
		if d.Flags != DataPassive {
			d.Offset = constExpr("doff")
		}
		if d.Flags == DataActiveExplicit {
			d.Memory = u32.Draw(t, "dmem")
		}
		d.Init = clone(rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "dinit"))
		m.Data = append(m.Data, d)
	}
	if rapid.Bool().Draw(t, "hasDataCount") {
		m.HasDataCount, m.DataCount = true, uint32(len(m.Data))
	}
	anchors := []SectionID{0}
	for _, id := range []SectionID{SectionType, SectionImport, SectionFunction, SectionTable, SectionMemory,
		SectionGlobal, SectionExport, SectionStart, SectionElement, SectionDataCount, SectionCode, SectionData} {
		if (&encoder{m: m}).present(id) {
			anchors = append(anchors, id)
		}
	}
	for i := rapid.IntRange(0, 3).Draw(t, "ncustoms"); i > 0; i-- {
		m.Customs = append(m.Customs, Custom{Name: rapid.String().Draw(t, "cname"), Data: clone(rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "cdata")), After: rapid.SampledFrom(anchors).Draw(t, "after")})
	}
	// Customs anchored after the same section come back in the order they are written,
	// which is their order in the slice sorted by anchor.
	sortCustoms(m.Customs)
	return m
}

func TestRoundTripRandom(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		roundTrip(t, genModule(t))
	})
}

func TestLEB128(t *testing.T) {
	cases := []struct {
		in      []byte
		bits    uint
		signed  bool
		want    uint64
		errText string
	}{
		{in: []byte{0x00}, bits: 32, want: 0},
		{in: []byte{0x80, 0x00}, bits: 32, want: 0}, // padded but within 5 bytes: allowed
		{in: []byte{0xe5, 0x8e, 0x26}, bits: 32, want: 624485},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, bits: 32, want: 0xffffffff},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, bits: 32, errText: "too large"},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, bits: 32, errText: "too long"},
		{in: []byte{0x80, 0x80}, bits: 32, errText: "unexpected end"},
		{in: []byte{}, bits: 32, errText: "unexpected end"},
		{in: []byte{0x7f}, bits: 32, signed: true, want: ^uint64(0)},
		{in: []byte{0xc0, 0xbb, 0x78}, bits: 32, signed: true, want: uint64(0xffffffffffffffff - 123455)},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x78}, bits: 32, signed: true, want: uint64(0xffffffff80000000)},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x07}, bits: 32, signed: true, want: 0x7fffffff},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, bits: 32, signed: true, errText: "too large"}, // sign bit set, upper bits not
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x70}, bits: 32, signed: true, errText: "too large"},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, bits: 32, signed: true, errText: "too long"},
		{in: []byte{0x40}, bits: 33, signed: true, want: uint64(0xffffffffffffffc0)},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, bits: 33, signed: true, want: 0xffffffff},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, bits: 33, signed: true, errText: "too large"},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, bits: 64, signed: true, want: 1 << 63},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, bits: 64, signed: true, want: 1<<63 - 1},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, bits: 64, signed: true, errText: "too large"},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, bits: 64, signed: true, errText: "too long"},
	}
	for _, c := range cases {
		r := &reader{buf: c.in, end: len(c.in)}
		got, err := r.leb(c.bits, c.signed)
		if c.errText != "" {
			if err == nil || !strings.Contains(err.Error(), c.errText) {
				t.Errorf("% x (%d bits, signed %v): err %v, want %q", c.in, c.bits, c.signed, err, c.errText)
			}
			continue
		}
		if err != nil || got != c.want || r.pos != len(c.in) {
			t.Errorf("% x (%d bits, signed %v) = %#x, %v (read %d), want %#x", c.in, c.bits, c.signed, got, err, r.pos, c.want)
		}
	}
}

func TestLEB128Property(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := rapid.Uint32().Draw(t, "u")
		b := appendU32(nil, u)
		r := &reader{buf: b, end: len(b)}
		if got, err := r.u32(); err != nil || got != u || r.pos != len(b) {
			t.Fatalf("u32 %d: got %d, %v", u, got, err)
		}
		s := rapid.Int64().Draw(t, "s")
		b = appendS64(nil, s)
		r = &reader{buf: b, end: len(b)}
		if got, err := r.s64(); err != nil || got != s || r.pos != len(b) {
			t.Fatalf("s64 %d: got %d, %v", s, got, err)
		}
		s32 := rapid.Int32().Draw(t, "s32")
		b = appendS64(nil, int64(s32))
		r = &reader{buf: b, end: len(b)}
		if got, err := r.s32(); err != nil || got != s32 {
			t.Fatalf("s32 %d: got %d, %v", s32, got, err)
		}
	})
}

func TestMalformed(t *testing.T) {
	okType := sec(1, 1, 0x60, 0, 0)
	cases := []struct {
		name string
		in   []byte
		want string // substring of the error
	}{
		{"empty", nil, "too short"},
		{"bad magic", []byte("\x00asn\x01\x00\x00\x00"), "bad magic"},
		{"bad version", []byte("\x00asm\x02\x00\x00\x00"), "unsupported binary version"},
		{"short header", []byte("\x00asm\x01"), "too short"},
		{"section size past end", bin([]byte{1, 10, 0}), "exceeds the 1 bytes left"},
		{"section size overlong LEB", bin([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), "too long"},
		{"section size too big LEB", bin([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x7f}), "too large"},
		{"section shorter than content", bin([]byte{1, 4, 1, 0x60, 1, 0x7f}), "unexpected end"},
		{"section longer than content", bin(sec(1, 1, 0x60, 0, 0, 0)), "unread bytes"},
		{"unknown section", bin(sec(14)), "unknown section id 14"},
		{"duplicate section", bin(okType, okType), "duplicate type section"},
		{"out of order", bin(sec(3, 0), okType), "type section after function section is out of order"},
		{"data count after code", bin(sec(10, 0), sec(12, 0)), "out of order"},
		{"type count beyond input", bin(sec(1, 0xff, 0xff, 0xff, 0xff, 0x0f)), "type count 4294967295 exceeds"},
		{"bad type form", bin(sec(1, 1, 0x61, 0, 0)), "invalid function type form 0x61"},
		{"bad value type", bin(sec(1, 1, 0x60, 1, 0x55, 0)), "invalid value type 0x55"},
		{"import name not UTF-8", bin(sec(2, 1, 1, 'a', 1, 0xff, 0, 0)), "not valid UTF-8"},
		{"export name not UTF-8", bin(sec(7, 1, 2, 0xc3, 0x28, 0, 0)), "not valid UTF-8"},
		{"custom name not UTF-8", bin(sec(0, 1, 0x80)), "not valid UTF-8"},
		{"name longer than section", bin(sec(7, 1, 9, 'a', 0, 0)), "length 9 exceeds"},
		{"bad import kind", bin(sec(2, 1, 1, 'a', 1, 'b', 7, 0)), "invalid import kind"},
		{"bad limits flag", bin(sec(5, 1, 0x10, 0)), "invalid limits flags"},
		{"bad mutability", bin(sec(6, 1, 0x7f, 2, 0x41, 0, 0x0b)), "invalid global mutability"},
		{"const expr without end", bin(sec(6, 1, 0x7f, 0, 0x41, 0, 0x01)), "not terminated by end"},
		{"bad const expr op", bin(sec(6, 1, 0x7f, 0, 0x20, 0, 0x0b)), "invalid constant expression opcode"},
		{"bad export kind", bin(sec(7, 1, 1, 'a', 9, 0)), "invalid export kind"},
		{"bad element flags", bin(sec(9, 1, 8, 0)), "invalid flags 8"},
		{"bad element kind", bin(sec(9, 1, 1, 0x01, 0)), "invalid element kind"},
		{"bad data flags", bin(sec(11, 1, 3, 0)), "invalid flags 3"},
		{"data longer than section", bin(sec(11, 1, 1, 50, 1)), "length 50 exceeds"},
		{"functions without code", bin(okType, sec(3, 1, 0)), "declares 1 functions but the code section has 0"},
		{"code without functions", bin(okType, sec(10, 1, 2, 0, 0x0b)), "declares 0 functions but the code section has 1"},
		{"data count mismatch", bin(sec(12, 2), sec(11, 1, 1, 0)), "data count section says 2"},
		{"body size past end", bin(okType, sec(3, 1, 0), sec(10, 1, 9, 0, 0x0b)), "body size 9 exceeds"},
		{"body without end", bin(okType, sec(3, 1, 0), sec(10, 1, 2, 0, 0x01)), "does not end with end"},
		{"body with trailing bytes", bin(okType, sec(3, 1, 0), sec(10, 1, 3, 0, 0x0b, 0x01)), "does not end with end"},
		{"unknown opcode", bin(okType, sec(3, 1, 0), sec(10, 1, 3, 0, 0xc5, 0x0b)), "unknown instruction 0xc5"},
		{"unknown 0xfc opcode", bin(okType, sec(3, 1, 0), sec(10, 1, 4, 0, 0xfc, 0x7f, 0x0b)), "unknown instruction 0xfc 0x7f"},
		{"huge 0xfc opcode", bin(okType, sec(3, 1, 0), sec(10, 1, 5, 0, 0xfc, 0x80, 0x02, 0x0b)), "unknown instruction 0xfc 256"},
		{"bad block type", bin(okType, sec(3, 1, 0), sec(10, 1, 5, 0, 0x02, 0x50, 0x0b, 0x0b)), "invalid block type"},
		{"br_table count past end", bin(okType, sec(3, 1, 0), sec(10, 1, 5, 0, 0x0e, 0x7f, 0, 0x0b)), "br_table label count 127 exceeds"},
		{"local decl count past end", bin(okType, sec(3, 1, 0), sec(10, 1, 3, 0x70, 0x7f, 0x0b)), "local declaration count 112 exceeds"},
		{"typed select with two types", bin(okType, sec(3, 1, 0), sec(10, 1, 6, 0, 0x1c, 2, 0x7f, 0x7f, 0x0b)), "typed select with 2 types"},
		{"truncated f64.const", bin(okType, sec(3, 1, 0), sec(10, 1, 5, 0, 0x44, 0, 0, 0)), "exceeds the"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode: %v (%T), want a *DecodeError", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Decode: %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	okType := sec(1, 1, 0x60, 0, 0)
	code := func(body ...byte) []byte {
		b := append([]byte{0}, body...)
		b = append(b, 0x0b)
		return bin(okType, sec(3, 1, 0), sec(10, cat([]byte{1}, appendU32(nil, uint32(len(b))), b)...))
	}
	cases := []struct {
		name    string
		in      []byte
		feature string
	}{
		{"SIMD opcode", code(0xfd, 0x0c), FeatureSIMD},
		{"SIMD value type", bin(sec(1, 1, 0x60, 1, 0x7b, 0)), FeatureSIMD},
		{"SIMD block type", code(0x02, 0x7b, 0x0b), FeatureSIMD},
		{"atomics", code(0xfe, 0x00), FeatureThreads},
		{"shared memory", bin(sec(5, 1, 0x03, 1, 1)), FeatureThreads},
		{"memory64", bin(sec(5, 1, 0x04, 1)), FeatureMemory64},
		{"custom page size", bin(sec(5, 1, 0x08, 1)), FeaturePageSizes},
		{"tag section", bin(sec(13, 0)), FeatureExceptions},
		{"try", code(0x06, 0x40), FeatureExceptions},
		{"throw", code(0x08, 0x00), FeatureExceptions},
		{"return_call", code(0x12, 0x00), FeatureTailCalls},
		{"call_ref", code(0x14, 0x00), FeatureFuncRefs},
		{"GC type", bin(sec(1, 1, 0x5f, 0, 0)), FeatureGC},
		{"externref param", bin(sec(1, 1, 0x60, 1, 0x6f, 0)), FeatureRefTypes},
		{"externref table", bin(sec(4, 1, 0x6f, 0, 0)), FeatureRefTypes},
		{"ref.func", code(0xd2, 0x00, 0x1a), FeatureRefTypes},
		{"table.get", code(0x41, 0, 0x25, 0x00, 0x1a), FeatureRefTypes},
		{"table.copy", code(0xfc, 14, 0, 0), FeatureRefTypes},
		{"memory.size of memory 1", code(0x3f, 0x01, 0x1a), FeatureMultiMemory},
		{"memarg with memory index", code(0x41, 0, 0x28, 0x40, 0x01, 0x00, 0x1a), FeatureMultiMemory},
		{"memory.copy between memories", code(0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 10, 1, 0), FeatureMultiMemory},
		{"extended const", bin(sec(6, 1, 0x7f, 0, 0x41, 1, 0x41, 2, 0x6a, 0x0b)), FeatureExtendedConst},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			var ue *UnsupportedError
			if !errors.As(err, &ue) || ue.Feature != c.feature {
				t.Fatalf("Decode: %v, want an UnsupportedError for %s", err, c.feature)
			}
			if !strings.Contains(err.Error(), c.feature+" not allowed") {
				t.Fatalf("error %q does not name the feature", err)
			}
		})
	}
}

// TestTruncated decodes every prefix of real modules: each must fail with a DecodeError
// (never panic), except prefixes that end exactly at a section boundary and happen to form
// a complete module.
func TestTruncated(t *testing.T) {
	for name, b := range corpus(t) {
		step := 1
		if len(b) > 8192 {
			step = len(b)/256 + 1 // big modules: a sample of cut points keeps the test fast
		}
		boundaries := sectionEnds(b)
		for i := 0; i < len(b); i += step {
			_, err := Decode(b[:i])
			if err == nil {
				if !boundaries[i] {
					t.Fatalf("%s: prefix of %d bytes decoded without error", name, i)
				}
				continue
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%s: prefix of %d bytes: %v is not a DecodeError", name, i, err)
			}
		}
	}
}

// sectionEnds returns the offsets at which a section of a well-formed module ends.
func sectionEnds(b []byte) map[int]bool {
	ends := map[int]bool{8: true}
	r := &reader{buf: b, pos: 8, end: len(b)}
	for r.pos < r.end {
		r.pos++
		n, err := r.u32()
		if err != nil {
			break
		}
		r.pos += int(n)
		ends[r.pos] = true
	}
	return ends
}

// TestCorrupted flips bytes of a real module: decoding must fail or succeed cleanly.
func TestCorrupted(t *testing.T) {
	b, err := readTestdata("rust-wasi.wasm")
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		c := append([]byte{}, b...)
		for i := rapid.IntRange(1, 4).Draw(t, "n"); i > 0; i-- {
			c[rapid.IntRange(8, len(c)-1).Draw(t, "at")] = rapid.Byte().Draw(t, "v")
		}
		if m, err := Decode(c); err == nil {
			roundTrip(t, m)
		}
	})
}

// TestHugeCounts checks that counts the input cannot back are refused before anything
// is allocated for them.
func TestHugeCounts(t *testing.T) {
	okType := sec(1, 1, 0x60, 0, 0)
	inputs := [][]byte{
		bin(sec(1, 0xff, 0xff, 0xff, 0xff, 0x0f)),
		bin(sec(2, 0xff, 0xff, 0xff, 0xff, 0x0f)),
		bin(sec(3, 0xff, 0xff, 0xff, 0xff, 0x0f)),
		bin(sec(10, 0xff, 0xff, 0xff, 0xff, 0x0f)),
		bin(okType, sec(3, 1, 0), sec(10, 1, 8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b, 0)),
		bin(okType, sec(3, 1, 0), sec(10, 1, 8, 0, 0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b)),
		bin(sec(11, 1, 0, 0x41, 0, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x0f)),
	}
	for i, in := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(in)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("input %d decoded", i)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
			t.Fatalf("input %d (%d bytes): %d bytes allocated", i, len(in), d)
		}
	}
	// A local declaration of 2^32-1 locals is representable without allocation.
	m, err := Decode(bin(okType, sec(3, 1, 0), sec(10, 1, 8, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b)))
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Code[0].NumLocals(); n != 0xffffffff {
		t.Fatalf("NumLocals = %d", n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range corpus(f) {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add(Encode(everything()))
	f.Add(bin(sec(1, 1, 0x60, 0, 0), sec(3, 1, 0), sec(10, 1, 5, 0, 0x02, 0x40, 0x0b, 0x0b)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			var de *DecodeError
			var ue *UnsupportedError
			if !errors.As(err, &de) && !errors.As(err, &ue) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		roundTrip(t, m)
	})
}

func BenchmarkDecode(b *testing.B) {
	in, err := readTestdata("rust-wasi.wasm")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	in, err := readTestdata("rust-wasi.wasm")
	if err != nil {
		b.Fatal(err)
	}
	m, err := Decode(in)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Encode(m)
	}
}

func TestCodeSize(t *testing.T) {
	check := func(t fataler, m *Module) {
		for i := range m.Code {
			if got, want := CodeSize(&m.Code[i]), len(AppendCode(nil, &m.Code[i])); got != want {
				t.Fatalf("function %d: CodeSize %d, encoding is %d bytes", i, got, want)
			}
		}
	}
	for _, b := range corpus(t) {
		m, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		check(t, m)
	}
	check(t, everything())
	rapid.Check(t, func(t *rapid.T) { check(t, genModule(t)) })
}
