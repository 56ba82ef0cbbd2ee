// Package docs_test checks that the repository's documentation stands alone: no file
// refers to documents outside the repository, and every relative link in a Markdown file
// leads to a file (and, with a #fragment, to a heading) that exists.
package docs_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// root is the repository root, seen from this package's directory.
const root = ".."

// skipDir reports whether a directory holds no repository files worth checking: VCS
// data, build outputs and caches that tools leave in a work tree.
func skipDir(rel string, name string) bool {
	switch name {
	case ".git", "node_modules", "target":
		return true
	}
	return rel == "bin" || rel == "tmp"
}

// repoFiles returns the text files of the repository (relative, slash-separated paths)
// with their contents. Binary files (a NUL byte in the first 8 KiB) and files over 4 MiB
// are left out.
func repoFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skipDir(rel, d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > 4<<20 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b[:min(len(b), 8<<10)], 0) >= 0 {
			return nil
		}
		files[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["README.md"]; !ok {
		t.Fatalf("README.md not found under %s: the walk did not start at the repository root", root)
	}
	return files
}

// TestNoOutsideReferences fails when a file cites a document that is not in the
// repository: the old shared design page, or anything in a sibling "shared" directory.
func TestNoOutsideReferences(t *testing.T) {
	// Spelled in pieces so that this file does not match itself.
	banned := []string{"DESIGN" + ".md", "../" + "shared"}
	for path, b := range repoFiles(t) {
		for i, line := range strings.Split(string(b), "\n") {
			for _, s := range banned {
				if strings.Contains(line, s) {
					t.Errorf("%s:%d refers to %q, which is outside the repository; point at docs/ instead", path, i+1, s)
				}
			}
		}
	}
}

// linkRE matches an inline Markdown link or image, capturing its target up to the first
// space (a title may follow) or the closing parenthesis.
var linkRE = regexp.MustCompile(`\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)`)

// codeSpanRE matches inline code, whose brackets are not links.
var codeSpanRE = regexp.MustCompile("`[^`]*`")

// markdownLinks returns the link targets of a Markdown document with their line numbers,
// leaving out fenced code blocks and inline code.
func markdownLinks(doc string) (targets []string, lines []int) {
	fenced := false
	for i, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		// Blank inline code but keep its place, so that [`name`](target) is still a link.
		line = codeSpanRE.ReplaceAllStringFunc(line, func(s string) string { return strings.Repeat("x", len(s)) })
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
			lines = append(lines, i+1)
		}
	}
	return targets, lines
}

// headingAnchors returns the anchors GitHub derives from a document's headings:
// lower case, punctuation other than '-' and '_' dropped, spaces turned into '-', and
// "-1", "-2"... appended to repeats.
func headingAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && isLetter(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

func isLetter(r rune) bool {
	// Non-ASCII letters (é, ü...) stay in GitHub anchors; symbols such as '—' and '→' go.
	return r >= 0xC0 && r <= 0x24F
}

// TestMarkdownLinksResolve fails when a relative link in a Markdown file of the
// repository leads nowhere: to a missing file, or to a heading the target does not have.
func TestMarkdownLinksResolve(t *testing.T) {
	files := repoFiles(t)
	checked := 0
	for path, b := range files {
		if !strings.HasSuffix(path, ".md") {
			continue
		}
		targets, lines := markdownLinks(string(b))
		for i, target := range targets {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(path), file)))
				if dest == ".." || strings.HasPrefix(dest, "../") {
					t.Errorf("%s:%d: link %q leaves the repository", path, lines[i], target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", path, lines[i], target, dest)
					continue
				}
			}
			checked++
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			doc, ok := files[dest]
			if !ok {
				t.Errorf("%s:%d: link %q: %s is not a text file", path, lines[i], target, dest)
				continue
			}
			if !headingAnchors(string(doc))[frag] {
				t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", path, lines[i], target, dest, frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the parser or the walk is broken")
	}
}

// modulePath is the module's import path; package paths in ARCHITECTURE.md are relative
// to it.
const modulePath = "github.com/wnode/wnode"

// goPackages returns the repository's Go packages (directories holding .go files, as
// paths relative to the root) with the wnode packages their non-test files import.
// Files are parsed whatever their build tags, so the imports are those of every platform.
func goPackages(t *testing.T) map[string]map[string]bool {
	t.Helper()
	pkgs := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (skipDir(rel, d.Name()) || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") {
			return nil
		}
		dir := pathpkg.Dir(rel)
		if pkgs[dir] == nil {
			pkgs[dir] = map[string]bool{}
		}
		if strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if rest, ok := strings.CutPrefix(p, modulePath+"/"); ok {
				pkgs[dir][rest] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// tableRows returns the rows of the first Markdown table after the heading named
// section in doc, each as its cells.
func tableRows(t *testing.T, doc, section string) [][]string {
	t.Helper()
	_, after, ok := strings.Cut(doc, "\n## "+section+"\n")
	if !ok {
		t.Fatalf("ARCHITECTURE.md has no section %q", section)
	}
	var rows [][]string
	inTable := false
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		t.Fatalf("ARCHITECTURE.md section %q has no table", section)
	}
	return rows[1:] // without the header row
}

// codeNames returns the `quoted` names of a table cell.
func codeNames(cell string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestArchitectureMatchesCode fails when docs/ARCHITECTURE.md no longer describes the
// code: a Go package missing from the package map or from the layer table, a listed
// package that does not exist, or an import (outside tests) from a package to one of
// the same or a higher layer.
func TestArchitectureMatchesCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	pkgs := goPackages(t)

	described := map[string]bool{}
	planned := map[string]bool{} // may not exist yet
	for _, row := range tableRows(t, doc, "Packages") {
		for _, name := range codeNames(row[0]) {
			described[name] = true
			if len(row) > 1 && strings.HasPrefix(row[1], "(planned)") {
				planned[name] = true
			}
		}
	}
	layer := map[string]int{}
	for _, row := range tableRows(t, doc, "Import direction") {
		n, err := strconv.Atoi(row[0])
		if err != nil || len(row) < 2 {
			t.Fatalf("layer row %q: want | N | `pkg`, ... |", row)
		}
		for _, name := range codeNames(row[1]) {
			layer[name] = n
		}
	}
	for pkg := range pkgs {
		if !described[pkg] {
			t.Errorf("package %s is not in ARCHITECTURE.md's package map: add a line saying what it does", pkg)
		}
		if _, ok := layer[pkg]; !ok {
			t.Errorf("package %s is not in ARCHITECTURE.md's layer table (Import direction): add it to the layer above everything it imports", pkg)
		}
	}
	for name := range described {
		if _, ok := pkgs[name]; !ok && !planned[name] {
			t.Errorf("ARCHITECTURE.md's package map lists %s, which is not a Go package of the repository", name)
		}
	}
	for name := range layer {
		if _, ok := pkgs[name]; !ok && !planned[name] {
			t.Errorf("ARCHITECTURE.md's layer table lists %s, which is not a Go package of the repository", name)
		}
	}
	for pkg, imports := range pkgs {
		from, ok := layer[pkg]
		if !ok {
			continue
		}
		for imp := range imports {
			to, ok := layer[imp]
			if ok && to <= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must go to lower layers; move the code or update ARCHITECTURE.md's layers", pkg, from, imp, to)
			}
		}
	}
}

// pointerRE matches a code pointer in the docs: a Go file, then in the next code span a
// name it declares, "Func", "Type", "Type.Method" or "Var".
var pointerRE = regexp.MustCompile("`([A-Za-z0-9_./-]+\\.go)`\\s+`([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)?)`")

// declaredNames returns the top-level names a Go file declares: functions, types,
// constants and variables as "Name", methods as "Type.Method".
func declaredNames(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				names[d.Name.Name] = true
				continue
			}
			typ := d.Recv.List[0].Type
			if s, ok := typ.(*ast.StarExpr); ok {
				typ = s.X
			}
			switch x := typ.(type) {
			case *ast.IndexExpr:
				typ = x.X
			case *ast.IndexListExpr:
				typ = x.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				names[id.Name+"."+d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// TestCodePointersResolve fails when a documentation page points at code that is not
// there: "`file.go` `Name`" where file.go does not exist or does not declare Name (a
// function, a type, a constant, a variable, or a method as Type.Method).
func TestCodePointersResolve(t *testing.T) {
	decls := map[string]map[string]bool{}
	checked := 0
	for path, b := range repoFiles(t) {
		if !strings.HasSuffix(path, ".md") {
			continue
		}
		doc := string(b)
		for _, loc := range pointerRE.FindAllStringSubmatchIndex(doc, -1) {
			file, name := doc[loc[2]:loc[3]], doc[loc[4]:loc[5]]
			line := strings.Count(doc[:loc[0]], "\n") + 1
			if decls[file] == nil {
				full := filepath.Join(root, filepath.FromSlash(file))
				if _, err := os.Stat(full); err != nil {
					t.Errorf("%s:%d: points at %s, which does not exist", path, line, file)
					decls[file] = map[string]bool{}
					continue
				}
				decls[file] = declaredNames(t, full)
			}
			if !decls[file][name] {
				t.Errorf("%s:%d: points at %s in %s, which does not declare it", path, line, name, file)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no code pointers found: the pattern or the walk is broken")
	}
}

// TestRationaleIndex fails when a file of docs/rationale/ is not linked from
// docs/RATIONALE.md, the index of the decisions.
func TestRationaleIndex(t *testing.T) {
	files := repoFiles(t)
	targets, _ := markdownLinks(string(files["docs/RATIONALE.md"]))
	linked := map[string]bool{}
	for _, target := range targets {
		file, _, _ := strings.Cut(target, "#")
		linked[pathpkg.Clean(pathpkg.Join("docs", file))] = true
	}
	n := 0
	for path := range files {
		if pathpkg.Dir(path) == "docs/rationale" && strings.HasSuffix(path, ".md") {
			n++
			if !linked[path] {
				t.Errorf("%s is not linked from docs/RATIONALE.md: add it to the index of parts", path)
			}
		}
	}
	if n == 0 {
		t.Fatal("no file found in docs/rationale")
	}
}

// wireLimits are the constants docs/spec/wire.md's table of size bounds names.
var wireLimits = map[string]int64{
	"types.MaxTxSize":               types.MaxTxSize,
	"types.MaxMethodLen":            types.MaxMethodLen,
	"types.MaxArgsSize":             types.MaxArgsSize,
	"types.MaxCodeSize":             types.MaxCodeSize,
	"types.MaxTxBatchSize":          types.MaxTxBatchSize,
	"types.MaxTxBatchLen":           types.MaxTxBatchLen,
	"types.MaxHeaderSize":           types.MaxHeaderSize,
	"types.MaxBlockSize":            types.MaxBlockSize,
	"types.MaxVoteSize":             types.MaxVoteSize,
	"types.MaxProposalBlockSize":    types.MaxProposalBlockSize,
	"types.MaxProposalSize":         types.MaxProposalSize,
	"consensus.MaxMessageSize":      consensus.MaxMessageSize,
	"types.MaxCommitSize":           types.MaxCommitSize,
	"types.MaxValidators":           types.MaxValidators,
	"types.MaxReceiptSize":          types.MaxReceiptSize,
	"p2p.MaxSyncBlocks":             p2p.MaxSyncBlocks,
	"p2p.MaxFrameSize":              p2p.MaxFrameSize,
	"p2p.MaxSyncBytes":              p2p.MaxSyncBytes,
	"p2p.MaxExchangePeers":          p2p.MaxExchangePeers,
	"p2p.MaxExchangeBytes":          p2p.MaxExchangeBytes,
	"p2p.MaxSnapshotFrame":          p2p.MaxSnapshotFrame,
	"p2p.MaxSnapshotsListed":        p2p.MaxSnapshotsListed,
	"state.MaxProofSize":            state.MaxProofSize,
	"state.MaxSnapshotValueSize":    state.MaxSnapshotValueSize,
	"state.MaxSnapshotChunkSize":    state.MaxSnapshotChunkSize,
	"state.MaxSnapshotChunks":       state.MaxSnapshotChunks,
	"state.MaxSnapshotManifestSize": state.MaxSnapshotManifestSize,
	"light.MaxTrustStoreSize":       light.MaxTrustStoreSize,
	"light.MaxTrustedStates":        light.MaxTrustedStates,
}

var boundTermRE = regexp.MustCompile(`^([0-9][0-9,]*)\s*(bytes|KiB|MiB)?$`)

// parseBound reads a bound such as "16 MiB + 192 KiB", "8,291 bytes" or "1024".
func parseBound(s string) (int64, bool) {
	var sum int64
	for _, term := range strings.Split(s, "+") {
		m := boundTermRE.FindStringSubmatch(strings.TrimSpace(term))
		if m == nil {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil {
			return 0, false
		}
		switch m[2] {
		case "KiB":
			n <<= 10
		case "MiB":
			n <<= 20
		}
		sum += n
	}
	return sum, true
}

// TestWireLimitsMatchCode fails when docs/spec/wire.md's table of size bounds names a
// constant this test does not know, or gives it another value than the code, or when a
// constant of wireLimits is missing from it.
func TestWireLimitsMatchCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "spec", "wire.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, row := range tableRows(t, string(b), "Encoding conventions") {
		if len(row) != 3 {
			t.Fatalf("wire.md size bound row %q: want | what | `constant` | bound |", row)
		}
		names := codeNames(row[1])
		if len(names) != 1 {
			t.Errorf("wire.md size bound row %q: want one `constant`", row)
			continue
		}
		name := names[0]
		seen[name] = true
		want, ok := wireLimits[name]
		if !ok {
			t.Errorf("wire.md names %s, which TestWireLimitsMatchCode does not know: add it to wireLimits", name)
			continue
		}
		got, ok := parseBound(row[2])
		if !ok {
			t.Errorf("wire.md: bound %q of %s does not parse", row[2], name)
			continue
		}
		if got != want {
			t.Errorf("wire.md says %s is %s (%d), the code has %d", name, row[2], got, want)
		}
	}
	for name := range wireLimits {
		if !seen[name] {
			t.Errorf("wire.md's table of size bounds lacks %s", name)
		}
	}
}

// goNames returns every name the repository's Go code declares, qualified the way docs
// write them: "pkg.Name" for a package-level name (pkg being the package's name) and
// "Type.Name" for a method or a struct field.
func goNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (skipDir(rel, d.Name()) || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := f.Name.Name
		for name := range declaredNames(t, path) {
			if !strings.Contains(name, ".") {
				names[pkg+"."+name] = true
			}
			names[name] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if st, ok := ts.Type.(*ast.StructType); ok {
				for _, fld := range st.Fields.List {
					for _, id := range fld.Names {
						names[ts.Name.Name+"."+id.Name] = true
					}
				}
			}
			if it, ok := ts.Type.(*ast.InterfaceType); ok {
				for _, m := range it.Methods.List {
					for _, id := range m.Names {
						names[ts.Name.Name+"."+id.Name] = true
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// qualifiedRE matches a code span that is one qualified Go name, "pkg.Name" or
// "Type.Method".
var qualifiedRE = regexp.MustCompile("`([A-Za-z_][A-Za-z0-9_]*)\\.([A-Za-z_][A-Za-z0-9_]*)`")

// notGo are the second halves of spans like `app.go` that name files, not Go names.
var notGo = map[string]bool{"go": true, "md": true, "toml": true, "json": true, "wasm": true,
	"wat": true, "sh": true, "rs": true, "h": true, "c": true, "ts": true, "log": true, "key": true, "wal": true}

// notGoSpans are dotted code spans of the docs that are not Go names: Wasm instructions
// (by their first half), the metadata section's name, and the pointer syntax itself.
var notGoSpans = map[string]bool{"memory": true, "data": true, "table": true, "ref": true,
	"i32": true, "i64": true, "f32": true, "f64": true, "local": true, "global": true,
	"elem": true, "wnode": true, "Type": true}

// TestQualifiedNamesResolve fails when ARCHITECTURE.md or a spec names a Go identifier
// (`pkg.Name`, `Type.Method`, `Type.Field`) that the code no longer declares.
func TestQualifiedNamesResolve(t *testing.T) {
	names := goNames(t)
	checked := 0
	for path, b := range repoFiles(t) {
		if path != "docs/ARCHITECTURE.md" && !(strings.HasPrefix(path, "docs/spec/") && strings.HasSuffix(path, ".md")) {
			continue
		}
		doc := string(b)
		for _, loc := range qualifiedRE.FindAllStringSubmatchIndex(doc, -1) {
			a, n := doc[loc[2]:loc[3]], doc[loc[4]:loc[5]]
			if notGo[n] || notGoSpans[a] {
				continue
			}
			checked++
			if !names[a+"."+n] {
				t.Errorf("%s:%d: `%s.%s` is not declared in the Go code", path, strings.Count(doc[:loc[0]], "\n")+1, a, n)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no qualified names found")
	}
}
