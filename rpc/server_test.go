package rpc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"
	"github.com/holiman/uint256"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

type testServer struct {
	b    *fakeBackend
	srv  *rpc.Server
	url  string
	key  *ecdsa.PrivateKey // node key
	user *ecdsa.PrivateKey // a funded user
}

func startServer(t *testing.T, cfg rpc.Config) *testServer {
	t.Helper()
	b := newFakeBackend()
	key, _ := crypto.GenerateKey()
	user, _ := crypto.GenerateKey()
	reg := prometheus.NewRegistry()
	if cfg.ExecQueueWait == 0 {
		// Tests that are not about admission must not see a 503 because the machine is
		// loaded: with the default share a slot stays taken for as long as the call ran,
		// and a call's wall time grows with the load.
		cfg.ExecQueueWait = 10 * time.Second
	}
	srv, err := rpc.NewServer(cfg, b, rpc.NewResultSigner(key, 7), reg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(testutil.Listen(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testServer{b: b, srv: srv, url: "http://" + srv.Addr(), key: key, user: user}
}

// rpcAnswer is a decoded JSON-RPC response.
type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func post(t *testing.T, url, contentType, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// request sends one JSON-RPC request and decodes the answer.
func (s *testServer) request(t *testing.T, method string, params string) rpcAnswer {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, params)
	status, out := post(t, s.url, "application/json", body)
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, status, out)
	}
	var a rpcAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("%s: answer %s: %v", method, out, err)
	}
	return a
}

func (s *testServer) result(t *testing.T, method, params string, into any) {
	t.Helper()
	a := s.request(t, method, params)
	if a.Error != nil {
		t.Fatalf("%s(%s): error %d %s", method, params, a.Error.Code, a.Error.Message)
	}
	if err := json.Unmarshal(a.Result, into); err != nil {
		t.Fatalf("%s: result %s: %v", method, a.Result, err)
	}
}

func (s *testServer) signTx(t *testing.T, nonce uint64, method string, args string) *types.Tx {
	t.Helper()
	tx := &types.Tx{ChainID: 7, Nonce: nonce, GasPrice: uint256.NewInt(1), GasLimit: 100_000,
		Kind: types.TxInvoke, To: helloAddr, Value: new(uint256.Int), Method: method, Args: []byte(args)}
	if err := tx.Sign(s.user); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestReadMethods(t *testing.T) {
	s := startServer(t, rpc.Config{})
	blk := s.b.commit(nil, nil)

	var u hexutil.Uint64
	s.result(t, "wn_chainId", `[]`, &u)
	if u != 7 {
		t.Errorf("chainId = %d", u)
	}
	s.result(t, "wn_blockNumber", `[]`, &u)
	if u != 1 {
		t.Errorf("blockNumber = %d", u)
	}
	var price hexutil.U256
	s.result(t, "wn_gasPrice", `[]`, &price)
	if (*uint256.Int)(&price).Uint64() != 1 {
		t.Errorf("gasPrice = %v", &price)
	}
	var info rpctypes.NodeInfoJSON
	s.result(t, "wn_nodeInfo", `[]`, &info)
	if info.Signer != crypto.PubkeyToAddress(s.key.PublicKey) || info.Height != 1 || !info.Dev || info.HeadHash != blk.Hash || info.GasCap != gas.DefaultCallCap {
		t.Errorf("nodeInfo = %+v", info)
	}

	for _, tag := range []string{`"latest"`, `"finalized"`, `"0x1"`, `1`} {
		var b rpctypes.HeaderJSON
		s.result(t, "wn_getBlockByNumber", `[`+tag+`]`, &b)
		if b.Hash != blk.Hash || b.Height != 1 || b.ParentHash != s.b.blocks[0].Hash {
			t.Errorf("getBlockByNumber(%s) = %+v", tag, b)
		}
	}
	var g rpctypes.HeaderJSON
	s.result(t, "wn_getBlockByNumber", `["earliest", false]`, &g)
	if g.Height != 0 {
		t.Errorf("earliest = %+v", g)
	}
	if a := s.request(t, "wn_getBlockByNumber", `["0x63"]`); a.Error != nil || string(a.Result) != "null" {
		t.Errorf("block above head: %s %+v", a.Result, a.Error)
	}
	s.result(t, "wn_getBlockByHash", fmt.Sprintf(`[%q]`, blk.Hash.Hex()), &g)
	if g.Height != 1 {
		t.Errorf("getBlockByHash = %+v", g)
	}
	if a := s.request(t, "wn_getBlockByHash", fmt.Sprintf(`[%q]`, types.Hash{1}.Hex())); a.Error != nil || string(a.Result) != "null" {
		t.Errorf("unknown hash: %s %+v", a.Result, a.Error)
	}

	var acc rpctypes.AccountJSON
	s.result(t, "wn_getAccount", fmt.Sprintf(`[%q]`, helloAddr.Hex()), &acc)
	if acc.CodeHash != crypto.Keccak256Hash([]byte("code")) || acc.Height != 1 || acc.Address != helloAddr {
		t.Errorf("getAccount = %+v", acc)
	}
	s.result(t, "wn_getPendingNonce", fmt.Sprintf(`[%q]`, helloAddr.Hex()), &u)
	if u != 3 {
		t.Errorf("pendingNonce = %d", u)
	}
	var code hexutil.Bytes
	s.result(t, "wn_getCode", fmt.Sprintf(`[%q, "latest"]`, helloAddr.Hex()), &code)
	if string(code) != "code" {
		t.Errorf("getCode = %q", code)
	}
	s.result(t, "wn_getCode", fmt.Sprintf(`[%q]`, types.Address{9}.Hex()), &code)
	if len(code) != 0 {
		t.Errorf("getCode of a plain account = %x", code)
	}
	var ct *rpctypes.ContractJSON
	s.result(t, "wn_getContract", fmt.Sprintf(`[%q]`, helloAddr.Hex()), &ct)
	if ct == nil || ct.CodeHash != crypto.Keccak256Hash([]byte("code")) || ct.CodeSize != 4 || ct.Admin != (types.Address{0xad}) ||
		ct.DeployHeight == nil || *ct.DeployHeight != 1 || len(ct.Methods) != 3 || ct.Metadata == nil ||
		len(ct.Metadata.Methods) != 3 || ct.Metadata.Methods[1] != helloMeta.Methods[1] || ct.Height != 1 {
		t.Errorf("getContract = %+v", ct)
	}
	ct = nil
	s.result(t, "wn_getContract", fmt.Sprintf(`[%q, "latest"]`, types.Address{9}.Hex()), &ct)
	if ct != nil {
		t.Errorf("getContract of a plain account = %+v", ct)
	}
	var val *hexutil.Bytes
	s.result(t, "wn_getStorage", fmt.Sprintf(`[%q, "0x6b"]`, helloAddr.Hex()), &val)
	if val == nil || string(*val) != "v" {
		t.Errorf("getStorage = %v", val)
	}
	s.result(t, "wn_getStorage", fmt.Sprintf(`[%q, "0x6c", "0x0"]`, helloAddr.Hex()), &val)
	if val != nil {
		t.Errorf("absent storage = %v, want null", *val)
	}
	var n string
	s.result(t, "net_peerCount", `[]`, &n)
	if n != "0x0" {
		t.Errorf("peerCount = %s", n)
	}
	var peers []rpc.PeerInfo
	s.result(t, "net_peers", `[]`, &peers)
	if peers == nil || len(peers) != 0 {
		t.Errorf("peers = %v", peers)
	}
	s.result(t, "net_version", `[]`, &n)
	if n != "7" {
		t.Errorf("net_version = %s", n)
	}
}

func TestTxLifecycle(t *testing.T) {
	s := startServer(t, rpc.Config{})
	tx := s.signTx(t, 0, "hello", "world")
	var h types.Hash
	s.result(t, "wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(tx.Encode())), &h)
	if h != tx.Hash() {
		t.Fatalf("hash = %s, want %s", h, tx.Hash())
	}
	var pending rpctypes.TxJSON
	s.result(t, "wn_getTransaction", fmt.Sprintf(`[%q]`, h.Hex()), &pending)
	if pending.BlockHeight != nil || pending.Kind != "invoke" || pending.Method != "hello" || string(pending.Args) != "world" ||
		pending.From == nil || *pending.From != crypto.PubkeyToAddress(s.user.PublicKey) {
		t.Errorf("pending tx = %+v", pending)
	}
	if a := s.request(t, "wn_getTransactionReceipt", fmt.Sprintf(`[%q]`, h.Hex())); string(a.Result) != "null" {
		t.Errorf("pending receipt = %s", a.Result)
	}

	blk := s.b.commit([]*types.Tx{tx}, []*types.Receipt{{Status: types.ReceiptSuccess, GasUsed: 1234, Output: []byte("hello, world"),
		Events: []types.Event{{Contract: helloAddr, Topic: []byte("t"), Data: []byte("d")}}}})
	var inc rpctypes.TxJSON
	s.result(t, "wn_getTransaction", fmt.Sprintf(`[%q]`, h.Hex()), &inc)
	if inc.BlockHeight == nil || *inc.BlockHeight != 1 || *inc.BlockHash != blk.Hash || *inc.Index != 0 {
		t.Errorf("included tx = %+v", inc)
	}
	var r rpctypes.ReceiptJSON
	s.result(t, "wn_getTransactionReceipt", fmt.Sprintf(`[%q]`, h.Hex()), &r)
	if r.Status != 1 || string(r.Output) != "hello, world" || r.GasUsed != 1234 || r.Height != 1 || r.BlockHash != blk.Hash ||
		r.StateRoot != blk.Header.StateRoot || len(r.Events) != 1 || string(r.Events[0].Topic) != "t" || r.ContractAddress != nil {
		t.Errorf("receipt = %+v", r)
	}
	if err := client.VerifyReceipt(&r); err != nil {
		t.Errorf("receipt signature: %v", err)
	}
	if r.Signer != crypto.PubkeyToAddress(s.key.PublicKey) {
		t.Errorf("signer = %s", r.Signer)
	}
	r.Output = []byte("hello, mars")
	if err := client.VerifyReceipt(&r); err == nil {
		t.Error("a tampered receipt verifies")
	}

	var full struct {
		Transactions []rpctypes.TxJSON `json:"transactions"`
	}
	s.result(t, "wn_getBlockByNumber", `["latest", true]`, &full)
	if len(full.Transactions) != 1 || full.Transactions[0].Hash != h {
		t.Errorf("full block txs = %+v", full.Transactions)
	}
	var hashes struct {
		Transactions []types.Hash `json:"transactions"`
	}
	s.result(t, "wn_getBlockByNumber", `["latest"]`, &hashes)
	if len(hashes.Transactions) != 1 || hashes.Transactions[0] != h {
		t.Errorf("block tx hashes = %v", hashes.Transactions)
	}
}

func TestCall(t *testing.T) {
	s := startServer(t, rpc.Config{GasCap: 5000})
	var res rpctypes.CallResultJSON
	s.result(t, "wn_call", fmt.Sprintf(`[{"to":%q,"method":"hello","args":"0x776f726c64"}]`, helloAddr.Hex()), &res)
	if string(res.Output) != "hello, world" || res.GasUsed != 1005 || len(res.Events) != 1 || len(res.Logs) != 1 || res.Height != 0 {
		t.Errorf("call = %+v", res)
	}
	to := helloAddr
	args := &rpctypes.CallArgs{To: &to, Method: "hello", Args: []byte("world")}
	if err := rpctypes.VerifySignedResult(res.SignedResult(args)); err != nil {
		t.Errorf("call signature: %v", err)
	}
	args.Args = []byte("mars")
	if err := rpctypes.VerifySignedResult(res.SignedResult(args)); err == nil {
		t.Error("signature verifies for other args")
	}

	// The gas cap applies to requests asking for more, and to those asking for none.
	for _, tc := range []struct{ gas, want string }{{``, "5000"}, {`,"gas":"0x64"`, "100"}, {`,"gas":"0xffffff"`, "5000"}} {
		s.result(t, "wn_call", fmt.Sprintf(`[{"to":%q,"method":"gas"%s}]`, helloAddr.Hex(), tc.gas), &res)
		if string(res.Output) != tc.want {
			t.Errorf("gas %q: call ran with %s, want %s", tc.gas, res.Output, tc.want)
		}
	}
	var gas hexutil.Uint64
	s.result(t, "wn_estimateGas", fmt.Sprintf(`[{"to":%q,"method":"hello"}]`, helloAddr.Hex()), &gas)
	if gas != 1100 {
		t.Errorf("estimateGas = %d", gas)
	}
}

func TestErrors(t *testing.T) {
	s := startServer(t, rpc.Config{})
	bad := s.signTx(t, 0, "hello", "")
	bad.ChainID = 8
	if err := bad.Sign(s.user); err != nil {
		t.Fatal(err)
	}
	far := s.signTx(t, 1000, "hello", "")
	dup := s.signTx(t, 1, "hello", "")
	s.request(t, "wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(dup.Encode())))
	badSig := s.signTx(t, 2, "hello", "")
	badSig.Sig[64] = 5
	hello := helloAddr.Hex()

	for _, tc := range []struct {
		name, method, params string
		code                 int
		msg                  string
	}{
		{"unknown method", "wn_nope", `[]`, rpctypes.CodeMethodNotFound, "does not exist"},
		{"unknown namespace", "eth_blockNumber", `[]`, rpctypes.CodeMethodNotFound, "does not exist"},
		{"wrong param type", "wn_getAccount", `[123]`, rpctypes.CodeInvalidParams, "invalid argument 0"},
		{"missing param", "wn_getAccount", `[]`, rpctypes.CodeInvalidParams, "missing value"},
		{"too many params", "wn_chainId", `[1]`, rpctypes.CodeInvalidParams, "too many arguments"},
		{"bad address", "wn_getAccount", `["0x12"]`, rpctypes.CodeInvalidParams, "invalid argument 0"},
		{"pending tag", "wn_getAccount", fmt.Sprintf(`[%q, "pending"]`, hello), rpctypes.CodeInvalidParams, "not supported"},
		{"bad tag", "wn_getBlockByNumber", `["newest"]`, rpctypes.CodeInvalidParams, "block number"},
		{"negative number", "wn_getBlockByNumber", `[-1]`, rpctypes.CodeInvalidParams, "block number"},
		{"hex leading zero", "wn_getBlockByNumber", `["0x01"]`, rpctypes.CodeInvalidParams, "block number"},
		{"state above head", "wn_getAccount", fmt.Sprintf(`[%q, "0x5"]`, hello), rpctypes.CodeUnknownBlock, "above the head"},
		{"raw tx not hex", "wn_sendRawTransaction", `["zz"]`, rpctypes.CodeInvalidParams, "invalid argument"},
		{"raw tx garbage", "wn_sendRawTransaction", `["0x1234"]`, rpctypes.CodeTxInvalid, "decode tx"},
		{"wrong chain id", "wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(bad.Encode())), rpctypes.CodeTxInvalid, "wrong chain id"},
		{"bad signature", "wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(badSig.Encode())), rpctypes.CodeTxInvalid, "signature"},
		{"nonce too high", "wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(far.Encode())), rpctypes.CodeNonceTooHigh, "nonce too high"},
		{"already known", "wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(dup.Encode())), rpctypes.CodeTxKnown, "already known"},
		{"call without to", "wn_call", `[{"method":"hello"}]`, rpctypes.CodeInvalidParams, `missing "to"`},
		{"call without method", "wn_call", fmt.Sprintf(`[{"to":%q}]`, hello), rpctypes.CodeInvalidParams, `missing "method"`},
		{"call unknown field type", "wn_call", fmt.Sprintf(`[{"to":%q,"method":"hello","args":"world"}]`, hello), rpctypes.CodeInvalidParams, "invalid argument"},
		{"call reverts", "wn_call", fmt.Sprintf(`[{"to":%q,"method":"fail"}]`, hello), rpctypes.CodeExecutionFailed, "revert: nope"},
		{"call no contract", "wn_call", fmt.Sprintf(`[{"to":%q,"method":"x"}]`, types.Address{1}.Hex()), rpctypes.CodeExecutionFailed, "no contract"},
		{"estimate reverts", "wn_estimateGas", fmt.Sprintf(`[{"to":%q,"method":"fail"}]`, hello), rpctypes.CodeExecutionFailed, "revert: nope"},
		{"subscribe over http", "wn_subscribe", `["newHeads"]`, rpctypes.CodeMethodNotFound, "notifications not supported"},
	} {
		a := s.request(t, tc.method, tc.params)
		if a.Error == nil {
			t.Errorf("%s: no error, result %s", tc.name, a.Result)
			continue
		}
		if a.Error.Code != tc.code || !strings.Contains(a.Error.Message, tc.msg) {
			t.Errorf("%s: error %d %q, want %d containing %q", tc.name, a.Error.Code, a.Error.Message, tc.code, tc.msg)
		}
	}
	// A failed call carries its revert data.
	a := s.request(t, "wn_call", fmt.Sprintf(`[{"to":%q,"method":"fail"}]`, hello))
	var data struct {
		Output  hexutil.Bytes  `json:"output"`
		GasUsed hexutil.Uint64 `json:"gasUsed"`
	}
	if err := json.Unmarshal(a.Error.Data, &data); err != nil || string(data.Output) != "nope" || data.GasUsed != 42 {
		t.Errorf("revert data = %s (%v)", a.Error.Data, err)
	}
	// The node still serves.
	var u hexutil.Uint64
	s.result(t, "wn_chainId", `[]`, &u)
}

func TestMalformedRequests(t *testing.T) {
	s := startServer(t, rpc.Config{})
	errCode := func(body []byte) int {
		var a rpcAnswer
		if err := json.Unmarshal(body, &a); err != nil || a.Error == nil {
			t.Fatalf("answer %s is not an error (%v)", body, err)
		}
		return a.Error.Code
	}
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"not json", `{"jsonrpc":`, rpctypes.CodeParseError},
		{"not an object", `"hello"`, rpctypes.CodeInvalidRequest},
		{"empty batch", `[]`, rpctypes.CodeInvalidRequest},
		{"no method", `{"jsonrpc":"2.0","id":1}`, rpctypes.CodeInvalidRequest},
	} {
		status, body := post(t, s.url, "application/json", tc.body)
		if status != http.StatusOK {
			t.Errorf("%s: HTTP %d %s", tc.name, status, body)
			continue
		}
		if c := errCode(body); c != tc.code {
			t.Errorf("%s: code %d, want %d (%s)", tc.name, c, tc.code, body)
		}
	}
	// Wrong content type.
	if status, _ := post(t, s.url, "text/plain", `{}`); status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: HTTP %d", status)
	}
	// Oversized body: refused before it is read.
	big := `{"jsonrpc":"2.0","id":1,"method":"wn_sendRawTransaction","params":["0x` + strings.Repeat("00", rpc.DefaultBodyLimit/2) + `"]}`
	if status, body := post(t, s.url, "application/json", big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: HTTP %d %.100s", status, body)
	}
	// Batches: within the limit each item is answered in order; over it, one error.
	var items []string
	for i := range 3 {
		items = append(items, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"wn_chainId"}`, i))
	}
	items = append(items, `{"jsonrpc":"2.0","id":3,"method":"wn_nope"}`)
	_, body := post(t, s.url, "application/json", "["+strings.Join(items, ",")+"]")
	var answers []rpcAnswer
	if err := json.Unmarshal(body, &answers); err != nil || len(answers) != 4 {
		t.Fatalf("batch answers %s: %v", body, err)
	}
	for i, a := range answers[:3] {
		if string(a.ID) != fmt.Sprint(i) || string(a.Result) != `"0x7"` {
			t.Errorf("batch item %d = %s %s", i, a.ID, a.Result)
		}
	}
	if answers[3].Error == nil || answers[3].Error.Code != rpctypes.CodeMethodNotFound {
		t.Errorf("batch unknown method = %+v", answers[3])
	}
	items = items[:0]
	for i := range rpc.DefaultBatchLimit + 1 {
		items = append(items, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"wn_chainId"}`, i))
	}
	_, body = post(t, s.url, "application/json", "["+strings.Join(items, ",")+"]")
	answers = nil
	if err := json.Unmarshal(body, &answers); err != nil || len(answers) != 1 || answers[0].Error == nil ||
		answers[0].Error.Code != rpctypes.CodeInvalidRequest || !strings.Contains(answers[0].Error.Message, "batch too large") {
		t.Errorf("oversized batch: %.300s (%v)", body, err)
	}
	// Still serving.
	var u hexutil.Uint64
	s.result(t, "wn_chainId", `[]`, &u)
}

func TestTimeout(t *testing.T) {
	s := startServer(t, rpc.Config{RequestTimeout: 50 * time.Millisecond})
	a := s.request(t, "wn_call", fmt.Sprintf(`[{"to":%q,"method":"slow"}]`, helloAddr.Hex()))
	if a.Error == nil || a.Error.Code != rpctypes.CodeTimeout {
		t.Errorf("slow call: %+v %s", a.Error, a.Result)
	}
	resp, err := http.Post(s.url+"/fn/"+helloAddr.Hex()+"/slow", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("slow fn: HTTP %d", resp.StatusCode)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s := startServer(t, rpc.Config{})
	get := func(path string) (int, string) {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/health"); status != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"height":0`) {
		t.Errorf("health: %d %s", status, body)
	}
	s.b.mu.Lock()
	s.b.health = fmt.Errorf("%w: starting", rpc.ErrNotReady)
	s.b.mu.Unlock()
	if status, body := get("/health"); status != 503 || !strings.Contains(body, "starting") {
		t.Errorf("unhealthy: %d %s", status, body)
	}
	s.request(t, "wn_getAccount", fmt.Sprintf(`[%q]`, helloAddr.Hex()))
	http.Get(s.url + "/fn/" + helloAddr.Hex() + "/hello")
	if status, body := get("/metrics"); status != 200 || !strings.Contains(body, `wnode_rpc_request_duration_seconds_count{method="wn_getAccount"} 1`) ||
		!strings.Contains(body, `wnode_rpc_request_duration_seconds_count{method="fn"} 1`) {
		t.Errorf("metrics: %d %s", status, body)
	}
	if status, _ := get("/nope"); status != 404 {
		t.Errorf("/nope: %d", status)
	}
}

func TestSubscriptions(t *testing.T) {
	s := startServer(t, rpc.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://"+s.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	heads := make(chan *rpctypes.HeaderJSON, 4)
	hsub, err := c.SubscribeNewHeads(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan *rpctypes.EventNotification, 4)
	esub, err := c.SubscribeEvents(ctx, rpctypes.EventFilter{Topics: []hexutil.Bytes{[]byte("want")}}, events)
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(5*time.Second, func() bool { return s.b.subCount() == 2 }) {
		t.Fatalf("subscribers = %d", s.b.subCount())
	}
	tx := s.signTx(t, 0, "hello", "")
	blk := s.b.commit([]*types.Tx{tx}, []*types.Receipt{{Status: 1, Events: []types.Event{
		{Contract: helloAddr, Topic: []byte("skip"), Data: []byte("1")},
		{Contract: helloAddr, Topic: []byte("want"), Data: []byte("2")},
	}}})
	select {
	case h := <-heads:
		if h.Hash != blk.Hash || h.Height != 1 {
			t.Errorf("head = %+v", h)
		}
	case err := <-hsub.Err():
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatal("no head")
	}
	select {
	case e := <-events:
		if string(e.Data) != "2" || e.EventIndex != 1 || e.TxHash != tx.Hash() || e.Height != 1 {
			t.Errorf("event = %+v", e)
		}
	case err := <-esub.Err():
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatal("no event")
	}
	hsub.Unsubscribe()
	esub.Unsubscribe()
	if !testutil.Eventually(5*time.Second, func() bool { return s.b.subCount() == 0 }) {
		t.Errorf("subscribers after unsubscribe = %d", s.b.subCount())
	}
	// Unknown subscription name.
	if _, err := c.Raw().Subscribe(ctx, "wn", make(chan any), "nope"); err == nil || !strings.Contains(err.Error(), "no \"nope\" subscription") {
		t.Errorf("unknown subscription: %v", err)
	}
}

func TestClient(t *testing.T) {
	s := startServer(t, rpc.Config{})
	ctx := context.Background()
	c, err := client.Dial(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tx := s.signTx(t, 0, "hello", "x")
	h, err := c.SendTransaction(ctx, tx)
	if err != nil || h != tx.Hash() {
		t.Fatalf("send: %s %v", h, err)
	}
	if _, err := c.SendTransaction(ctx, tx); client.ErrorCode(err) != rpctypes.CodeTxKnown {
		t.Errorf("resend: %v (code %d)", err, client.ErrorCode(err))
	}
	go s.b.commit([]*types.Tx{tx}, []*types.Receipt{{Status: 1, Output: []byte("ok")}})
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := c.WaitReceipt(wctx, h)
	if err != nil || string(r.Output) != "ok" {
		t.Fatalf("wait receipt: %+v %v", r, err)
	}
	if err := client.VerifyReceipt(r); err != nil {
		t.Error(err)
	}
	to := helloAddr
	res, err := c.Call(ctx, rpctypes.CallArgs{To: &to, Method: "hello", Args: []byte("a")}, rpctypes.LatestBlock)
	if err != nil || string(res.Output) != "hello, a" {
		t.Errorf("call: %+v %v", res, err)
	}
	b, err := c.Block(ctx, rpctypes.LatestBlock, true)
	if err != nil || b == nil || len(b.Txs) != 1 || b.Txs[0].Hash != h {
		t.Errorf("block: %+v %v", b, err)
	}
	if b, err := c.Block(ctx, 99, false); err != nil || b != nil {
		t.Errorf("block 99: %+v %v", b, err)
	}
	fr, err := c.Fn(ctx, helloAddr, "hello", []byte("fn"))
	if err != nil || string(fr.Output) != "hello, fn" || fr.Height != 1 {
		t.Errorf("fn: %+v %v", fr, err)
	}

	// Nothing listening.
	dead, err := client.Dial(ctx, "http://"+testutil.ClosedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.ChainID(ctx); err == nil || !strings.Contains(err.Error(), "no node answering") {
		t.Errorf("dead node: %v", err)
	}
}

func TestGateway(t *testing.T) {
	s := startServer(t, rpc.Config{FnCORSOrigins: []string{"https://app.example"}})
	fn := s.url + "/fn/" + helloAddr.Hex() + "/hello"
	do := func(method, url string, body []byte, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	signer := crypto.PubkeyToAddress(s.key.PublicKey)
	check := func(resp *http.Response, body string, input string) {
		t.Helper()
		if resp.StatusCode != 200 || body != "hello, "+input {
			t.Fatalf("HTTP %d %q", resp.StatusCode, body)
		}
		h := resp.Header
		if h.Get(rpctypes.HeaderHeight) != "0" || h.Get(rpctypes.HeaderGasUsed) != fmt.Sprint(1000+len(input)) ||
			h.Get(rpctypes.HeaderSigner) != signer.Hex() || h.Get(rpctypes.HeaderChainID) != "7" ||
			h.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("headers = %v", h)
		}
		sig, _ := hexutil.Decode(h.Get(rpctypes.HeaderSignature))
		root, _ := hexutil.Decode(h.Get(rpctypes.HeaderStateRoot))
		sr := &rpctypes.SignedResult{ChainID: 7, Kind: rpctypes.KindCall, Height: 0, StateRoot: types.Hash(root),
			ResultHash: rpctypes.CallResultHash(types.Address{}, helloAddr, "hello", []byte(input), nil, []byte(body), uint64(1000+len(input))),
			Signer:     signer, Signature: sig}
		if err := rpctypes.VerifySignedResult(sr); err != nil {
			t.Errorf("gateway signature: %v", err)
		}
	}
	resp, body := do("POST", fn, []byte("world"), nil)
	check(resp, body, "world")
	resp, body = do("GET", fn+"?input=caf%C3%A9", nil, nil)
	check(resp, body, "café")
	resp, body = do("GET", fn+"?hex=0x6869", nil, nil)
	check(resp, body, "hi")
	resp, body = do("GET", fn, nil, nil)
	check(resp, body, "")
	// The declared output format sets Content-Type (and X-Wnode-Format): a u64 is binary,
	// JSON is application/json when it parses, octet-stream when the contract lies.
	for _, tc := range []struct{ path, body, ctype, format string }{
		{"/count", "", "application/octet-stream", "u64"},
		{"/json?input=%7B%22a%22%3A1%7D", `{"a":1}`, "application/json", "json"},
		{"/json?input=%7Bnot", "{not", "application/octet-stream", "json"},
	} {
		resp, body := do("GET", s.url+"/fn/"+helloAddr.Hex()+tc.path, nil, nil)
		if resp.StatusCode != 200 || (tc.body != "" && body != tc.body) || resp.Header.Get("Content-Type") != tc.ctype ||
			resp.Header.Get(rpctypes.HeaderFormat) != tc.format {
			t.Errorf("%s: %d %q %v", tc.path, resp.StatusCode, body, resp.Header)
		}
	}
	// Lower-case address, binary output.
	resp, _ = do("GET", s.url+"/fn/"+strings.ToLower(helloAddr.Hex())+"/bytes", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("bytes: %d %v", resp.StatusCode, resp.Header)
	}

	for _, tc := range []struct {
		name, method, url string
		body              []byte
		status            int
		msg               string
	}{
		{"bad address", "GET", s.url + "/fn/0x12/hello", nil, 400, "bad address"},
		{"bad checksum", "GET", s.url + "/fn/" + "0xAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "/hello", nil, 400, "checksum"},
		{"no contract", "GET", s.url + "/fn/" + types.Address{1}.Hex() + "/hello", nil, 404, "no contract"},
		{"no method", "GET", s.url + "/fn/" + helloAddr.Hex() + "/nope", nil, 404, "method not found"},
		{"revert", "POST", s.url + "/fn/" + helloAddr.Hex() + "/fail", nil, 422, "revert: nope"},
		{"bad hex", "GET", fn + "?hex=zz", nil, 400, "bad hex"},
		{"too large", "POST", fn, make([]byte, types.MaxArgsSize+1), 413, "larger than"},
		{"too large get", "GET", fn + "?input=" + strings.Repeat("a", types.MaxArgsSize+1), nil, 431, "Too Large"}, // over the 64 KiB header limit
		{"put", "PUT", fn, nil, 405, "not allowed"},
		{"no method segment", "GET", s.url + "/fn/" + helloAddr.Hex() + "/", nil, 404, ""},
	} {
		resp, body := do(tc.method, tc.url, tc.body, nil)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: HTTP %d %q, want %d containing %q", tc.name, resp.StatusCode, body, tc.status, tc.msg)
		}
	}
	resp, _ = do("POST", s.url+"/fn/"+helloAddr.Hex()+"/fail", nil, nil)
	if resp.Header.Get(rpctypes.HeaderError) != "execution failed: revert: nope" || resp.Header.Get(rpctypes.HeaderGasUsed) != "42" {
		t.Errorf("revert headers: %v", resp.Header)
	}

	// CORS: the allowed origin gets the headers, a preflight is answered, others not.
	resp, _ = do("GET", fn, nil, map[string]string{"Origin": "https://app.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), rpctypes.HeaderSignature) {
		t.Errorf("CORS headers: %v", resp.Header)
	}
	resp, _ = do("OPTIONS", fn, nil, map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do("OPTIONS", fn, nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do("GET", fn, nil, map[string]string{"Origin": "https://evil.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS for another origin: %v", resp.Header)
	}
	// JSON-RPC has no CORS origins by default.
	resp, _ = do("OPTIONS", s.url, nil, map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != 403 {
		t.Errorf("JSON-RPC preflight: %d", resp.StatusCode)
	}
}

// A successful /fn/ answer is served again without running while the head stays at its
// height, byte for byte and still signed (the client checks it); a new head, another
// input, a failed call or a server without the cache run again.
func TestGatewayAnswerCache(t *testing.T) {
	s := startServer(t, rpc.Config{})
	c, err := client.Dial(context.Background(), s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	call := func(method, input string) (*client.FnResult, error) {
		t.Helper()
		return c.Fn(ctx, helloAddr, method, []byte(input))
	}
	runs := func(want int64, what string) {
		t.Helper()
		if got := s.b.calls.Swap(0); got != want {
			t.Errorf("%s: %d executions, want %d", what, got, want)
		}
	}
	first, err := call("hello", "world")
	if err != nil {
		t.Fatal(err)
	}
	runs(1, "first call")
	for range 3 {
		again, err := call("hello", "world") // c.Fn checks the signature
		if err != nil || string(again.Output) != "hello, world" || again.Height != first.Height ||
			!bytes.Equal(again.Signature, first.Signature) || again.GasUsed != first.GasUsed {
			t.Fatalf("cached answer %+v, %v; first %+v", again, err, first)
		}
	}
	runs(0, "the same call at the same height")
	if _, err := call("hello", "there"); err != nil {
		t.Fatal(err)
	}
	runs(1, "another input")
	for range 2 {
		var fe *client.FnError
		if _, err := call("fail", ""); !errors.As(err, &fe) || fe.Status != 422 {
			t.Fatalf("fail: %v", err)
		}
	}
	runs(2, "a reverting call, twice")

	s.b.commit(nil, nil)
	next, err := call("hello", "world")
	if err != nil || next.Height != first.Height+1 || string(next.Output) != "hello, world" {
		t.Fatalf("after a block: %+v, %v", next, err)
	}
	runs(1, "the same call on a new head")

	off := startServer(t, rpc.Config{FnCache: -1})
	for range 3 {
		status, body := post(t, off.url+"/fn/"+helloAddr.Hex()+"/hello", "", "world")
		if status != 200 || string(body) != "hello, world" {
			t.Fatalf("no cache: %d %q", status, body)
		}
	}
	if got := off.b.calls.Load(); got != 3 {
		t.Errorf("without the cache: %d executions, want 3", got)
	}
}

func TestSignedResult(t *testing.T) {
	key, _ := crypto.GenerateKey()
	signer := rpc.NewResultSigner(key, 7)
	sr, err := signer.Sign(rpctypes.KindCall, 5, types.Hash{1}, types.Hash{2})
	if err != nil {
		t.Fatal(err)
	}
	if err := rpctypes.VerifySignedResult(sr); err != nil {
		t.Fatal(err)
	}
	tamper := []func(r *rpctypes.SignedResult){
		func(r *rpctypes.SignedResult) { r.ChainID++ },
		func(r *rpctypes.SignedResult) { r.Kind = rpctypes.KindReceipt },
		func(r *rpctypes.SignedResult) { r.Height++ },
		func(r *rpctypes.SignedResult) { r.StateRoot[0]++ },
		func(r *rpctypes.SignedResult) { r.ResultHash[0]++ },
		func(r *rpctypes.SignedResult) { r.Signer[0]++ },
		func(r *rpctypes.SignedResult) { r.Signature = r.Signature[:64] },
		func(r *rpctypes.SignedResult) { r.Signature = nil },
	}
	for i, f := range tamper {
		c := *sr
		c.Signature = bytes.Clone(sr.Signature)
		f(&c)
		if err := rpctypes.VerifySignedResult(&c); err == nil {
			t.Errorf("tamper %d verifies", i)
		}
	}
	// The digest is fixed by the documented encoding.
	fixed := &rpctypes.SignedResult{ChainID: 1337, Kind: rpctypes.KindCall, Height: 1, StateRoot: types.Hash{0xaa}, ResultHash: types.Hash{0xbb}}
	if got, want := fixed.Digest().Hex(), digestOf(1337, 1, 1, types.Hash{0xaa}, types.Hash{0xbb}); got != want {
		t.Errorf("digest = %s, want %s", got, want)
	}
}

// digestOf encodes the signed statement by hand, byte by byte, as docs/rpc.md describes
// it, for small integers (< 2^16) only.
func digestOf(chainID, kind, height uint64, root, result types.Hash) string {
	uint := func(v uint64) []byte {
		switch {
		case v == 0:
			return []byte{0x80}
		case v < 0x80:
			return []byte{byte(v)}
		case v < 0x100:
			return []byte{0x81, byte(v)}
		}
		return []byte{0x82, byte(v >> 8), byte(v)}
	}
	domain := "wnode-signed-result/1"
	var payload []byte
	payload = append(payload, byte(0x80+len(domain)))
	payload = append(payload, domain...)
	payload = append(payload, uint(chainID)...)
	payload = append(payload, uint(kind)...)
	payload = append(payload, uint(height)...)
	payload = append(payload, 0xa0)
	payload = append(payload, root[:]...)
	payload = append(payload, 0xa0)
	payload = append(payload, result[:]...)
	enc := append([]byte{0xf8, byte(len(payload))}, payload...)
	return crypto.Keccak256Hash(enc).Hex()
}

// TestWebsocketOrigins: a page the server itself served (Origin = the server's address)
// may open a WebSocket; other origins are refused unless listed in CORSOrigins.
func TestWebsocketOrigins(t *testing.T) {
	s := startServer(t, rpc.Config{})
	ws := "ws://" + s.srv.Addr() + "/"
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"http://" + s.srv.Addr(), true},
		{"https://" + s.srv.Addr(), true},
		{"http://evil.example", false},
		{"http://" + s.srv.Addr() + ".evil.example", false},
		{"http://" + s.srv.Addr() + "/path", false},
		{"null", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.DefaultDialer.Dial(ws, h)
		if c != nil {
			c.Close()
		}
		if (err == nil) != tc.ok {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("origin %q: err %v (HTTP %d), want ok=%v", tc.origin, err, status, tc.ok)
		}
	}
}

// TestHandle: a handler mounted with Handle serves beside the server's routes.
func TestHandle(t *testing.T) {
	s := startServer(t, rpc.Config{})
	s.srv.Handle("/extra/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "extra "+r.URL.Path)
	}))
	resp, err := http.Get(s.url + "/extra/page")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "extra /extra/page" {
		t.Fatalf("mounted handler: %d %q", resp.StatusCode, b)
	}
	if code, _ := post(t, s.url, "application/json", `{"jsonrpc":"2.0","id":1,"method":"wn_chainId"}`); code != 200 {
		t.Fatalf("JSON-RPC beside it: %d", code)
	}
}
