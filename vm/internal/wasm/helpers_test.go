package wasm

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// bin assembles a module from raw sections: the header followed by each section.
func bin(sections ...[]byte) []byte {
	b := append([]byte{}, Magic...)
	b = append(b, Version...)
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// sec builds a section with a correct size prefix.
func sec(id byte, body ...byte) []byte {
	b := []byte{id}
	b = appendU32(b, uint32(len(body)))
	return append(b, body...)
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// corpus returns the real modules the tests decode: this package's testdata and, when
// present, the contracts other packages keep in the repository.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	var files []string
	for _, pat := range []string{
		"testdata/*.wasm",
		"../prepare/testdata/*.wasm",
		"../../testdata/*/*.wasm",
		"../../../examples/*/*.wasm",
	} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	if len(out) < 2 {
		t.Fatalf("corpus has %d modules; testdata missing", len(out))
	}
	return out
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

func sortOps(ops []Opcode) {
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
}

func sortCustoms(cs []Custom) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].After.order() < cs[j].After.order() })
}

// fataler is what testing.T and rapid.T have in common.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
	Fatal(args ...any)
}

func s64(v int64) uint64 { return uint64(v) }
