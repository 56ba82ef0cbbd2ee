package ui

import (
	"encoding/binary"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// residentPages counts the pages of [lo, hi) mapped in this process, from the present
// bit of /proc/self/pagemap (readable without privileges; only frame numbers are hidden).
func residentPages(t *testing.T, lo, hi uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("no pagemap: %v", err)
	}
	defer f.Close()
	buf := make([]byte, (hi-lo)/4096*8)
	if _, err := f.ReadAt(buf, int64(lo/4096*8)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i < len(buf); i += 8 {
		if binary.LittleEndian.Uint64(buf[i:])>>63 == 1 {
			n++
		}
	}
	return n
}

// largestAsset is the largest embedded static file (the verifier when `go generate ./ui`
// has run, as in CI), as embedded returns it.
func largestAsset(t *testing.T) (string, string) {
	t.Helper()
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(static, ".")
	if err != nil {
		t.Fatal(err)
	}
	var name, data string
	for _, e := range entries {
		s, err := embedded(static, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		want, err := fs.ReadFile(static, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if s != string(want) {
			t.Fatalf("embedded(%s) differs from ReadFile", e.Name())
		}
		if len(s) > len(data) {
			name, data = e.Name(), s
		}
	}
	return name, data
}

// TestEmbeddedNotCopied: embedded gives the embedded bytes in place, in the binary's
// read-only mapping, not a heap copy (if embed's layout changed, it would copy and this
// fails).
func TestEmbeddedNotCopied(t *testing.T) {
	name, s := largestAsset(t)
	start := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	if _, _, ok := readOnlyFileMapping(start, start+uintptr(len(s))); !ok {
		t.Fatalf("%s (%d bytes) at %#x is not in a read-only file mapping: copied", name, len(s), start)
	}
}

// TestDropResident: the whole pages of an embedded file leave the resident set, stay out
// through a GC (which reads the read-only data next to them), and read back unchanged;
// heap memory is refused and left as it was.
func TestDropResident(t *testing.T) {
	name, s := largestAsset(t)
	start := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo, hi := (start+4095)&^4095, (start+uintptr(len(s)))&^4095
	if hi-lo < 2*4096 {
		t.Fatalf("%s: %d bytes, too small", name, len(s))
	}
	want := strings.Clone(s)
	if strings.Count(s, "\x00") < 0 { // read every byte: all pages resident
		t.Fatal()
	}
	if n := residentPages(t, lo, hi); n != int(hi-lo)/4096 {
		t.Fatalf("%s read: %d of %d pages resident", name, n, (hi-lo)/4096)
	}
	if n := dropResident(s); n != int(hi-lo) {
		t.Fatalf("dropResident(%s) = %d, want %d", name, n, hi-lo)
	}
	if n := residentPages(t, lo, hi); n != 0 {
		t.Fatalf("%s dropped: %d of %d pages still resident", name, n, (hi-lo)/4096)
	}
	// Read what lies next to the range in its first and last page (the bytes of s outside
	// whole pages), then let a GC read the runtime's read-only data: a fault next to the
	// range must not map it again (as mapping a whole 2 MiB folio would).
	var sum byte
	if start != lo {
		sum += s[0]
	}
	if end := start + uintptr(len(s)); end != hi {
		sum += s[len(s)-1]
	}
	runtime.KeepAlive(sum)
	runtime.GC()
	if n := residentPages(t, lo, hi); n != 0 {
		t.Fatalf("%s dropped, after reading next to it and a GC: %d of %d pages resident again", name, n, (hi-lo)/4096)
	}
	if s != want {
		t.Fatalf("%s changed by dropResident", name)
	}
	t.Logf("%s: %d bytes, %d pages dropped and read back", name, len(s), (hi-lo)/4096)

	heap := strings.Repeat("wnode", 4096)
	if n := dropResident(heap); n != 0 || heap != strings.Repeat("wnode", 4096) {
		t.Fatalf("dropResident(heap) = %d", n)
	}
}
