package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

// FnConfig describes a load of the /fn/ gateway (wnode bench fn).
type FnConfig struct {
	URL         string        // the node's RPC URL (http, https, ws or wss: the gateway is on the same port)
	Contract    types.Address // the contract called
	Code        []byte        // its code, for the in-process baseline
	Method      string
	Input       []byte
	Concurrency int           // keep-alive clients calling in a loop (at least 1)
	Duration    time.Duration // how long they call, and how long the baseline runs
	// Bare starts the bare net/http baseline serving header and body (with BareHandler)
	// and returns its base URL (http://host:port) and how to stop it. A node is a process
	// of its own: so should its baseline be, as a handler in the load's own process
	// answers its goroutines faster than another process can. Nil: Fn serves it in this
	// process (fair when the node runs in this process too).
	Bare func(header http.Header, body []byte) (url string, stop func(), err error)
	Log  func(format string, args ...any)
}

// FnReport is the result of Fn.
type FnReport struct {
	Contract    types.Address `json:"contract"`
	Method      string        `json:"method"`
	Concurrency int           `json:"concurrency"`
	Gateway     Latencies     `json:"gateway"`
	GatewayRate float64       `json:"gatewayCallsPerSec"`
	Errors      int64         `json:"errors"` // failed calls and wrong answers
	// Bare is the same client against a bare net/http handler answering the gateway's
	// bytes and headers, in rounds alternating with the gateway's.
	Bare      Latencies `json:"bare"`
	BareRate  float64   `json:"bareCallsPerSec"`
	BareRatio float64   `json:"p50RatioGatewayToBare"`
	// BareRatioP99 is the same ratio of the p99s.
	BareRatioP99 float64   `json:"p99RatioGatewayToBare"`
	VM           Latencies `json:"vm"`
	VMRate       float64   `json:"vmCallsPerSec"`
	Ratio        float64   `json:"p50RatioGatewayToVM"`
}

// fnRound is how long the gateway, then the bare handler, are loaded in turn: short
// enough that both see the same machine (other processes come and go), long enough
// that switching costs nothing.
const fnRound = 250 * time.Millisecond

// Fn loads the gateway with cfg.Concurrency clients calling cfg.Method for cfg.Duration,
// and, in rounds alternating with the gateway's, a bare net/http handler on loopback that
// answers the gateway's first answer (same body, same headers) for as long, with the same
// clients: the cost of HTTP alone. Then it runs the same call on an in-process VM for as
// long, one goroutine: the cost of the call alone. One first call through cl checks the
// answer and its signature; every later answer must equal it.
func Fn(ctx context.Context, cl *client.Client, cfg FnConfig) (*FnReport, error) {
	first, err := cl.Fn(ctx, cfg.Contract, cfg.Method, cfg.Input)
	if err != nil {
		return nil, fmt.Errorf("gateway call: %w", err)
	}
	want := first.Output
	conc := max(1, cfg.Concurrency)
	url := httpURL(cfg.URL) + "/fn/" + cfg.Contract.Hex() + "/" + cfg.Method
	header, err := answerHeader(ctx, url, cfg.Input)
	if err != nil {
		return nil, err
	}
	start := cfg.Bare
	if start == nil {
		start = serveBare
	}
	base, stop, err := start(header, want)
	if err != nil {
		return nil, fmt.Errorf("bare baseline: %w", err)
	}
	defer stop()
	bareURL := base + "/fn/" + cfg.Contract.Hex() + "/" + cfg.Method
	logf(cfg.Log, "gateway: %d clients for %s on %s, in turn with a bare net/http handler on %s", conc, cfg.Duration, url, bareURL)

	tr := &http.Transport{MaxIdleConns: conc * 4, MaxIdleConnsPerHost: conc * 2, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var gw, bw []time.Duration
	var gwTime, bwTime time.Duration
	var errs int64
	rounds := max(1, int(cfg.Duration/fnRound))
	for i := 0; i < rounds && ctx.Err() == nil; i++ {
		round := cfg.Duration / time.Duration(rounds)
		for j := range 2 { // the gateway first in even rounds, the baseline first in odd ones
			if (i+j)%2 == 0 {
				s, e, el := loadGateway(ctx, hc, url, cfg.Input, want, conc, round)
				gw, errs, gwTime = append(gw, s...), errs+e, gwTime+el
			} else {
				s, e, el := loadGateway(ctx, hc, bareURL, cfg.Input, want, conc, round)
				bw, errs, bwTime = append(bw, s...), errs+e, bwTime+el
			}
		}
	}
	rep := &FnReport{Contract: cfg.Contract, Method: cfg.Method, Concurrency: conc, Gateway: Summarize(gw),
		GatewayRate: float64(len(gw)) / gwTime.Seconds(), Errors: errs, Bare: Summarize(bw), BareRate: float64(len(bw)) / bwTime.Seconds()}
	if rep.Bare.P50 > 0 {
		rep.BareRatio, rep.BareRatioP99 = rep.Gateway.P50/rep.Bare.P50, rep.Gateway.P99/rep.Bare.P99
	}

	call := vm.Call{Contract: cfg.Contract, Method: cfg.Method, Input: cfg.Input, Gas: gas.DefaultCallCap}
	if rep.VM, rep.VMRate, err = VMBaseline(ctx, cfg.Code, call, want, cfg.Duration); err != nil {
		return nil, err
	}
	if rep.VM.P50 > 0 {
		rep.Ratio = rep.Gateway.P50 / rep.VM.P50
	}
	return rep, nil
}

// answerHeader is the header of the gateway's answer to input at url.
func answerHeader(ctx context.Context, url string, input []byte) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(input))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway call: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gateway call: HTTP %d", resp.StatusCode)
	}
	h := resp.Header.Clone()
	h.Del("Date") // net/http adds its own
	return h, nil
}

// BareHandler is the baseline of the gateway: a net/http handler that reads the request's
// body and answers header and body, whatever the request.
func BareHandler(header http.Header, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the gateway reads the input too
		h := w.Header()
		for k, v := range header {
			h[k] = v
		}
		w.Write(body)
	})
}

// serveBare serves BareHandler on a loopback port of this process.
func serveBare(header http.Header, body []byte) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: BareHandler(header, body)}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// loadGateway posts input to url with hc from conc goroutines until dur has passed (or
// ctx ends) and returns the latency of every call answered 200 with want, the number of
// other outcomes, and the time it ran.
func loadGateway(ctx context.Context, hc *http.Client, url string, input, want []byte, conc int, dur time.Duration) ([]time.Duration, int64, time.Duration) {
	var errs atomic.Int64
	samples := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := postOnce(ctx, hc, url, input, want); err != nil {
					errs.Add(1)
					continue
				}
				samples[w] = append(samples[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, x := range samples {
		all = append(all, x...)
	}
	return all, errs.Load(), elapsed
}

// postOnce makes one gateway call and checks its answer.
func postOnce(ctx context.Context, hc *http.Client, url string, input, want []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(input))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(b, want) {
		return fmt.Errorf("HTTP %d, %d bytes, %v", resp.StatusCode, len(b), err)
	}
	return nil
}

// VMBaseline runs call on a fresh in-process VM over a state that holds only code (at
// call.Contract, with empty storage; vmtest's in-memory State, each call's changes
// reverted like a /fn/ call's), one goroutine, for dur, and returns the latencies and
// the rate. The first call's output must be want.
func VMBaseline(ctx context.Context, code []byte, call vm.Call, want []byte, dur time.Duration) (Latencies, float64, error) {
	m, err := vm.New(ctx, vm.Config{})
	if err != nil {
		return Latencies{}, 0, err
	}
	defer m.Close(ctx)
	st := vmtest.New()
	st.SetCode(call.Contract, code)
	env := &vm.Env{State: st, Block: vm.BlockContext{Height: 1, Time: 1}}
	snap := st.Snapshot() // a /fn/ call's changes are discarded: so are these
	r := m.Call(ctx, env, call)
	st.RevertToSnapshot(snap)
	if r.Err != nil || !bytes.Equal(r.Output, want) {
		return Latencies{}, 0, fmt.Errorf("in-process call: %v (output %q, want %q)", r.Err, r.Output, want)
	}
	var d []time.Duration
	start := time.Now()
	for time.Since(start) < dur && ctx.Err() == nil {
		t0 := time.Now()
		snap := st.Snapshot()
		m.Call(ctx, env, call)
		st.RevertToSnapshot(snap)
		d = append(d, time.Since(t0))
	}
	return Summarize(d), float64(len(d)) / time.Since(start).Seconds(), nil
}

// WriteText writes the report for people.
func (r *FnReport) WriteText(w io.Writer, dur time.Duration) {
	fmt.Fprintf(w, "gateway /fn/%s  %d clients, %s\n", r.Method, r.Concurrency, dur)
	fmt.Fprintf(w, "  latency   %s\n  rate      %.0f calls/s, %d errors\n", r.Gateway, r.GatewayRate, r.Errors)
	fmt.Fprintf(w, "bare net/http handler, same answer, same clients, rounds in turn with the gateway's (baseline)\n")
	fmt.Fprintf(w, "  latency   %s\n  rate      %.0f calls/s\n", r.Bare, r.BareRate)
	fmt.Fprintf(w, "gateway / bare: p50 %.2fx, p99 %.2fx\n", r.BareRatio, r.BareRatioP99)
	fmt.Fprintf(w, "in-process VM call (baseline, 1 goroutine)\n")
	fmt.Fprintf(w, "  latency   %s\n  rate      %.0f calls/s\n", r.VM, r.VMRate)
	fmt.Fprintf(w, "gateway p50 / VM p50 = %.1fx\n", r.Ratio)
}

// httpURL is u with an http(s) scheme (ws becomes http) and no trailing slash.
func httpURL(u string) string {
	u = strings.TrimSuffix(strings.TrimSpace(u), "/")
	if !strings.Contains(u, "://") {
		return "http://" + u
	}
	return strings.Replace(strings.Replace(u, "ws://", "http://", 1), "wss://", "https://", 1)
}

// wsURL is u with a ws(s) scheme.
func wsURL(u string) string {
	u = strings.Replace(u, "http://", "ws://", 1)
	return strings.Replace(u, "https://", "wss://", 1)
}

// logf calls log when there is one.
func logf(log func(string, ...any), format string, args ...any) {
	if log != nil {
		log(format, args...)
	}
}
