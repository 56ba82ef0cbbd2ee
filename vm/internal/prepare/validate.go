package prepare

import (
	"fmt"
	"strings"

	"github.com/wnode/wnode/vm/internal/wasm"
)

// PageSize is the size of a WebAssembly memory page.
const PageSize = 65536

// ReservedPrefix starts the names of the exports the instrumenter adds; contracts may not
// export names with it.
const ReservedPrefix = "__wnode"

// moduleInfo is what validation learns about a module and instrumentation needs.
type moduleInfo struct {
	m           *wasm.Module
	numImported int             // imported functions (all from HostModule)
	funcTypes   []wasm.FuncType // by function index
	globals     []wasm.GlobalType
	funcs       []funcInfo // by defined function
	hostNames   []string   // imported host functions, in import order
	blocks      uint64     // control instructions of all functions

	instrumented bool
}

// funcInfo describes one defined function.
type funcInfo struct {
	locals   []wasm.ValType // params then declared locals
	maxStack int            // maximum operand stack height
}

// frameCost returns the stack cost of one call of the function.
func (f *funcInfo) frameCost() uint64 {
	return FrameOverhead + uint64(len(f.locals)) + uint64(f.maxStack)
}

func funcWhere(idx int) string { return fmt.Sprintf("function %d", idx) }

// validate checks m against wnode's rules and WebAssembly validation. instrumented allows
// the exports the instrumenter adds (for tests that re-validate its output).
func validate(m *wasm.Module, l *Limits, instrumented bool) (*moduleInfo, error) {
	mi := &moduleInfo{m: m, instrumented: instrumented}
	if err := mi.validateTypes(l); err != nil {
		return nil, err
	}
	if err := mi.validateImports(l); err != nil {
		return nil, err
	}
	if err := mi.validateFunctions(l); err != nil {
		return nil, err
	}
	if err := mi.validateTableAndMemory(l); err != nil {
		return nil, err
	}
	if err := mi.validateGlobals(l); err != nil {
		return nil, err
	}
	if err := mi.validateExports(l); err != nil {
		return nil, err
	}
	if m.HasStart {
		return nil, errorf(RuleStart, "module", "start function %d not allowed (run code in init instead)", m.Start)
	}
	if err := mi.validateElements(l); err != nil {
		return nil, err
	}
	if err := mi.validateData(l); err != nil {
		return nil, err
	}
	if err := mi.validateCode(l); err != nil {
		return nil, err
	}
	return mi, nil
}

func (mi *moduleInfo) validateTypes(l *Limits) error {
	m := mi.m
	if uint64(len(m.Types)) > uint64(l.MaxTypes) {
		return errorf(RuleTypes, "module", "%d types exceed limit %d", len(m.Types), l.MaxTypes)
	}
	for i, t := range m.Types {
		if uint64(len(t.Params)) > uint64(l.MaxParams) {
			return errorf(RuleTypes, fmt.Sprintf("type %d", i), "%d parameters exceed limit %d", len(t.Params), l.MaxParams)
		}
		if uint64(len(t.Results)) > uint64(l.MaxResults) {
			return errorf(RuleTypes, fmt.Sprintf("type %d", i), "%d results exceed limit %d", len(t.Results), l.MaxResults)
		}
	}
	return nil
}

func (mi *moduleInfo) validateImports(l *Limits) error {
	m := mi.m
	if uint64(len(m.Imports)) > uint64(l.MaxImports) {
		return errorf(RuleFunctions, "module", "%d imports exceed limit %d", len(m.Imports), l.MaxImports)
	}
	for i, im := range m.Imports {
		where := fmt.Sprintf("import %d (%s.%s)", i, im.Module, im.Name)
		if uint64(len(im.Module)) > uint64(l.MaxNameLength) || uint64(len(im.Name)) > uint64(l.MaxNameLength) {
			return errorf(RuleImport, fmt.Sprintf("import %d", i), "name longer than %d bytes", l.MaxNameLength)
		}
		if im.Kind != wasm.KindFunc {
			return errorf(RuleImport, where, "imported %s not allowed: contracts import only functions", im.Kind)
		}
		if im.Module != HostModule {
			return errorf(RuleImport, where, "module %q not allowed: contracts import only from %q", im.Module, HostModule)
		}
		want, ok := HostFuncs[im.Name]
		if !ok {
			return errorf(RuleImport, where, "unknown host function %q (not in ABI v1)", im.Name)
		}
		if uint64(im.Func) >= uint64(len(m.Types)) {
			return errorf(RuleInvalid, where, "type index %d out of range (%d types)", im.Func, len(m.Types))
		}
		if got := m.Types[im.Func]; !got.Equal(want) {
			return errorf(RuleImport, where, "signature %s, ABI v1 requires %s", got, want)
		}
		mi.funcTypes = append(mi.funcTypes, m.Types[im.Func])
		mi.hostNames = append(mi.hostNames, im.Name)
	}
	mi.numImported = len(m.Imports)
	return nil
}

func (mi *moduleInfo) validateFunctions(l *Limits) error {
	m := mi.m
	if total := uint64(len(m.Imports)) + uint64(len(m.Funcs)); total > uint64(l.MaxFunctions) {
		return errorf(RuleFunctions, "module", "%d functions exceed limit %d", total, l.MaxFunctions)
	}
	for i, ti := range m.Funcs {
		if uint64(ti) >= uint64(len(m.Types)) {
			return errorf(RuleInvalid, funcWhere(mi.numImported+i), "type index %d out of range (%d types)", ti, len(m.Types))
		}
		mi.funcTypes = append(mi.funcTypes, m.Types[ti])
	}
	return nil
}

func (mi *moduleInfo) validateTableAndMemory(l *Limits) error {
	m := mi.m
	if len(m.Tables) > 1 {
		return &Error{Rule: RuleFeature, Where: "module", Msg: fmt.Sprintf("%d tables: reference types (more than one table) not allowed", len(m.Tables))}
	}
	for i, t := range m.Tables {
		where := fmt.Sprintf("table %d", i)
		if t.Limits.Min > l.MaxTableSize {
			return errorf(RuleTable, where, "initial size %d exceeds limit %d", t.Limits.Min, l.MaxTableSize)
		}
		if t.Limits.HasMax && t.Limits.Max < t.Limits.Min {
			return errorf(RuleInvalid, where, "maximum %d below minimum %d", t.Limits.Max, t.Limits.Min)
		}
	}
	switch len(m.Memories) {
	case 0:
		return errorf(RuleMemory, "module", "no memory: a contract must define and export one memory")
	case 1:
	default:
		return &Error{Rule: RuleFeature, Where: "module", Msg: fmt.Sprintf("%d memories: multi-memory not allowed", len(m.Memories))}
	}
	mem := m.Memories[0]
	if mem.Min > l.MaxMemoryPages {
		return errorf(RuleMemory, "memory 0", "initial size %d pages exceeds limit %d pages", mem.Min, l.MaxMemoryPages)
	}
	if mem.HasMax {
		if mem.Max < mem.Min {
			return errorf(RuleInvalid, "memory 0", "maximum %d below minimum %d", mem.Max, mem.Min)
		}
		if mem.Max > l.MaxMemoryPages {
			return errorf(RuleMemory, "memory 0", "maximum size %d pages exceeds limit %d pages", mem.Max, l.MaxMemoryPages)
		}
	}
	return nil
}

// constType returns the type of a constant expression allowed in a global initializer or
// segment offset: a number constant. global.get could only name an imported global, and
// contracts import none.
func (mi *moduleInfo) constType(e wasm.ConstExpr) (wasm.ValType, error) {
	switch e.Op {
	case wasm.OpI32Const:
		return wasm.I32, nil
	case wasm.OpI64Const:
		return wasm.I64, nil
	case wasm.OpF32Const:
		return wasm.F32, nil
	case wasm.OpF64Const:
		return wasm.F64, nil
	case wasm.OpGlobalGet:
		return 0, fmt.Errorf("global.get %d in a constant expression refers to a non-imported global", e.Imm)
	}
	return 0, fmt.Errorf("%s in a constant expression not allowed", e.Op)
}

func (mi *moduleInfo) validateGlobals(l *Limits) error {
	m := mi.m
	if uint64(len(m.Globals)) > uint64(l.MaxGlobals) {
		return errorf(RuleGlobals, "module", "%d globals exceed limit %d", len(m.Globals), l.MaxGlobals)
	}
	for i, g := range m.Globals {
		where := fmt.Sprintf("global %d", i)
		t, err := mi.constType(g.Init)
		if err != nil {
			return errorf(RuleInvalid, where, "%v", err)
		}
		if t != g.Type.Type {
			return errorf(RuleInvalid, where, "initializer of type %s for a global of type %s", t, g.Type.Type)
		}
		mi.globals = append(mi.globals, g.Type)
	}
	return nil
}

var methodType = wasm.FuncType{}

func (mi *moduleInfo) validateExports(l *Limits) error {
	m := mi.m
	if uint64(len(m.Exports)) > uint64(l.MaxExports) {
		return errorf(RuleExports, "module", "%d exports exceed limit %d", len(m.Exports), l.MaxExports)
	}
	seen := make(map[string]bool, len(m.Exports))
	memory := false
	for i, ex := range m.Exports {
		where := fmt.Sprintf("export %q", ex.Name)
		if uint64(len(ex.Name)) > uint64(l.MaxNameLength) {
			return errorf(RuleExports, fmt.Sprintf("export %d", i), "name of %d bytes exceeds limit %d", len(ex.Name), l.MaxNameLength)
		}
		if seen[ex.Name] {
			return errorf(RuleInvalid, where, "duplicate export name")
		}
		seen[ex.Name] = true
		if strings.HasPrefix(ex.Name, ReservedPrefix) && !mi.instrumented {
			return errorf(RuleExport, where, "names starting with %q are reserved for the instrumenter", ReservedPrefix)
		}
		var n int
		switch ex.Kind {
		case wasm.KindFunc:
			n = len(mi.funcTypes)
		case wasm.KindTable:
			n = len(m.Tables)
		case wasm.KindMemory:
			n = len(m.Memories)
		case wasm.KindGlobal:
			n = len(m.Globals)
		}
		if uint64(ex.Index) >= uint64(n) {
			return errorf(RuleInvalid, where, "%s index %d out of range (%d)", ex.Kind, ex.Index, n)
		}
		switch {
		case ex.Name == "memory":
			if ex.Kind != wasm.KindMemory {
				return errorf(RuleExport, where, "\"memory\" must export the memory, not a %s", ex.Kind)
			}
			memory = true
		case ex.Kind == wasm.KindFunc && !strings.HasPrefix(ex.Name, "_"):
			if t := mi.funcTypes[ex.Index]; !t.Equal(methodType) {
				return errorf(RuleExport, where, "method has type %s, contract methods must be () -> ()", t)
			}
		}
	}
	if !memory {
		return errorf(RuleExport, "module", "no \"memory\" export: a contract must export its memory")
	}
	return nil
}

func (mi *moduleInfo) validateElements(l *Limits) error {
	m := mi.m
	if uint64(len(m.Elements)) > uint64(l.MaxElemSegments) {
		return errorf(RuleTable, "module", "%d element segments exceed limit %d", len(m.Elements), l.MaxElemSegments)
	}
	for i := range m.Elements {
		e := &m.Elements[i]
		where := fmt.Sprintf("element segment %d", i)
		if !e.Active() || e.Flags&wasm.ElemExpressions != 0 {
			return &Error{Rule: RuleFeature, Where: where, Msg: fmt.Sprintf("reference types (element segment form %d) not allowed: only active segments of function indices", e.Flags)}
		}
		if e.Table != 0 || len(m.Tables) == 0 {
			return errorf(RuleInvalid, where, "table %d does not exist", e.Table)
		}
		if e.Offset.Op != wasm.OpI32Const {
			if _, err := mi.constType(e.Offset); err != nil {
				return errorf(RuleInvalid, where, "offset: %v", err)
			}
			return errorf(RuleInvalid, where, "offset must be an i32 constant")
		}
		for j, f := range e.Funcs {
			if uint64(f) >= uint64(len(mi.funcTypes)) {
				return errorf(RuleInvalid, where, "element %d: function index %d out of range (%d functions)", j, f, len(mi.funcTypes))
			}
		}
		off := uint64(uint32(e.Offset.Imm))
		if end := off + uint64(len(e.Funcs)); end > uint64(m.Tables[0].Limits.Min) {
			return errorf(RuleTable, where, "elements %d..%d exceed the table's %d entries", off, end, m.Tables[0].Limits.Min)
		}
	}
	return nil
}

func (mi *moduleInfo) validateData(l *Limits) error {
	m := mi.m
	if uint64(len(m.Data)) > uint64(l.MaxDataSegments) {
		return errorf(RuleData, "module", "%d data segments exceed limit %d", len(m.Data), l.MaxDataSegments)
	}
	var total uint64
	memBytes := uint64(m.Memories[0].Min) * PageSize
	for i := range m.Data {
		d := &m.Data[i]
		where := fmt.Sprintf("data segment %d", i)
		total += uint64(len(d.Init))
		if total > uint64(l.MaxDataSize) {
			return errorf(RuleData, where, "data segments total more than %d bytes", l.MaxDataSize)
		}
		if d.Flags == wasm.DataPassive {
			continue
		}
		if d.Memory != 0 {
			return &Error{Rule: RuleFeature, Where: where, Msg: fmt.Sprintf("multi-memory not allowed: memory %d", d.Memory)}
		}
		if d.Offset.Op != wasm.OpI32Const {
			if _, err := mi.constType(d.Offset); err != nil {
				return errorf(RuleInvalid, where, "offset: %v", err)
			}
			return errorf(RuleInvalid, where, "offset must be an i32 constant")
		}
		off := uint64(uint32(d.Offset.Imm))
		if end := off + uint64(len(d.Init)); end > memBytes {
			return errorf(RuleMemory, where, "bytes %d..%d exceed the initial memory of %d bytes", off, end, memBytes)
		}
	}
	return nil
}

func (mi *moduleInfo) validateCode(l *Limits) error {
	m := mi.m
	mi.funcs = make([]funcInfo, len(m.Code))
	c := &checker{mi: mi, l: l}
	for i := range m.Code {
		idx := mi.numImported + i
		code := &m.Code[i]
		typ := mi.funcTypes[idx]
		if n := uint64(len(typ.Params)) + code.NumLocals(); n > uint64(l.MaxLocals) {
			return errorf(RuleLocals, funcWhere(idx), "local count %d exceeds limit %d", n, l.MaxLocals)
		}
		if size := wasm.CodeSize(code); uint64(size) > uint64(l.MaxFunctionSize) {
			return errorf(RuleFunctionSize, funcWhere(idx), "body of %d bytes exceeds limit %d", size, l.MaxFunctionSize)
		}
		f := &mi.funcs[i]
		f.locals = make([]wasm.ValType, 0, len(typ.Params)+int(code.NumLocals()))
		f.locals = append(f.locals, typ.Params...)
		for _, d := range code.Locals {
			for k := uint32(0); k < d.Count; k++ {
				f.locals = append(f.locals, d.Type)
			}
		}
		max, err := c.check(idx, typ, f.locals, code)
		if err != nil {
			return err
		}
		f.maxStack = max
		mi.blocks += c.blocks
		if cost := f.frameCost(); cost > uint64(l.MaxStackHeight) {
			return errorf(RuleStack, funcWhere(idx), "frame of %d stack slots exceeds the stack limit of %d", cost, l.MaxStackHeight)
		}
	}
	return nil
}
