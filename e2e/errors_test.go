package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
)

// TestCLIErrors: every mistake a user can make gets a clear message and a non-zero exit,
// and the node keeps serving.
func TestCLIErrors(t *testing.T) {
	tmp := t.TempDir()
	// No node running: nothing listens on a port that was just free.
	dead := []string{"WNODE_RPC=http://" + testutil.ClosedAddr(t)}
	for _, args := range [][]string{{"status"}, {"call", helloAddr, "hello"}, {"deploy", "../examples/hello/hello.wasm"}, {"receipt", "0x" + strings.Repeat("11", 32)}} {
		fails(t, dead, 1, "no node answering", args...)
	}
	r := fails(t, dead, 1, "no node answering", "status", "--json")
	var je struct{ Error string }
	if err := json.Unmarshal([]byte(r.stdout), &je); err != nil || !strings.Contains(je.Error, "no node answering") {
		t.Errorf("--json error: %q (%v)", r.stdout, err)
	}

	node := startNode(t, filepath.Join(tmp, "node"), "--dev")
	env := []string{"WNODE_RPC=" + node.url()}
	hello := ok(t, env, "deploy", "../examples/hello/hello.wasm")

	// Usage mistakes exit 2.
	fails(t, env, 2, "unknown command", "deplyo", "x.wasm")
	fails(t, env, 2, "flag provided but not defined", "call", "--bogus", hello, "hello")
	fails(t, env, 2, "bad address", "call", "0x1234", "hello")
	fails(t, env, 2, "wrong EIP-55 checksum", "call", strings.Replace(hello, "F", "f", 1), "hello")
	fails(t, env, 2, "want ADDRESS METHOD", "invoke", hello)
	fails(t, env, 2, "not hex", "call", "--hex", hello, "hello", "zz")
	fails(t, env, 2, "too many arguments", "call", hello, "hello", "a", "b")
	fails(t, env, 2, "--out", "call", "--out", "base64", hello, "hello")
	fails(t, env, 2, "AMOUNT", "transfer", hello, "-5")
	fails(t, env, 2, "want one TXHASH", "receipt")

	// Files.
	fails(t, env, 1, "no such file", "deploy", filepath.Join(tmp, "missing.wasm"))
	bad := filepath.Join(tmp, "bad.wasm")
	os.WriteFile(bad, []byte("not wasm"), 0o644)
	fails(t, env, 1, "invalid code", "deploy", bad)
	empty := filepath.Join(tmp, "empty.wasm")
	os.WriteFile(empty, nil, 0o644)
	fails(t, env, 1, "empty", "deploy", empty)
	fails(t, env, 1, "--args-file", "invoke", "--args-file", filepath.Join(tmp, "nope"), hello, "hello")

	// Execution failures: refused at the estimate, or included and failed with --gas.
	fails(t, env, 1, "method not found", "call", hello, "nope")
	fails(t, env, 1, "would fail", "invoke", hello, "nope")
	r = fails(t, env, 1, "failed in block", "invoke", "--gas", "200000", hello, "nope")
	if !strings.Contains(r.stderr, "method not found") {
		t.Errorf("failed tx stderr: %s", r.stderr)
	}
	fails(t, env, 1, "no contract", "call", "0x0000000000000000000000000000000000000001", "hello")
	fails(t, env, 1, "no transaction", "receipt", "0x"+strings.Repeat("11", 32))

	// Accounts: a new, unfunded account; a wrong password; insufficient funds.
	dd := filepath.Join(tmp, "client")
	pw := filepath.Join(tmp, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	wrong := filepath.Join(tmp, "wrong")
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	addr := ok(t, env, "account", "new", "--datadir", dd, "--password-file", pw, "--lightkdf")
	if !addrRE.MatchString(addr) {
		t.Fatalf("account new printed %q", addr)
	}
	if list := ok(t, env, "account", "list", "--datadir", dd); !strings.Contains(list, addr) {
		t.Errorf("account list:\n%s", list)
	}
	fails(t, env, 2, "password is needed", "account", "new", "--datadir", dd, "--lightkdf")
	fails(t, env, 1, "wrong password", "transfer", "--datadir", dd, "--from", addr, "--password-file", wrong, hello, "1")
	fails(t, env, 1, "insufficient", "transfer", "--datadir", dd, "--from", addr, "--password-file", pw, hello, "1")
	fails(t, env, 1, "insufficient", "invoke", "--gas", "100000", "--datadir", dd, "--from", addr, "--password-file", pw, hello, "hello")
	fails(t, env, 1, "no such account", "transfer", "--datadir", dd, "--from", "0x000000000000000000000000000000000000dEaD", "--password-file", pw, hello, "1")
	// Funded by the dev account, the same account can pay (password from the environment).
	ok(t, env, "transfer", addr, "1e18")
	if out := ok(t, append(env, "WNODE_PASSWORD=secret"), "invoke", "--datadir", dd, "--from", addr, hello, "hello", "me"); out != "hello, me" {
		t.Errorf("invoke from the new account printed %q", out)
	}

	// The node survived all of it.
	if out := ok(t, env, "call", hello, "hello"); out != "hello, world" {
		t.Errorf("after the errors: %q", out)
	}
}

// TestOwnChain walks through a chain of one's own (not a dev chain): a node key, a
// genesis with it as validator and a funded account, init, start; the public dev key is
// refused there.
func TestOwnChain(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "node")
	var keyInfo struct {
		NodePubKey string `json:"nodePubKey"`
		Genesis    bool   `json:"genesis"`
	}
	if err := json.Unmarshal([]byte(ok(t, nil, "init", "--datadir", dir, "--json")), &keyInfo); err != nil || keyInfo.Genesis || keyInfo.NodePubKey == "" {
		t.Fatalf("init without genesis: %+v %v", keyInfo, err)
	}
	fails(t, nil, 1, "not initialized", "start", "--datadir", dir, "--rpc.addr", "127.0.0.1:0")

	pw := filepath.Join(tmp, "pw")
	os.WriteFile(pw, []byte("pw"), 0o600)
	user := ok(t, nil, "account", "new", "--datadir", dir, "--password-file", pw, "--lightkdf")
	gen := filepath.Join(tmp, "genesis.json")
	ok(t, nil, "genesis", "new", "--chain-id", "4242", "--validator", keyInfo.NodePubKey, "--fund", user+"=1e24", "--out", gen)
	hash := ok(t, nil, "genesis", "hash", gen)
	if v := ok(t, nil, "genesis", "validate", gen); !strings.Contains(v, hash) {
		t.Errorf("validate: %s", v)
	}
	fails(t, nil, 1, "invalid genesis", "genesis", "new", "--chain-id", "5")
	if out := ok(t, nil, "init", "--datadir", dir, "--genesis", gen); !strings.Contains(out, hash) {
		t.Errorf("init --genesis:\n%s", out)
	}
	fails(t, nil, 1, "not a dev chain", "start", "--dev", "--datadir", dir, "--rpc.addr", "127.0.0.1:0")

	node := startNode(t, dir, "--p2p.listen", "/ip4/127.0.0.1/tcp/0")
	env := []string{"WNODE_RPC=" + node.url()}
	fails(t, env, 2, "no --from given", "deploy", "../examples/hello/hello.wasm")
	fails(t, env, 1, "refusing the public dev key", "deploy", "--from", "dev", "../examples/hello/hello.wasm")
	devKey := filepath.Join(tmp, "dev.key")
	os.WriteFile(devKey, []byte(genesis.DevKeyHex), 0o600)
	fails(t, env, 1, "refusing the public dev key", "deploy", "--from", devKey, "../examples/hello/hello.wasm")
	send := []string{"--datadir", dir, "--from", user, "--password-file", pw}
	addr := ok(t, env, append(append([]string{"deploy"}, send...), "../examples/hello/hello.wasm")...)
	if out := ok(t, env, append(append([]string{"invoke"}, send...), addr, "hello", "chain")...); out != "hello, chain" {
		t.Errorf("invoke on own chain: %q", out)
	}
	// --signer holds the node to its key.
	var st struct{ Signer string }
	json.Unmarshal([]byte(ok(t, env, "status", "--json")), &st)
	ok(t, env, "call", "--signer", st.Signer, addr, "hello")
	fails(t, env, 1, "not by --signer", "call", "--signer", user, addr, "hello")
}
