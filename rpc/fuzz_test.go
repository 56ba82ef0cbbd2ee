package rpc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/rpc"
)

// FuzzServeJSONRPC: whatever the body, the server answers with JSON (a result or a
// JSON-RPC error) and never panics.
func FuzzServeJSONRPC(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"wn_chainId"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"wn_getAccount","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]}]`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_call","params":[{"to":"0xaa00000000000000000000000000000000000000","method":"hello","args":"0x00"}]}`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_sendRawTransaction","params":["0xc0"]}`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_getBlockByNumber","params":["0x0",true]}`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_getStorage","params":["0xaa00000000000000000000000000000000000000","0x6b",1]}`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_getAccount","params":["0xf39fd6e51aad88F6F4ce6aB8827279cffFb92266"]}`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_estimateGas","params":[{"from":"0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266","code":"0x0061736d"}]}`,
		`{"jsonrpc":"2.0","id":1,"method":"wn_call","params":[{"to":7,"from":null,"method":"hello"}]}`,
		`{"jsonrpc":"2.0","id":{},"method":7}`, `[`, `[]`, `{}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	key, _ := crypto.GenerateKey()
	srv, err := rpc.NewServer(rpc.Config{}, newFakeBackend(), rpc.NewResultSigner(key, 7), nil, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d for %q", w.Code, body)
		}
		if w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %q to %q is not JSON", w.Body.Bytes(), body)
		}
	})
}

// FuzzGateway: any address, method and input give a well-formed HTTP answer.
func FuzzGateway(f *testing.F) {
	f.Add("0xaa00000000000000000000000000000000000000", "hello", []byte("world"))
	f.Add("0xAA00000000000000000000000000000000000000", "fail", []byte{})
	f.Add("0x12", "x", []byte{0xff})
	f.Add("0xaa00000000000000000000000000000000000000", "slow%2F", []byte("a"))
	key, _ := crypto.GenerateKey()
	srv, err := rpc.NewServer(rpc.Config{}, newFakeBackend(), rpc.NewResultSigner(key, 7), nil, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, addr, method string, input []byte) {
		if strings.ContainsAny(addr+method, "/?#% \t\r\n") || method == "slow" {
			return
		}
		req, err := http.NewRequest("POST", "http://x/fn/"+addr+"/"+method, strings.NewReader(string(input)))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 404, 413, 422, 301, 307: // 30x: the mux cleans paths like /fn//x
		default:
			t.Fatalf("HTTP %d for %q %q: %s", w.Code, addr, method, w.Body.Bytes())
		}
	})
}
