package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// callChecked calls hello with input on the contract page at base and waits until the
// answer's mark is final ("verified" or "NOT verified: …"). A MutationObserver records
// whether "verified" was ever shown on the way.
func callChecked(t *testing.T, ctx context.Context, base, root, input string) (mark, out string, sawVerified bool) {
	t.Helper()
	return callCheckedAt(t, ctx, base, fx.hello, root, input)
}

func callCheckedAt(t *testing.T, ctx context.Context, base string, hello types.Address, root, input string) (mark, out string, sawVerified bool) {
	t.Helper()
	form := `form[data-method="hello"]`
	run(t, ctx, "open hello's page",
		chromedp.Navigate(base+"/ui/address/"+hello.Hex()),
		visible(`#verify-on`))
	if root != "" {
		run(t, ctx, "give the trust root",
			chromedp.SetValue(chromedp.CSS(`#trust-root`), root),
			click(`#trust-save`))
	}
	eval[bool](t, ctx, `window.sawVerified = false; new MutationObserver(() => {
		if (document.querySelector('`+form+` .verified').textContent === 'verified') window.sawVerified = true;
	}).observe(document.body, {subtree: true, childList: true, characterData: true}); true`)
	if input != "" {
		run(t, ctx, "type the input", chromedp.SendKeys(chromedp.CSS(form+` input[name="input"]`), input))
	}
	run(t, ctx, "call hello, checked in the browser",
		click(form+` button`),
		chromedp.Poll[chromedp.Void](`(t => t === 'verified' || t.startsWith('NOT verified'))(document.querySelector('`+form+` .verified').textContent)`,
			chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	return text(t, ctx, form+` .verified`), text(t, ctx, form+` .out`), eval[bool](t, ctx, `window.sawVerified`)
}

// TestBrowserVerify: the contract page checks hello's answer in the browser (package
// light as WebAssembly): "hello, world" and "verified"; with a trust root the answer's
// validators do not match, NOT verified with the named error.
func TestBrowserVerify(t *testing.T) {
	ctx := newBrowser(t, 150*time.Second)
	form := `form[data-method="hello"]`

	run(t, ctx, "open hello's page", chromedp.Navigate(fx.base+"/ui/address/"+fx.hello.Hex()), visible(`#verify-on`))
	if n := eval[int](t, ctx, `performance.getEntriesByType('resource').filter(e => /verif|wasm_exec/.test(e.name)).length`); n != 0 {
		t.Errorf("the verifier loaded before a call asked for it (%d requests)", n)
	}
	logWeight(t, ctx, "before a call")

	// First use: no trust root given, the node's own genesis hash is taken and said to be.
	mark, out, _ := callChecked(t, ctx, fx.base, "", "")
	if mark != "verified" || out != "hello, world" {
		t.Fatalf("hello: %q, %q (%s)", out, mark, text(t, ctx, form+` .vdetail`))
	}
	if note := text(t, ctx, `#trust-note`); !strings.Contains(note, "taken from this node") {
		t.Errorf("trust note on first use: %q", note)
	}
	if d := text(t, ctx, form+` .vdetail`); !strings.Contains(d, "on first use: weaker") || !strings.Contains(d, "genesis hash") {
		t.Errorf("detail on first use: %q", d)
	}
	logWeight(t, ctx, "after a checked call")

	// The user's own roots: the genesis hash, then the validator set's hash.
	gh := fx.n.Genesis().Hash().Hex()
	mark, out, _ = callChecked(t, ctx, fx.base, gh, "wnode")
	if mark != "verified" || out != "hello, wnode" {
		t.Fatalf("hello wnode under the genesis hash: %q, %q", out, mark)
	}
	// Figures (logged, never asserted): the second check on the same page is warm (the
	// verifier loaded, its VM has hello compiled).
	run(t, ctx, "check hello again on the same page",
		click(form+` button`),
		chromedp.Poll[chromedp.Void](`window.wnodeVerifierStats.verifyMs.length === 2 && (t => t === 'verified' || t.startsWith('NOT'))(document.querySelector('`+form+` .verified').textContent)`,
			chromedp.WithPollingTimeout(60*time.Second)))
	if mark := text(t, ctx, form+` .verified`); mark != "verified" {
		t.Fatalf("second check: %q", mark)
	}
	stats := eval[map[string]any](t, ctx, `window.wnodeVerifierStats`)
	t.Logf("verifier: fetch, compile and start %v ms; verify hello cold, then warm: %v ms", stats["loadMs"], stats["verifyMs"])
	if note := text(t, ctx, `#trust-note`); note != "Trust root given by you." {
		t.Errorf("trust note: %q", note)
	}
	vs, err := fx.n.Chain().ValidatorsAt(fx.n.Chain().Head().Height)
	if err != nil {
		t.Fatal(err)
	}
	mark, _, _ = callChecked(t, ctx, fx.base, vs.Hash().Hex(), "")
	if d := text(t, ctx, form+` .vdetail`); mark != "verified" || !strings.Contains(d, "validator set hash") {
		t.Fatalf("under the validators hash: %q, %q", mark, d)
	}

	// A root that is neither: the bundle's validators are not the trusted ones.
	mark, _, saw := callChecked(t, ctx, fx.base, "0x"+strings.Repeat("ab", 32), "")
	if mark != "NOT verified: validator set mismatch" || saw {
		t.Fatalf("under a foreign root: %q (saw verified: %v)", mark, saw)
	}
	if d := text(t, ctx, form+` .vdetail`); !strings.Contains(d, "this node now reports genesis hash "+gh) {
		t.Errorf("a root the node does not report: the detail does not say so: %q", d)
	}
}

// logWeight logs the bytes the page loaded (as transferred, before inflating): the
// document and each resource.
func logWeight(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	w := eval[[]map[string]any](t, ctx, `[performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')].map(e => ({name: e.name.replace(location.origin, '').split('?')[0], bytes: e.encodedBodySize || 0}))`)
	total := 0.0
	var parts []string
	for _, e := range w {
		b, _ := e["bytes"].(float64)
		total += b
		parts = append(parts, fmt.Sprintf("%v %.0f B", e["name"], b))
	}
	t.Logf("page weight %s: %.0f B: %s", when, total, strings.Join(parts, ", "))
}

// lyingProxy serves the node's pages through a proxy that rewrites every witness answer
// of the gateway with lie.
func lyingProxy(t *testing.T, lie func(b map[string]any)) string {
	t.Helper()
	target, err := url.Parse(fx.base)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(r *http.Response) error {
		if !strings.HasPrefix(r.Request.URL.Path, "/fn/") || r.Request.Header.Get("X-Wnode-Witness") == "" || r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		var b map[string]any
		if err := json.Unmarshal(body, &b); err != nil {
			return err
		}
		lie(b)
		if body, err = json.Marshal(b); err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBrowserLyingNode: a node that tampers with the answer's output, a state proof or
// the gas it claims is caught in the browser: NOT verified with the named error, and
// "verified" is never shown.
func TestBrowserLyingNode(t *testing.T) {
	ctx := newBrowser(t, 150*time.Second)
	gh := fx.n.Genesis().Hash().Hex()
	for _, tc := range []struct {
		name, want, out string
		lie             func(b map[string]any)
	}{
		{"output", "NOT verified: output mismatch", "hello, liar", func(b map[string]any) {
			b["result"].(map[string]any)["output"] = hexutil.Encode([]byte("hello, liar"))
		}},
		{"proof", "NOT verified: bad proof", "hello, world", func(b map[string]any) {
			r := b["reads"].([]any)[0].(map[string]any)
			p := []byte(r["proof"].(string))
			if p[len(p)-1] == '0' {
				p[len(p)-1] = '1'
			} else {
				p[len(p)-1] = '0'
			}
			r["proof"] = string(p)
		}},
		{"gas", "NOT verified: gas mismatch", "hello, world", func(b map[string]any) {
			b["result"].(map[string]any)["gasUsed"] = "0x1"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark, out, saw := callChecked(t, ctx, lyingProxy(t, tc.lie), gh, "")
			if mark != tc.want || saw {
				t.Fatalf("lying about the %s: %q (saw verified: %v; %s)", tc.name, mark, saw, text(t, ctx, `form[data-method="hello"] .vdetail`))
			}
			if out != tc.out {
				t.Errorf("shown output %q, want the node's claim %q", out, tc.out)
			}
		})
	}
}

// TestBrowserVerifySetChange: on a dev node whose validator changed its power by vote,
// the page still verifies under the genesis hash (the light client follows the change)
// and refuses under the genesis set's hash, which no longer signs.
func TestBrowserVerifySetChange(t *testing.T) {
	dir := t.TempDir()
	f, err := startFixture(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.c.Close()
		f.n.Close(context.Background())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key, err := node.DataDir(dir).LoadNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	val := crypto.PubkeyToAddress(key.PublicKey)
	genSet, err := f.n.Genesis().ValidatorSet()
	if err != nil {
		t.Fatal(err)
	}
	if _, r, err := f.c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxTransfer, To: val, Value: uint256.NewInt(1e18)}); err != nil || r.Status != 1 {
		t.Fatalf("fund the validator: %+v %v", r, err)
	}
	change := &types.ValidatorChange{Op: types.ValidatorPower, Address: val, Power: 13}
	if _, r, err := f.c.Transact(ctx, key, &client.TxRequest{Kind: types.TxValidatorPropose, Args: change.Encode(), GasLimit: 1_000_000}); err != nil || r.Status != 1 {
		t.Fatalf("propose: %+v %v", r, err)
	}
	testutil.WaitFor(t, 30*time.Second, "the new set to sign", func() bool {
		vs, err := f.c.Validators(ctx, rpctypes.LatestBlock)
		return err == nil && vs.Hash != genSet.Hash() && len(vs.Validators) == 1 && vs.Validators[0].Power == 13
	})

	bctx := newBrowser(t, 90*time.Second)
	if mark, out, _ := callCheckedAt(t, bctx, f.base, f.hello, f.n.Genesis().Hash().Hex(), ""); mark != "verified" || out != "hello, world" {
		t.Fatalf("under the genesis hash after the set changed: %q, %q (%s)", out, mark, text(t, bctx, `form[data-method="hello"] .vdetail`))
	}
	if mark, _, saw := callCheckedAt(t, bctx, f.base, f.hello, genSet.Hash().Hex(), ""); mark != "NOT verified: validator set mismatch" || saw {
		t.Fatalf("under the genesis set's hash after the set changed: %q (saw verified: %v)", mark, saw)
	}
}
