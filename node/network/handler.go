package network

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// maxSyncBytes bounds the blocks one sync answer holds in memory (at least one block is
// always sent): 64 full blocks would be hundreds of MiB.
const maxSyncBytes = 16 << 20

// handler gives meaning to what the p2p layer carries (p2p.Handler): transactions go to
// the mempool, consensus messages to the consensus engine, status and blocks come from
// the chain. Check methods run concurrently on gossipsub's validation goroutines.
type handler struct {
	chain       *chain.Chain
	pool        *mempool.Pool
	chainID     uint64
	genesisHash types.Hash
	stats       *stats

	cons  atomic.Pointer[consensusBox] // nil until Network.Start
	ahead func()                       // a peer shows a height beyond the window: wake the syncer

	// gossiped holds the txs CheckTx added to the pool, so that the feed loop does not
	// publish them again as if this node authored them: gossipsub relays them.
	gossiped gossipSet
	// refused holds the txs the pool refused lately; republish the txs of batches not
	// relayed, for the feed loop to publish (nil: dropped).
	refused   refusedSet
	budget    peerBudget // per peer: signature checks of txs its batches made the pool refuse
	republish chan *types.Tx
	clk       Clock // nil: the wall clock

	recent recentMessages
}

type consensusBox struct{ c Consensus }

var _ p2p.Handler = (*handler)(nil)

// stats are the counters of Stats.
type stats struct {
	txsAccepted, txsIgnored, txsRejected                  atomic.Uint64
	consAccepted, consIgnored, consRejected               atomic.Uint64
	broadcastDropped, txPublishDropped, blocksSynced      atomic.Uint64
	syncRequestsServed, badSyncBlocks, consDeliverDropped atomic.Uint64
	txBatchesPublished, txsRegossiped                     atomic.Uint64
}

// errIgnore wraps p2p.ErrIgnore with the reason.
func errIgnore(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{p2p.ErrIgnore}, args...)...)
}

// CheckTx decodes a gossiped transaction or batch of transactions (types.DecodeTxs) and
// adds them to the mempool, so that only batches this node's pool took whole are relayed.
// Txs the pool holds or that were in its recent blocks (gossip arriving late) are skipped
// as known; txs it refused less than refusedTTL ago are skipped too, but keep the batch
// from being relayed. Then, cheapest
// first for the whole batch before any signature: Pool.CheckStatic and the chain id and
// fields (Tx.CheckFields); then the signatures. A batch failing any of these (malformed,
// wrong chain, bad signature, a tx no block could ever include) is rejected whole and
// changes nothing: its sender is scored down, since honest nodes only publish what their
// pool accepted and these checks need no state. Then the pool: a tx it turns away for
// reasons of state or local policy (nonce used, no funds, pool full, underpriced) makes
// the batch ignored, not relayed — relaying would make the network carry a tx this pool
// refused — and the txs the pool did take are published by this node in batches of its
// own. A batch of known txs is ignored too. A peer whose txs the pool refused
// maxRefusedPerPeer times within budgetWindow has its batches ignored unchecked for the
// rest of the window: refused txs cost a signature recovery each and no penalty, and a
// peer can sign unfundable ones for free. The value is the slice of txs added.
func (h *handler) CheckTx(from peer.ID, data []byte) (any, error) {
	txs, err := types.DecodeTxs(data)
	if err != nil {
		h.stats.txsRejected.Add(1)
		return nil, err
	}
	now := h.now()
	fresh := txs[:0:0]
	var refusal error
	for _, tx := range txs {
		switch hash := tx.Hash(); {
		case h.pool.Has(hash) || h.pool.Committed(hash):
			continue // known: pooled, or in a recent block and gossiped late
		case h.refused.has(hash, now):
			// Refused lately: not checked again, but this pool does not want it, so the
			// batch is not relayed.
			if refusal == nil {
				refusal = fmt.Errorf("tx %s refused within %v", hash, refusedTTL)
			}
			continue
		}
		if err := h.pool.CheckStatic(tx); err != nil {
			h.stats.txsRejected.Add(1)
			return nil, err
		}
		if err := tx.CheckFields(h.chainID); err != nil {
			h.stats.txsRejected.Add(1)
			return nil, err
		}
		fresh = append(fresh, tx)
	}
	// The peer's budget is charged for every signature about to be recovered, before any
	// is, so that concurrent validations of its messages all count; txs the pool takes
	// are refunded below.
	if !h.budget.take(from, len(fresh), now) {
		h.stats.txsIgnored.Add(uint64(len(txs)))
		return nil, errIgnore("peer %s had %d txs refused within %v", from, maxRefusedPerPeer, budgetWindow)
	}
	for _, tx := range fresh {
		if _, err := tx.Sender(); err != nil {
			h.stats.txsRejected.Add(1)
			return nil, err
		}
	}
	added, refused := fresh[:0], 0
	for _, tx := range fresh {
		h.gossiped.add(tx)
		err := h.pool.Add(tx)
		switch {
		case err == nil:
			added = append(added, tx)
			continue
		case !errors.Is(err, mempool.ErrAlreadyKnown): // known: added concurrently, fine
			h.refused.add(tx.Hash(), now)
			refused++
			if refusal == nil {
				refusal = err
			}
		}
		h.gossiped.take(tx)
	}
	h.budget.refund(from, len(fresh)-refused, now)
	h.stats.txsAccepted.Add(uint64(len(added)))
	h.stats.txsIgnored.Add(uint64(len(txs) - len(added)))
	switch {
	case refusal != nil:
		for _, tx := range added {
			h.publishOwn(tx)
		}
		return nil, fmt.Errorf("%w: %w", p2p.ErrIgnore, refusal)
	case len(added) == 0:
		return nil, errIgnore("%d txs already known", len(txs))
	}
	return added, nil
}

// publishOwn makes sure this node gossips tx itself, which CheckTx added to the pool but
// whose batch it does not relay: if the feed loop has not seen tx yet, taking the mark
// is enough; if it has (and skipped it as relayed), tx goes to the republish queue.
func (h *handler) publishOwn(tx *types.Tx) {
	if h.gossiped.take(tx) {
		return
	}
	select {
	case h.republish <- tx:
	default: // full: the pool's re-gossip publishes it later
		h.stats.txPublishDropped.Add(1)
	}
}

// maxRefusedPerPeer and budgetWindow bound the signature recoveries one peer can make
// this node spend on txs its pool refuses: honest peers cause a few refusals (their pool
// and this one differ by a block), far below it; committed txs gossiped late are known,
// not refused.
const (
	maxRefusedPerPeer = 2048
	budgetWindow      = time.Second
)

// peerBudget counts, per peer, the signature checks of the current window that did not
// end in the pool: taken before the checks, refunded for the txs the pool took.
type peerBudget struct {
	mu    sync.Mutex
	start time.Time
	used  map[peer.ID]int
}

// roll starts a new window if the current one is over. Called with mu held.
func (b *peerBudget) roll(now time.Time) {
	if b.used == nil || now.Sub(b.start) >= budgetWindow {
		b.start, b.used = now, make(map[peer.ID]int)
	}
}

// take reserves n checks for p, or reports false if p's budget for the window is spent
// (a peer below it may go over by one batch).
func (b *peerBudget) take(p peer.ID, n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	if b.used[p] >= maxRefusedPerPeer {
		return false
	}
	b.used[p] += n
	return true
}

// refund gives back n checks to p (txs the pool took), within the current window.
func (b *peerBudget) refund(p peer.ID, n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	b.used[p] = max(b.used[p]-n, 0)
}

// now is the handler's time: h.clk's, or the wall clock's.
func (h *handler) now() time.Time {
	if h.clk != nil {
		return h.clk.Now()
	}
	return time.Now()
}

// refusedTTL is how long a tx the pool refused is skipped by CheckTx: a peer replaying
// refused txs in new batches (new message IDs) costs a signature recovery per tx at
// most once per refusedTTL; an honest tx refused for a state that changes (funds still on
// their way) is taken again by the pool's re-gossip after it.
const refusedTTL = 3 * time.Second

// maxRefused bounds each generation of refusedSet.
const maxRefused = 8192

// refusedSet remembers the txs the pool refused lately, by hash, each for refusedTTL (at
// most two generations of maxRefused).
type refusedSet struct{ times hashTimes }

func (r *refusedSet) has(h types.Hash, now time.Time) bool {
	at, ok := r.times.get(h)
	return ok && now.Sub(at) < refusedTTL
}

func (r *refusedSet) add(h types.Hash, now time.Time) { r.times.put(h, now, maxRefused) }

// hashTimes maps hashes to times in two generations of at most limit entries each: when
// the current one is full it becomes the old one, and the old one is dropped. Safe for
// concurrent use.
type hashTimes struct {
	mu       sync.Mutex
	cur, old map[types.Hash]time.Time
}

func (m *hashTimes) get(h types.Hash) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.cur[h]
	if !ok {
		at, ok = m.old[h]
	}
	return at, ok
}

func (m *hashTimes) put(h types.Hash, at time.Time, limit int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil || len(m.cur) >= limit {
		// Not sized for limit: the refused set mostly stays empty, and a map sized for
		// 8,192 entries holds ~0.6 MB whether they come or not.
		m.old, m.cur = m.cur, make(map[types.Hash]time.Time)
	}
	m.cur[h] = at
}

// maxGossiped bounds gossipSet. The pool's feed skips txs when its buffer is full, so
// some entries are never taken; when the set is full it starts over, and the worst that
// follows is that a few gossiped txs are published again by this node.
const maxGossiped = 2 * txQueue

// gossipSet is a bounded set of transactions, by pointer.
type gossipSet struct {
	mu  sync.Mutex
	txs map[*types.Tx]struct{}
}

func (g *gossipSet) add(tx *types.Tx) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.txs == nil || len(g.txs) >= maxGossiped {
		g.txs = make(map[*types.Tx]struct{})
	}
	g.txs[tx] = struct{}{}
}

// take removes tx and reports whether it was there.
func (g *gossipSet) take(tx *types.Tx) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.txs[tx]
	delete(g.txs, tx)
	return ok
}

// DeliverTx does nothing more: CheckTx already added the transactions to the pool.
func (h *handler) DeliverTx(any, peer.ID) {}

// CheckConsensus decodes a gossiped consensus message and verifies it against the
// validator set of its height (consensus.VerifyMessage: signer is a validator, signature valid,
// proposal by its round's proposer, commit with 2/3+ of the power). Malformed or wrongly
// signed messages, and votes of non-validators, are rejected. Messages of heights
// below the current one minus one are ignored before any check (late, and common).
// Proposals and votes beyond the current height plus one are verified, then ignored:
// this node is behind and cannot use them, but they wake block sync up. Commit
// certificates of any later height are relayed: they tell lagging nodes what to sync.
// A message whose content (all but its unsigned Resend stamp) was relayed less than
// resendGap ago is ignored; one relayed before is not verified again, unless it was
// checked against another set than the one it is checked against now (a message more
// than one height ahead is checked against the newest known set).
func (h *handler) CheckConsensus(data []byte) (any, error) {
	m, err := consensus.DecodeMessage(data)
	if err != nil {
		h.stats.consRejected.Add(1)
		return nil, err
	}
	next := h.chain.Head().Height + 1 // the height consensus is deciding
	height := m.Height()
	if height+1 < next {
		h.stats.consIgnored.Add(1)
		return nil, errIgnore("%s: height %d is decided", m.Kind(), height)
	}
	// The sets of heights up to next+1 are known (the chain decides them two heights
	// ahead); a message of a later height is checked against the newest known set, and
	// only ignored when it fails: the set may have changed since. Such a check holds for
	// that set only, so its record in recent names the set's hash: once this node knows
	// the set of the message's height (or a newer set), a copy is checked again before
	// it is relayed, and a signer removed in between is not relayed to peers that
	// reject it.
	vs, err := h.chain.ValidatorsAt(min(height, next+1))
	if err != nil {
		h.stats.consIgnored.Add(1)
		return nil, errIgnore("%s: validator set of height %d: %v", m.Kind(), height, err)
	}
	key := contentKey(m, true)
	if height > next+1 {
		setHash := vs.Hash()
		key = crypto.Keccak256Hash(key[:], setHash[:])
	}
	now := h.now()
	switch h.recent.check(key, now) {
	case recentFresh:
		h.stats.consIgnored.Add(1)
		return nil, errIgnore("%s: re-sent within %v", m.Kind(), resendGap)
	case recentUnknown:
		if err := consensus.VerifyMessage(h.chainID, vs, m); err != nil {
			if height > next+1 {
				// A signature that is not its claimed signer's is forged whatever the
				// set; a signer or a power the newest known set does not have may be
				// right for the set of that height.
				if ferr := checkSigners(h.chainID, m); ferr != nil {
					h.stats.consRejected.Add(1)
					return nil, ferr
				}
				h.stats.consIgnored.Add(1)
				return nil, errIgnore("%s: height %d, not verifiable yet: %v", m.Kind(), height, err)
			}
			h.stats.consRejected.Add(1)
			return nil, err
		}
	}
	if height > next+1 && m.Kind() != consensus.MsgCommit {
		// Verified against the newest known set but not relayed: a copy is accepted
		// without a second check while that set is still the newest one for its height.
		h.recent.accepted(key, time.Time{})
		h.stats.consIgnored.Add(1)
		if h.ahead != nil {
			h.ahead()
		}
		return nil, errIgnore("%s: height %d, this node decides %d", m.Kind(), height, next)
	}
	h.recent.accepted(key, now)
	h.stats.consAccepted.Add(1)
	return m, nil
}

// checkSigners checks, without a validator set, that every signature of m recovers to
// the signer it names.
func checkSigners(chainID uint64, m *consensus.Message) error {
	check := func(hash types.Hash, sig []byte, who types.Address) error {
		got, err := types.RecoverAddress(hash, sig)
		if err == nil && got != who {
			err = fmt.Errorf("%w: signed by %s, not by %s", types.ErrInvalidSig, got, who)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", consensus.ErrInvalidMessage, m.Kind(), err)
		}
		return nil
	}
	switch {
	case m.Vote != nil:
		return check(m.Vote.SignBytes(chainID), m.Vote.Sig, m.Vote.Validator)
	case m.Proposal != nil:
		return check(m.Proposal.SignBytes(chainID), m.Proposal.Sig, m.Proposal.Proposer)
	case m.Commit != nil:
		for i := range m.Commit.Sigs {
			v := m.Commit.Vote(i)
			if err := check(v.SignBytes(chainID), v.Sig, v.Validator); err != nil {
				return err
			}
		}
	}
	return nil
}

// resendGap is the least time between two relays of one consensus message content.
// A message's Resend stamp is not signed, so anyone can replay a valid vote under new
// stamps, hence new gossip IDs; without a gap each replay would be relayed to every
// peer. Honest validators re-send at most once per consensus.Config.RebroadcastInterval.
const resendGap = 250 * time.Millisecond

// maxRecent bounds each generation of recentMessages.
const maxRecent = 4096

// recentMessages remembers the consensus contents accepted lately (two generations of at
// most maxRecent entries), so that a re-sent message skips the signature check and is
// relayed at most once per resendGap.
type recentMessages struct{ times hashTimes }

type recentVerdict int

const (
	recentUnknown recentVerdict = iota // never seen: verify it
	recentStale                        // verified before, relayed long enough ago
	recentFresh                        // relayed less than resendGap ago
)

func (r *recentMessages) check(key types.Hash, now time.Time) recentVerdict {
	at, ok := r.times.get(key)
	switch {
	case !ok:
		return recentUnknown
	case now.Sub(at) < resendGap:
		return recentFresh
	}
	return recentStale
}

func (r *recentMessages) accepted(key types.Hash, now time.Time) {
	r.times.put(key, now, maxRecent)
}

// contentKey identifies a consensus message without its Resend stamp: the hash of
// everything its signature covers and the signature (the chain id in the sign bytes is
// left at zero: the key only has to be unique). The signature does not cover a
// proposal's block: withBlock adds the block's hash, for messages from peers, who could
// attach another block to a valid signature.
func contentKey(m *consensus.Message, withBlock bool) types.Hash {
	switch m.Kind() {
	case consensus.MsgProposal:
		p := m.Proposal
		var block []byte
		if withBlock {
			block = crypto.Keccak256(p.Block)
		}
		return crypto.Keccak256Hash(p.SignBytes(0).Bytes(), p.Proposer.Bytes(), p.Sig, block)
	case consensus.MsgVote:
		return crypto.Keccak256Hash(m.Vote.Encode())
	case consensus.MsgCommit:
		return crypto.Keccak256Hash(m.Commit.Encode())
	}
	return types.Hash{}
}

// DeliverConsensus queues a verified message for the consensus engine (dropped before
// Network.Start).
func (h *handler) DeliverConsensus(v any, _ peer.ID) {
	m, ok := v.(*consensus.Message)
	if !ok {
		return
	}
	if b := h.cons.Load(); b != nil {
		b.c.Deliver(m)
		return
	}
	h.stats.consDeliverDropped.Add(1)
}

// Status is this node's chain id, genesis hash and head.
func (h *handler) Status() p2p.Status {
	head := h.chain.Head()
	return p2p.Status{ChainID: h.chainID, GenesisHash: h.genesisHash, Height: head.Height, BlockHash: head.Hash()}
}

// SyncBlocks returns up to max committed blocks from height from on (the genesis block,
// which has no commit, is never sent), each with its commit certificate, and stops
// early once maxSyncBytes are gathered.
func (h *handler) SyncBlocks(from uint64, max int) ([]p2p.SyncBlock, error) {
	from = maxU64(from, 1)
	head := h.chain.Head().Height
	var (
		out  []p2p.SyncBlock
		size int
	)
	for height := from; height <= head && len(out) < max && size < maxSyncBytes; height++ {
		b, err := h.chain.BlockByNumber(height)
		if err != nil {
			return out, fmt.Errorf("sync: block %d: %w", height, err)
		}
		c, err := h.chain.CommitAt(height)
		if err != nil {
			return out, fmt.Errorf("sync: commit %d: %w", height, err)
		}
		sb := p2p.SyncBlock{Block: b.Encode(), Commit: c.Encode()}
		size += len(sb.Block) + len(sb.Commit)
		out = append(out, sb)
	}
	h.stats.syncRequestsServed.Add(1)
	return out, nil
}

func maxU64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
