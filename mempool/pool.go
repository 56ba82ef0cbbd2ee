package mempool

import (
	"container/heap"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// Pool holds validated transactions waiting for a block. All methods are safe for
// concurrent use: Add and Update take the write lock, the readers a read lock; Add
// recovers the signature before taking any lock.
type Pool struct {
	cfg Config

	mu       sync.RWMutex
	state    AccountState
	all      map[types.Hash]*entry
	accounts map[types.Address]*account
	evict    evictHeap             // non-empty accounts by their tail's eviction order
	queuedAt map[*account]struct{} // accounts with queued txs (their tail is queued)
	count    int                   // transactions
	bytes    int                   // sum of their encoded sizes
	pending  int                   // executable transactions (sum of account.pending)
	seq      uint64                // last arrival number handed out
	height   uint64                // Update calls so far: the pool's clock for QueuedTTL

	subs      map[*subscription]struct{} // guarded by mu
	dropped   atomic.Uint64              // feed sends skipped because a subscriber was full
	committed committedSet               // txs of recent blocks; guarded by mu
}

// New returns an empty pool with cfg's limits (zero fields take the defaults) that reads
// accounts from st, which must not be nil, until the first Update.
func New(cfg Config, st AccountState) *Pool {
	return &Pool{
		cfg:      cfg.withDefaults(),
		state:    st,
		all:      make(map[types.Hash]*entry),
		accounts: make(map[types.Address]*account),
		queuedAt: make(map[*account]struct{}),
		subs:     make(map[*subscription]struct{}),
	}
}

// Config returns the pool's limits, defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// CheckStatic runs the checks of Add that depend on neither the pool's state nor the
// signature: encoded size, and gas limit between the intrinsic gas and MaxTxGas. A tx
// failing them can never enter this pool (ErrOversized, ErrIntrinsicGas, ErrGasLimit).
func (p *Pool) CheckStatic(tx *types.Tx) error {
	if tx == nil {
		return fmt.Errorf("%w: nil transaction", types.ErrInvalidTxField)
	}
	size := tx.Size()
	if size > p.cfg.MaxTxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrOversized, size, p.cfg.MaxTxBytes)
	}
	if max := p.cfg.MaxTxGas; max != 0 && tx.GasLimit > max {
		return fmt.Errorf("%w: %d, limit %d", ErrGasLimit, tx.GasLimit, max)
	}
	// The same bound the chain checks before it includes a tx: code counted as sent, so
	// gzipped code may still run out of gas once inflated, but is includable.
	if in := p.cfg.Schedule.Intrinsic(uint64(size), uint64(len(tx.Code))); tx.GasLimit < in {
		return fmt.Errorf("%w: gas limit %d, intrinsic gas at least %d", ErrIntrinsicGas, tx.GasLimit, in)
	}
	return nil
}

// Add validates tx and, if it is acceptable, adds it to the pool and sends it to every
// subscriber. Checks, cheapest first: encoded size, not already known, gas limit between
// the intrinsic gas and MaxTxGas, gas price at least MinGasPrice, value + gas cost within
// 256 bits, then chain id, fields and signature (types.Tx.ValidateBasic: 25-100 µs of
// signature recovery unless the sender is cached; no lock is held meanwhile), and under
// the lock: nonce not below the account's nonce and less than MaxPerAccount ahead of it,
// enough gas price to replace a tx with the same nonce, a balance that covers this tx
// after all the sender's lower-nonce txs in the pool, and room in the pool (evicting
// cheaper txs if needed). A rejected tx changes nothing. An accepted one may push the
// sender's higher-nonce txs out when the balance no longer covers them all.
func (p *Pool) Add(tx *types.Tx) error {
	if err := p.CheckStatic(tx); err != nil {
		return err
	}
	size, hash := tx.Size(), tx.Hash()
	if p.Has(hash) {
		return fmt.Errorf("%w: %s", ErrAlreadyKnown, hash)
	}
	price := u256(tx.GasPrice)
	if price.Lt(p.cfg.MinGasPrice) {
		return fmt.Errorf("%w: %s, minimum %s", ErrUnderpriced, price, p.cfg.MinGasPrice)
	}
	e := &entry{tx: tx, hash: hash, nonce: tx.Nonce, price: price, size: size, added: p.cfg.Now()}
	e.cost.SetUint64(tx.GasLimit)
	_, over1 := e.cost.MulOverflow(&e.cost, price)
	_, over2 := e.cost.AddOverflow(&e.cost, u256(tx.Value))
	if over1 || over2 {
		return fmt.Errorf("%w: value + gasLimit*gasPrice overflows 256 bits", ErrInsufficientFunds)
	}
	// Last, the expensive check: chain id, fields and signature recovery.
	if err := tx.ValidateBasic(p.cfg.ChainID); err != nil {
		return err
	}
	e.sender, _ = tx.Sender() // recovered and cached by ValidateBasic

	// The state of a sender the pool does not track yet is read before taking the lock:
	// a database read under it would serialize every concurrent Add.
	p.mu.RLock()
	st, height, known := p.state, p.height, p.accounts[e.sender] != nil
	p.mu.RUnlock()
	var pre *stateRead
	if !known {
		nonce, bal := st.Account(e.sender)
		pre = &stateRead{height: height, nonce: nonce, balance: bal}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.add(e, pre)
}

// stateRead is a sender's nonce and balance read at the pool's block count height.
type stateRead struct {
	height  uint64
	nonce   uint64
	balance *uint256.Int
}

// add inserts e, whose stateless checks passed, using pre for its sender's state if
// no block came since it was read. Called with p.mu held.
func (p *Pool) add(e *entry, pre *stateRead) error {
	if p.all[e.hash] != nil { // added concurrently since Add's first look
		return fmt.Errorf("%w: %s", ErrAlreadyKnown, e.hash)
	}
	a := p.accounts[e.sender]
	if a == nil {
		if pre == nil || pre.height != p.height {
			nonce, bal := p.state.Account(e.sender)
			pre = &stateRead{nonce: nonce, balance: bal}
		}
		a = &account{addr: e.sender, nonce: pre.nonce, heapIdx: -1}
		a.balance.Set(u256(pre.balance))
	}
	if e.nonce < a.nonce {
		return fmt.Errorf("%w: tx nonce %d, account %s expects %d", ErrNonceTooLow, e.nonce, a.addr, a.nonce)
	}
	if e.nonce-a.nonce >= uint64(p.cfg.MaxPerAccount) {
		return fmt.Errorf("%w: tx nonce %d is %d or more ahead of account %s nonce %d",
			ErrTooManyForAccount, e.nonce, p.cfg.MaxPerAccount, a.addr, a.nonce)
	}
	i, old := a.find(e.nonce)
	if old != nil && !bumped(old.price, e.price, p.cfg.PriceBump) {
		return fmt.Errorf("%w: nonce %d has gas price %s, a replacement needs +%d%%, got %s",
			ErrReplaceUnderpriced, e.nonce, old.price, p.cfg.PriceBump, e.price)
	}
	// A tx behind a gap may never pay: such txs have their own, smaller caps.
	if old == nil && e.nonce > a.nonce+uint64(a.pending) {
		if q := len(a.txs) - a.pending; q >= p.cfg.MaxQueuedPerAccount {
			return fmt.Errorf("%w: account %s has %d txs waiting for nonce %d, limit %d",
				ErrQueueFull, a.addr, q, a.nonce+uint64(a.pending), p.cfg.MaxQueuedPerAccount)
		}
		if q := p.count - p.pending; q >= p.cfg.MaxQueued {
			return fmt.Errorf("%w: %d txs wait behind nonce gaps, limit %d", ErrQueueFull, q, p.cfg.MaxQueued)
		}
	}
	// The sender must afford e after every lower nonce of theirs; higher nonces that then no
	// longer fit are dropped below, since e executes first.
	var need uint256.Int
	if i == len(a.txs) { // the usual case, the next nonce: every pooled tx is lower
		need.Set(&a.cost)
	} else {
		for _, o := range a.txs[:i] {
			need.Add(&need, &o.cost) // cannot overflow: the sum of all costs is at most the balance
		}
	}
	if _, over := need.AddOverflow(&need, &e.cost); over || need.Gt(&a.balance) {
		return fmt.Errorf("%w: account %s has %s, needs %s for this tx and its %d lower nonces in the pool",
			ErrInsufficientFunds, a.addr, &a.balance, &need, i)
	}
	addCount, addBytes := 1, e.size
	if old != nil {
		addCount, addBytes = 0, e.size-old.size
	}
	if err := p.makeRoom(a, e, addCount, addBytes); err != nil {
		return err
	}

	p.seq++
	e.seq, e.height = p.seq, p.height
	oldPending := a.pending
	i, old = a.find(e.nonce) // makeRoom may have evicted a's tail (above e.nonce)
	if old != nil {
		a.txs[i] = e
		p.forget(a, old)
	} else {
		a.txs = slices.Insert(a.txs, i, e)
	}
	a.cost.Add(&a.cost, &e.cost)
	p.all[e.hash] = e
	p.count++
	p.bytes += e.size
	a.pending = a.countPending(a.pending)
	for a.cost.Gt(&a.balance) {
		p.dropTail(a)
	}
	p.pending += a.pending - oldPending
	p.place(a)
	p.publish(e.tx)
	return nil
}

// makeRoom evicts until the pool can take addCount more txs and addBytes more bytes for e,
// a tx of account a. For an executable e it first evicts queued txs, whatever their
// price (cheapest first); then account tails, cheapest first (see evictBefore), never one
// whose gas price is not strictly below e's, never a pending tx for a tx that will wait
// behind a gap, and never a's own txs below e. If it cannot make room it restores what it
// evicted and returns ErrPoolFull.
func (p *Pool) makeRoom(a *account, e *entry, addCount, addBytes int) error {
	fits := func() bool {
		return p.count+addCount <= p.cfg.MaxTxs && p.bytes+addBytes <= p.cfg.MaxBytes
	}
	if fits() {
		return nil
	}
	ePending := e.nonce <= a.nonce+uint64(a.pending)
	type eviction struct {
		a *account
		e *entry
	}
	var evicted []eviction
	for !fits() {
		var v *account
		if ePending {
			v = p.queuedVictim()
		}
		if v == nil {
			v = p.victim(a, e.nonce)
		}
		ok := v != nil
		if ok && !(ePending && v.tailQueued()) { // a queued tx gives way to an executable one at any price
			ok = v.tail().price.Lt(e.price) && (ePending || v.tailQueued())
		}
		if !ok {
			for k := len(evicted) - 1; k >= 0; k-- {
				p.restoreTail(evicted[k].a, evicted[k].e)
			}
			return fmt.Errorf("%w: %d txs of %d, %d bytes of %d, and no evictable tx is cheaper than gas price %s",
				ErrPoolFull, p.count, p.cfg.MaxTxs, p.bytes, p.cfg.MaxBytes, e.price)
		}
		oldPending := v.pending
		victim := p.dropTail(v)
		p.pending += v.pending - oldPending
		p.place(v)
		evicted = append(evicted, eviction{v, victim})
	}
	return nil
}

// victim returns the account whose tail is the next to evict for a tx of account a with
// nonce, or nil if there is none.
func (p *Pool) victim(a *account, nonce uint64) *account {
	h := p.evict
	if len(h) == 0 {
		return nil
	}
	if h[0] != a || a.tail().nonce > nonce {
		return h[0]
	}
	// The root is excluded; the next in order is one of its children.
	var best *account
	for _, k := range []int{1, 2} {
		if k < len(h) && (best == nil || evictBefore(h[k], best)) {
			best = h[k]
		}
	}
	return best
}

// queuedVictim returns the account whose queued tail goes first (in evictBefore order),
// or nil when no tx is queued. It scans the accounts with queued txs, at most MaxQueued.
func (p *Pool) queuedVictim() *account {
	var best *account
	for a := range p.queuedAt {
		if best == nil || evictBefore(a, best) {
			best = a
		}
	}
	return best
}

// trimQueued drops queued tails beyond MaxQueuedPerAccount and MaxQueued: a block can turn
// pending txs into queued ones (a tx of the middle committed elsewhere).
func (p *Pool) trimQueued() {
	for a := range p.queuedAt {
		for len(a.txs)-a.pending > p.cfg.MaxQueuedPerAccount {
			p.dropTail(a)
		}
		p.place(a)
	}
	for p.count-p.pending > p.cfg.MaxQueued {
		v := p.queuedVictim()
		if v == nil {
			break
		}
		p.dropTail(v)
		p.place(v)
	}
}

// dropTail removes a's highest-nonce tx and returns it. It keeps a.pending right but
// leaves p.pending and a's place in the heap to the caller.
func (p *Pool) dropTail(a *account) *entry {
	last := len(a.txs) - 1
	e := a.txs[last]
	a.txs[last] = nil
	a.txs = a.txs[:last]
	a.pending = min(a.pending, len(a.txs))
	p.forget(a, e)
	return e
}

// restoreTail undoes dropTail(a) that returned e.
func (p *Pool) restoreTail(a *account, e *entry) {
	oldPending := a.pending
	a.txs = append(a.txs, e)
	a.cost.Add(&a.cost, &e.cost)
	p.all[e.hash] = e
	p.count++
	p.bytes += e.size
	a.pending = a.countPending(a.pending)
	p.pending += a.pending - oldPending
	p.place(a)
}

// forget removes e from the pool's index and totals and from a's cost; the caller has
// taken it out of a.txs.
func (p *Pool) forget(a *account, e *entry) {
	a.cost.Sub(&a.cost, &e.cost)
	delete(p.all, e.hash)
	p.count--
	p.bytes -= e.size
}

// place puts a where it belongs after a change: in the account map and the eviction heap
// if it has txs, out of both if it has none.
func (p *Pool) place(a *account) {
	if len(a.txs) > 0 {
		t := a.tail()
		a.key = evictKey{price: t.price, seq: t.seq, queued: a.tailQueued()}
	}
	if a.tailQueued() {
		p.queuedAt[a] = struct{}{}
	} else {
		delete(p.queuedAt, a)
	}
	switch {
	case len(a.txs) == 0 && a.heapIdx >= 0:
		heap.Remove(&p.evict, a.heapIdx)
		delete(p.accounts, a.addr)
	case len(a.txs) == 0:
		delete(p.accounts, a.addr)
	case a.heapIdx >= 0:
		heap.Fix(&p.evict, a.heapIdx)
	default:
		p.accounts[a.addr] = a
		heap.Push(&p.evict, a)
	}
}

// bumped reports whether price is at least old raised by bump percent, without rounding:
// price*100 >= old*(100+bump).
func bumped(old, price *uint256.Int, bump uint64) bool {
	l := new(big.Int).Mul(price.ToBig(), big.NewInt(100))
	r := new(big.Int).Mul(old.ToBig(), new(big.Int).SetUint64(100+bump))
	return l.Cmp(r) >= 0
}

// u256 returns v, or zero for nil.
func u256(v *uint256.Int) *uint256.Int {
	if v == nil {
		return new(uint256.Int)
	}
	return v
}

// Get returns the pooled tx with hash, or nil.
func (p *Pool) Get(hash types.Hash) *types.Tx {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if e := p.all[hash]; e != nil {
		return e.tx
	}
	return nil
}

// Has reports whether a tx with hash is in the pool.
func (p *Pool) Has(hash types.Hash) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.all[hash] != nil
}

// Len is the number of txs in the pool, pending and queued.
func (p *Pool) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.count
}

// Stats returns the number of executable txs (pending) and of txs waiting behind a nonce
// gap (queued).
func (p *Pool) Stats() (pending, queued int) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.pending, p.count - p.pending
}

// HasPending reports whether Pending would return at least one tx given no limits; a
// proposer uses it to decide whether to wait for txs.
func (p *Pool) HasPending() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.pending > 0
}
