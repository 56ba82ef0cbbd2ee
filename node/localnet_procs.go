package node

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Processes returns, for each node of l in order, the id of a running `wnode start`
// process whose --datadir is that node's data dir (0 when none is found), by reading
// /proc: the localnet supervisor's children, or a node restarted by hand. It finds nothing
// where there is no /proc (not Linux). `wnode bench --localnet` reports their peak memory.
func (l *Localnet) Processes() []int {
	want := make(map[string]int, len(l.Nodes))
	for i, n := range l.Nodes {
		if p, err := filepath.Abs(l.Path(n)); err == nil {
			want[p] = i
		}
	}
	pids := make([]int, len(l.Nodes))
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		dir, ok := startDataDir(bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0}))
		if !ok {
			continue
		}
		if !filepath.IsAbs(dir) {
			cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
			if err != nil {
				continue
			}
			dir = filepath.Join(cwd, dir)
		}
		if i, ok := want[filepath.Clean(dir)]; ok && pids[i] == 0 {
			pids[i] = pid
		}
	}
	return pids
}

// startDataDir returns the --datadir of a `wnode start` command line (argv).
func startDataDir(argv [][]byte) (string, bool) {
	if len(argv) < 2 || string(argv[1]) != "start" {
		return "", false
	}
	for i := 2; i < len(argv); i++ {
		a := strings.TrimPrefix(string(argv[i]), "-") // -datadir and --datadir
		if v, ok := strings.CutPrefix(a, "-datadir="); ok {
			return v, true
		}
		if v, ok := strings.CutPrefix(a, "datadir="); ok {
			return v, true
		}
		if (a == "-datadir" || a == "datadir") && i+1 < len(argv) {
			return string(argv[i+1]), true
		}
	}
	return "", false
}
