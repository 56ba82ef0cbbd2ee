package mempool

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/wnode/wnode/types"
)

// sim drives a pool and a chain state together and checks, after every step, what a user
// of the pool can observe. It is shared by the rapid property test and the fuzz target.
type sim struct {
	pool  *Pool
	state *testState
	cfg   Config
}

// simTxs are pre-signed txs for sim: simAccounts senders, nonces 0..simNonces-1, a few
// prices and gas limits each, so that property and fuzz runs spend no time signing.
const (
	simAccounts = 3
	simNonces   = 12
)

var simPrices = []uint64{1, 2, 3, 5}
var simGas = []uint64{100_000, 250_000}

var simTxs = sync.OnceValue(func() [][]*types.Tx {
	var out [][]*types.Tx // [account] -> txs of every (nonce, price, gas)
	for a := range simAccounts {
		key := testKey(ddNames[a])
		var txs []*types.Tx
		for n := range uint64(simNonces) {
			for _, price := range simPrices {
				for _, g := range simGas {
					tx, err := buildTx(key, txSpec{nonce: n, price: price, gas: g, value: n})
					if err != nil {
						panic(err)
					}
					txs = append(txs, tx)
				}
			}
		}
		out = append(out, txs)
	}
	return out
})

func simAddr(a int) types.Address { return addrOf(testKey(ddNames[a])) }

func newSim(cfg Config, balances []uint64) *sim {
	cfg.ChainID = testChainID
	st := newTestState()
	for a := range simAccounts {
		st.set(simAddr(a), 0, balances[a])
	}
	return &sim{pool: New(cfg, st.snapshot()), state: st, cfg: New(cfg, nil).cfg}
}

// hashes lists the pool's txs, for "a rejected Add changes nothing".
func (s *sim) hashes() []types.Hash {
	s.pool.mu.RLock()
	defer s.pool.mu.RUnlock()
	var hs []types.Hash
	for h := range s.pool.all {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, func(a, b types.Hash) int { return a.Cmp(b) })
	return hs
}

// add offers tx k of account a (k indexes simTxs) and checks the outcome.
func (s *sim) add(a, k int) error {
	txs := simTxs()[a]
	tx := txs[k%len(txs)]
	before := s.hashes()
	tx.Sender() // recovered now, for room
	executable, pendTxs, pendBytes := s.pool.room(tx)
	_, queued := s.pool.Stats()
	err := s.pool.Add(tx)
	switch {
	case err == nil:
		if !s.pool.Has(tx.Hash()) {
			return fmt.Errorf("accepted tx not in the pool")
		}
	case errors.Is(err, ErrPoolFull) && executable && queued > 0 &&
		pendTxs+1 <= s.cfg.MaxTxs && pendBytes+tx.Size() <= s.cfg.MaxBytes:
		return fmt.Errorf("executable tx refused (%v) while %d queued txs could have made room", err, queued)
	case errors.Is(err, ErrQueueFull) && executable:
		return fmt.Errorf("executable tx refused as queued: %v", err)
	case errors.Is(err, ErrAlreadyKnown), errors.Is(err, ErrNonceTooLow), errors.Is(err, ErrTooManyForAccount),
		errors.Is(err, ErrInsufficientFunds), errors.Is(err, ErrReplaceUnderpriced), errors.Is(err, ErrPoolFull),
		errors.Is(err, ErrGasLimit), errors.Is(err, ErrQueueFull):
		if after := s.hashes(); !slices.Equal(before, after) {
			return fmt.Errorf("rejected Add (%v) changed the pool", err)
		}
	default:
		return fmt.Errorf("unexpected Add error: %v", err)
	}
	return s.check()
}

// block selects txs with the given limits, executes them on the state (which must
// succeed for every one, in order) and updates the pool.
func (s *sim) block(maxGas uint64, maxBytes, maxTxs int) error {
	txs, after, err := s.pending(maxGas, maxBytes, maxTxs)
	if err != nil {
		return err
	}
	s.state = after
	s.pool.Update(s.state.snapshot(), txs)
	for _, tx := range txs {
		if s.pool.Has(tx.Hash()) {
			return fmt.Errorf("committed tx still pooled")
		}
	}
	return s.check()
}

// external changes an account behind the pool's back (a tx from another node's pool, a
// transfer), then updates the pool.
func (s *sim) external(a int, nonceBump uint64, balance uint64) error {
	addr := simAddr(a)
	s.state.set(addr, s.state.Nonce(addr)+nonceBump, balance)
	s.pool.Update(s.state.snapshot(), nil)
	return s.check()
}

// pending calls Pending and checks the selection: within the limits, each account's txs
// in nonce order from its state nonce, and executable in order on the current state. It
// returns the state after executing them.
func (s *sim) pending(maxGas uint64, maxBytes, maxTxs int) ([]*types.Tx, *testState, error) {
	txs := s.pool.Pending(maxGas, maxBytes, maxTxs)
	var gas uint64
	var size int
	exec := s.state.snapshot()
	for _, tx := range txs {
		gas += tx.GasLimit
		size += tx.Size()
		if err := exec.apply(tx); err != nil {
			return nil, nil, fmt.Errorf("Pending returned a tx that does not execute: %v", err)
		}
	}
	if (maxGas > 0 && gas > maxGas) || (maxBytes > 0 && size > maxBytes) || (maxTxs > 0 && len(txs) > maxTxs) {
		return nil, nil, fmt.Errorf("Pending exceeded limits: %d gas of %d, %d bytes of %d, %d txs of %d",
			gas, maxGas, size, maxBytes, len(txs), maxTxs)
	}
	if pend, _ := s.pool.Stats(); maxGas == 0 && maxBytes == 0 && maxTxs == 0 && len(txs) != pend {
		return nil, nil, fmt.Errorf("unlimited Pending returned %d txs, Stats says %d pending", len(txs), pend)
	}
	return txs, exec, nil
}

// check verifies the pool's internal invariants and the caps.
func (s *sim) check() error {
	if err := s.pool.checkInvariants(); err != nil {
		return err
	}
	if n := s.pool.Len(); n > s.cfg.MaxTxs {
		return fmt.Errorf("Len %d > MaxTxs %d", n, s.cfg.MaxTxs)
	}
	return nil
}
