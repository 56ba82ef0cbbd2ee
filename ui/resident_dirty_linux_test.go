package ui

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// mapFile maps a file of pages pages of 'a' privately, writable when write.
func mapFile(t *testing.T, pages int, write bool) []byte {
	t.Helper()
	page := os.Getpagesize()
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, bytes.Repeat([]byte{'a'}, pages*page), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if write {
		f, err = os.OpenFile(name, os.O_RDWR, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prot := syscall.PROT_READ
	if write {
		prot |= syscall.PROT_WRITE
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, pages*page, prot, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	return m
}

// TestDropResidentKeepsWrittenPages: a private file mapping written while writable, then
// made read-only (as the loader does to a PIE binary's relocated data, RELRO), holds
// private copies that exist nowhere else: dropResident must not drop them (the bytes
// would silently come back as the file's), nor touch a writable mapping, while a clean
// read-only mapping is dropped.
func TestDropResidentKeepsWrittenPages(t *testing.T) {
	const pages = 4
	page := os.Getpagesize()

	clean := mapFile(t, pages, false)
	if n := dropResident(unsafe.String(&clean[0], len(clean))); n != len(clean) {
		t.Fatalf("clean read-only mapping: dropResident = %d, want %d", n, len(clean))
	}
	if !bytes.Equal(clean, bytes.Repeat([]byte{'a'}, len(clean))) {
		t.Fatal("clean mapping changed")
	}

	// A writable mapping is left alone, written or not (a write may come at any time).
	w := mapFile(t, pages, true)
	if n := dropResident(unsafe.String(&w[0], len(w))); n != 0 {
		t.Fatalf("writable mapping: dropResident = %d, want 0", n)
	}

	m := mapFile(t, pages, true)
	copy(m[page:], bytes.Repeat([]byte{'b'}, page)) // page 1 is now a private copy
	if err := syscall.Mprotect(m, syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(m)
	dropResident(unsafe.String(&m[0], len(m)))
	if !bytes.Equal(m, want) {
		t.Fatalf("dropResident lost a written page: page 1 reads %q..., was %q...", m[page:page+4], want[page:page+4])
	}
}
