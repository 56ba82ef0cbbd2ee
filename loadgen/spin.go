package loadgen

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/types"
)

// SpinCode is a contract whose method "spin" loops until it runs out of gas: every call
// of it burns the node's whole call gas cap. It is
//
//	(module (memory (export "memory") 1) (func (export "spin") (loop $l (br $l))))
var SpinCode = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
	0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07,
	0x11, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x04,
	0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x03,
	0x40, 0x0c, 0x00, 0x0b, 0x0b,
}

// SpinConfig describes the read-load benchmark (wnode bench spin): the submit → receipt
// latency of transactions while N clients loop read-only calls that burn the gas cap.
type SpinConfig struct {
	URLs    []string          // nodes' RPC URLs: txs go to the first, spinners round-robin over all
	Counter types.Address     // a deployed counter (the measured increments)
	Spin    types.Address     // a deployed SpinCode
	Key     *ecdsa.PrivateKey // signs the increments
	Clients []int             // the spinner counts to measure, e.g. 0, 16, 64 (the first is the baseline)
	Samples int               // sequential increments timed at each count
	// DistinctIPs gives each spinner its own source address in 127.0.1.0/24 when the
	// nodes are on loopback, so that each is a client of its own for the node's fairness
	// (as many users would be); otherwise all share the one client address.
	DistinctIPs bool
	// Polite makes a refused spinner wait as Retry-After says; otherwise it retries at
	// once, as a hostile client would.
	Polite bool
	Log    func(format string, args ...any)
}

// SpinStep is the measurement at one spinner count.
type SpinStep struct {
	Clients int       `json:"clients"`
	Latency Latencies `json:"submitToReceipt"`
	// P50Ratio and P99Ratio are the quantiles over those of the first step (the baseline).
	P50Ratio float64 `json:"p50Ratio"`
	P99Ratio float64 `json:"p99Ratio"`
	// Calls counts the spinners' answers by HTTP status (422: ran out of gas, so ran;
	// 429/503: refused by admission control), and CallsPerSec all of them.
	Calls       map[int]int64 `json:"calls"`
	CallsPerSec float64       `json:"callsPerSec"`
	Errors      int64         `json:"transportErrors"`
}

// SpinReport is the result of Spin.
type SpinReport struct {
	Steps []SpinStep `json:"steps"`
}

// Spin measures cfg.Samples sequential increments at each spinner count of cfg.Clients,
// with that many goroutines looping POST /fn/<spin>/spin (each on its own connection,
// retrying at once when refused, as a hostile client would) for the whole step.
func Spin(ctx context.Context, cl *client.Client, cfg SpinConfig) (*SpinReport, error) {
	if len(cfg.URLs) == 0 || len(cfg.Clients) == 0 {
		return nil, fmt.Errorf("spin: no node URL or no client count")
	}
	inc, err := newIncrements(ctx, cl, cfg.Counter, crypto.PubkeyToAddress(cfg.Key.PublicKey))
	if err != nil {
		return nil, err
	}
	rep := &SpinReport{}
	for _, n := range cfg.Clients {
		logf(cfg.Log, "spin: %d clients looping /fn/%s/spin, %d increments timed", n, cfg.Spin.Hex(), max(1, cfg.Samples))
		step, err := spinStep(ctx, cl, cfg, inc, n)
		if err != nil {
			return nil, err
		}
		if len(rep.Steps) > 0 {
			base := rep.Steps[0].Latency
			if base.P50 > 0 && base.P99 > 0 {
				step.P50Ratio, step.P99Ratio = step.Latency.P50/base.P50, step.Latency.P99/base.P99
			}
		} else {
			step.P50Ratio, step.P99Ratio = 1, 1
		}
		rep.Steps = append(rep.Steps, *step)
	}
	return rep, nil
}

func spinStep(ctx context.Context, cl *client.Client, cfg SpinConfig, inc *increments, n int) (*SpinStep, error) {
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	calls := map[int]int64{}
	var errs, total atomic.Int64
	for i := range n {
		u := httpURL(cfg.URLs[i%len(cfg.URLs)]) + "/fn/" + cfg.Spin.Hex() + "/spin"
		hc := spinnerClient(u, i, cfg.DistinctIPs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer hc.CloseIdleConnections()
			local := map[int]int64{}
			defer func() {
				mu.Lock()
				for k, v := range local {
					calls[k] += v
				}
				mu.Unlock()
			}()
			for sctx.Err() == nil {
				req, _ := http.NewRequestWithContext(sctx, http.MethodPost, u, nil)
				resp, err := hc.Do(req)
				if err != nil {
					if sctx.Err() == nil {
						errs.Add(1)
						time.Sleep(time.Millisecond) // a refused connection: do not spin on it
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local[resp.StatusCode]++
				total.Add(1)
				if ra := resp.Header.Get("Retry-After"); cfg.Polite && ra != "" {
					if secs, err := strconv.Atoi(ra); err == nil {
						select {
						case <-sctx.Done():
						case <-time.After(time.Duration(secs) * time.Second):
						}
					}
				}
			}
		}()
	}
	start := time.Now()
	lat, err := sequential(ctx, cl, inc, cfg.Key, max(1, cfg.Samples))
	elapsed := time.Since(start)
	stop()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return &SpinStep{Clients: n, Latency: Summarize(lat), Calls: calls, Errors: errs.Load(),
		CallsPerSec: float64(total.Load()) / elapsed.Seconds()}, nil
}

// spinnerClient is an HTTP client with one connection of its own, from source address
// 127.0.1.(i%250+1) when distinct is set and u is on loopback.
func spinnerClient(u string, i int, distinct bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if pu, err := url.Parse(u); err == nil && distinct {
		if ip := net.ParseIP(pu.Hostname()); ip != nil && ip.IsLoopback() && ip.To4() != nil {
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i%250+1))}
		}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1,
	}}
}

// WriteText writes the report for people.
func (r *SpinReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "submit → receipt with N clients looping a read-only call that burns the gas cap\n")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  N=%-3d %s  p50 ×%.2f  p99 ×%.2f\n", s.Clients, s.Latency, s.P50Ratio, s.P99Ratio)
		if s.Clients > 0 {
			codes := make([]int, 0, len(s.Calls))
			for c := range s.Calls {
				codes = append(codes, c)
			}
			sort.Ints(codes)
			fmt.Fprintf(w, "        calls %.0f/s:", s.CallsPerSec)
			for _, c := range codes {
				fmt.Fprintf(w, " %d×%d", s.Calls[c], c)
			}
			if s.Errors > 0 {
				fmt.Fprintf(w, " (%d transport errors)", s.Errors)
			}
			fmt.Fprintln(w)
		}
	}
}
