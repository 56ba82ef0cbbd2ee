package prepare

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// contracts returns real contracts: this package's testdata and, when present, the
// contracts other packages keep in the repository.
func contracts(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pat := range []string{"testdata/*.wasm", "../../testdata/*/*.wasm", "../../../examples/*/*.wasm"} {
		files, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[f] = b
		}
	}
	for name, b := range bigModules(t) {
		out[name] = b
	}
	return out
}

// bigModules returns real compiler output of about 100 KiB (rustc with std and TinyGo,
// from wazero's test data) turned into contracts: their WASI imports become defined
// functions of the same type whose body is unreachable, which keeps every function
// index, and _start is exported as the method "main".
func bigModules(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{"rust-wasi.wasm", "tinygo-wasi.wasm"} {
		b, err := os.ReadFile(filepath.Join("..", "wasm", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := wasm.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var funcs []uint32
		var code []wasm.Code
		for _, im := range m.Imports {
			if im.Kind != wasm.KindFunc {
				t.Fatalf("%s: import of a %s", name, im.Kind)
			}
			funcs = append(funcs, im.Func)
			code = append(code, wasm.Code{Body: []wasm.Instr{{Op: wasm.OpUnreachable}, {Op: wasm.OpEnd}}})
		}
		m.Imports = nil
		m.Funcs = append(funcs, m.Funcs...)
		m.Code = append(code, m.Code...)
		for i, ex := range m.Exports {
			if ex.Kind == wasm.KindFunc && ex.Name[0] != '_' {
				m.Exports[i].Name = "_" + ex.Name // not a method: keep any type
			}
			if ex.Name == "_start" {
				m.Exports = append(m.Exports, wasm.Export{Name: "main", Kind: wasm.KindFunc, Index: ex.Index})
			}
		}
		out["adapted "+name] = wasm.Encode(m)
	}
	return out
}

// TestRealContracts prepares real contracts: they pass, the output compiles on both
// engines and re-validates, and preparing twice gives the same bytes.
func TestRealContracts(t *testing.T) {
	e := newEngines(t)
	ctx := context.Background()
	for name, b := range contracts(t) {
		pm, err := Prepare(b, gas.Default(), DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		again, err := Prepare(append([]byte{}, b...), gas.Default(), DefaultLimits())
		if err != nil || !bytes.Equal(again.Instrumented, pm.Instrumented) {
			t.Errorf("%s: Prepare is not deterministic", name)
		}
		if !bytes.Equal(pm.Original, b) {
			t.Errorf("%s: Original differs from the code", name)
		}
		revalidate(t, pm.Instrumented)
		for _, rt := range []wazero.Runtime{e.interp, e.compiler} {
			cm, err := rt.CompileModule(ctx, pm.Instrumented)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, g := range []string{GasGlobal, StackGlobal, TrapGlobal} {
				if _, ok := cm.ExportedFunctions()[g]; ok {
					t.Fatalf("%s: %s exported as a function", name, g)
				}
			}
			cm.Close(ctx)
		}
		if len(pm.Methods) == 0 {
			t.Errorf("%s: no methods", name)
		}
		t.Logf("%s: %d -> %d bytes, %d methods, imports %v", name, len(b), len(pm.Instrumented), len(pm.Methods), pm.Imports)
	}
}

// TestModuleFields checks Methods, HasInit, HasMigrate and Imports.
func TestModuleFields(t *testing.T) {
	m := base()
	m.Imports = append(m.Imports,
		wasm.Import{Module: "wnode", Name: "block_height", Kind: wasm.KindFunc, Func: 2},
		wasm.Import{Module: "wnode", Name: "input_size", Kind: wasm.KindFunc, Func: 1},
	)
	m.Types = append(m.Types, wasm.FuncType{Results: []wasm.ValType{wasm.I64}}, wasm.FuncType{Params: []wasm.ValType{wasm.I32}})
	// Functions 0..2 are imports; 3 is run; 4 takes a param.
	m.Funcs = append(m.Funcs, 3)
	m.Code = append(m.Code, wasm.Code{Body: []I{end()}})
	m.Code[0] = wasm.Code{Body: []I{end()}}
	m.Exports[1].Index = 3
	m.Exports = append(m.Exports,
		wasm.Export{Name: "init", Kind: wasm.KindFunc, Index: 3},
		wasm.Export{Name: "migrate", Kind: wasm.KindFunc, Index: 3},
		wasm.Export{Name: "alpha", Kind: wasm.KindFunc, Index: 3},
		wasm.Export{Name: "_helper", Kind: wasm.KindFunc, Index: 4},
		wasm.Export{Name: "_private", Kind: wasm.KindFunc, Index: 3},
	)
	pm, err := Prepare(wasm.Encode(m), gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := pm.Methods; len(got) != 2 || got[0] != "alpha" || got[1] != "run" {
		t.Fatalf("Methods = %v, want [alpha run]", got)
	}
	if !pm.HasInit || !pm.HasMigrate {
		t.Fatalf("HasInit %v HasMigrate %v", pm.HasInit, pm.HasMigrate)
	}
	if got := pm.Imports; len(got) != 2 || got[0] != "block_height" || got[1] != "input_size" {
		t.Fatalf("Imports = %v", got)
	}
	out, err := wasm.Decode(pm.Instrumented)
	if err != nil {
		t.Fatal(err)
	}
	if mem := out.Memories[0]; !mem.HasMax || mem.Max != DefaultLimits().MaxMemoryPages {
		t.Fatalf("memory limits %+v, want the maximum capped", mem)
	}
	if len(out.Customs) != 0 {
		t.Fatal("custom sections kept")
	}
}

// TestHostFuncsMatchABI checks the ABI table against wazero's view of the signatures.
func TestHostFuncsMatchABI(t *testing.T) {
	if len(HostFuncs) != 24 {
		t.Fatalf("%d host functions, ABI v1 has 24", len(HostFuncs))
	}
	want := map[string]string{
		"storage_read": "(i32, i32, i32, i32) -> (i64)",
		"call":         "(i32, i32, i32, i32, i32, i32, i64) -> (i32)",
		"transfer":     "(i32, i32) -> (i32)",
		"ecrecover":    "(i32, i32, i32) -> (i32)",
		"block_height": "() -> (i64)",
		"block_time":   "() -> (i64)",
		"gas_left":     "() -> (i64)",
		"input_size":   "() -> (i32)",
		"result_size":  "() -> (i32)",
	}
	for name, sig := range want {
		if got := HostFuncs[name].String(); got != sig {
			t.Errorf("%s: %s, want %s", name, got, sig)
		}
	}
	if api.ValueTypeI32 != byte(wasm.I32) || api.ValueTypeI64 != byte(wasm.I64) {
		t.Fatal("wasm.ValType values differ from wazero's api.ValueType")
	}
}
