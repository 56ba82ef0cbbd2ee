// Package devkit makes and builds contract projects: `wnode new` (a hello project in C,
// Rust or AssemblyScript, with the SDK written into it), `wnode build` (the language's
// compiler, then the node's own deploy validation) and `wnode test` (the project's
// test.txt on an in-memory chain, package wnodetest).
package devkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wnode/wnode/sdk"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/metadata"
)

// Lang is a contract language.
type Lang string

// The languages of `wnode new`.
const (
	C              Lang = "c"
	Rust           Lang = "rust"
	AssemblyScript Lang = "as"
)

// Langs lists the languages.
var Langs = []Lang{AssemblyScript, Rust, C}

func (l Lang) title() string {
	switch l {
	case C:
		return "C"
	case Rust:
		return "Rust"
	}
	return "AssemblyScript"
}

// ProjectFile marks a project's directory and records its name and language.
const ProjectFile = "wnode.json"

// Project is a contract project on disk.
type Project struct {
	Dir  string `json:"-"`
	Name string `json:"name"`
	Lang Lang   `json:"lang"`
}

// Source is the project's contract source file, relative to Dir.
func (p *Project) Source() string {
	switch p.Lang {
	case C:
		return p.Name + ".c"
	case Rust:
		return "src/lib.rs"
	}
	return p.Name + ".ts"
}

// Wasm is the path of the project's build.
func (p *Project) Wasm() string { return filepath.Join(p.Dir, "build", p.Name+".wasm") }

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// New writes a new project named name in language lang into dir/name, which must not
// exist: the SDK, a hello contract with its metadata, test.txt, the language's build
// file, a README and ProjectFile.
func New(dir, name string, lang Lang) (*Project, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("project name %q: want a lower-case letter then up to 63 lower-case letters, digits or _", name)
	}
	files := map[string]string{}
	sdkFile := func(src, dst string) error {
		b, err := fs.ReadFile(sdk.Files, src)
		files[dst] = string(b)
		return err
	}
	var err error
	switch lang {
	case C:
		err = sdkFile("c/wnode.h", "wnode/wnode.h")
		files[name+".c"] = cHello
		files["Makefile"] = cMakefile
	case Rust:
		err = errors.Join(sdkFile("rust/Cargo.toml", "wnode/Cargo.toml"), sdkFile("rust/src/lib.rs", "wnode/src/lib.rs"))
		files["Cargo.toml"] = rustCargo
		files[".cargo/config.toml"] = rustConfig
		files["src/lib.rs"] = rustHello
	case AssemblyScript:
		err = errors.Join(
			sdkFile("assemblyscript/assembly/index.ts", "wnode/index.ts"),
			sdkFile("assemblyscript/assembly/runtime.ts", "wnode/runtime.ts"),
			sdkFile("assemblyscript/transform.js", "wnode/transform.js"),
			sdkFile("assemblyscript/package-lock.json", "package-lock.json"))
		// The SDK's lockfile pins the compiler; only the package's name differs.
		files["package-lock.json"] = strings.ReplaceAll(files["package-lock.json"], `"name": "wnode-assemblyscript"`, `"name": "`+name+`"`)
		files["package.json"] = asPackage
		files[name+".ts"] = asHello
	default:
		return nil, fmt.Errorf("language %q: want as, rust or c", lang)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded SDK: %w", err)
	}
	p := &Project{Dir: filepath.Join(dir, name), Name: name, Lang: lang}
	files["README.md"] = strings.ReplaceAll(strings.ReplaceAll(readme, "{{LANG}}", lang.title()), "{{SOURCE}}", p.Source())
	files["test.txt"] = testFile
	files[".gitignore"] = gitignore
	meta, _ := json.MarshalIndent(p, "", "  ")
	files[ProjectFile] = string(meta) + "\n"

	if err := os.Mkdir(p.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("new project: %w", err)
	}
	for path, content := range files {
		full := filepath.Join(p.Dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(strings.ReplaceAll(content, "{{NAME}}", name)), 0o644); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ErrNoProject is returned by Load outside a project.
var ErrNoProject = errors.New("not in a wnode project (no " + ProjectFile + " here or above; make one with `wnode new NAME`)")

// Load finds the project whose ProjectFile is in dir or the nearest parent.
func Load(dir string) (*Project, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, ProjectFile))
		if err == nil {
			p := &Project{Dir: dir}
			if err := json.Unmarshal(b, p); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ProjectFile), err)
			}
			if !nameRE.MatchString(p.Name) {
				return nil, fmt.Errorf("%s: bad name %q", filepath.Join(dir, ProjectFile), p.Name)
			}
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, ErrNoProject
		}
		dir = parent
	}
}

// The compiler flags, the same as scripts/build-contracts.sh's.
var (
	cFlags = []string{"--target=wasm32-unknown-unknown", "-mcpu=mvp", "-O2", "-std=c11", "-ffreestanding",
		"-nostdlib", "-fno-ident", "-Wall", "-Wextra", "-Wl,--no-entry", "-Wl,--stack-first",
		"-Wl,-z,stack-size=65536", "-Wl,--strip-all", "-Wl,--gc-sections"}
	asFlags = []string{"--runtime", "wnode/runtime", "--transform", "./wnode/transform.js",
		"--use", "abort=wnode/index/wnodeAbort", "-O3", "--shrinkLevel", "2", "--converge",
		"--disable", "mutable-globals,sign-extension,nontrapping-f2i,bulk-memory"}
)

const (
	cFlagsText  = "--target=wasm32-unknown-unknown -mcpu=mvp -O2 -std=c11 -ffreestanding -nostdlib -fno-ident -Wall -Wextra -Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=65536 -Wl,--strip-all -Wl,--gc-sections"
	asFlagsText = "--runtime wnode/runtime --transform ./wnode/transform.js --use abort=wnode/index/wnodeAbort -O3 --shrinkLevel 2 --converge --disable mutable-globals,sign-extension,nontrapping-f2i,bulk-memory"
)

// tool returns the command for a tool: the environment variable env when set, else name.
func tool(env, name string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return name
}

// Compile runs the language's compiler and returns the raw module. Its output goes to
// log. C uses clang ($CLANG); Rust cargo ($CARGO, offline: the SDK has no
// dependencies; $RUSTC picks the compiler); AssemblyScript the project's pinned asc,
// installed with `npm ci` ($NPM) the first time.
func (p *Project) Compile(ctx context.Context, log io.Writer) ([]byte, error) {
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = p.Dir, log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "wnode-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	raw := filepath.Join(tmp, "raw.wasm")
	switch p.Lang {
	case C:
		err = run(tool("CLANG", "clang"), append(append([]string{}, cFlags...), "-o", raw, p.Source())...)
	case Rust:
		if err = run(tool("CARGO", "cargo"), "build", "--offline", "--release", "--target-dir", filepath.Join(p.Dir, "target")); err == nil {
			raw = filepath.Join(p.Dir, "target", "wasm32-unknown-unknown", "release", p.Name+".wasm")
		}
	case AssemblyScript:
		asc := filepath.Join(p.Dir, "node_modules", ".bin", "asc")
		if _, statErr := os.Stat(asc); statErr != nil {
			err = run(tool("NPM", "npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error")
		}
		if err == nil {
			err = run(asc, append(append([]string{p.Source()}, asFlags...), "-o", raw)...)
		}
	default:
		return nil, fmt.Errorf("language %q: want as, rust or c", p.Lang)
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(raw)
}

// Report is what Build learned of a module.
type Report struct {
	Path     string
	Size     int
	Methods  []string
	Init     bool
	Metadata *metadata.Metadata
	// Violation is the deploy rule the module breaks (the node's own message), nil when
	// it would deploy.
	Violation error
	// Undescribed lists methods the metadata does not describe.
	Undescribed []string
}

// Build compiles the project, strips custom sections other than the metadata, writes
// build/NAME.wasm and checks it with the node's deploy validation. A module that breaks
// a deploy rule is still written, and reported in Report.Violation.
func (p *Project) Build(ctx context.Context, log io.Writer) (*Report, error) {
	raw, err := p.Compile(ctx, log)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.Find(raw)
	if err != nil {
		return nil, fmt.Errorf("compiler output: %w", err)
	}
	code, err := metadata.Set(raw, meta, true)
	if err != nil {
		return nil, fmt.Errorf("compiler output: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p.Wasm()), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.Wasm(), code, 0o644); err != nil {
		return nil, err
	}
	r, err := Check(ctx, code)
	if err != nil {
		return nil, err
	}
	r.Path = p.Wasm()
	return r, nil
}

// Check validates code as a deploy would (the VM's prepare pipeline with the default
// limits; nothing is compiled) and reports its methods and metadata.
func Check(ctx context.Context, code []byte) (*Report, error) {
	m, err := vm.New(ctx, vm.Config{Engine: vm.EngineInterpreter})
	if err != nil {
		return nil, err
	}
	defer m.Close(ctx)
	r := &Report{Size: len(code)}
	c, err := m.PrepareIf(ctx, code, func(*vm.Code) bool { return false })
	if err != nil {
		r.Violation = err
		return r, nil
	}
	r.Methods, r.Init, r.Metadata = c.Methods, c.HasInit, c.Metadata
	for _, name := range c.Methods {
		if _, ok := c.Metadata.Method(name); !ok {
			r.Undescribed = append(r.Undescribed, name)
		}
	}
	return r, nil
}

// Print writes the report for a terminal.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%s (%d bytes)\n", r.Path, r.Size)
	if r.Violation != nil {
		fmt.Fprintf(w, "refused by the node's deploy rules: %v\n", r.Violation)
		return
	}
	for _, name := range r.Methods {
		if m, ok := r.Metadata.Method(name); ok {
			fmt.Fprintf(w, "  %-16s %-6s %s -> %s  %s\n", name, m.Kind, m.Input, m.Output, m.Doc)
		} else {
			fmt.Fprintf(w, "  %-16s (no metadata: bytes in, bytes out)\n", name)
		}
	}
	if r.Init {
		fmt.Fprintln(w, "  init (run at deploy)")
	}
	fmt.Fprintln(w, "passes the node's deploy rules")
}
