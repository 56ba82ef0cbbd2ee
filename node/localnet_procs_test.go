package node

import (
	"os"
	"testing"
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
