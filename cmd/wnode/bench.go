package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// `wnode bench` measures a running node from the outside, the way its users load it:
// the /fn/ gateway under concurrent calls (against the VM's own in-process call, measured
// in the same run as the baseline), and on a dev node the latency from submitting a
// transaction to holding its receipt, and the sustained rate of counter increments.
// The network engineer extends it for multi-node networks; keep it in this file.

var (
	benchConcurrencyFlag = &cli.IntFlag{Name: "concurrency", Value: 8, Usage: "concurrent clients"}
	benchDurationFlag    = &cli.DurationFlag{Name: "duration", Value: 5 * time.Second, Usage: "how long to load the node"}
	benchWasmFlag        = &cli.StringFlag{Name: "wasm", Usage: "contract to deploy for the benchmark (default: the example's .wasm)"}
	benchContractFlag    = &cli.StringFlag{Name: "contract", Usage: "use this deployed contract instead of deploying one"}
	benchMethodFlag      = &cli.StringFlag{Name: "method", Value: "hello", Usage: "method to call"}
	benchInputFlag       = &cli.StringFlag{Name: "input", Value: "world", Usage: "input of each call (text)"}
	benchSamplesFlag     = &cli.IntFlag{Name: "samples", Value: 200, Usage: "sequential transactions timed from submit to receipt"}
	benchTxsFlag         = &cli.IntFlag{Name: "txs", Value: 2000, Usage: "transactions of the throughput run"}
	benchSendersFlag     = &cli.IntFlag{Name: "senders", Value: 4, Usage: "accounts sending in parallel in the throughput run (funded by --from)"}
	benchWindowFlag      = &cli.IntFlag{Name: "window", Value: 256, Usage: "most transactions in flight per sender"}
)

var benchCommand = &cli.Command{
	Name:  "bench",
	Usage: "load a network with counter increments (open or closed loop); `bench fn`, `bench tx`: one node",
	Description: "wnode bench [--localnet DIR | --rpc URL,URL,...] [--rate R --duration D | --inflight N,...]\n" +
		"funds --senders accounts, signs every increment in advance, spreads them over the nodes in JSON-RPC\n" +
		"batches and reports committed tx/s, submit → final latency (p50/p95/p99) and the block interval.\n" +
		"With --rate: an open loop at that rate for --duration. Without: a closed loop, --duration per step,\n" +
		"raising the transactions in flight until two steps in a row add less than 5% to the best committed rate.",
	ArgsUsage: " ",
	Flags:     loadFlags,
	Action:    benchLoad,
	Subcommands: []*cli.Command{
		{
			Name:      "fn",
			Usage:     "load the /fn/ gateway with read-only calls; compare with the VM's in-process call",
			ArgsUsage: " ",
			Flags: flags(clientFlags, []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, benchConcurrencyFlag, benchDurationFlag,
				benchWasmFlag, benchContractFlag, benchMethodFlag, benchInputFlag}),
			Action: benchFn,
		},
		{
			Name:      "tx",
			Usage:     "time counter increments from submit to receipt, then their sustained rate",
			ArgsUsage: " ",
			Flags: flags(clientFlags, []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, benchWasmFlag, benchSamplesFlag,
				benchTxsFlag, benchSendersFlag, benchWindowFlag}),
			Action: benchTx,
		},
	},
}

// latencies summarises durations.
type latencies struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50Micros"`
	P90  float64 `json:"p90Micros"`
	P99  float64 `json:"p99Micros"`
	Max  float64 `json:"maxMicros"`
	Mean float64 `json:"meanMicros"`
}

func summarize(d []time.Duration) latencies {
	if len(d) == 0 {
		return latencies{}
	}
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[min(len(d)-1, int(p*float64(len(d))))].Nanoseconds()) / 1e3 }
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return latencies{N: len(d), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: float64(d[len(d)-1].Nanoseconds()) / 1e3,
		Mean: float64(sum.Nanoseconds()) / float64(len(d)) / 1e3}
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", us(l.P50), us(l.P90), us(l.P99), us(l.Max), l.N)
}

func us(v float64) string {
	if v >= 10_000 {
		return fmt.Sprintf("%.1f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}

// deployFor deploys the contract of --wasm (or def) and returns its address and code.
func (s *session) deployFor(def string) (types.Address, []byte, *ecdsa.PrivateKey, error) {
	path := s.c.String(benchWasmFlag.Name)
	if path == "" {
		path = def
	}
	code, err := readCode(path)
	if err != nil {
		return types.Address{}, nil, nil, fmt.Errorf("%w (give --wasm or --contract)", err)
	}
	chainID, err := s.node.ChainID(s.ctx)
	if err != nil {
		return types.Address{}, nil, nil, err
	}
	key, err := sender(s.c, s.p, chainID)
	if err != nil {
		return types.Address{}, nil, nil, err
	}
	_, r, err := s.node.Transact(s.ctx, key, &client.TxRequest{Kind: types.TxDeploy, Code: code, ChainID: chainID})
	if err != nil {
		return types.Address{}, nil, nil, fmt.Errorf("deploy %s: %w", path, err)
	}
	if r.Status != 1 || r.ContractAddress == nil {
		return types.Address{}, nil, nil, fmt.Errorf("deploy %s failed: %s", path, r.Error)
	}
	s.p.note("deployed %s at %s", path, r.ContractAddress.Hex())
	return *r.ContractAddress, code, key, nil
}

type fnReport struct {
	Contract    types.Address `json:"contract"`
	Method      string        `json:"method"`
	Concurrency int           `json:"concurrency"`
	Gateway     latencies     `json:"gateway"`
	GatewayRate float64       `json:"gatewayCallsPerSec"`
	Errors      int64         `json:"errors"`
	VM          latencies     `json:"vm"`
	VMRate      float64       `json:"vmCallsPerSec"`
	Ratio       float64       `json:"p50RatioGatewayToVM"`
}

func benchFn(c *cli.Context) error {
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	method, input := c.String(benchMethodFlag.Name), []byte(c.String(benchInputFlag.Name))
	var to types.Address
	var code []byte
	if a := c.String(benchContractFlag.Name); a != "" {
		if to, err = rpctypes.ParseAddress(a); err != nil {
			return usagef("--contract: %v", err)
		}
		if code, err = s.node.Code(s.ctx, to, rpctypes.LatestBlock); err != nil {
			return err
		}
		if len(code) == 0 {
			return fmt.Errorf("no contract at %s", to.Hex())
		}
	} else if to, code, _, err = s.deployFor("examples/hello/hello.wasm"); err != nil {
		return err
	}
	// One checked call: the answer is right and signed.
	first, err := s.node.Fn(s.ctx, to, method, input)
	if err != nil {
		return fmt.Errorf("gateway call: %w", err)
	}
	want := first.Output

	conc, dur := max(1, c.Int(benchConcurrencyFlag.Name)), c.Duration(benchDurationFlag.Name)
	url := strings.TrimSuffix(c.String(rpcURLFlag.Name), "/")
	url = strings.Replace(strings.Replace(url, "ws://", "http://", 1), "wss://", "https://", 1)
	url += "/fn/" + to.Hex() + "/" + method
	tr := &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, DisableCompression: true}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	s.p.note("gateway: %d clients for %s on %s", conc, dur, url)

	var errs atomic.Int64
	samples := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := hc.Post(url, "application/octet-stream", strings.NewReader(string(input)))
				if err != nil {
					errs.Add(1)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if err != nil || resp.StatusCode != 200 || string(b) != string(want) {
					errs.Add(1)
					continue
				}
				samples[w] = append(samples[w], el)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, x := range samples {
		all = append(all, x...)
	}
	rep := fnReport{Contract: to, Method: method, Concurrency: conc, Gateway: summarize(all),
		GatewayRate: float64(len(all)) / elapsed.Seconds(), Errors: errs.Load()}

	// Baseline: the same call on an in-process VM, one goroutine, same duration.
	vmLat, vmRate, err := vmBaseline(to, code, method, input, want, dur)
	if err != nil {
		return err
	}
	rep.VM, rep.VMRate = vmLat, vmRate
	if rep.VM.P50 > 0 {
		rep.Ratio = rep.Gateway.P50 / rep.VM.P50
	}
	return s.p.result(rep, func(w io.Writer) {
		fmt.Fprintf(w, "gateway /fn/%s  %d clients, %s\n", method, conc, dur)
		fmt.Fprintf(w, "  latency   %s\n  rate      %.0f calls/s, %d errors\n", rep.Gateway, rep.GatewayRate, rep.Errors)
		fmt.Fprintf(w, "in-process VM call (baseline, 1 goroutine)\n")
		fmt.Fprintf(w, "  latency   %s\n  rate      %.0f calls/s\n", rep.VM, rep.VMRate)
		fmt.Fprintf(w, "gateway p50 / VM p50 = %.1fx\n", rep.Ratio)
	})
}

// vmBaseline runs the call on a fresh VM over a one-contract in-memory state.
func vmBaseline(to types.Address, code []byte, method string, input, want []byte, dur time.Duration) (latencies, float64, error) {
	ctx := context.Background()
	m, err := vm.New(ctx, vm.Config{})
	if err != nil {
		return latencies{}, 0, err
	}
	defer m.Close(ctx)
	st := &oneContract{addr: to, code: code, hash: crypto.Keccak256Hash(code)}
	env := &vm.Env{State: st, Block: vm.BlockContext{Height: 1, Time: 1}}
	call := vm.Call{Contract: to, Method: method, Input: input, Gas: gas.DefaultCallCap}
	if r := m.Call(ctx, env, call); r.Err != nil || string(r.Output) != string(want) {
		return latencies{}, 0, fmt.Errorf("in-process call: %v (output %q, want %q)", r.Err, r.Output, want)
	}
	var d []time.Duration
	start := time.Now()
	for time.Since(start) < dur {
		t0 := time.Now()
		m.Call(ctx, env, call)
		d = append(d, time.Since(t0))
	}
	return summarize(d), float64(len(d)) / time.Since(start).Seconds(), nil
}

// oneContract is a read-only vm.StateDB holding one contract with empty storage: just
// enough for the baseline of a call that reads no storage.
type oneContract struct {
	addr types.Address
	code []byte
	hash types.Hash
}

func (o *oneContract) GetBalance(types.Address) *uint256.Int           { return new(uint256.Int) }
func (o *oneContract) SubBalance(types.Address, *uint256.Int)          {}
func (o *oneContract) AddBalance(types.Address, *uint256.Int)          {}
func (o *oneContract) GetStorage(types.Address, []byte) ([]byte, bool) { return nil, false }
func (o *oneContract) SetStorage(types.Address, []byte, []byte)        {}
func (o *oneContract) DeleteStorage(types.Address, []byte)             {}
func (o *oneContract) Snapshot() int                                   { return 0 }
func (o *oneContract) RevertToSnapshot(int)                            {}
func (o *oneContract) GetCodeHash(a types.Address) types.Hash {
	if a == o.addr {
		return o.hash
	}
	return types.Hash{}
}
func (o *oneContract) GetCode(h types.Hash) []byte {
	if h == o.hash {
		return o.code
	}
	return nil
}

type txReport struct {
	Contract   types.Address `json:"contract"`
	Latency    latencies     `json:"submitToReceipt"`
	Txs        int           `json:"txs"`
	Senders    int           `json:"senders"`
	Seconds    float64       `json:"seconds"`
	TxsPerSec  float64       `json:"txsPerSec"`
	Blocks     uint64        `json:"blocks"`
	TxsPerBlk  float64       `json:"txsPerBlock"`
	FinalCount uint64        `json:"finalCount"`
}

func benchTx(c *cli.Context) error {
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	counter, _, key, err := s.deployFor("examples/counter/counter.wasm")
	if err != nil {
		return err
	}
	chainID, err := s.node.ChainID(s.ctx)
	if err != nil {
		return err
	}
	price, err := s.node.GasPrice(s.ctx)
	if err != nil {
		return err
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	gas, err := s.node.EstimateGas(s.ctx, rpctypes.CallArgs{From: &from, To: &counter, Method: "increment"}, rpctypes.LatestBlock)
	if err != nil {
		return err
	}
	gas += gas / client.GasMargin
	increment := func(k *ecdsa.PrivateKey, nonce uint64) *types.Tx {
		tx := &types.Tx{ChainID: chainID, Nonce: nonce, GasPrice: price, GasLimit: gas, Kind: types.TxInvoke, To: counter,
			Value: new(uint256.Int), Method: "increment"}
		if err := tx.Sign(k); err != nil {
			panic(err) // a valid in-memory key always signs
		}
		return tx
	}

	// 1. Latency: one tx at a time, from the send to the receipt being served.
	n := max(1, c.Int(benchSamplesFlag.Name))
	s.p.note("latency: %d sequential increments", n)
	nonce, err := s.node.PendingNonce(s.ctx, from)
	if err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		tx := increment(key, nonce+uint64(i))
		t0 := time.Now()
		if _, err := s.node.SendTransaction(s.ctx, tx); err != nil {
			return s.wrap(err)
		}
		for {
			r, err := s.node.Receipt(s.ctx, tx.Hash())
			if err != nil {
				return s.wrap(err)
			}
			if r != nil {
				if r.Status != 1 {
					return fmt.Errorf("increment failed: %s", r.Error)
				}
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
	}

	// 2. Throughput: senders funded by the sender, pre-signed increments, a window in
	// flight per sender.
	total, nsend, window := c.Int(benchTxsFlag.Name), max(1, c.Int(benchSendersFlag.Name)), max(1, c.Int(benchWindowFlag.Name))
	per := max(1, total/nsend)
	keys := make([]*ecdsa.PrivateKey, nsend)
	fund := new(uint256.Int).Mul(uint256.NewInt(gas*uint64(per+10)), price)
	for i := range keys {
		keys[i], _ = crypto.GenerateKey()
		if _, r, err := s.node.Transact(s.ctx, key, &client.TxRequest{Kind: types.TxTransfer, To: crypto.PubkeyToAddress(keys[i].PublicKey),
			Value: fund, ChainID: chainID}); err != nil || r.Status != 1 {
			return fmt.Errorf("fund sender %d: %v", i, err)
		}
	}
	txs := make([][]*types.Tx, nsend)
	for i, k := range keys {
		for j := range per {
			txs[i] = append(txs[i], increment(k, uint64(j)))
		}
	}
	startHeight, err := s.node.BlockNumber(s.ctx)
	if err != nil {
		return err
	}
	s.p.note("throughput: %d increments from %d senders, window %d", per*nsend, nsend, window)
	var wg sync.WaitGroup
	errc := make(chan error, nsend)
	start := time.Now()
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := crypto.PubkeyToAddress(keys[i].PublicKey)
			var done uint64
			wait := func(target uint64) error {
				for done < target {
					acc, err := s.node.Account(s.ctx, addr, rpctypes.LatestBlock)
					if err != nil {
						return err
					}
					if done = uint64(acc.Nonce); done < target {
						time.Sleep(500 * time.Microsecond)
					}
				}
				return nil
			}
			for j, tx := range txs[i] {
				if uint64(j) >= done+uint64(window) {
					if err := wait(uint64(j) - uint64(window) + 1); err != nil {
						errc <- err
						return
					}
				}
				if _, err := s.node.SendTransaction(s.ctx, tx); err != nil {
					errc <- fmt.Errorf("sender %d tx %d: %w", i, j, err)
					return
				}
			}
			if err := wait(uint64(len(txs[i]))); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return s.wrap(err)
	}
	endHeight, err := s.node.BlockNumber(s.ctx)
	if err != nil {
		return err
	}
	got, err := s.node.Call(s.ctx, rpctypes.CallArgs{To: &counter, Method: "get"}, rpctypes.LatestBlock)
	if err != nil {
		return err
	}
	rep := txReport{Contract: counter, Latency: summarize(lat), Txs: per * nsend, Senders: nsend, Seconds: elapsed.Seconds(),
		TxsPerSec: float64(per*nsend) / elapsed.Seconds(), Blocks: endHeight - startHeight}
	if len(got.Output) == 8 {
		rep.FinalCount = uint64(got.Output[0])<<56 | uint64(got.Output[1])<<48 | uint64(got.Output[2])<<40 | uint64(got.Output[3])<<32 |
			uint64(got.Output[4])<<24 | uint64(got.Output[5])<<16 | uint64(got.Output[6])<<8 | uint64(got.Output[7])
	}
	if want := uint64(n + per*nsend); rep.FinalCount != want {
		return fmt.Errorf("counter is %d after the run, want %d", rep.FinalCount, want)
	}
	if rep.Blocks > 0 {
		rep.TxsPerBlk = float64(rep.Txs) / float64(rep.Blocks)
	}
	return s.p.result(rep, func(w io.Writer) {
		fmt.Fprintf(w, "submit → receipt (one at a time)\n  latency   %s\n", rep.Latency)
		fmt.Fprintf(w, "sustained increments (%d senders)\n  %d txs in %.2f s = %.0f tx/s, %d blocks (%.1f txs/block)\n",
			rep.Senders, rep.Txs, rep.Seconds, rep.TxsPerSec, rep.Blocks, rep.TxsPerBlk)
	})
}
