package ui

import (
	"bufio"
	"encoding/binary"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// dropResident unmaps from this process the whole pages of s, which must be bytes of a
// read-only file mapping (an embedded file: the binary's read-only data), so that they
// stop counting in its resident set until something reads them again. It changes no
// byte: a read-only private file mapping has no private copy to lose, and the next read
// faults the page back in from the page cache. It returns the bytes unmapped; anything
// else (heap memory, a writable or anonymous mapping, less than a page) is left alone and
// returns 0.
//
// Why (docs/rationale/ui.md): Linux keeps a freshly written binary in the page cache as
// folios of up to 2 MiB and maps a whole folio on a fault in it (one huge mapping, or
// since 6.18 all its pages), so the 3.2 MB of the dashboard's verifier, which the linker
// puts beside read-only data the runtime reads on every GC cycle, was resident in every
// node although nothing read it. Unmapping its pages is not enough on its own: unmapping
// part of a huge file mapping unmaps all of it, and the next fault on the neighbours maps
// the whole folio again, verifier included. So the 2 MiB regions around s are first
// marked MADV_NOHUGEPAGE (mapped by pages from then on), the range is unmapped, one byte
// of it in each region is read (the fault maps the folio again, now by pages, neighbours
// included), and the range is unmapped again: its pages go, the neighbours' stay, and no
// later fault next to the range has a reason to bring it back.
func dropResident(s string) int {
	const page, region = 4096, 2 << 20
	if len(s) == 0 {
		return 0
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	end := start + uintptr(len(s))
	lo, hi := (start+page-1)&^(page-1), end&^(page-1)
	if hi <= lo {
		return 0
	}
	mlo, mhi, ok := readOnlyFileMapping(start, end)
	if !ok || !filePages(lo, hi) {
		return 0
	}
	// The regions around the range, within its mapping (addresses only: they may lie
	// outside s). An error leaves huge mappings possible: still worth trying.
	rlo, rhi := max(lo&^(region-1), mlo), min((hi+region-1)&^(region-1), mhi)
	syscall.Syscall(syscall.SYS_MADVISE, rlo, rhi-rlo, syscall.MADV_NOHUGEPAGE)
	b := unsafe.Slice(unsafe.StringData(s[lo-start:]), hi-lo)
	if err := syscall.Madvise(b, syscall.MADV_DONTNEED); err != nil {
		return 0
	}
	var sum byte
	for r := lo &^ (region - 1); r < hi; r += region {
		sum += s[max(r, lo)-start]
	}
	runtime.KeepAlive(sum)
	if err := syscall.Madvise(b, syscall.MADV_DONTNEED); err != nil {
		return 0
	}
	return int(hi - lo)
}

// readOnlyFileMapping reports whether [start, end) lies within one mapping of
// /proc/self/maps that is a file's (inode not 0), private and not writable, and returns
// that mapping's bounds.
func readOnlyFileMapping(start, end uintptr) (lo, hi uintptr, ok bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/x
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		a, b, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(a, 16, 64)
		h, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil || uint64(start) < l || uint64(start) >= h {
			continue
		}
		perm := fields[1]
		ok = uint64(end) <= h && len(perm) == 4 && perm[1] == '-' && perm[3] == 'p' && fields[4] != "0"
		return uintptr(l), uintptr(h), ok
	}
	return 0, 0, false
}

// filePages reports whether no page of [lo, hi) holds a private copy (an anonymous page,
// present or swapped out), from /proc/self/pagemap. A private file mapping that was
// written while writable and then made read-only (a PIE binary's relocated data, RELRO)
// holds such copies: MADV_DONTNEED would drop them and the bytes would read back as the
// file's. Unreadable: false.
func filePages(lo, hi uintptr) bool {
	page := uintptr(os.Getpagesize())
	first, last := lo/page, (hi+page-1)/page
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, (last-first)*8)
	if _, err := f.ReadAt(buf, int64(first*8)); err != nil {
		return false
	}
	for i := 0; i < len(buf); i += 8 {
		e := binary.LittleEndian.Uint64(buf[i:])
		present, swapped, file := e>>63&1 == 1, e>>62&1 == 1, e>>61&1 == 1
		if swapped || (present && !file) {
			return false
		}
	}
	return true
}
