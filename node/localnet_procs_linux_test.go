package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wnode/wnode/internal/testutil"
)

// TestLocalnetProcesses finds the processes started as `start --datadir` on a node's
// data dir, given absolute or relative to the process's directory, and none for a node
// not running. It reads /proc, so it is built on Linux only (the _linux suffix).
func TestLocalnetProcesses(t *testing.T) {
	dir := t.TempDir()
	l, _, err := OpenLocalnet(dir, LocalnetOptions{Nodes: 3, BasePort: 20000})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func(cwd string, args ...string) int {
		cmd := exec.Command(exe, append([]string{"start"}, args...)...)
		cmd.Dir, cmd.Env = cwd, append(os.Environ(), "WNODE_TEST_FAKE_NODE=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	p0 := start("/", "--datadir", l.Path(l.Nodes[0]))
	p2 := start(dir, "--datadir="+filepath.Join(".", l.Nodes[2].DataDir))
	want := []int{p0, 0, p2}
	testutil.WaitFor(t, 10*time.Second, "the fake nodes in /proc", func() bool { return slices.Equal(l.Processes(), want) })
}
