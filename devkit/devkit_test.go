package devkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wnode/wnode/vm/metadata"
)

// TestNewBuildTest makes a project per language, builds it with the real toolchain
// (skipped when the toolchain is missing), checks the report and runs its test.txt.
func TestNewBuildTest(t *testing.T) {
	// Debian's cargo and rustc have the wasm32 target; a rustup cargo first on PATH
	// usually has not.
	if os.Getenv("CARGO") == "" {
		if _, err := os.Stat("/usr/bin/cargo"); err == nil {
			t.Setenv("CARGO", "/usr/bin/cargo")
			t.Setenv("RUSTC", "/usr/bin/rustc")
		}
	}
	for _, lang := range Langs {
		t.Run(string(lang), func(t *testing.T) {
			switch lang {
			case C:
				needTool(t, tool("CLANG", "clang"))
			case Rust:
				needTool(t, tool("CARGO", "cargo"))
			case AssemblyScript:
				needTool(t, tool("NPM", "npm"))
			}
			dir := t.TempDir()
			p, err := New(dir, "greeter", lang)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := New(dir, "greeter", lang); err == nil {
				t.Fatal("New over an existing directory")
			}
			loaded, err := Load(filepath.Join(p.Dir, "wnode"))
			if err != nil || *loaded != *p {
				t.Fatalf("Load from a subdirectory: %+v %v", loaded, err)
			}
			var log strings.Builder
			r, err := p.Build(context.Background(), &log)
			if err != nil {
				t.Fatalf("build: %v\n%s", err, log.String())
			}
			if r.Violation != nil || len(r.Methods) != 1 || r.Methods[0] != "hello" || r.Metadata == nil || len(r.Undescribed) != 0 {
				t.Fatalf("report %+v", r)
			}
			var out strings.Builder
			if err := p.Test(&out); err != nil {
				t.Fatalf("test: %v\n%s", err, out.String())
			}
			if strings.Count(out.String(), ": ok, gas") != 4 {
				t.Fatalf("test output:\n%s", out.String())
			}

			// A failing expectation fails, naming its line.
			os.WriteFile(filepath.Join(p.Dir, TestFile), []byte("call hello x => hello, y\n"), 0o644)
			out.Reset()
			if err := p.Test(&out); err == nil || !strings.Contains(out.String(), `test.txt:1: FAIL: call hello: got "hello, x", want "hello, y"`) {
				t.Fatalf("failing test: %v\n%s", err, out.String())
			}
		})
	}
}

func needTool(t *testing.T, name string) {
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
}

func TestCheckRefusesLyingMetadata(t *testing.T) {
	code, err := os.ReadFile("../examples/hello/hello.wasm")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Check(context.Background(), code)
	if err != nil || r.Violation != nil || r.Metadata == nil {
		t.Fatalf("hello: %+v %v", r, err)
	}
	lying, err := metadata.Set(code, []byte("v1 method hello view text text Hi.\nv1 method mint change u64 none Mints.\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	r, err = Check(context.Background(), lying)
	if err != nil || r.Violation == nil || !strings.Contains(r.Violation.Error(), `describes method "mint"`) {
		t.Fatalf("lying metadata: %+v %v", r, err)
	}
	var printed strings.Builder
	r.Print(&printed)
	if !strings.Contains(printed.String(), "refused by the node's deploy rules") {
		t.Fatalf("report:\n%s", printed.String())
	}

	script := "call hello world => hello, world\ncall hello => hello, world\ninvoke hello => hello, world\ncall nope => revert: x\n"
	var out strings.Builder
	if err := RunScript(&out, code, script, "s"); err == nil || !strings.Contains(out.String(), "s:4: FAIL") {
		t.Fatalf("script: %v\n%s", err, out.String())
	}
}
