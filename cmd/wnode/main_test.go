package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/node"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(nil, nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"wnode call ADDR get --json", "wnode call --json -- ADDR get"},
		{"wnode call ADDR get --out u64 --json", "wnode call --out u64 --json -- ADDR get"},
		{"wnode call --hex ADDR m 0x01", "wnode call --hex -- ADDR m 0x01"},
		{"wnode invoke ADDR m -- --not-a-flag", "wnode invoke -- ADDR m --not-a-flag"},
		{"wnode transfer ADDR -5", "wnode transfer -- ADDR -5"},
		{"wnode --rpc URL status", "wnode status --rpc URL"},
		{"wnode account new --lightkdf", "wnode account new --lightkdf"},
		{"wnode genesis hash FILE", "wnode genesis hash -- FILE"},
		{"wnode start --dev", "wnode start --dev"},
		{"wnode --help", "wnode --help"},
		{"wnode", "wnode"},
	} {
		got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "1000": "1000", "1e18": "1000000000000000000", "2.5e3": "2500", "0x3e8": "1000", "1_000": "1000"} {
		v, err := parseAmount(in)
		if err != nil || v.Dec() != want {
			t.Errorf("%s: %v %v, want %s", in, v, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5", "1e-3", "abc", "1e100", "0xzz"} {
		if v, err := parseAmount(in); err == nil {
			t.Errorf("%q accepted as %v", in, v)
		}
	}
}

func TestFormatOutput(t *testing.T) {
	for _, tc := range []struct {
		in         []byte
		mode, want string
	}{
		{[]byte("hello, world"), "auto", "hello, world"},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 7}, "auto", "0x0000000000000007"},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 7}, "u64", "7"},
		{[]byte("hi"), "hex", "0x6869"},
		{[]byte("a\x01"), "auto", "0x6101"},
		{[]byte("a\x01"), "text", "a\x01"},
	} {
		got, err := formatOutput(tc.in, tc.mode)
		if err != nil || got != tc.want {
			t.Errorf("%q %s: %q %v, want %q", tc.in, tc.mode, got, err, tc.want)
		}
	}
	if _, err := formatOutput([]byte{1}, "u64"); err == nil {
		t.Error("u64 of 1 byte accepted")
	}
}

// TestConfigPrecedence: defaults < config.toml < WNODE_* environment < flags.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, node.ConfigFileName), []byte(`
dev = true
[rpc]
addr = "127.0.0.1:1111"
timeout = "3s"
fn_cors = ["https://a.example"]
[log]
level = "debug"
`), 0o644)
	var got node.Config
	app := &cli.App{Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}, Commands: []*cli.Command{{
		Name: "x", Flags: nodeFlags,
		Action: func(c *cli.Context) error {
			var err error
			got, err = nodeConfig(c)
			return err
		},
	}}}
	t.Setenv("WNODE_LOG_LEVEL", "warn")
	t.Setenv("WNODE_RPC_ADDR", "127.0.0.1:2222")
	if err := app.Run([]string{"wnode", "x", "--datadir", dir, "--rpc.addr", "127.0.0.1:3333", "--snapshot.pace", "1048576"}); err != nil {
		t.Fatal(err)
	}
	want := node.DefaultConfig()
	want.DataDir, want.Dev = dir, true
	want.RPC.Addr, want.RPC.RequestTimeout, want.RPC.FnCORS = "127.0.0.1:3333", 3*time.Second, []string{"https://a.example"}
	want.Log.Level = "warn"
	want.Snapshots.Pace = 1 << 20
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config\n got %+v\nwant %+v", got, want)
	}

	os.WriteFile(filepath.Join(dir, node.ConfigFileName), []byte("[rpc]\nadress = \"x\"\n"), 0o644)
	if err := app.Run([]string{"wnode", "x", "--datadir", dir}); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("typo in config.toml: %v", err)
	}
}

func TestRunExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"wnode", "nope"}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("unknown command: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"wnode", "call", "0x12", "m"}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bad address") {
		t.Errorf("bad address: %d %s", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"wnode", "version"}, nil, &out, &errb); code != 2 {
		t.Errorf("version is not a command: %d", code)
	}
	out.Reset()
	if code := run([]string{"wnode", "--version"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), node.Version) {
		t.Errorf("--version: %d %q", code, out.String())
	}
}

// A --timeout that expires against a live but slow node says it timed out, after how
// long and at which URL, and does not suggest starting a node (issue 11).
func TestTimeoutAgainstSlowNode(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer srv.Close()
	defer close(done)
	var out, errb bytes.Buffer
	code := run([]string{"wnode", "status", "--rpc", srv.URL, "--timeout", "300ms"}, nil, &out, &errb)
	msg := errb.String()
	if code != 1 || !strings.Contains(msg, "timed out after") || !strings.Contains(msg, srv.URL) || !strings.Contains(msg, "--timeout 300ms") {
		t.Errorf("exit %d, stderr %q: want a timeout naming the URL and --timeout", code, msg)
	}
	if strings.Contains(msg, "no node answering") || strings.Contains(msg, "start one") {
		t.Errorf("a slow node reported as absent: %q", msg)
	}
}
