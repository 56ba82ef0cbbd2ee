package mempool

import (
	"crypto/ecdsa"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// ddNames are the accounts a datadriven file may use. Each starts with nonce 0 and
// ddBalance coins after every init.
var ddNames = []string{"alice", "bob", "carol", "dave", "erin"}

const ddBalance = 1_000_000_000

// ddEnv is the state of one datadriven file.
type ddEnv struct {
	pool   *Pool
	state  *testState
	keys   map[string]*ecdsa.PrivateKey
	names  map[types.Address]string
	feed   <-chan *types.Tx
	replac *strings.Replacer // addresses to names in error messages
}

func newDDEnv() *ddEnv {
	env := &ddEnv{keys: map[string]*ecdsa.PrivateKey{}, names: map[types.Address]string{}}
	var pairs []string
	for _, n := range ddNames {
		k := testKey(n)
		env.keys[n] = k
		env.names[addrOf(k)] = n
		pairs = append(pairs, addrOf(k).Hex(), n)
	}
	env.replac = strings.NewReplacer(pairs...)
	return env
}

// TestDataDriven runs the scenarios in testdata/. Commands:
//
//	init [max-txs=N] [max-bytes=N] [per-account=N] [min-price=N] [max-gas=N] [bump=N] [ttl=N]
//	state NAME [nonce=N] [balance=N]         set the chain state (read by the pool for new
//	                                         accounts now, for the others at the next Update)
//	add NAME nonce=N|A..B [price=N] [gas=N] [value=N] [chain=N] [pad=N] [badsig]
//	pending [gas=N] [bytes=N] [txs=N]        the selection for a block
//	block NAME=N NAME=(N,N,...) ...          execute those pooled txs on the state, then Update
//	recheck                                  Update with no committed txs
//	dump                                     every account: pending | queued
//	feed                                     txs the subscription received since the last feed
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		env := newDDEnv()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out := env.run(t, d)
			if env.pool != nil {
				if err := env.pool.checkInvariants(); err != nil {
					t.Fatalf("%s: invariant broken after %q: %v", d.Pos, d.Cmd, err)
				}
			}
			return out
		})
	})
}

func (env *ddEnv) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "init":
		var cfg Config
		cfg.ChainID = testChainID
		d.MaybeScanArgs(t, "max-txs", &cfg.MaxTxs)
		d.MaybeScanArgs(t, "max-bytes", &cfg.MaxBytes)
		d.MaybeScanArgs(t, "per-account", &cfg.MaxPerAccount)
		d.MaybeScanArgs(t, "max-gas", &cfg.MaxTxGas)
		d.MaybeScanArgs(t, "max-tx-bytes", &cfg.MaxTxBytes)
		d.MaybeScanArgs(t, "bump", &cfg.PriceBump)
		d.MaybeScanArgs(t, "ttl", &cfg.QueuedTTL)
		if d.HasArg("min-price") {
			var mp uint64
			d.ScanArgs(t, "min-price", &mp)
			cfg.MinGasPrice = uint256.NewInt(mp)
		}
		env.state = newTestState()
		for _, n := range ddNames {
			env.state.set(addrOf(env.keys[n]), 0, ddBalance)
		}
		env.pool = New(cfg, env.state)
		env.feed, _ = env.pool.Subscribe(1 << 16)
		return ""

	case "state":
		addr := env.addr(t, d.CmdArgs[0].Key)
		nonce, bal := env.state.Nonce(addr), env.state.Balance(addr).Uint64()
		d.MaybeScanArgs(t, "nonce", &nonce)
		d.MaybeScanArgs(t, "balance", &bal)
		env.state.set(addr, nonce, bal)
		return ""

	case "add":
		name := d.CmdArgs[0].Key
		key := env.keys[name]
		if key == nil {
			t.Fatalf("unknown account %q", name)
		}
		var nonces string
		d.ScanArgs(t, "nonce", &nonces)
		lo, hi := parseRange(t, nonces)
		var s txSpec
		d.MaybeScanArgs(t, "price", &s.price)
		d.MaybeScanArgs(t, "gas", &s.gas)
		d.MaybeScanArgs(t, "value", &s.value)
		d.MaybeScanArgs(t, "chain", &s.chainID)
		d.MaybeScanArgs(t, "pad", &s.pad)
		var b strings.Builder
		for n := lo; n <= hi; n++ {
			s.nonce = n
			tx := rawTx(t, key, s)
			if d.HasArg("badsig") {
				tx.Sig[64] = 7
			}
			dec, err := types.DecodeTx(tx.Encode())
			if err == nil {
				err = env.pool.Add(dec)
				tx = dec
			}
			fmt.Fprintf(&b, "%s: ", env.label(tx))
			if err != nil {
				fmt.Fprintf(&b, "error: %s\n", env.replac.Replace(err.Error()))
			} else {
				b.WriteString("ok\n")
			}
		}
		return b.String()

	case "pending":
		var maxGas uint64
		var maxBytes, maxTxs int
		d.MaybeScanArgs(t, "gas", &maxGas)
		d.MaybeScanArgs(t, "bytes", &maxBytes)
		d.MaybeScanArgs(t, "txs", &maxTxs)
		return env.list(env.pool.Pending(maxGas, maxBytes, maxTxs))

	case "block":
		var committed []*types.Tx
		for _, arg := range d.CmdArgs {
			addr := env.addr(t, arg.Key)
			for _, v := range arg.Vals {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					t.Fatalf("block %s: %v", arg.Key, err)
				}
				tx := env.pooled(addr, n)
				if tx == nil {
					t.Fatalf("block: %s:%d is not in the pool", arg.Key, n)
				}
				if err := env.state.apply(tx); err != nil {
					t.Fatalf("block: %s: %v", env.label(tx), err)
				}
				committed = append(committed, tx)
			}
		}
		env.pool.Update(env.state, committed)
		return env.dump()

	case "recheck":
		env.pool.Update(env.state, nil)
		return env.dump()

	case "dump":
		return env.dump()

	case "feed":
		var got []*types.Tx
		for {
			select {
			case tx := <-env.feed:
				got = append(got, tx)
				continue
			default:
			}
			break
		}
		return env.list(got)
	}
	t.Fatalf("unknown command %q", d.Cmd)
	return ""
}

func parseRange(t *testing.T, s string) (lo, hi uint64) {
	a, b, isRange := strings.Cut(s, "..")
	lo, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		t.Fatalf("nonce %q: %v", s, err)
	}
	if !isRange {
		return lo, lo
	}
	hi, err = strconv.ParseUint(b, 10, 64)
	if err != nil || hi < lo {
		t.Fatalf("nonce range %q", s)
	}
	return lo, hi
}

func (env *ddEnv) addr(t *testing.T, name string) types.Address {
	k := env.keys[name]
	if k == nil {
		t.Fatalf("unknown account %q", name)
	}
	return addrOf(k)
}

// pooled returns the pool's tx of addr with nonce, or nil.
func (env *ddEnv) pooled(addr types.Address, nonce uint64) *types.Tx {
	env.pool.mu.RLock()
	defer env.pool.mu.RUnlock()
	if a := env.pool.accounts[addr]; a != nil {
		if _, e := a.find(nonce); e != nil {
			return e.tx
		}
	}
	return nil
}

// label names a tx NAME:NONCE@PRICE.
func (env *ddEnv) label(tx *types.Tx) string {
	from, err := tx.Sender()
	name := env.names[from]
	if err != nil || name == "" {
		name = "?"
	}
	return fmt.Sprintf("%s:%d@%s", name, tx.Nonce, u256(tx.GasPrice))
}

func (env *ddEnv) list(txs []*types.Tx) string {
	if len(txs) == 0 {
		return "(none)\n"
	}
	var b strings.Builder
	for _, tx := range txs {
		b.WriteString(env.label(tx))
		b.WriteByte('\n')
	}
	return b.String()
}

// dump shows every account's txs as NONCE@PRICE, pending before the bar, queued after,
// then the totals.
func (env *ddEnv) dump() string {
	p := env.pool
	p.mu.RLock()
	var lines []string
	for addr, a := range p.accounts {
		var b strings.Builder
		fmt.Fprintf(&b, "%s nonce=%d:", env.names[addr], a.nonce)
		for i, e := range a.txs {
			if i == a.pending {
				b.WriteString(" |")
			}
			fmt.Fprintf(&b, " %d@%s", e.nonce, e.price)
		}
		lines = append(lines, b.String())
	}
	p.mu.RUnlock()
	slices.Sort(lines)
	pending, queued := p.Stats()
	lines = append(lines, fmt.Sprintf("len=%d pending=%d queued=%d", p.Len(), pending, queued))
	return strings.Join(lines, "\n") + "\n"
}
