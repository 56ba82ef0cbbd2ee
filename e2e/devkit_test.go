package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inDir runs the CLI in dir and fails the test unless it exits 0; it returns stdout
// trimmed. Builds may take longer than the other commands: up to 3 minutes.
func inDir(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, append(cleanEnv(), env...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("wnode %s (in %s): %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), dir, err, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String())
}

// TestDevkit is the path of a newcomer per language: wnode new, build, the project's own
// test, deploy to a dev node, call, with the output printed by the method's metadata.
// It logs the wall time from new to the first successful call.
func TestDevkit(t *testing.T) {
	node := startNode(t, t.TempDir(), "--dev")
	env := []string{"WNODE_RPC=" + node.url()}
	// Debian's cargo and rustc have the wasm32 target; a rustup cargo first on PATH
	// usually has not.
	if _, err := os.Stat("/usr/bin/cargo"); err == nil && os.Getenv("CARGO") == "" {
		env = append(env, "CARGO=/usr/bin/cargo", "RUSTC=/usr/bin/rustc")
	}
	for _, tc := range []struct{ lang, tool string }{{"as", "npm"}, {"rust", "cargo"}, {"c", "clang"}} {
		t.Run(tc.lang, func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool); err != nil {
				t.Skipf("%s not installed", tc.tool)
			}
			dir := t.TempDir()
			start := time.Now()
			inDir(t, dir, env, "new", "greeter", "--lang", tc.lang)
			proj := filepath.Join(dir, "greeter")
			build := inDir(t, proj, env, "build")
			if !strings.Contains(build, "passes the node's deploy rules") || !strings.Contains(build, "hello") || !strings.Contains(build, "text -> text") {
				t.Fatalf("build printed:\n%s", build)
			}
			if out := inDir(t, proj, env, "test"); strings.Count(out, ": ok, gas") != 4 {
				t.Fatalf("test printed:\n%s", out)
			}
			addr := inDir(t, proj, env, "deploy")
			if out := inDir(t, proj, env, "call", addr, "hello", "world"); out != "hello, world" {
				t.Fatalf("call printed %q", out)
			}
			t.Logf("%s: wnode new -> first successful call in %.1f s", tc.lang, time.Since(start).Seconds())
			if out := inDir(t, proj, env, "contract", addr); !strings.Contains(out, "hello") || !strings.Contains(out, "view   text -> text") ||
				!strings.Contains(out, "deployed   block ") {
				t.Fatalf("contract printed:\n%s", out)
			}
		})
	}

	// Non-text formats: the token's init takes a u256 (--args in decimal), balance_of an
	// address and prints a u256 in decimal, the counter's outputs are u64.
	token := ok(t, env, "deploy", "../examples/token/as/token.wasm", "--args", "1000")
	if out := ok(t, env, "call", token, "balance_of", "0x"+strings.Repeat("0", 40)); out != "0" {
		t.Errorf("balance_of zero address printed %q", out)
	}
	if out := ok(t, env, "call", token, "total_supply"); out != "1000" {
		t.Errorf("total_supply printed %q", out)
	}
	counter := ok(t, env, "deploy", "../examples/counter/c/counter.wasm")
	if out := ok(t, env, "invoke", counter, "increment"); out != "1" {
		t.Errorf("increment printed %q", out)
	}
	fails(t, env, 2, "format address", "call", token, "balance_of", "nobody")

	// The gateway's Content-Type and X-Wnode-Format follow the declared output format.
	code, h, body := httpDo(t, "GET", node.url()+"/fn/"+token+"/total_supply", "", "")
	if code != 200 || h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Wnode-Format") != "u256" || len(body) != 32 {
		t.Errorf("GET total_supply: %d %v %x", code, h, body)
	}
	hello := ok(t, env, "deploy", "../examples/hello/rust/hello.wasm")
	code, h, body = httpDo(t, "GET", node.url()+"/fn/"+hello+"/hello?input=fn", "", "")
	if code != 200 || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Wnode-Format") != "text" || body != "hello, fn" {
		t.Errorf("GET hello: %d %v %q", code, h, body)
	}
}
