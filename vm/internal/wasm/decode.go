package wasm

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Magic and Version are the first eight bytes of every module.
var (
	Magic   = []byte{0x00, 0x61, 0x73, 0x6d}
	Version = []byte{0x01, 0x00, 0x00, 0x00}
)

// reader reads buf[pos:end]; errors carry absolute offsets and the current context.
type reader struct {
	buf     []byte
	pos     int
	end     int
	context string
	fn      int // 1 + index of the function whose body is being read; 0 outside bodies
}

func (r *reader) where() string {
	if r.fn > 0 {
		return fmt.Sprintf("%s: function %d", r.context, r.fn-1)
	}
	return r.context
}

func (r *reader) errAt(off int, format string, args ...any) error {
	return &DecodeError{Offset: off, Context: r.where(), Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) unsupported(off int, feature, format string, args ...any) error {
	return &UnsupportedError{Offset: off, Context: r.where(), Feature: feature, What: fmt.Sprintf(format, args...)}
}

func (r *reader) left() int { return r.end - r.pos }

func (r *reader) byte() (byte, error) {
	if r.pos >= r.end {
		return 0, r.errAt(r.pos, "unexpected end of input")
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, r.errAt(r.pos, "length %d exceeds the %d bytes left", n, r.left())
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

// count reads a vector length and checks that the bytes left can hold that many elements
// of at least minSize bytes each, so that nothing is allocated for counts the input cannot
// back.
func (r *reader) count(what string, minSize int) (int, error) {
	off := r.pos
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(r.left()) {
		return 0, r.errAt(off, "%s count %d exceeds the %d bytes left", what, n, r.left())
	}
	return int(n), nil
}

func (r *reader) name(what string) (string, error) {
	off := r.pos
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(r.left()) {
		return "", r.errAt(off, "%s length %d exceeds the %d bytes left", what, n, r.left())
	}
	b, _ := r.bytes(int(n))
	if !utf8.Valid(b) {
		return "", r.errAt(off, "%s is not valid UTF-8", what)
	}
	return string(b), nil
}

func (r *reader) valType() (ValType, error) {
	off := r.pos
	b, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch t := ValType(b); t {
	case I32, I64, F32, F64:
		return t, nil
	case V128:
		return 0, r.unsupported(off, FeatureSIMD, "value type v128")
	case FuncRef, ExternRef:
		return 0, r.unsupported(off, FeatureRefTypes, "value type %s", t)
	}
	return 0, r.errAt(off, "invalid value type 0x%02x", b)
}

// Decode decodes a binary module. It keeps custom sections. Errors are *DecodeError or
// *UnsupportedError. Decode's memory use is bounded by a small multiple of len(b).
func Decode(b []byte) (*Module, error) {
	r := &reader{buf: b, end: len(b)}
	head, err := r.bytes(8)
	if err != nil {
		return nil, r.errAt(0, "input of %d bytes is too short for a module header", len(b))
	}
	if string(head[:4]) != string(Magic) {
		return nil, r.errAt(0, "bad magic number % x (want 00 61 73 6d)", head[:4])
	}
	if string(head[4:]) != string(Version) {
		return nil, r.errAt(4, "unsupported binary version % x (want 01 00 00 00)", head[4:])
	}
	m := &Module{}
	var last SectionID // last non-custom section seen
	seen := [SectionTag + 1]bool{}
	funcCount := -1
	for r.pos < r.end {
		r.context = ""
		off := r.pos
		idByte, _ := r.byte()
		id := SectionID(idByte)
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.left()) {
			return nil, r.errAt(off, "section %s: size %d exceeds the %d bytes left", id, size, r.left())
		}
		if id > SectionTag {
			return nil, r.errAt(off, "unknown section id %d", idByte)
		}
		r.context = id.String() + " section"
		if id == SectionTag {
			return nil, r.unsupported(off, FeatureExceptions, "tag section")
		}
		if id != SectionCustom {
			if seen[id] {
				return nil, r.errAt(off, "duplicate %s section", id)
			}
			if last != 0 && id.order() < last.order() {
				return nil, r.errAt(off, "%s section after %s section is out of order", id, last)
			}
			seen[id] = true
			last = id
		}
		s := &reader{buf: r.buf, pos: r.pos, end: r.pos + int(size), context: r.context}
		r.pos = s.end
		switch id {
		case SectionCustom:
			err = s.customSection(m, last)
		case SectionType:
			err = s.typeSection(m)
		case SectionImport:
			err = s.importSection(m)
		case SectionFunction:
			err = s.functionSection(m)
			funcCount = len(m.Funcs)
		case SectionTable:
			err = s.tableSection(m)
		case SectionMemory:
			err = s.memorySection(m)
		case SectionGlobal:
			err = s.globalSection(m)
		case SectionExport:
			err = s.exportSection(m)
		case SectionStart:
			m.Start, err = s.u32()
			m.HasStart = true
		case SectionElement:
			err = s.elementSection(m)
		case SectionDataCount:
			m.DataCount, err = s.u32()
			m.HasDataCount = true
		case SectionCode:
			err = s.codeSection(m)
		case SectionData:
			err = s.dataSection(m)
		}
		if err != nil {
			return nil, err
		}
		if s.pos != s.end {
			return nil, s.errAt(s.pos, "%d unread bytes at the end of the section (declared size %d)", s.end-s.pos, size)
		}
	}
	r.context = ""
	if funcCount < 0 {
		funcCount = 0
	}
	if funcCount != len(m.Code) {
		return nil, r.errAt(len(b), "function section declares %d functions but the code section has %d bodies", funcCount, len(m.Code))
	}
	if m.HasDataCount && int(m.DataCount) != len(m.Data) {
		return nil, r.errAt(len(b), "data count section says %d segments but the data section has %d", m.DataCount, len(m.Data))
	}
	return m, nil
}

func (r *reader) customSection(m *Module, after SectionID) error {
	name, err := r.name("custom section name")
	if err != nil {
		return err
	}
	data, _ := r.bytes(r.left())
	m.Customs = append(m.Customs, Custom{Name: name, Data: clone(data), After: after})
	return nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (r *reader) typeSection(m *Module) error {
	n, err := r.count("type", 3)
	if err != nil || n == 0 {
		return err
	}
	m.Types = make([]FuncType, n)
	for i := range m.Types {
		off := r.pos
		form, err := r.byte()
		if err != nil {
			return err
		}
		switch form {
		case 0x60:
		case 0x5e, 0x5f, 0x4e, 0x4f, 0x50:
			return r.unsupported(off, FeatureGC, "type %d: composite type form 0x%02x", i, form)
		default:
			return r.errAt(off, "type %d: invalid function type form 0x%02x (want 0x60)", i, form)
		}
		if m.Types[i].Params, err = r.valTypes("parameter"); err != nil {
			return err
		}
		if m.Types[i].Results, err = r.valTypes("result"); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) valTypes(what string) ([]ValType, error) {
	n, err := r.count(what, 1)
	if err != nil || n == 0 {
		return nil, err
	}
	ts := make([]ValType, n)
	for i := range ts {
		if ts[i], err = r.valType(); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (r *reader) importSection(m *Module) error {
	n, err := r.count("import", 4)
	if err != nil || n == 0 {
		return err
	}
	m.Imports = make([]Import, n)
	for i := range m.Imports {
		im := &m.Imports[i]
		if im.Module, err = r.name("import module name"); err != nil {
			return err
		}
		if im.Name, err = r.name("import name"); err != nil {
			return err
		}
		off := r.pos
		kind, err := r.byte()
		if err != nil {
			return err
		}
		im.Kind = ExternKind(kind)
		switch im.Kind {
		case KindFunc:
			im.Func, err = r.u32()
		case KindTable:
			im.Table, err = r.tableType()
		case KindMemory:
			im.Memory, err = r.limits(true)
		case KindGlobal:
			im.Global, err = r.globalType()
		case 4:
			return r.unsupported(off, FeatureExceptions, "import %d: tag import", i)
		default:
			return r.errAt(off, "import %d: invalid import kind 0x%02x", i, kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) functionSection(m *Module) error {
	n, err := r.count("function", 1)
	if err != nil || n == 0 {
		return err
	}
	m.Funcs = make([]uint32, n)
	for i := range m.Funcs {
		if m.Funcs[i], err = r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) limits(memory bool) (Limits, error) {
	off := r.pos
	flags, err := r.byte()
	if err != nil {
		return Limits{}, err
	}
	switch {
	case flags <= 1:
	case flags&0x02 != 0 && flags < 4:
		return Limits{}, r.unsupported(off, FeatureThreads, "shared memory (limits flags 0x%02x)", flags)
	case flags&0x04 != 0 && flags < 8:
		return Limits{}, r.unsupported(off, FeatureMemory64, "64-bit limits (flags 0x%02x)", flags)
	case memory && flags&0x08 != 0 && flags < 16:
		return Limits{}, r.unsupported(off, FeaturePageSizes, "limits flags 0x%02x", flags)
	default:
		return Limits{}, r.errAt(off, "invalid limits flags 0x%02x", flags)
	}
	var l Limits
	if l.Min, err = r.u32(); err != nil {
		return l, err
	}
	if flags == 1 {
		l.HasMax = true
		if l.Max, err = r.u32(); err != nil {
			return l, err
		}
	}
	return l, nil
}

func (r *reader) tableType() (TableType, error) {
	off := r.pos
	b, err := r.byte()
	if err != nil {
		return TableType{}, err
	}
	switch ValType(b) {
	case FuncRef:
	case ExternRef:
		return TableType{}, r.unsupported(off, FeatureRefTypes, "externref table")
	case 0x40, 0x63, 0x64:
		return TableType{}, r.unsupported(off, FeatureFuncRefs, "table type 0x%02x", b)
	default:
		return TableType{}, r.errAt(off, "invalid table element type 0x%02x", b)
	}
	l, err := r.limits(false)
	return TableType{Elem: FuncRef, Limits: l}, err
}

func (r *reader) tableSection(m *Module) error {
	n, err := r.count("table", 3)
	if err != nil || n == 0 {
		return err
	}
	m.Tables = make([]TableType, n)
	for i := range m.Tables {
		if m.Tables[i], err = r.tableType(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) memorySection(m *Module) error {
	n, err := r.count("memory", 2)
	if err != nil || n == 0 {
		return err
	}
	m.Memories = make([]Limits, n)
	for i := range m.Memories {
		if m.Memories[i], err = r.limits(true); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) globalType() (GlobalType, error) {
	t, err := r.valType()
	if err != nil {
		return GlobalType{}, err
	}
	off := r.pos
	mut, err := r.byte()
	if err != nil {
		return GlobalType{}, err
	}
	if mut > 1 {
		return GlobalType{}, r.errAt(off, "invalid global mutability 0x%02x", mut)
	}
	return GlobalType{Type: t, Mutable: mut == 1}, nil
}

func (r *reader) globalSection(m *Module) error {
	n, err := r.count("global", 4)
	if err != nil || n == 0 {
		return err
	}
	m.Globals = make([]Global, n)
	for i := range m.Globals {
		if m.Globals[i].Type, err = r.globalType(); err != nil {
			return err
		}
		if m.Globals[i].Init, err = r.constExpr(); err != nil {
			return err
		}
	}
	return nil
}

// constExpr reads a constant expression: one instruction and end.
func (r *reader) constExpr() (ConstExpr, error) {
	off := r.pos
	b, err := r.byte()
	if err != nil {
		return ConstExpr{}, err
	}
	e := ConstExpr{Op: Opcode(b)}
	switch e.Op {
	case OpI32Const:
		v, err := r.s32()
		if err != nil {
			return e, err
		}
		e.Imm = uint64(int64(v))
	case OpI64Const:
		v, err := r.s64()
		if err != nil {
			return e, err
		}
		e.Imm = uint64(v)
	case OpF32Const:
		v, err := r.bytes(4)
		if err != nil {
			return e, err
		}
		e.Imm = uint64(binary.LittleEndian.Uint32(v))
	case OpF64Const:
		v, err := r.bytes(8)
		if err != nil {
			return e, err
		}
		e.Imm = binary.LittleEndian.Uint64(v)
	case OpGlobalGet, OpRefFunc:
		v, err := r.u32()
		if err != nil {
			return e, err
		}
		e.Imm = uint64(v)
	case OpRefNull:
		t, err := r.byte()
		if err != nil {
			return e, err
		}
		if ValType(t) != FuncRef && ValType(t) != ExternRef {
			return e, r.errAt(off+1, "invalid reference type 0x%02x in ref.null", t)
		}
		e.Imm = uint64(t)
	case 0xfd:
		return e, r.unsupported(off, FeatureSIMD, "v128.const in a constant expression")
	default:
		return e, r.errAt(off, "invalid constant expression opcode 0x%02x", b)
	}
	endOff := r.pos
	end, err := r.byte()
	if err != nil {
		return e, err
	}
	if Opcode(end) != OpEnd {
		switch Opcode(end) {
		case OpI32Add, OpI32Sub, OpI32Mul, OpI64Add, OpI64Sub, OpI64Mul, OpI32Const, OpI64Const, OpGlobalGet:
			return e, r.unsupported(endOff, FeatureExtendedConst, "opcode 0x%02x", end)
		}
		return e, r.errAt(endOff, "constant expression not terminated by end (found 0x%02x)", end)
	}
	return e, nil
}

func (r *reader) exportSection(m *Module) error {
	n, err := r.count("export", 3)
	if err != nil || n == 0 {
		return err
	}
	m.Exports = make([]Export, n)
	for i := range m.Exports {
		ex := &m.Exports[i]
		if ex.Name, err = r.name("export name"); err != nil {
			return err
		}
		off := r.pos
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if kind == 4 {
			return r.unsupported(off, FeatureExceptions, "export %q: tag export", ex.Name)
		}
		if kind > 3 {
			return r.errAt(off, "export %q: invalid export kind 0x%02x", ex.Name, kind)
		}
		ex.Kind = ExternKind(kind)
		if ex.Index, err = r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) elementSection(m *Module) error {
	n, err := r.count("element segment", 2)
	if err != nil || n == 0 {
		return err
	}
	m.Elements = make([]Element, n)
	for i := range m.Elements {
		e := &m.Elements[i]
		off := r.pos
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return r.errAt(off, "element segment %d: invalid flags %d", i, flags)
		}
		e.Flags = byte(flags)
		e.Type = FuncRef
		active := flags&ElemPassiveOrDeclarative == 0
		if active && flags&ElemExplicitTable != 0 {
			if e.Table, err = r.u32(); err != nil {
				return err
			}
		}
		if active {
			if e.Offset, err = r.constExpr(); err != nil {
				return err
			}
		}
		// Forms 0 and 4 have an implicit type; the others spell it.
		if flags != 0 && flags != 4 {
			toff := r.pos
			t, err := r.byte()
			if err != nil {
				return err
			}
			if flags&ElemExpressions == 0 {
				if t != 0x00 {
					return r.errAt(toff, "element segment %d: invalid element kind 0x%02x", i, t)
				}
			} else {
				switch ValType(t) {
				case FuncRef, ExternRef:
					e.Type = ValType(t)
				default:
					return r.errAt(toff, "element segment %d: invalid reference type 0x%02x", i, t)
				}
			}
		}
		if flags&ElemExpressions == 0 {
			k, err := r.count("element", 1)
			if err != nil {
				return err
			}
			if k > 0 {
				e.Funcs = make([]uint32, k)
			}
			for j := range e.Funcs {
				if e.Funcs[j], err = r.u32(); err != nil {
					return err
				}
			}
		} else {
			k, err := r.count("element expression", 2)
			if err != nil {
				return err
			}
			if k > 0 {
				e.Exprs = make([]ConstExpr, k)
			}
			for j := range e.Exprs {
				if e.Exprs[j], err = r.constExpr(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *reader) dataSection(m *Module) error {
	n, err := r.count("data segment", 2)
	if err != nil || n == 0 {
		return err
	}
	m.Data = make([]Data, n)
	for i := range m.Data {
		d := &m.Data[i]
		off := r.pos
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case DataActive:
		case DataPassive:
		case DataActiveExplicit:
			if d.Memory, err = r.u32(); err != nil {
				return err
			}
		default:
			return r.errAt(off, "data segment %d: invalid flags %d", i, flags)
		}
		d.Flags = byte(flags)
		if flags != DataPassive {
			if d.Offset, err = r.constExpr(); err != nil {
				return err
			}
		}
		loff := r.pos
		k, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(k) > uint64(r.left()) {
			return r.errAt(loff, "data segment %d: length %d exceeds the %d bytes left", i, k, r.left())
		}
		b, _ := r.bytes(int(k))
		d.Init = clone(b)
	}
	return nil
}

func (r *reader) codeSection(m *Module) error {
	n, err := r.count("function body", 3)
	if err != nil {
		return err
	}
	if n > 0 {
		m.Code = make([]Code, n)
	}
	base := m.NumImported(KindFunc)
	for i := range m.Code {
		r.fn = base + i + 1
		off := r.pos
		size, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(size) > uint64(r.left()) {
			return r.errAt(off, "body size %d exceeds the %d bytes left", size, r.left())
		}
		body := &reader{buf: r.buf, pos: r.pos, end: r.pos + int(size), context: r.context, fn: r.fn}
		r.pos = body.end
		if err := body.code(&m.Code[i]); err != nil {
			return err
		}
	}
	r.fn = 0
	return nil
}

func (r *reader) code(c *Code) error {
	n, err := r.count("local declaration", 2)
	if err != nil {
		return err
	}
	if n > 0 {
		c.Locals = make([]LocalDecl, n)
	}
	for i := range c.Locals {
		if c.Locals[i].Count, err = r.u32(); err != nil {
			return err
		}
		if c.Locals[i].Type, err = r.valType(); err != nil {
			return err
		}
	}
	// Instructions average about two bytes; start there to limit regrowth.
	c.Body = make([]Instr, 0, r.left()/2+1)
	for r.pos < r.end {
		in, err := r.instr(c)
		if err != nil {
			return err
		}
		c.Body = append(c.Body, in)
	}
	if len(c.Body) == 0 || c.Body[len(c.Body)-1].Op != OpEnd {
		return r.errAt(r.end, "function body does not end with end")
	}
	return nil
}

// memIndex reads a memory index immediate; anything but memory 0 is multi-memory.
func (r *reader) memIndex() (uint32, error) {
	off := r.pos
	v, err := r.u32()
	if err != nil {
		return 0, err
	}
	if v != 0 {
		return 0, r.unsupported(off, FeatureMultiMemory, "memory index %d", v)
	}
	return v, nil
}

func (r *reader) instr(c *Code) (Instr, error) {
	off := r.pos
	b, _ := r.byte()
	op := Opcode(b)
	switch b {
	case PrefixMisc:
		sub, err := r.u32()
		if err != nil {
			return Instr{}, err
		}
		if sub > 0xff {
			return Instr{}, r.errAt(off, "unknown instruction 0xfc %d", sub)
		}
		op = PrefixMisc<<8 | Opcode(sub)
	case 0xfd:
		return Instr{}, r.unsupported(off, FeatureSIMD, "opcode 0xfd")
	case 0xfe:
		return Instr{}, r.unsupported(off, FeatureThreads, "atomic opcode 0xfe")
	case 0xfb:
		return Instr{}, r.unsupported(off, FeatureGC, "opcode 0xfb")
	case 0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f:
		return Instr{}, r.unsupported(off, FeatureExceptions, "opcode 0x%02x", b)
	case 0x12, 0x13, 0x15:
		return Instr{}, r.unsupported(off, FeatureTailCalls, "opcode 0x%02x", b)
	case 0x14, 0xd3, 0xd4, 0xd5, 0xd6:
		return Instr{}, r.unsupported(off, FeatureFuncRefs, "opcode 0x%02x", b)
	}
	info := Info(op)
	if info == nil {
		return Instr{}, r.errAt(off, "unknown instruction %s", op)
	}
	if info.Feature != "" {
		return Instr{}, r.unsupported(off, info.Feature, "%s", info.Name)
	}
	in := Instr{Op: op}
	var err error
	switch info.Imm {
	case ImmNone:
	case ImmBlockType:
		var bt int64
		if bt, err = r.s33(); err != nil {
			return in, err
		}
		if bt < 0 {
			switch {
			case bt == BlockEmpty, bt >= BlockF64:
			case bt == BlockTypeOf(V128):
				return in, r.unsupported(off+1, FeatureSIMD, "block type v128")
			case bt == BlockTypeOf(FuncRef), bt == BlockTypeOf(ExternRef):
				return in, r.unsupported(off+1, FeatureRefTypes, "reference block type")
			default:
				return in, r.errAt(off+1, "invalid block type %d", bt)
			}
		}
		in.Imm = uint64(bt)
	case ImmIndex:
		var v uint32
		v, err = r.u32()
		in.Imm = uint64(v)
	case ImmBrTable:
		var n int
		if n, err = r.count("br_table label", 1); err != nil {
			return in, err
		}
		in.Imm, in.Imm2 = uint64(len(c.Targets)), uint32(n+1)
		for i := 0; i <= n; i++ {
			var l uint32
			if l, err = r.u32(); err != nil {
				return in, err
			}
			c.Targets = append(c.Targets, l)
		}
	case ImmCallIndir:
		var t uint32
		if t, err = r.u32(); err != nil {
			return in, err
		}
		in.Imm = uint64(t)
		in.Imm2, err = r.u32()
	case ImmSelectT:
		var n int
		coff := r.pos
		if n, err = r.count("select type", 1); err != nil {
			return in, err
		}
		if n != 1 {
			return in, r.errAt(coff, "typed select with %d types (want 1)", n)
		}
		var t ValType
		t, err = r.valType()
		in.Imm = uint64(t)
	case ImmMemArg:
		aoff := r.pos
		var align uint32
		if align, err = r.u32(); err != nil {
			return in, err
		}
		if align&0x40 != 0 {
			return in, r.unsupported(aoff, FeatureMultiMemory, "memory argument with a memory index")
		}
		in.Imm2 = align
		var o uint32
		o, err = r.u32()
		in.Imm = uint64(o)
	case ImmMemIndex:
		var v uint32
		v, err = r.memIndex()
		in.Imm = uint64(v)
	case ImmI32:
		var v int32
		v, err = r.s32()
		in.Imm = uint64(int64(v))
	case ImmI64:
		var v int64
		v, err = r.s64()
		in.Imm = uint64(v)
	case ImmF32:
		var v []byte
		v, err = r.bytes(4)
		if err == nil {
			in.Imm = uint64(binary.LittleEndian.Uint32(v))
		}
	case ImmF64:
		var v []byte
		v, err = r.bytes(8)
		if err == nil {
			in.Imm = binary.LittleEndian.Uint64(v)
		}
	case ImmMemoryInit:
		var d uint32
		if d, err = r.u32(); err != nil {
			return in, err
		}
		in.Imm = uint64(d)
		in.Imm2, err = r.memIndex()
	case ImmMemoryCopy:
		var d uint32
		if d, err = r.memIndex(); err != nil {
			return in, err
		}
		in.Imm = uint64(d)
		in.Imm2, err = r.memIndex()
	}
	return in, err
}
