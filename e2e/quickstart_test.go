package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// The first contract the dev account deploys (nonce 0) always lands here.
const helloAddr = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

// The counter of the quickstart comes after hello's deploy and one invoke: nonce 2.
const counterAddr = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"

var addrRE = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)

// httpDo sends a request and returns status, headers and body.
func httpDo(t *testing.T, method, url, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// checkGateway verifies the signature headers of a /fn/ answer.
func checkGateway(t *testing.T, h http.Header, to types.Address, method string, input, output []byte, signer string) {
	t.Helper()
	height, _ := strconv.ParseUint(h.Get(rpctypes.HeaderHeight), 10, 64)
	gas, _ := strconv.ParseUint(h.Get(rpctypes.HeaderGasUsed), 10, 64)
	chain, _ := strconv.ParseUint(h.Get(rpctypes.HeaderChainID), 10, 64)
	root, _ := hexutil.Decode(h.Get(rpctypes.HeaderStateRoot))
	sig, _ := hexutil.Decode(h.Get(rpctypes.HeaderSignature))
	sgn, err := rpctypes.ParseAddress(h.Get(rpctypes.HeaderSigner))
	if err != nil || !strings.EqualFold(sgn.Hex(), signer) {
		t.Fatalf("signer header %q, want %s", h.Get(rpctypes.HeaderSigner), signer)
	}
	sr := &rpctypes.SignedResult{ChainID: chain, Kind: rpctypes.KindCall, Height: height, StateRoot: types.Hash(root),
		ResultHash: rpctypes.CallResultHash(types.Address{}, to, method, input, nil, output, gas), Signer: sgn, Signature: sig}
	if err := rpctypes.VerifySignedResult(sr); err != nil || gas == 0 || chain != genesis.DevChainID {
		t.Errorf("gateway answer: %v (gas %d, chain %d)", err, gas, chain)
	}
}

// TestQuickstart runs the README's quickstart as a newcomer would: a dev node as a real
// process, the CLI, curl-like HTTP; then kill -9, restart, and everything is still there.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, dir, "--dev")
	env := []string{"WNODE_RPC=" + node.url()}

	// The banner tells the newcomer what they have.
	banner := node.stdout.String()
	for _, want := range []string{"wnode dev chain 1337", genesis.DevAddress.Hex(), genesis.DevKeyHex, "JSON-RPC     " + node.url()} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	var status rpctypes.NodeInfoJSON
	if err := json.Unmarshal([]byte(ok(t, env, "status", "--json")), &status); err != nil || !status.Dev || uint64(status.ChainID) != 1337 {
		t.Fatalf("status: %+v %v", status, err)
	}
	signer := status.Signer.Hex()

	// hello: deploy, invoke, call, gateway.
	hello := ok(t, env, "deploy", "../examples/hello/hello.wasm")
	if hello != helloAddr {
		t.Fatalf("deploy printed %q, want %s", hello, helloAddr)
	}
	if out := ok(t, env, "invoke", hello, "hello", "world"); out != "hello, world" {
		t.Errorf("invoke printed %q", out)
	}
	if out := ok(t, env, "call", hello, "hello", "world"); out != "hello, world" {
		t.Errorf("call printed %q", out)
	}
	if out := ok(t, env, "call", hello, "hello"); out != "hello, world" {
		t.Errorf("call without args printed %q", out)
	}
	if out := ok(t, env, "call", "--hex", hello, "hello", "0x6869"); out != "hello, hi" {
		t.Errorf("call --hex printed %q", out)
	}
	// The README's --verify line: the same answer, proven against the genesis file in the
	// data dir; a saved bundle verifies offline, and a tampered one does not.
	gen := filepath.Join(dir, "genesis.json")
	saved := filepath.Join(t.TempDir(), "hello.json")
	if out := ok(t, env, "call", "--verify", "--genesis", gen, "--save", saved, hello, "hello", "wasm"); out != "hello, wasm" {
		t.Errorf("call --verify printed %q", out)
	}
	if out := ok(t, nil, "verify", "--genesis", gen, saved); out != "hello, wasm" {
		t.Errorf("verify printed %q", out)
	}
	// The light client kept the height it verified beside the genesis file; a store of
	// another chain's root is refused.
	if stores, _ := filepath.Glob(filepath.Join(dir, "light", "trust-*.json")); len(stores) != 1 {
		t.Errorf("trust stores beside the genesis: %v", stores)
	} else {
		other := filepath.Join(t.TempDir(), "trust.json")
		if err := os.WriteFile(other, []byte(`{"version":1,"root":"0x`+strings.Repeat("00", 32)+`","states":[]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		fails(t, nil, 1, "bad trust store", "verify", "--genesis", gen, "--trust-store", other, saved)
	}
	// A root at a trusted height instead of the genesis: the hash of its header, from a
	// source the user trusts (here read from the node, as an operator would publish it).
	_, _, body := httpDo(t, "POST", node.url(), "application/json", `{"jsonrpc":"2.0","id":1,"method":"wn_getCommit","params":["0x2"]}`)
	var commit struct {
		Result struct {
			Hash string `json:"hash"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &commit); err != nil || commit.Result.Hash == "" {
		t.Fatalf("wn_getCommit: %s %v", body, err)
	}
	if out := ok(t, env, "call", "--verify", "--genesis", gen, "--trust-height", "2", "--trust-hash", commit.Result.Hash, hello, "hello", "wasm"); out != "hello, wasm" {
		t.Errorf("call --verify --trust-height printed %q", out)
	}
	fails(t, env, 1, "conflicts with a trusted header", "call", "--verify", "--genesis", gen, "--trust-height", "2",
		"--trust-hash", "0x"+strings.Repeat("11", 32), hello, "hello", "wasm")
	// A validator-set hash as trust root, pinned to a chain id: the right one verifies,
	// another is refused as the wrong chain.
	g, err := genesis.Load(gen)
	if err != nil {
		t.Fatal(err)
	}
	trust, err := light.TrustGenesis(g)
	if err != nil {
		t.Fatal(err)
	}
	vh := trust.ValidatorsHash.Hex()
	ok(t, nil, "verify", "--validators-hash", vh, "--chain-id", fmt.Sprint(g.ChainID), saved)
	fails(t, nil, 1, "wrong chain", "verify", "--validators-hash", vh, "--chain-id", fmt.Sprint(g.ChainID+1), saved)
	fails(t, nil, 2, "--chain-id is for --validators-hash", "verify", "--genesis", gen, "--chain-id", "1", saved)
	// It says which call the saved answer answers ("hello" with args "wasm").
	if r := wnode(t, nil, "verify", "--genesis", gen, saved); !strings.Contains(r.stderr, ".hello(0x7761736d)") {
		t.Errorf("verify does not name the call it answers: %q", r.stderr)
	}
	bundle, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	lie := strings.Replace(string(bundle), hexutil.Encode([]byte("hello, wasm")), hexutil.Encode([]byte("hello, lies")), 1)
	if lie == string(bundle) {
		t.Fatalf("no output to tamper with in %s", bundle)
	}
	if err := os.WriteFile(saved, []byte(lie), 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, nil, 1, "output mismatch", "verify", "--genesis", gen, saved)
	fails(t, env, 2, "trust root", "call", "--verify", hello, "hello")
	// A lying node (a proxy in front of the honest one) that changes the output, or the
	// code it proves: --verify refuses its answers and says what disagreed.
	for _, c := range []struct{ from, to, want string }{
		{hexutil.Encode([]byte("hello, wasm"))[2:], hexutil.Encode([]byte("hello, lies"))[2:], "output mismatch"},
		{`"value":"0x0061736d`, `"value":"0x0061736e`, "bad proof"}, // the code
	} {
		liar := lyingProxy(t, node.url(), c.from, c.to)
		fails(t, []string{"WNODE_RPC=" + liar}, 1, c.want, "call", "--verify", "--genesis", gen, hello, "hello", "wasm")
	}
	// A node that answers for another height than the one asked: a well-proven answer of
	// the head is not the account at block 1.
	dev := genesis.DevAddress.Hex()
	if out := ok(t, env, "account", "--verify", "--genesis", gen, "--height", "1", dev); !strings.Contains(out, "height    1") {
		t.Errorf("account --verify --height 1 printed %q", out)
	}
	shifter := rewritingProxy(t, node.url(), `[],"0x1"]`, `[],"latest"]`)
	fails(t, []string{"WNODE_RPC=" + shifter}, 1, "answer to another question", "account", "--verify", "--genesis", gen, "--height", "1", dev)
	to, _ := rpctypes.ParseAddress(hello)
	code, h, body := httpDo(t, "POST", node.url()+"/fn/"+hello+"/hello", "", "world")
	if code != 200 || body != "hello, world" {
		t.Fatalf("POST /fn/: %d %q", code, body)
	}
	checkGateway(t, h, to, "hello", []byte("world"), []byte(body), signer)
	code, h, body = httpDo(t, "GET", node.url()+"/fn/"+hello+"/hello?input=wasm", "", "")
	if code != 200 || body != "hello, wasm" {
		t.Fatalf("GET /fn/: %d %q", code, body)
	}
	checkGateway(t, h, to, "hello", []byte("wasm"), []byte(body), signer)
	code, _, body = httpDo(t, "POST", node.url()+"/fn/"+hello+"/nope", "", "")
	if code != 404 || !strings.Contains(body, "method not found") {
		t.Errorf("unknown method on the gateway: %d %q", code, body)
	}

	// JSON-RPC with curl: the same answers.
	code, _, body = httpDo(t, "POST", node.url(), "application/json", `{"jsonrpc":"2.0","id":1,"method":"wn_blockNumber","params":[]}`)
	if code != 200 || !strings.Contains(body, `"result":"0x`) {
		t.Errorf("wn_blockNumber: %d %s", code, body)
	}

	// counter: state across transactions, binary output.
	counter := ok(t, env, "deploy", "../examples/counter/counter.wasm")
	if counter != counterAddr {
		t.Fatalf("counter deployed at %q, want %s (the dev account's nonce 2)", counter, counterAddr)
	}
	for i := 1; i <= 2; i++ {
		if out := ok(t, env, "invoke", counter, "increment", "--out", "u64"); out != strconv.Itoa(i) {
			t.Errorf("increment %d printed %q", i, out)
		}
	}
	// get declares a u64 output in the counter's metadata: printed in decimal.
	if out := ok(t, env, "call", counter, "get"); out != "2" {
		t.Errorf("call get printed %q", out)
	}

	// Receipts and blocks, as JSON.
	var inv struct {
		TxHash  types.Hash     `json:"txHash"`
		Status  hexutil.Uint64 `json:"status"`
		Height  hexutil.Uint64 `json:"height"`
		Output  hexutil.Bytes  `json:"output"`
		Text    *string        `json:"outputText"`
		From    types.Address  `json:"from"`
		Signer  types.Address  `json:"signer"`
		GasUsed hexutil.Uint64 `json:"gasUsed"`
	}
	if err := json.Unmarshal([]byte(ok(t, env, "invoke", "--json", hello, "hello", "json")), &inv); err != nil {
		t.Fatal(err)
	}
	if inv.Status != 1 || inv.Text == nil || *inv.Text != "hello, json" || inv.From != genesis.DevAddress || inv.Signer.Hex() != signer {
		t.Errorf("invoke --json: %+v", inv)
	}
	receipt := ok(t, env, "receipt", inv.TxHash.Hex())
	for _, want := range []string{"status      success", "output      hello, json", "signed by   " + signer + " (verified)"} {
		if !strings.Contains(receipt, want) {
			t.Errorf("receipt lacks %q:\n%s", want, receipt)
		}
	}
	var blk struct {
		Height       hexutil.Uint64 `json:"height"`
		Transactions []types.Hash   `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(ok(t, env, "block", "--json", fmt.Sprint(uint64(inv.Height)))), &blk); err != nil {
		t.Fatal(err)
	}
	if blk.Height != inv.Height || len(blk.Transactions) != 1 || blk.Transactions[0] != inv.TxHash {
		t.Errorf("block %d: %+v", uint64(inv.Height), blk)
	}

	// kill -9, restart: state, blocks and receipts survive.
	node.kill()
	node = startNode(t, dir, "--dev")
	env = []string{"WNODE_RPC=" + node.url()}
	if out := ok(t, env, "call", counter, "get", "--out", "u64"); out != "2" {
		t.Errorf("counter after kill -9: %q", out)
	}
	if r := ok(t, env, "receipt", inv.TxHash.Hex()); !strings.Contains(r, "hello, json") {
		t.Errorf("receipt after kill -9:\n%s", r)
	}
	if out := ok(t, env, "invoke", counter, "increment", "--out", "u64"); out != "3" {
		t.Errorf("increment after restart printed %q", out)
	}

	// A graceful stop, and a restart: same.
	node.stop(t)
	if !strings.Contains(node.stderr.String(), "node stopped") {
		t.Errorf("no clean stop in the log:\n%s", node.stderr)
	}
	node = startNode(t, dir, "--dev")
	env = []string{"WNODE_RPC=" + node.url()}
	if out := ok(t, env, "call", counter, "get", "--out", "u64"); out != "3" {
		t.Errorf("counter after SIGTERM and restart: %q", out)
	}
	// A node whose receipt names another block than the one its proof is of: invoke
	// --verify must not print the unproven block.
	if out := ok(t, env, "invoke", "--verify", "--genesis", gen, hello, "hello", "proven"); out != "hello, proven" {
		t.Errorf("invoke --verify printed %q", out)
	}
	blockLiar := lyingProxyFunc(t, node.url(), func(b string) string {
		return regexp.MustCompile(`"blockHash":"0x.`).ReplaceAllStringFunc(b, func(m string) string {
			if m[len(m)-1] == '0' {
				return m[:len(m)-1] + "1"
			}
			return m[:len(m)-1] + "0"
		})
	})
	fails(t, []string{"WNODE_RPC=" + blockLiar}, 1, "differs from the proven one", "invoke", "--verify", "--genesis", gen, hello, "hello", "lies")
}

// lyingProxy serves JSON-RPC by forwarding to target and replacing the first from with
// to in every answer.
func lyingProxy(t *testing.T, target, from, to string) string {
	t.Helper()
	return lyingProxyFunc(t, target, func(b string) string { return strings.Replace(b, from, to, 1) })
}

// lyingProxyFunc is a node in front of target that rewrites each response body with lie.
func lyingProxyFunc(t *testing.T, target string, lie func(string) string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		b = []byte(lie(string(b)))
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// rewritingProxy is a node in front of target that replaces the first from by to in each
// request body: it answers another question than the one asked.
func rewritingProxy(t *testing.T, target, from, to string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		r := pr.Out
		if r.Body == nil {
			return
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			b = nil
		}
		b = []byte(strings.Replace(string(b), from, to, 1))
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}
