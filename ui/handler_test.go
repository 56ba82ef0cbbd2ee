package ui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/ui"
)

// fetch fetches path from the fixture's node without following redirects.
func fetch(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, fx.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestPages asks every page for good, unknown and malformed ids and checks the status, the
// security headers and what the page says.
func TestPages(t *testing.T) {
	hash0 := "0x" + strings.Repeat("0", 63) + "1"
	// The latest blocks page lists the head, not block 1: other tests of the package add
	// blocks, and past a page of them block 1 is no longer among the latest.
	head := fx.n.Chain().Head().Height
	for _, tc := range []struct {
		name, path string
		status     int
		want       string // in the body
	}{
		{"overview", "/ui/", 200, "Latest blocks"},
		{"blocks", "/ui/blocks", 200, fmt.Sprintf("/ui/block/%d\"", head)},
		{"blocks page", "/ui/blocks?before=2", 200, "/ui/block/1\""},
		{"blocks bad before", "/ui/blocks?before=x", 400, "bad before"},
		{"blocks before zero", "/ui/blocks?before=0", 400, "bad before"},
		{"block by height", "/ui/block/1", 200, "Commit"},
		{"genesis block", "/ui/block/0", 200, "none (genesis)"},
		{"block by hash", "/ui/block/" + fx.echoHash.Hex(), 200, fx.echoTx.Hex()},
		{"block above head", "/ui/block/999999999", 404, "not found"},
		{"block height overflow", "/ui/block/99999999999999999999", 400, "out of range"},
		{"block unknown hash", "/ui/block/" + hash0, 404, "not found"},
		{"block malformed", "/ui/block/abc", 400, "want a height"},
		{"block short hash", "/ui/block/0x1234", 400, "want a height"},
		{"block bad tx page", "/ui/block/1?from=x", 400, "bad from"},
		{"block tx page out of range", "/ui/block/1?from=5", 400, "bad from"},
		{"tx", "/ui/tx/" + fx.echoTx.Hex(), 200, "Receipt"},
		{"tx unknown", "/ui/tx/" + hash0, 404, "not found"},
		{"tx malformed", "/ui/tx/0x12", 400, "bad transaction hash"},
		{"tx not hex", "/ui/tx/0x" + strings.Repeat("g", 64), 400, "bad transaction hash"},
		{"contract", "/ui/address/" + fx.hello.Hex(), 200, `data-method="hello"`},
		{"contract metadata", "/ui/address/" + fx.hello.Hex(), 200, `Returns hello, NAME for the input NAME`},
		{"contract deploy block", "/ui/address/" + fx.hello.Hex(), 200, `id="deployed"`},
		{"contract without metadata", "/ui/address/" + fx.echo.Hex(), 200, `No metadata`},
		{"account", "/ui/address/0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 200, "Account"},
		{"never used address", "/ui/address/0x00000000000000000000000000000000000000aa", 200, "Account"},
		{"address malformed", "/ui/address/0xzz", 400, "bad address"},
		{"address bad checksum", "/ui/address/0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 400, "checksum"},
		{"search empty", "/ui/search?q=", 400, "empty search"},
		{"search junk", "/ui/search?q=%3Cb%3E", 400, "&lt;b&gt;"},
		{"search unknown hash", "/ui/search?q=" + hash0, 404, "no block or transaction"},
		{"search height above head", "/ui/search?q=999999999", 404, "no block at height"},
		{"unknown page", "/ui/nope", 404, "no such page"},
		{"unknown static", "/ui/static/evil.js", 404, "no such file"},
		{"status", "/ui/api/status?since=1", 200, `"validators"`},
		{"genesis", "/ui/api/genesis", 200, `"chain_id"`},
		{"verifier", "/ui/static/verifier.wasm", 200, "\x00asm"},
		{"wasm runtime", "/ui/static/wasm_exec.js", 200, "globalThis.Go = class"},
		{"status bad since", "/ui/api/status?since=-1", 400, `"error"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(t, "GET", tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d, want %d: %.300s", tc.path, resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("GET %s: body lacks %q: %.500s", tc.path, tc.want, body)
			}
			// Only a contract's page may compile WebAssembly (the verifier).
			csp := ui.CSP
			if strings.HasPrefix(tc.name, "contract") {
				csp = ui.CSPVerifier
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != csp {
				t.Errorf("GET %s: CSP %q, want %q", tc.path, got, csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no nosniff", tc.path)
			}
		})
	}
}

func TestSearchRedirects(t *testing.T) {
	for _, tc := range []struct{ q, to string }{
		{"1", "/ui/block/1"},
		{" 1 ", "/ui/block/1"},
		{fx.echoTx.Hex(), "/ui/tx/" + fx.echoTx.Hex()},
		{fx.echoHash.Hex(), "/ui/block/" + fx.echoHash.Hex()},
		{strings.ToLower(fx.hello.Hex()), "/ui/address/" + fx.hello.Hex()},
	} {
		resp, body := fetch(t, "GET", "/ui/search?q="+strings.ReplaceAll(tc.q, " ", "+"))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.to {
			t.Errorf("search %q: %d to %q, want 303 to %q: %.200s", tc.q, resp.StatusCode, resp.Header.Get("Location"), tc.to, body)
		}
	}
}

// TestReadOnly: the dashboard answers only GET and HEAD.
func TestReadOnly(t *testing.T) {
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, p := range []string{"/ui/", "/ui/block/1", "/ui/address/" + fx.hello.Hex(), "/ui/search?q=1"} {
			resp, _ := fetch(t, m, p)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, p, resp.StatusCode)
			}
		}
	}
	if resp, body := fetch(t, "HEAD", "/ui/"); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /ui/: %d %q", resp.StatusCode, body)
	}
}

// TestEscaping: attacker-controlled bytes (echo's output, event topic and data, the tx's
// arguments) appear escaped in the HTML, never as markup.
func TestEscaping(t *testing.T) {
	for _, p := range []string{"/ui/tx/" + fx.echoTx.Hex(), "/ui/search?q=" + "%3Cscript%3Ex"} {
		_, body := fetch(t, "GET", p)
		if strings.Contains(body, "<script>window") || strings.Contains(body, "<img") || strings.Contains(body, "<script>x") {
			t.Errorf("%s: raw markup in the page", p)
		}
	}
	_, body := fetch(t, "GET", "/ui/tx/"+fx.echoTx.Hex())
	if n := strings.Count(body, "&lt;script&gt;window.xss=1&lt;/script&gt;"); n != 4 { // args, output, topic, data
		t.Errorf("escaped payload %d times in the tx page, want 4", n)
	}
}

// TestStatusFollowsTheChain: the overview's live status, asked at each new head (served
// from a per-head cache that reads only the new blocks), always lists the last blocks
// and signatures in order, without gaps or repeats, and since= keeps only the new ones.
func TestStatusFollowsTheChain(t *testing.T) {
	type status struct {
		Height uint64 `json:"height"`
		Blocks []struct {
			Height uint64 `json:"height"`
			Txs    int    `json:"txs"`
		} `json:"blocks"`
		SignedHeights []uint64 `json:"signedHeights"`
		Validators    []struct {
			Signed []bool `json:"signed"`
		} `json:"validators"`
	}
	read := func(since uint64) status {
		t.Helper()
		resp, body := fetch(t, "GET", fmt.Sprintf("/ui/api/status?since=%d", since))
		var st status
		if err := json.Unmarshal([]byte(body), &st); resp.StatusCode != 200 || err != nil {
			t.Fatalf("status: %d %v %.200s", resp.StatusCode, err, body)
		}
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		before := read(0)
		r, err := fx.transfer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st := read(0)
		if st.Height < uint64(r.Height) {
			t.Fatalf("status at %d after a receipt in block %d", st.Height, r.Height)
		}
		if want := min(int(st.Height), ui.RecentBlocks); len(st.Blocks) != want {
			t.Fatalf("%d blocks at height %d, want %d", len(st.Blocks), st.Height, want)
		}
		for j, b := range st.Blocks {
			if b.Height != st.Height-uint64(j) {
				t.Fatalf("block %d of the list is %d, want %d", j, b.Height, st.Height-uint64(j))
			}
			if b.Height == uint64(r.Height) && b.Txs < 1 {
				t.Errorf("block %d lists no tx, it holds the transfer", b.Height)
			}
		}
		if want := min(int(st.Height), ui.SignedBlocks); len(st.SignedHeights) != want || len(st.Validators) != 1 || len(st.Validators[0].Signed) != want {
			t.Fatalf("signatures: heights %v, validators %+v", st.SignedHeights, st.Validators)
		}
		for j, ht := range st.SignedHeights {
			if ht != st.Height-uint64(j) || !st.Validators[0].Signed[j] {
				t.Fatalf("signed heights %v, marks %v", st.SignedHeights, st.Validators[0].Signed)
			}
		}
		newer := read(before.Height)
		if len(newer.Blocks) == 0 || newer.Blocks[len(newer.Blocks)-1].Height != before.Height+1 {
			t.Fatalf("since=%d: blocks %+v", before.Height, newer.Blocks)
		}
	}
}

// TestGenesisDocument: the genesis the dashboard serves hashes to the node's genesis hash,
// so a browser holding that hash can take the chain's validators from it.
func TestGenesisDocument(t *testing.T) {
	resp, body := fetch(t, "GET", "/ui/api/genesis")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /ui/api/genesis: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	g, err := genesis.Parse([]byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != fx.n.Genesis().Hash() {
		t.Fatalf("served genesis hashes to %s, the node's is %s", g.Hash(), fx.n.Genesis().Hash())
	}
}

// TestVerifierServed: the verifier is served gzipped to a browser and inflated to a
// client that does not take gzip, as application/wasm either way.
func TestVerifierServed(t *testing.T) {
	for _, enc := range []string{"gzip, deflate, br", "identity"} {
		req, err := http.NewRequest("GET", fx.base+"/ui/static/verifier.wasm", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/wasm" {
			t.Fatalf("Accept-Encoding %s: %d, %q (instantiateStreaming needs application/wasm)", enc, resp.StatusCode, ct)
		}
		if enc == "identity" {
			if resp.Header.Get("Content-Encoding") != "" || !bytes.HasPrefix(body, []byte("\x00asm")) {
				t.Errorf("identity: Content-Encoding %q, body starts %x", resp.Header.Get("Content-Encoding"), body[:min(8, len(body))])
			}
			continue
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		wasm, err := io.ReadAll(zr)
		if err != nil || !bytes.HasPrefix(wasm, []byte("\x00asm")) || len(wasm) < 2*len(body) {
			t.Errorf("gzip: %d bytes inflate to %d (%v)", len(body), len(wasm), err)
		}
	}
}
