package mempool

import (
	"crypto/ecdsa"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

const testChainID = 1

// testKey returns a fixed key derived from name, so tests sign the same bytes every run.
func testKey(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("wnode mempool test key " + name)))
	if err != nil {
		panic(err)
	}
	return k
}

func addrOf(k *ecdsa.PrivateKey) types.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// txSpec describes a test transaction; zero fields take usable defaults.
type txSpec struct {
	nonce   uint64
	price   uint64
	gas     uint64
	value   uint64
	chainID uint64
	pad     int // bytes of invoke args, to grow the tx
}

const defaultTestGas = 100_000

// signedTx builds and signs a tx, then round-trips it through its encoding so that the
// pool sees what a peer or RPC would hand it: a tx whose sender is not yet recovered.
func signedTx(tb testing.TB, key *ecdsa.PrivateKey, s txSpec) *types.Tx {
	tb.Helper()
	tx := rawTx(tb, key, s)
	dec, err := types.DecodeTx(tx.Encode())
	if err != nil {
		tb.Fatalf("decode own tx: %v", err)
	}
	return dec
}

// rawTx builds and signs a tx, keeping the sender cached by Sign.
func rawTx(tb testing.TB, key *ecdsa.PrivateKey, s txSpec) *types.Tx {
	tb.Helper()
	tx, err := buildTx(key, s)
	if err != nil {
		tb.Fatal(err)
	}
	return tx
}

func buildTx(key *ecdsa.PrivateKey, s txSpec) (*types.Tx, error) {
	if s.gas == 0 {
		s.gas = defaultTestGas
	}
	if s.chainID == 0 {
		s.chainID = testChainID
	}
	tx := &types.Tx{
		ChainID: s.chainID, Nonce: s.nonce, GasPrice: uint256.NewInt(s.price), GasLimit: s.gas,
		Kind: types.TxTransfer, To: types.Address{0xee}, Value: uint256.NewInt(s.value),
	}
	if s.pad > 0 {
		tx.Kind, tx.Method, tx.Args = types.TxInvoke, "pad", make([]byte, s.pad)
	}
	return tx, tx.Sign(key)
}

// testState is an AccountState over maps. Snapshot returns an immutable copy, which is
// what the pool is given, so a test may change the original concurrently.
type testState struct {
	mu       sync.Mutex
	nonces   map[types.Address]uint64
	balances map[types.Address]*uint256.Int
}

func newTestState() *testState {
	return &testState{nonces: map[types.Address]uint64{}, balances: map[types.Address]*uint256.Int{}}
}

func (s *testState) Account(a types.Address) (uint64, *uint256.Int) {
	return s.Nonce(a), s.Balance(a)
}

func (s *testState) Nonce(a types.Address) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonces[a]
}

func (s *testState) Balance(a types.Address) *uint256.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.balances[a]; b != nil {
		return b.Clone()
	}
	return new(uint256.Int)
}

func (s *testState) set(a types.Address, nonce, balance uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonces[a] = nonce
	s.balances[a] = uint256.NewInt(balance)
}

func (s *testState) snapshot() *testState {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := newTestState()
	maps.Copy(c.nonces, s.nonces)
	for a, b := range s.balances {
		c.balances[a] = b.Clone()
	}
	return c
}

// apply executes tx as the chain would if it used all its gas: bump the nonce, take
// value + gasLimit*gasPrice. It returns an error if the nonce or balance is wrong.
func (s *testState) apply(tx *types.Tx) error {
	from, err := tx.Sender()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonces[from] != tx.Nonce {
		return fmt.Errorf("nonce %d, account has %d", tx.Nonce, s.nonces[from])
	}
	cost := new(uint256.Int).SetUint64(tx.GasLimit)
	cost.Mul(cost, tx.GasPrice).Add(cost, tx.Value)
	bal := s.balances[from]
	if bal == nil || bal.Lt(cost) {
		return fmt.Errorf("balance %v below cost %s", bal, cost)
	}
	s.balances[from] = new(uint256.Int).Sub(bal, cost)
	s.nonces[from]++
	return nil
}

// checkInvariants verifies every redundant figure the pool keeps against a recount.
func (p *Pool) checkInvariants() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	count, bytes, pending := 0, 0, 0
	if len(p.evict) != len(p.accounts) {
		return fmt.Errorf("heap has %d accounts, map %d", len(p.evict), len(p.accounts))
	}
	for i, a := range p.evict {
		if a.heapIdx != i {
			return fmt.Errorf("account %s at heap %d says %d", a.addr, i, a.heapIdx)
		}
		if i > 0 && evictBefore(a, p.evict[(i-1)/2]) {
			return fmt.Errorf("heap order broken at %d", i)
		}
	}
	for addr, a := range p.accounts {
		if a.addr != addr || len(a.txs) == 0 || p.evict[a.heapIdx] != a {
			return fmt.Errorf("account %s misfiled (%d txs)", addr, len(a.txs))
		}
		if len(a.txs) > p.cfg.MaxPerAccount {
			return fmt.Errorf("account %s holds %d txs, cap %d", addr, len(a.txs), p.cfg.MaxPerAccount)
		}
		var cost uint256.Int
		for i, e := range a.txs {
			if e.sender != addr || p.all[e.hash] != e {
				return fmt.Errorf("tx %s misfiled", e.hash)
			}
			if e.nonce < a.nonce || e.nonce-a.nonce >= uint64(p.cfg.MaxPerAccount) {
				return fmt.Errorf("account %s nonce %d holds tx nonce %d", addr, a.nonce, e.nonce)
			}
			if i > 0 && a.txs[i-1].nonce >= e.nonce {
				return fmt.Errorf("account %s txs out of order", addr)
			}
			cost.Add(&cost, &e.cost)
			bytes += e.size
		}
		if !cost.Eq(&a.cost) || cost.Gt(&a.balance) {
			return fmt.Errorf("account %s cost %s recount %s balance %s", addr, &a.cost, &cost, &a.balance)
		}
		if want := a.countPending(0); a.pending != want {
			return fmt.Errorf("account %s pending %d, recount %d", addr, a.pending, want)
		}
		count += len(a.txs)
		pending += a.pending
		if _, in := p.queuedAt[a]; in != a.tailQueued() {
			return fmt.Errorf("account %s with %d queued txs filed as queued: %v", addr, len(a.txs)-a.pending, in)
		}
		if q := len(a.txs) - a.pending; q > p.cfg.MaxQueuedPerAccount {
			return fmt.Errorf("account %s has %d queued txs, cap %d", addr, q, p.cfg.MaxQueuedPerAccount)
		}
	}
	if len(p.queuedAt) > len(p.accounts) {
		return fmt.Errorf("%d accounts filed as queued, %d accounts", len(p.queuedAt), len(p.accounts))
	}
	if q := count - pending; q > p.cfg.MaxQueued {
		return fmt.Errorf("%d queued txs, cap %d", q, p.cfg.MaxQueued)
	}
	if count != p.count || count != len(p.all) || bytes != p.bytes || pending != p.pending {
		return fmt.Errorf("totals: count %d/%d/%d bytes %d/%d pending %d/%d",
			p.count, count, len(p.all), p.bytes, bytes, p.pending, pending)
	}
	if count > p.cfg.MaxTxs || bytes > p.cfg.MaxBytes {
		return fmt.Errorf("over the caps: %d txs, %d bytes", count, bytes)
	}
	return nil
}

// room reports, for tx, whether it would be executable (no nonce gap before it) and the
// txs and bytes of the pool's executable txs.
func (p *Pool) room(tx *types.Tx) (executable bool, pendingTxs, pendingBytes int) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	from, _ := tx.Sender()
	next := uint64(0)
	if a := p.accounts[from]; a != nil {
		next = a.nonce + uint64(a.pending)
	} else {
		next, _ = p.state.Account(from)
	}
	for _, a := range p.accounts {
		for _, e := range a.txs[:a.pending] {
			pendingBytes += e.size
		}
	}
	return tx.Nonce <= next, p.pending, pendingBytes
}
