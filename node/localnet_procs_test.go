package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wnode/wnode/internal/testutil"
)

// TestMain lets the test binary stand in for a `wnode start` process: run with
// WNODE_TEST_FAKE_NODE=1 it waits on stdin and exits when it closes.
func TestMain(m *testing.M) {
	if os.Getenv("WNODE_TEST_FAKE_NODE") == "1" {
		_, _ = os.Stdin.Read(make([]byte, 1))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStartDataDir(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		dir  string
		ok   bool
	}{
		{[]string{"wnode", "start", "--datadir", "/a/node0"}, "/a/node0", true},
		{[]string{"wnode", "start", "--log.level", "debug", "-datadir", "rel/node1"}, "rel/node1", true},
		{[]string{"wnode", "start", "--datadir=/a/node2", "--pprof", "x"}, "/a/node2", true},
		{[]string{"wnode", "start", "-datadir=/a/node3"}, "/a/node3", true},
		{[]string{"wnode", "localnet", "--datadir", "/a"}, "", false},
		{[]string{"wnode", "start", "--datadir"}, "", false},
		{[]string{"wnode"}, "", false},
	} {
		var argv [][]byte
		for _, a := range tc.argv {
			argv = append(argv, []byte(a))
		}
		dir, ok := startDataDir(argv)
		if dir != tc.dir || ok != tc.ok {
			t.Errorf("startDataDir(%q) = %q, %v; want %q, %v", tc.argv, dir, ok, tc.dir, tc.ok)
		}
	}
}

// TestLocalnetProcesses finds the processes started as `start --datadir` on a node's
// data dir, given absolute or relative to the process's directory, and none for a node
// not running.
func TestLocalnetProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
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
