package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PeakRSS is the peak resident set size of process pid since it started, in bytes: the
// kernel's high-water mark (VmHWM in /proc/<pid>/status). It works on Linux only, for a
// process of this machine.
func PeakRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(b)
}

// parseVmHWM reads the "VmHWM:   12345 kB" line of a /proc/<pid>/status.
func parseVmHWM(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmHWM: unexpected %q", rest)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmHWM line")
}

// peakRSS reads the peak RSS of every process of r.procs; 0 for one that cannot be read
// (gone, or not this machine's).
func (r *loadRun) peakRSS() []uint64 {
	if len(r.procs) == 0 {
		return nil
	}
	out := make([]uint64, len(r.procs))
	for i, pid := range r.procs {
		if pid > 0 {
			out[i], _ = PeakRSS(pid)
		}
	}
	return out
}

// rssText formats peak RSS figures (bytes) in MB, "?" for an unknown one.
func rssText(rss []uint64) string {
	parts := make([]string, len(rss))
	for i, b := range rss {
		if b == 0 {
			parts[i] = "?"
		} else {
			parts[i] = strconv.FormatUint(b/1e6, 10)
		}
	}
	return strings.Join(parts, " / ") + " MB"
}
