package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts Debian's headless Chromium with a fresh profile and returns a tab's
// context. The browser tests fail, not skip, without chromium on PATH: CI installs it
// (.ci/run) and a developer should too (apt-get install chromium).
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found on PATH (%v): the dashboard's browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(acancel)
	tctx, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tctx
}

// run runs actions and fails the test with what step said.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, step string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return get(t, ctx, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// text is the text of the first element matching the CSS selector.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// poll waits until the JavaScript expression is truthy.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
}

// follow clicks the link sel and waits until the browser has loaded the page it points
// to. (Querying while the old page goes away fails in CDP, hence the wait on the location.)
func follow(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	href := eval[string](t, ctx, `document.querySelector('`+sel+`').getAttribute('href')`)
	run(t, ctx, "click "+sel, click(sel))
	waitPath(t, ctx, href, false)
}

// waitPath waits until the browser has loaded the page at path (or, with prefix, at a
// path starting with it).
func waitPath(t *testing.T, ctx context.Context, path string, prefix bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? location.pathname + location.search : ''`))
		if err == nil && (loc == path || prefix && loc != "" && strings.HasPrefix(loc, path)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for page %s: at %q, %v", path, loc, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the browser's state, with a deadline
	}
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// TestBrowser drives a real Chromium against the dev node: every page loads, links lead
// where they say, a new block shows up on the overview without a reload, hello is called
// from the contract page, and a hash is found by the search box.
func TestBrowser(t *testing.T) {
	ctx := newBrowser(t, 50*time.Second)

	t.Run("overview is live", func(t *testing.T) {
		run(t, ctx, "load the overview",
			chromedp.Navigate(fx.base+"/ui/"),
			visible(`#blocks tbody tr`),
			poll(`document.querySelector('#live').classList.contains('on')`), // subscribed
		)
		top := eval[string](t, ctx, `window.uiTestMarker = 42; document.querySelector('#blocks tbody tr').dataset.height`)
		if !eval[bool](t, ctx, `document.querySelectorAll('#chart svg rect').length > 0 && document.querySelectorAll('#validators .marks span.yes').length > 0`) {
			t.Error("overview: no chart bars or no signature marks")
		}
		r, err := fx.transfer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := uint64(r.Height)
		run(t, ctx, fmt.Sprintf("block %d (top was %s) appears without reload", h, top),
			poll(fmt.Sprintf(`document.querySelector('#blocks tbody tr[data-height="%d"]') !== null`, h)))
		if m := eval[int](t, ctx, `window.uiTestMarker || 0`); m != 42 {
			t.Fatalf("the page was reloaded (marker %d)", m)
		}
		run(t, ctx, "head and cards follow",
			poll(fmt.Sprintf(`Number(document.querySelector('#head').textContent) >= %d && Number(document.querySelector('#ov-height').textContent) >= %d`, h, h)))
		if n, _ := strconv.Atoi(text(t, ctx, fmt.Sprintf(`#blocks tbody tr[data-height="%d"] td:nth-child(4)`, h))); n < 1 {
			t.Errorf("new block %d lists %d txs, want the transfer", h, n)
		}
	})

	t.Run("follow links", func(t *testing.T) {
		run(t, ctx, "blocks page", chromedp.Navigate(fmt.Sprintf("%s/ui/blocks?before=%d", fx.base, fx.echoBlock+1)))
		follow(t, ctx, `#blocks tbody tr:first-child td:first-child a`)
		if got := text(t, ctx, `#block-height`); got != strconv.FormatUint(fx.echoBlock, 10) {
			t.Fatalf("block page shows height %q, want %d", got, fx.echoBlock)
		}
		follow(t, ctx, fmt.Sprintf(`#txs a[href="/ui/tx/%s"]`, fx.echoTx.Hex()))
		if got := text(t, ctx, `#tx-hash`); got != fx.echoTx.Hex() {
			t.Fatalf("tx page shows %q", got)
		}
		follow(t, ctx, `#tx-to`)
		if got := text(t, ctx, `#addr`); got != fx.echo.Hex() {
			t.Fatalf("address page shows %q, want %s", got, fx.echo.Hex())
		}
		follow(t, ctx, fmt.Sprintf(`#addr-txs a[href="/ui/tx/%s"]`, fx.echoTx.Hex()))
		follow(t, ctx, `#tx-block`)
		follow(t, ctx, `#prev-block`)
		if got := text(t, ctx, `#block-height`); got != strconv.FormatUint(fx.echoBlock-1, 10) {
			t.Fatalf("parent link led to block %q, want %d", got, fx.echoBlock-1)
		}
		follow(t, ctx, `#next-block`)
		follow(t, ctx, `#header a[href^="/ui/address/"]`) // the proposer
		if got := text(t, ctx, `#addr`); got != fx.n.Address().Hex() {
			t.Fatalf("proposer link led to %q, want the node's address %s", got, fx.n.Address().Hex())
		}
		run(t, ctx, "an unknown block", chromedp.Navigate(fx.base+"/ui/block/123456789"), visible(`#error-title`))
		if got := text(t, ctx, `#error-title`); !strings.HasPrefix(got, "404") {
			t.Errorf("unknown block: %q", got)
		}
	})

	t.Run("call hello", func(t *testing.T) {
		form := `form[data-method="hello"]`
		// Unchecked: the plain gateway answer with the node's signature (the checked
		// answer is TestBrowserVerify's).
		run(t, ctx, "call hello from the contract page",
			chromedp.Navigate(fx.base+"/ui/address/"+fx.hello.Hex()),
			click(`#verify-on`),
			click(form+` button`),
			poll(`document.querySelector('`+form+` .out').textContent === 'hello, world'`))
		if n, err := strconv.Atoi(text(t, ctx, form+` .gas`)); err != nil || n <= 0 {
			t.Errorf("gas %d, %v", n, err)
		}
		if sig := text(t, ctx, form+` .sig`); !strings.HasPrefix(sig, "0x") || len(sig) != 2+130 {
			t.Errorf("signature %q", sig)
		}
		run(t, ctx, "call hello with an input",
			chromedp.SendKeys(chromedp.CSS(form+` input[name="input"]`), "wnode"),
			click(form+` button`),
			poll(`document.querySelector('`+form+` .out').textContent === 'hello, wnode'`))

		// counter's metadata says get takes nothing and answers a u64: no input field,
		// the answer shown as a number; increment is a change method, simulated here.
		get, inc := `form[data-method="get"]`, `form[data-method="increment"]`
		run(t, ctx, "call counter's get and increment",
			chromedp.Navigate(fx.base+"/ui/address/"+fx.counter.Hex()),
			click(`#verify-on`),
			click(get+` button`),
			poll(`document.querySelector('`+get+` .out').textContent === '0'`),
			click(inc+` button`),
			poll(`document.querySelector('`+inc+` .out').textContent === '1'`))
		if n := eval[int](t, ctx, `document.querySelectorAll('`+get+` input[name="input"]').length`); n != 0 {
			t.Errorf("get takes no input but has %d input fields", n)
		}
		if kind := text(t, ctx, inc+` .kind`); kind != "change" {
			t.Errorf("increment's kind shown as %q", kind)
		}
	})

	t.Run("search", func(t *testing.T) {
		for _, tc := range []struct{ q, path, sel, want string }{
			{fx.echoTx.Hex(), "/ui/tx/", `#tx-hash`, fx.echoTx.Hex()},
			{fx.echoHash.Hex(), "/ui/block/", `#block-hash`, fx.echoHash.Hex()},
			{fx.hello.Hex(), "/ui/address/", `#addr`, fx.hello.Hex()},
			{strconv.FormatUint(fx.echoBlock, 10), "/ui/block/", `#block-height`, strconv.FormatUint(fx.echoBlock, 10)},
		} {
			run(t, ctx, "search "+tc.q,
				chromedp.Navigate(fx.base+"/ui/"),
				chromedp.SendKeys(chromedp.CSS(`#q`), tc.q),
				chromedp.Submit(chromedp.CSS(`#q`)))
			waitPath(t, ctx, tc.path, true)
			if got := text(t, ctx, tc.sel); got != tc.want {
				t.Errorf("search %s: %s shows %q", tc.q, tc.sel, got)
			}
		}
	})
}

// TestBrowserXSS: a contract's output, events and the tx's arguments hold markup and
// event handlers; the pages show them as text and no script runs (window.xss, which the
// payload would set, stays undefined), while the page's own script does run.
func TestBrowserXSS(t *testing.T) {
	ctx := newBrowser(t, 40*time.Second)
	check := func(t *testing.T, page string) {
		t.Helper()
		ran := eval[bool](t, ctx, `typeof window.xss !== 'undefined'`)
		markup := eval[int](t, ctx, `document.querySelectorAll('main img, main script, main b, [onerror], [onclick]').length`)
		if ran || markup != 0 {
			t.Fatalf("%s: injected script ran=%v, injected elements=%d", page, ran, markup)
		}
	}
	run(t, ctx, "tx page",
		chromedp.Navigate(fx.base+"/ui/tx/"+fx.echoTx.Hex()),
		visible(`#events`),
		poll(`document.querySelector('#live').classList.contains('on')`)) // the page's own script runs
	texts := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#tx pre, #rc-output pre, #events pre'), e => e.textContent)`)
	if len(texts) != 4 {
		t.Fatalf("tx page: %d byte fields, want 4 (args, output, topic, data)", len(texts))
	}
	for _, s := range texts {
		if s != xssPayload {
			t.Errorf("tx page shows %q, want the payload as text", s)
		}
	}
	check(t, "tx page")

	form := `form[data-method="echo"]`
	run(t, ctx, "call echo with the payload",
		chromedp.Navigate(fx.base+"/ui/address/"+fx.echo.Hex()),
		chromedp.SendKeys(chromedp.CSS(form+` input[name="input"]`), xssPayload),
		click(form+` button`),
		poll(`document.querySelector('`+form+` .out').textContent.startsWith('<script>')`))
	if out := text(t, ctx, form+` .out`); out != xssPayload {
		t.Errorf("echo output shown as %q", out)
	}
	check(t, "contract page")

	run(t, ctx, "search with markup", chromedp.Navigate(fx.base+"/ui/search?q="+url.QueryEscape(xssPayload)), visible(`#error-msg`))
	check(t, "search error page")
}
