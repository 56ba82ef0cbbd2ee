package testutil

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// Listen returns a TCP listener on a loopback port the system chose, closed at the end
// of the test: give it to the server under test (rpc.Server.Serve, http.Serve) rather
// than its address, so that no other process can take the port in between.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// ClosedAddr returns a loopback host:port nobody listens on (it was bound, then closed):
// for tests of what a client does when no node answers. (Something else could bind it
// meanwhile; a test that needs a port to use binds port 0 itself, see Listen.)
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// ExampleWasm returns the committed build of the example contract name
// (examples/<name>/<name>.wasm), whichever package's test asks.
func ExampleWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ModuleRoot(t), "examples", name, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ModuleRoot is the repository's root: the nearest directory above the test's working
// directory (its package's) that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("testutil: no go.mod above the working directory")
		}
		dir = up
	}
}
