package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// TestCommands covers the commands the quickstart does not: account import, upgrade
// (and its refusal to a non-admin), deploy with init args, blocks by hash and in full.
func TestCommands(t *testing.T) {
	tmp := t.TempDir()
	node := startNode(t, filepath.Join(tmp, "node"), "--dev")
	env := []string{"WNODE_RPC=" + node.url()}

	// account import of a hex key; importing it twice is an error.
	key, _ := crypto.GenerateKey()
	keyFile := filepath.Join(tmp, "k.hex")
	os.WriteFile(keyFile, []byte(hexutil.Encode(crypto.FromECDSA(key))+"\n"), 0o600)
	pw := filepath.Join(tmp, "pw")
	os.WriteFile(pw, []byte("pw"), 0o600)
	dd := filepath.Join(tmp, "client")
	want := crypto.PubkeyToAddress(key.PublicKey).Hex()
	if got := ok(t, env, "account", "import", "--datadir", dd, "--password-file", pw, "--lightkdf", keyFile); got != want {
		t.Errorf("import printed %q, want %s", got, want)
	}
	fails(t, env, 1, "already in the keystore", "account", "import", "--datadir", dd, "--password-file", pw, "--lightkdf", keyFile)
	fails(t, env, 1, "not a keystore file nor a hex private key", "account", "import", "--datadir", dd, "--password-file", pw, pw)
	var list []struct{ Address string }
	if err := json.Unmarshal([]byte(ok(t, env, "account", "list", "--datadir", dd, "--json")), &list); err != nil || len(list) != 1 || list[0].Address != want {
		t.Errorf("account list --json: %+v %v", list, err)
	}

	// upgrade: the counter's address and storage stay, its code becomes hello's.
	counter := ok(t, env, "deploy", "../examples/counter/counter.wasm")
	ok(t, env, "invoke", counter, "increment")
	ok(t, env, "transfer", want, "1e18")
	send := []string{"--datadir", dd, "--from", want, "--password-file", pw}
	fails(t, env, 1, "would fail", append(append([]string{"upgrade"}, send...), counter, "../examples/hello/hello.wasm")...)
	if got := ok(t, env, "upgrade", counter, "../examples/hello/hello.wasm"); got != counter {
		t.Errorf("upgrade printed %q", got)
	}
	if out := ok(t, env, "call", counter, "hello", "upgraded"); out != "hello, upgraded" {
		t.Errorf("after upgrade: %q", out)
	}
	fails(t, env, 1, "method not found", "call", counter, "get")

	// deploy with init args: the token mints its supply to the deployer.
	token := ok(t, env, "deploy", "--hex", "--args", "0x00000000000003e8", "../examples/token/token.wasm")
	dev := "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
	if out := ok(t, env, "call", "--hex", token, "balance_of", dev); out != "0x"+strings.Repeat("0", 60)+"03e8" {
		t.Errorf("token balance: %q", out)
	}
	args := filepath.Join(tmp, "args")
	os.WriteFile(args, hexutil.MustDecode("0x"+dev), 0o644)
	if out := ok(t, env, "call", "--args-file", args, "--out", "hex", token, "balance_of"); !strings.HasSuffix(out, "03e8") {
		t.Errorf("token balance from --args-file: %q", out)
	}

	// blocks: by height, by hash, in full.
	var head struct {
		Hash         types.Hash `json:"hash"`
		Height       hexutil.Uint64
		Transactions []struct {
			Kind   string `json:"kind"`
			Method string `json:"method"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(ok(t, env, "block", "--json", "--full")), &head); err != nil || len(head.Transactions) != 1 || head.Transactions[0].Kind != "deploy" {
		t.Fatalf("block --full: %+v %v", head, err)
	}
	if out := ok(t, env, "block", head.Hash.Hex()); !strings.Contains(out, head.Hash.Hex()) {
		t.Errorf("block by hash:\n%s", out)
	}
	fails(t, env, 1, "no block", "block", "999999")
	fails(t, env, 1, "no block", "block", "0x"+strings.Repeat("ab", 32))
}
