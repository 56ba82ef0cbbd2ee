package loadgen

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TxConfig describes a one-node transaction benchmark (wnode bench tx).
type TxConfig struct {
	Counter types.Address     // a deployed counter
	Key     *ecdsa.PrivateKey // sends the latency samples and funds the senders
	Samples int               // sequential increments timed from submit to receipt (at least 1)
	Txs     int               // increments of the throughput run, split over the senders
	Senders int               // fresh accounts sending in parallel (at least 1)
	Window  int               // most increments in flight per sender (at least 1)
	Log     func(format string, args ...any)
}

// TxReport is the result of Tx.
type TxReport struct {
	Contract   types.Address `json:"contract"`
	Latency    Latencies     `json:"submitToReceipt"`
	Txs        int           `json:"txs"`
	Senders    int           `json:"senders"`
	Seconds    float64       `json:"seconds"`
	TxsPerSec  float64       `json:"txsPerSec"`
	Blocks     uint64        `json:"blocks"`
	TxsPerBlk  float64       `json:"txsPerBlock"`
	FinalCount uint64        `json:"finalCount"`
}

// Tx times cfg.Samples increments one at a time from the send to the receipt being
// served, then funds cfg.Senders accounts and sends cfg.Txs pre-signed increments from
// them with at most cfg.Window in flight per sender, and checks the counter's final
// value.
func Tx(ctx context.Context, cl *client.Client, cfg TxConfig) (*TxReport, error) {
	from := crypto.PubkeyToAddress(cfg.Key.PublicKey)
	inc, err := newIncrements(ctx, cl, cfg.Counter, from)
	if err != nil {
		return nil, err
	}
	before, err := counterValue(ctx, cl, cfg.Counter)
	if err != nil {
		return nil, err
	}
	n := max(1, cfg.Samples)
	logf(cfg.Log, "latency: %d sequential increments", n)
	lat, err := sequential(ctx, cl, inc, cfg.Key, n)
	if err != nil {
		return nil, err
	}

	nsend, window := max(1, cfg.Senders), max(1, cfg.Window)
	per := max(1, cfg.Txs/nsend)
	keys, err := fundEach(ctx, cl, cfg.Key, nsend, inc.fee(per+10))
	if err != nil {
		return nil, err
	}
	txs := make([][]*types.Tx, nsend)
	for i, k := range keys {
		for j := range per {
			txs[i] = append(txs[i], inc.sign(k, uint64(j)))
		}
	}
	startHeight, err := cl.BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	logf(cfg.Log, "throughput: %d increments from %d senders, window %d", per*nsend, nsend, window)
	start := time.Now()
	if err := windowed(ctx, cl, txs, window); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	endHeight, err := cl.BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	rep := &TxReport{Contract: cfg.Counter, Latency: Summarize(lat), Txs: per * nsend, Senders: nsend, Seconds: elapsed.Seconds(),
		TxsPerSec: float64(per*nsend) / elapsed.Seconds(), Blocks: endHeight - startHeight}
	if rep.FinalCount, err = counterValue(ctx, cl, cfg.Counter); err != nil {
		return nil, err
	}
	if want := before + uint64(n+per*nsend); rep.FinalCount != want {
		return nil, fmt.Errorf("counter is %d after the run, want %d", rep.FinalCount, want)
	}
	if rep.Blocks > 0 {
		rep.TxsPerBlk = float64(rep.Txs) / float64(rep.Blocks)
	}
	return rep, nil
}

// sequential sends n increments signed by key one at a time and returns, for each, the
// time from the send to its receipt being served.
func sequential(ctx context.Context, cl *client.Client, inc *increments, key *ecdsa.PrivateKey, n int) ([]time.Duration, error) {
	nonce, err := cl.PendingNonce(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		tx := inc.sign(key, nonce+uint64(i))
		t0 := time.Now()
		if _, err := cl.SendTransaction(ctx, tx); err != nil {
			return nil, err
		}
		for {
			r, err := cl.Receipt(ctx, tx.Hash())
			if err != nil {
				return nil, err
			}
			if r != nil {
				if r.Status != 1 {
					return nil, fmt.Errorf("increment failed: %s", r.Error)
				}
				break
			}
			time.Sleep(200 * time.Microsecond) // the measured wait: a receipt poll interval, not a synchronisation
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// fundEach makes n fresh keys and sends each amount from key, one transfer at a time.
func fundEach(ctx context.Context, cl *client.Client, key *ecdsa.PrivateKey, n int, amount *uint256.Int) ([]*ecdsa.PrivateKey, error) {
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		var err error
		if keys[i], err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
		_, r, err := cl.Transact(ctx, key, &client.TxRequest{Kind: types.TxTransfer, To: crypto.PubkeyToAddress(keys[i].PublicKey), Value: amount})
		if err == nil && r.Status != 1 {
			err = fmt.Errorf("transfer failed: %s", r.Error)
		}
		if err != nil {
			return nil, fmt.Errorf("fund sender %d: %w", i, err)
		}
	}
	return keys, nil
}

// windowed sends every sender's transactions (txs[i], nonces from 0) in order from one
// goroutine per sender, with at most window of them not yet in the sender's account
// nonce, and returns when all are included.
func windowed(ctx context.Context, cl *client.Client, txs [][]*types.Tx, window int) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(txs))
	for i, list := range txs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sendWindowed(ctx, cl, list, window); err != nil {
				errc <- fmt.Errorf("sender %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// sendWindowed sends one sender's txs, waiting on its account nonce to keep at most
// window in flight, then waits for all of them.
func sendWindowed(ctx context.Context, cl *client.Client, txs []*types.Tx, window int) error {
	if len(txs) == 0 {
		return nil
	}
	sender, err := txs[0].Sender()
	if err != nil {
		return err
	}
	var done uint64
	wait := func(target uint64) error {
		for done < target {
			acc, err := cl.Account(ctx, sender, rpctypes.LatestBlock)
			if err != nil {
				return err
			}
			if done = uint64(acc.Nonce); done < target {
				time.Sleep(500 * time.Microsecond) // polling the nonce is the measured client's way to see progress
			}
		}
		return nil
	}
	for j, tx := range txs {
		if uint64(j) >= done+uint64(window) {
			if err := wait(uint64(j) - uint64(window) + 1); err != nil {
				return err
			}
		}
		if _, err := cl.SendTransaction(ctx, tx); err != nil {
			return fmt.Errorf("tx %d: %w", j, err)
		}
	}
	return wait(uint64(len(txs)))
}

// WriteText writes the report for people.
func (r *TxReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "submit → receipt (one at a time)\n  latency   %s\n", r.Latency)
	fmt.Fprintf(w, "sustained increments (%d senders)\n  %d txs in %.2f s = %.0f tx/s, %d blocks (%.1f txs/block)\n",
		r.Senders, r.Txs, r.Seconds, r.TxsPerSec, r.Blocks, r.TxsPerBlk)
}
