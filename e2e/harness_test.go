// Package e2e tests wnode as a user meets it: the wnode binary, built once, run as real
// processes in temporary directories, driven through its CLI and plain HTTP.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the wnode binary built by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wnode-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "wnode")
	build := exec.Command("go", "build", "-o", bin, "github.com/wnode/wnode/cmd/wnode")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build wnode:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running `wnode start`.
type proc struct {
	cmd    *exec.Cmd
	addr   string // RPC host:port
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startNode starts `wnode start ARGS --datadir dir --rpc.addr 127.0.0.1:0` and waits
// until /health answers 200 at the address the node reports. The process is killed at
// the end of the test.
func startNode(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startProc(t, "", append(append([]string{"start"}, args...), "--datadir", dir, "--rpc.addr", "127.0.0.1:0")...)
}

// startedRPC finds the RPC address in the "node started" log line of `wnode start`.
var startedRPC = regexp.MustCompile(`node started.*rpc=http://(\S+)`)

// startProc runs `wnode ARGS`, a node whose RPC server listens on addr, and waits
// until /health answers 200. With addr empty (the node was given port 0), the address
// is the one its "node started" log line reports: the port is never released between
// choosing and binding it. The process is killed at the end of the test.
func startProc(t *testing.T, addr string, full ...string) *proc {
	t.Helper()
	p := &proc{addr: addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, full...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = cleanEnv()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("wnode start exited: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		default:
		}
		if p.addr == "" {
			if m := startedRPC.FindStringSubmatch(p.stderr.String()); m != nil {
				p.addr = m[1]
			}
		}
		resp, err := http.Get("http://" + p.addr + "/health")
		if p.addr != "" && err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node not healthy after 30 s\nstderr:\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// stop sends SIGTERM and waits up to 30 s for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("wnode exited with %v after SIGTERM\nstderr:\n%s", p.err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("wnode still running 30 s after SIGTERM\nstderr:\n%s", p.stderr)
	}
}

func (p *proc) url() string { return "http://" + p.addr }

// cleanEnv is the environment without WNODE_* variables of the developer's shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WNODE_") {
			env = append(env, kv)
		}
	}
	return env
}

// result is what a CLI run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// wnode runs the CLI with args (and extra environment) to completion within 60 s.
func wnode(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("wnode %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs the CLI and fails the test unless it exits 0; it returns stdout trimmed.
func ok(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := wnode(t, env, args...)
	if r.code != 0 {
		t.Fatalf("wnode %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// fails runs the CLI and fails the test unless it exits with code and its stderr
// contains msg.
func fails(t *testing.T, env []string, code int, msg string, args ...string) result {
	t.Helper()
	r := wnode(t, env, args...)
	if r.code != code || !strings.Contains(r.stderr, msg) {
		t.Errorf("wnode %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, msg)
	}
	return r
}
