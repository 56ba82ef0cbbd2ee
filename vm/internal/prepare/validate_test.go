package prepare

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

type I = wasm.Instr

func op(o wasm.Opcode) I                { return I{Op: o} }
func opImm(o wasm.Opcode, imm uint64) I { return I{Op: o, Imm: imm} }
func i32c(v int32) I                    { return wasm.I32Const(v) }
func blk(o wasm.Opcode, bt int64) I     { return I{Op: o, Imm: blockImm(bt)} }
func end() I                            { return op(wasm.OpEnd) }

// base returns a small valid contract: memory, one host import, one method.
func base() *wasm.Module {
	return &wasm.Module{
		Types: []wasm.FuncType{{}, {Results: []wasm.ValType{wasm.I32}}},
		Imports: []wasm.Import{
			{Module: "wnode", Name: "input_size", Kind: wasm.KindFunc, Func: 1},
		},
		Funcs:    []uint32{0},
		Memories: []wasm.Limits{{Min: 1}},
		Exports: []wasm.Export{
			{Name: "memory", Kind: wasm.KindMemory},
			{Name: "run", Kind: wasm.KindFunc, Index: 1},
		},
		Code: []wasm.Code{{Body: []I{opImm(wasm.OpCall, 0), op(wasm.OpDrop), end()}}},
	}
}

// withBody returns base with the method's body (and locals) replaced.
func withBody(locals []wasm.LocalDecl, body ...I) func(*wasm.Module) {
	return func(m *wasm.Module) {
		m.Code[0] = wasm.Code{Locals: locals, Body: append(body, end())}
	}
}

func nested(n int) []I {
	var b []I
	for i := 0; i < n; i++ {
		b = append(b, blk(wasm.OpBlock, wasm.BlockEmpty))
	}
	for i := 0; i < n; i++ {
		b = append(b, end())
	}
	return b
}

func TestValidateRules(t *testing.T) {
	l := DefaultLimits()
	cases := []struct {
		name   string
		mutate func(*wasm.Module)
		rule   Rule
		want   string
	}{
		{"too many types", func(m *wasm.Module) {
			for i := 0; i < int(l.MaxTypes); i++ {
				m.Types = append(m.Types, wasm.FuncType{})
			}
		}, RuleTypes, "module: 1026 types exceed limit 1024"},
		{"too many params", func(m *wasm.Module) {
			m.Types = append(m.Types, wasm.FuncType{Params: make([]wasm.ValType, 65)})
			for i := range m.Types[2].Params {
				m.Types[2].Params[i] = wasm.I32
			}
		}, RuleTypes, "type 2: 65 parameters exceed limit 64"},
		{"too many results", func(m *wasm.Module) {
			m.Types = append(m.Types, wasm.FuncType{Results: []wasm.ValType{wasm.I32, wasm.I32, wasm.I32, wasm.I32, wasm.I32, wasm.I32, wasm.I32, wasm.I32, wasm.I32}})
		}, RuleTypes, "9 results exceed limit 8"},
		{"import from another module", func(m *wasm.Module) { m.Imports[0].Module = "env" },
			RuleImport, `import 0 (env.input_size): module "env" not allowed`},
		{"wasi import", func(m *wasm.Module) { m.Imports[0].Module, m.Imports[0].Name = "wasi_snapshot_preview1", "fd_write" },
			RuleImport, "module \"wasi_snapshot_preview1\" not allowed"},
		{"unknown host function", func(m *wasm.Module) { m.Imports[0].Name = "self_destruct" },
			RuleImport, `unknown host function "self_destruct"`},
		{"wrong host signature", func(m *wasm.Module) { m.Imports[0].Name = "block_height" },
			RuleImport, "import 0 (wnode.block_height): signature () -> (i32), ABI v1 requires () -> (i64)"},
		{"imported memory", func(m *wasm.Module) {
			m.Imports = append(m.Imports, wasm.Import{Module: "wnode", Name: "mem", Kind: wasm.KindMemory, Memory: wasm.Limits{Min: 1}})
		}, RuleImport, "imported memory not allowed"},
		{"imported global", func(m *wasm.Module) {
			m.Imports = append(m.Imports, wasm.Import{Module: "wnode", Name: "g", Kind: wasm.KindGlobal, Global: wasm.GlobalType{Type: wasm.I32}})
		}, RuleImport, "imported global not allowed"},
		{"imported table", func(m *wasm.Module) {
			m.Imports = append(m.Imports, wasm.Import{Module: "wnode", Name: "t", Kind: wasm.KindTable, Table: wasm.TableType{Elem: wasm.FuncRef}})
		}, RuleImport, "imported table not allowed"},
		{"too many imports", func(m *wasm.Module) {
			for i := 0; i < int(l.MaxImports); i++ {
				m.Imports = append(m.Imports, m.Imports[0])
			}
		}, RuleFunctions, "129 imports exceed limit 128"},
		{"too many functions", func(m *wasm.Module) {
			for i := 0; i < int(l.MaxFunctions); i++ {
				m.Funcs = append(m.Funcs, 0)
				m.Code = append(m.Code, wasm.Code{Body: []I{end()}})
			}
		}, RuleFunctions, "10002 functions exceed limit 10000"},
		{"function type out of range", func(m *wasm.Module) { m.Funcs[0] = 9 }, RuleInvalid, "function 1: type index 9 out of range"},
		{"two tables", func(m *wasm.Module) {
			m.Tables = []wasm.TableType{{Elem: wasm.FuncRef}, {Elem: wasm.FuncRef}}
		}, RuleFeature, "2 tables"},
		{"huge table", func(m *wasm.Module) {
			m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: 1 << 30}}}
		}, RuleTable, "table 0: initial size 1073741824 exceeds limit 10000"},
		{"no memory", func(m *wasm.Module) { m.Memories = nil; m.Exports = m.Exports[1:] }, RuleMemory, "no memory"},
		{"two memories", func(m *wasm.Module) { m.Memories = append(m.Memories, wasm.Limits{}) }, RuleFeature, "multi-memory"},
		{"huge initial memory", func(m *wasm.Module) { m.Memories[0].Min = 65536 }, RuleMemory, "memory 0: initial size 65536 pages exceeds limit 256 pages"},
		{"huge maximum memory", func(m *wasm.Module) { m.Memories[0] = wasm.Limits{Min: 1, Max: 65536, HasMax: true} }, RuleMemory, "maximum size 65536 pages exceeds limit 256"},
		{"memory max below min", func(m *wasm.Module) { m.Memories[0] = wasm.Limits{Min: 2, Max: 1, HasMax: true} }, RuleInvalid, "maximum 1 below minimum 2"},
		{"too many globals", func(m *wasm.Module) {
			for i := 0; i <= int(l.MaxGlobals); i++ {
				m.Globals = append(m.Globals, wasm.Global{Type: wasm.GlobalType{Type: wasm.I32}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}})
			}
		}, RuleGlobals, "1025 globals exceed limit 1024"},
		{"global initializer type", func(m *wasm.Module) {
			m.Globals = []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I64}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}}}
		}, RuleInvalid, "global 0: initializer of type i32 for a global of type i64"},
		{"global initializer global.get", func(m *wasm.Module) {
			m.Globals = []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I32}, Init: wasm.ConstExpr{Op: wasm.OpGlobalGet}}}
		}, RuleInvalid, "non-imported global"},
		{"no memory export", func(m *wasm.Module) { m.Exports = m.Exports[1:] }, RuleExport, `no "memory" export`},
		{"memory export of a function", func(m *wasm.Module) { m.Exports[0] = wasm.Export{Name: "memory", Kind: wasm.KindFunc, Index: 1} }, RuleExport, `"memory" must export the memory`},
		{"method with params", func(m *wasm.Module) {
			m.Types = append(m.Types, wasm.FuncType{Params: []wasm.ValType{wasm.I32}})
			m.Funcs = append(m.Funcs, 2)
			m.Code = append(m.Code, wasm.Code{Body: []I{end()}})
			m.Exports = append(m.Exports, wasm.Export{Name: "add", Kind: wasm.KindFunc, Index: 2})
		}, RuleExport, `export "add": method has type (i32) -> (), contract methods must be () -> ()`},
		{"init with a result", func(m *wasm.Module) {
			m.Funcs = append(m.Funcs, 1)
			m.Code = append(m.Code, wasm.Code{Body: []I{i32c(0), end()}})
			m.Exports = append(m.Exports, wasm.Export{Name: "init", Kind: wasm.KindFunc, Index: 2})
		}, RuleExport, `export "init": method has type () -> (i32)`},
		{"reserved export name", func(m *wasm.Module) {
			m.Exports = append(m.Exports, wasm.Export{Name: "__wnode_gas", Kind: wasm.KindFunc, Index: 1})
		}, RuleExport, "reserved"},
		{"duplicate export", func(m *wasm.Module) { m.Exports = append(m.Exports, m.Exports[1]) }, RuleInvalid, `export "run": duplicate export name`},
		{"export index out of range", func(m *wasm.Module) { m.Exports[1].Index = 7 }, RuleInvalid, "function index 7 out of range"},
		{"long export name", func(m *wasm.Module) { m.Exports[1].Name = strings.Repeat("x", 257) }, RuleExports, "name of 257 bytes exceeds limit 256"},
		{"too many exports", func(m *wasm.Module) {
			for i := 0; i < int(l.MaxExports); i++ {
				m.Exports = append(m.Exports, wasm.Export{Name: "_" + strings.Repeat("x", i), Kind: wasm.KindFunc, Index: 1})
			}
		}, RuleExports, "1026 exports exceed limit 1024"},
		{"start function", func(m *wasm.Module) { m.HasStart, m.Start = true, 1 }, RuleStart, "start function 1 not allowed"},
		{"passive element segment", func(m *wasm.Module) {
			m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: 1}}}
			m.Elements = []wasm.Element{{Flags: 1, Type: wasm.FuncRef, Funcs: []uint32{1}}}
		}, RuleFeature, "element segment 0: reference types"},
		{"element segment beyond table", func(m *wasm.Module) {
			m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: 2}}}
			m.Elements = []wasm.Element{{Type: wasm.FuncRef, Offset: wasm.ConstExpr{Op: wasm.OpI32Const, Imm: 1}, Funcs: []uint32{1, 1}}}
		}, RuleTable, "element segment 0: elements 1..3 exceed the table's 2 entries"},
		{"element without table", func(m *wasm.Module) {
			m.Elements = []wasm.Element{{Type: wasm.FuncRef, Offset: wasm.ConstExpr{Op: wasm.OpI32Const}, Funcs: []uint32{1}}}
		}, RuleInvalid, "table 0 does not exist"},
		{"element function out of range", func(m *wasm.Module) {
			m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: 2}}}
			m.Elements = []wasm.Element{{Type: wasm.FuncRef, Offset: wasm.ConstExpr{Op: wasm.OpI32Const}, Funcs: []uint32{5}}}
		}, RuleInvalid, "function index 5 out of range"},
		{"too many element segments", func(m *wasm.Module) {
			m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: 2}}}
			for i := 0; i <= int(l.MaxElemSegments); i++ {
				m.Elements = append(m.Elements, wasm.Element{Type: wasm.FuncRef, Offset: wasm.ConstExpr{Op: wasm.OpI32Const}})
			}
		}, RuleTable, "1025 element segments exceed limit 1024"},
		{"data beyond memory", func(m *wasm.Module) {
			m.Data = []wasm.Data{{Offset: wasm.ConstExpr{Op: wasm.OpI32Const, Imm: 65535}, Init: []byte{1, 2}}}
		}, RuleMemory, "data segment 0: bytes 65535..65537 exceed the initial memory of 65536 bytes"},
		{"data offset negative", func(m *wasm.Module) {
			m.Data = []wasm.Data{{Offset: wasm.ConstExpr{Op: wasm.OpI32Const, Imm: ^uint64(0)}, Init: []byte{1}}}
		}, RuleMemory, "exceed the initial memory"},
		{"data offset not i32", func(m *wasm.Module) {
			m.Data = []wasm.Data{{Offset: wasm.ConstExpr{Op: wasm.OpI64Const}, Init: []byte{1}}}
		}, RuleInvalid, "offset must be an i32 constant"},
		{"too much data", func(m *wasm.Module) {
			m.Memories[0].Min = 256
			m.Data = []wasm.Data{{Flags: wasm.DataPassive, Init: make([]byte, l.MaxDataSize-1000)}, {Flags: wasm.DataPassive, Init: make([]byte, 1001)}}
		}, RuleData, "data segment 1: data segments total more than 524288 bytes"},
		{"too many data segments", func(m *wasm.Module) {
			for i := 0; i <= int(l.MaxDataSegments); i++ {
				m.Data = append(m.Data, wasm.Data{Flags: wasm.DataPassive})
			}
		}, RuleData, "1025 data segments exceed limit 1024"},
		{"too many locals", withBody([]wasm.LocalDecl{{Count: 70000, Type: wasm.I32}}), RuleLocals, "wasm: function 1: local count 70000 exceeds limit 2048"},
		{"2^32 locals", withBody([]wasm.LocalDecl{{Count: 0xffffffff, Type: wasm.I32}, {Count: 0xffffffff, Type: wasm.I64}}), RuleLocals, "local count 8589934590 exceeds"},
		{"function too big", withBody(nil, append(make([]I, 0, 140000), repeat(op(wasm.OpNop), 140000)...)...), RuleFunctionSize, "function 1: body of 140002 bytes exceeds limit 131072"},
		{"deep nesting", withBody(nil, nested(1025)...), RuleNesting, "nesting depth 1025 exceeds limit 1024"},
		{"too many control instructions", withBody(nil, repeat(opImm(wasm.OpBr, 0), 2049)...), RuleBlocks, "function 1: instruction 2048 (br): more than 2048 control instructions"},
		{"control instructions at the limit", withBody(nil, append(nested(1024), repeat(opImm(wasm.OpBr, 0), 1024)...)...), "", ""},
		{"nesting at the limit", withBody(nil, nested(1024)...), "", ""},
		{"huge br_table", func(m *wasm.Module) {
			var c wasm.Code
			c.Body = []I{blk(wasm.OpBlock, wasm.BlockEmpty), i32c(0), c.AddBrTable(make([]uint32, 16386)...), end(), end()}
			m.Code[0] = c
		}, RuleBrTable, "16385 targets exceed limit 16384"},
		{"type mismatch", withBody(nil, i32c(1), wasm.I64Const(2), op(wasm.OpI32Add), op(wasm.OpDrop)), RuleInvalid, "function 1: instruction 2 (i32.add): type mismatch: expected i32, found i64"},
		{"stack underflow", withBody(nil, op(wasm.OpDrop)), RuleInvalid, "instruction 0 (drop): operand stack underflow"},
		{"value left on stack", withBody(nil, i32c(1)), RuleInvalid, "1 values left on the operand stack"},
		{"branch out of range", withBody(nil, opImm(wasm.OpBr, 1)), RuleInvalid, "branch depth 1 out of range"},
		{"call out of range", withBody(nil, opImm(wasm.OpCall, 99)), RuleInvalid, "function index 99 out of range"},
		{"call_indirect without table", withBody(nil, i32c(0), opImm(wasm.OpCallIndirect, 0)), RuleInvalid, "table 0 does not exist"},
		{"local out of range", withBody(nil, opImm(wasm.OpLocalGet, 0), op(wasm.OpDrop)), RuleInvalid, "local index 0 out of range"},
		{"immutable global set", func(m *wasm.Module) {
			m.Globals = []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I32}, Init: wasm.ConstExpr{Op: wasm.OpI32Const}}}
			withBody(nil, i32c(1), opImm(wasm.OpGlobalSet, 0))(m)
		}, RuleInvalid, "global 0 is immutable"},
		{"misaligned load", withBody(nil, i32c(0), I{Op: wasm.OpI32Load, Imm2: 3}, op(wasm.OpDrop)), RuleInvalid, "alignment 2^3 larger than natural alignment 2^2"},
		{"memory.init without data count", func(m *wasm.Module) {
			m.Data = []wasm.Data{{Flags: wasm.DataPassive, Init: []byte{1}}}
			withBody(nil, i32c(0), i32c(0), i32c(1), opImm(wasm.OpMemoryInit, 0))(m)
		}, RuleInvalid, "requires a data count section"},
		{"data.drop out of range", func(m *wasm.Module) {
			m.HasDataCount = true
			withBody(nil, opImm(wasm.OpDataDrop, 0))(m)
		}, RuleInvalid, "data segment 0 out of range"},
		{"else without if", withBody(nil, blk(wasm.OpBlock, wasm.BlockEmpty), op(wasm.OpElse), end()), RuleInvalid, "else without if"},
		{"if without else changing types", withBody(nil, i32c(1), blk(wasm.OpIf, wasm.BlockTypeOf(wasm.I32)), i32c(1), end(), op(wasm.OpDrop)), RuleInvalid, "if without else"},
		{"code after final end", func(m *wasm.Module) { m.Code[0].Body = []I{end(), op(wasm.OpNop), end()} }, RuleInvalid, "instruction after the function's final end"},
		{"unclosed block", func(m *wasm.Module) { m.Code[0].Body = []I{blk(wasm.OpBlock, wasm.BlockEmpty), end()} }, RuleInvalid, "unclosed"},
		{"frame over the stack limit", withBody([]wasm.LocalDecl{{Count: 2000, Type: wasm.I64}}, append(repeat(i32c(1), 14400), repeat(op(wasm.OpDrop), 14400)...)...), RuleStack, "exceeds the stack limit of 16384"},
		{"valid: multi-value, typed select, bulk memory, sign-ext, sat conversions", func(m *wasm.Module) {
			m.Types = append(m.Types, wasm.FuncType{Params: []wasm.ValType{wasm.I32}, Results: []wasm.ValType{wasm.I32, wasm.I64}})
			m.HasDataCount, m.DataCount = true, 1
			m.Data = []wasm.Data{{Flags: wasm.DataPassive, Init: []byte{1, 2, 3}}}
			withBody(nil,
				i32c(5), blk(wasm.OpBlock, 2), wasm.I64Const(7), end(), op(wasm.OpDrop), op(wasm.OpDrop),
				wasm.F32Const(1), wasm.F32Const(2), i32c(1), I{Op: wasm.OpSelectT, Imm: uint64(wasm.F32)}, I{Op: wasm.OpI32TruncSatF32S}, op(wasm.OpI32Extend8S), op(wasm.OpDrop),
				i32c(0), i32c(0), i32c(3), opImm(wasm.OpMemoryInit, 0), opImm(wasm.OpDataDrop, 0),
				i32c(0), i32c(8), i32c(3), op(wasm.OpMemoryCopy), i32c(0), i32c(0), i32c(3), op(wasm.OpMemoryFill),
			)(m)
		}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base()
			c.mutate(m)
			_, err := Prepare(wasm.Encode(m), gas.Default(), l)
			if c.rule == "" {
				if err != nil {
					t.Fatalf("Prepare: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Prepare: %v, want an *Error", err)
			}
			if e.Rule != c.rule || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Prepare: %v (rule %q), want rule %q and %q", err, e.Rule, c.rule, c.want)
			}
		})
	}
}

func repeat(in I, n int) []I {
	out := make([]I, n)
	for i := range out {
		out[i] = in
	}
	return out
}

// TestValidateFeatures checks that binaries using refused features are rejected with
// RuleFeature naming the feature.
func TestValidateFeatures(t *testing.T) {
	// A valid contract with one function body given as raw bytes.
	withCode := func(body ...byte) []byte {
		m := base()
		enc := wasm.Encode(m)
		// Re-encode the code section by hand: locals (none) + body + end.
		b := append([]byte{0}, body...)
		b = append(b, 0x0b)
		code := []byte{1}
		code = append(code, byte(len(b)))
		code = append(code, b...)
		i := bytes.LastIndex(enc, []byte{10}) // the code section is last in base
		sec := append([]byte{10, byte(len(code))}, code...)
		return append(enc[:i:i], sec...)
	}
	if _, err := Prepare(withCode(0x01), gas.Default(), DefaultLimits()); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"SIMD", withCode(0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a), "SIMD not allowed"},
		{"atomics", withCode(0x41, 0, 0xfe, 0x10, 2, 0, 0x1a), "threads not allowed"},
		{"table.size", withCode(0xfc, 16, 0, 0x1a), "reference types not allowed"},
		{"return_call", withCode(0x12, 1), "tail calls not allowed"},
		{"try", withCode(0x06, 0x40, 0x0b), "exception handling not allowed"},
		{"memory64", func() []byte {
			b := wasm.Encode(base())
			i := bytes.Index(b, []byte{5, 3, 1, 0, 1}) // memory section: 1 memory, flags 0, min 1
			b = append([]byte{}, b...)
			b[i+3] = 0x04
			return b
		}(), "memory64 not allowed"},
		{"shared memory", func() []byte {
			b := wasm.Encode(base())
			i := bytes.Index(b, []byte{5, 3, 1, 0, 1})
			out := append([]byte{}, b[:i]...)
			out = append(out, 5, 4, 1, 0x03, 1, 1)
			return append(out, b[i+5:]...)
		}(), "threads not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Prepare(c.in, gas.Default(), DefaultLimits())
			var e *Error
			if !errors.As(err, &e) || e.Rule != RuleFeature || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Prepare: %v, want RuleFeature %q", err, c.want)
			}
		})
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	raw := wasm.Encode(base())
	pm, err := Prepare(gz(t, raw), gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pm.Original, raw) {
		t.Fatal("Original is not the decompressed code")
	}
	plain, err := Prepare(raw, gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain.Instrumented, pm.Instrumented) {
		t.Fatal("gzip and raw code instrument differently")
	}

	l := DefaultLimits()
	bomb := gz(t, make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KiB
	cases := []struct {
		name string
		in   []byte
		l    Limits
		rule Rule
		want string
	}{
		{"bomb", bomb, l, RuleCodeSize, "decompressed code exceeds limit 1048576 bytes"},
		{"compressed too big", append(append([]byte{}, bomb...), make([]byte, 600<<10)...), l, RuleCompressedSize, "exceeds limit 524288"},
		{"raw too big", append(append([]byte{}, raw...), make([]byte, 1<<20)...), l, RuleCodeSize, "exceeds limit 1048576"},
		{"truncated gzip", gz(t, raw)[:20], l, RuleGzip, "bad gzip"},
		{"corrupt checksum", func() []byte {
			b := gz(t, raw)
			b[len(b)-6] ^= 0xff
			return b
		}(), l, RuleGzip, "bad gzip"},
		{"gzip header only", []byte{0x1f, 0x8b}, l, RuleGzip, "bad gzip"},
		{"trailing garbage", append(gz(t, raw), 0x42), l, RuleGzip, "bad gzip"},
		{"not wasm inside", gz(t, []byte("hello")), l, RuleMalformed, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Prepare(c.in, gas.Default(), c.l)
			var e *Error
			if !errors.As(err, &e) || e.Rule != c.rule || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Prepare: %v, want rule %q and %q", err, c.rule, c.want)
			}
		})
	}
}

// TestValidateInMemory covers what no binary can express: a br_table whose labels are
// not in Code.Targets (a module built in memory by mistake) is refused, not a panic.
func TestValidateInMemory(t *testing.T) {
	m := base()
	withBody(nil, i32c(0), I{Op: wasm.OpBrTable, Imm: 0, Imm2: 2})(m)
	l := DefaultLimits()
	_, err := validate(m, &l, false)
	var e *Error
	if !errors.As(err, &e) || e.Rule != RuleInvalid || !strings.Contains(err.Error(), "labels 0..0+2 out of range") {
		t.Fatalf("validate: %v", err)
	}
}

func TestBadLimits(t *testing.T) {
	code := wasm.Encode(base())
	for _, mutate := range []func(*Limits){
		func(l *Limits) { l.MaxMemoryPages = 65537 },
		func(l *Limits) { l.MaxStackHeight = 1<<30 + 1 },
	} {
		l := DefaultLimits()
		mutate(&l)
		if _, err := Prepare(code, gas.Default(), l); err == nil {
			t.Fatalf("Prepare accepted limits %+v", l)
		}
	}
	bad := gas.Default()
	bad.Instr.Branch = 0
	if _, err := Prepare(code, bad, DefaultLimits()); err == nil {
		t.Fatal("Prepare accepted a schedule with free branches")
	}
}
