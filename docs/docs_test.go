// Package docs_test checks that the repository's documentation stands alone: no file
// refers to documents outside the repository, and every relative link in a Markdown file
// leads to a file (and, with a #fragment, to a heading) that exists.
package docs_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
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
