package network

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// badPeerTimeout is how long a peer that served a block failing verification (or
// claimed a height it could not serve) is left out of block sync.
const badPeerTimeout = time.Minute

// syncer is block sync: it polls peers' status, and when this node is behind fetches
// the missing blocks in batches from a peer that is ahead and hands each, with its
// commit certificate, to consensus (Consensus.ApplySyncedBlock), which verifies the
// certificate against the validator set, re-executes the block (the state root must
// match) and commits it. Consensus thus moves on with every synced block and takes
// over by itself once the node has caught up.
type syncer struct {
	n      *Network
	cons   Consensus // set by Start before run
	wakeCh chan struct{}
	target atomic.Uint64 // highest height consensus asked for

	mu         sync.Mutex
	peerHeight uint64
	syncing    bool

	// Owned by run's goroutine.
	bad     map[peer.ID]time.Time
	lagging bool   // a peer was ahead by one at the last poll
	lagAt   uint64 // this node's head then
}

type peerHeight struct {
	id     peer.ID
	height uint64
}

func newSyncer(n *Network) *syncer {
	return &syncer{n: n, wakeCh: make(chan struct{}, 1), bad: map[peer.ID]time.Time{}}
}

// wake asks for a status poll soon; it never blocks and coalesces.
func (s *syncer) wake() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

// need records that consensus wants the blocks up to height and wakes the loop.
func (s *syncer) need(height uint64) {
	for {
		cur := s.target.Load()
		if height <= cur || s.target.CompareAndSwap(cur, height) {
			break
		}
	}
	s.wake()
}

func (s *syncer) info() SyncInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SyncInfo{Height: s.n.chain.Head().Height, PeerHeight: s.peerHeight, Syncing: s.syncing}
}

func (s *syncer) setSyncing(v bool) {
	s.mu.Lock()
	s.syncing = v
	s.mu.Unlock()
}

// run polls every SyncInterval, and sooner when woken (at most four times an interval,
// so that hostile gossip cannot make it poll without pause), until ctx is done.
func (s *syncer) run(ctx context.Context) {
	defer s.n.wg.Done()
	clock, interval := s.n.cfg.Clock, s.n.cfg.SyncInterval
	tick, stop := clock.NewTicker(interval)
	defer stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-s.wakeCh:
			if d := interval/4 - clock.Now().Sub(last); d > 0 {
				wait, stop := clock.NewTimer(d)
				select {
				case <-ctx.Done():
					stop()
					return
				case <-wait:
				}
			}
		}
		last = clock.Now()
		s.round(ctx)
	}
}

// round polls the peers and fetches blocks if this node is behind.
func (s *syncer) round(ctx context.Context) {
	peers := s.poll(ctx)
	local := s.n.chain.Head().Height
	var best uint64
	for _, p := range peers {
		best = max(best, p.height)
	}
	s.mu.Lock()
	s.peerHeight = best
	s.mu.Unlock()
	asked := s.target.Load() > local
	if best <= local && !asked {
		s.lagging = false
		return
	}
	if !asked && best == local+1 {
		// One block behind is what every node sees for a moment after a peer commits;
		// consensus decides that block by itself unless it missed its messages. Sync only
		// if the head has not moved since the last poll.
		if !s.lagging || s.lagAt != local {
			s.lagging, s.lagAt = true, local
			return
		}
	}
	s.lagging = false
	s.fetch(ctx, peers)
}

// poll asks every connected peer for its status, concurrently, and returns those of the
// same chain and genesis, highest first.
func (s *syncer) poll(ctx context.Context) []peerHeight {
	now := s.n.cfg.Clock.Now()
	var (
		mu  sync.Mutex
		out []peerHeight
		wg  sync.WaitGroup
	)
	for _, id := range s.n.host.ConnectedPeers() {
		if until, ok := s.bad[id]; ok {
			if now.Before(until) {
				continue
			}
			delete(s.bad, id)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, statusTimeout)
			defer cancel()
			st, err := s.n.host.RequestStatus(rctx, id)
			if err != nil {
				return // not a wnode peer, or gone
			}
			if st.ChainID != s.n.h.chainID || st.GenesisHash != s.n.h.genesisHash {
				s.n.log.Debug("peer on another chain", "peer", id, "chain", st.ChainID, "genesis", st.GenesisHash)
				return
			}
			mu.Lock()
			out = append(out, peerHeight{id, st.Height})
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b peerHeight) int {
		switch {
		case a.height > b.height:
			return -1
		case a.height < b.height:
			return 1
		}
		return 0
	})
	return out
}

// fetch syncs from the peers ahead of this node, best first, until it has caught up
// with them (and with what consensus asked for) or none can help.
func (s *syncer) fetch(ctx context.Context, peers []peerHeight) {
	s.setSyncing(true)
	defer s.setSyncing(false)
	for _, p := range peers {
		for {
			local := s.n.chain.Head().Height
			if p.height <= local || ctx.Err() != nil {
				break
			}
			want := int(min(uint64(s.n.cfg.SyncBatch), p.height-local))
			rctx, cancel := context.WithTimeout(ctx, syncTimeout)
			blocks, err := s.n.host.RequestBlocks(rctx, p.id, local+1, want)
			cancel()
			if len(blocks) == 0 {
				if err == nil {
					// It claimed a height it does not serve.
					s.markBad(p.id, "served no block", local+1, nil)
				} else if ctx.Err() == nil {
					s.n.log.Debug("block sync request failed", "peer", p.id, "from", local+1, "err", err)
				}
				break
			}
			if !s.apply(ctx, p.id, local+1, blocks) || err != nil {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// apply hands consecutive blocks from height from on to consensus, one by one, and
// reports whether all of them were usable.
func (s *syncer) apply(ctx context.Context, from peer.ID, height uint64, blocks []p2p.SyncBlock) bool {
	for i, sb := range blocks {
		h := height + uint64(i)
		commit, err := types.DecodeCommit(sb.Commit)
		if err == nil && commit.Height != h {
			err = errors.New("commit of another height")
		}
		if err != nil {
			s.markBad(from, "bad commit", h, err)
			return false
		}
		err = s.cons.ApplySyncedBlock(ctx, sb.Block, commit)
		switch {
		case err == nil:
			s.n.stats.blocksSynced.Add(1)
		case errors.Is(err, consensus.ErrAlreadyDecided):
			// Consensus decided it from gossip meanwhile.
		case errors.Is(err, consensus.ErrInvalidMessage), errors.Is(err, consensus.ErrBlockMismatch):
			s.markBad(from, "invalid block", h, err)
			return false
		default:
			// A gap (consensus is not where the chain is), shutdown, or a fatal error of
			// consensus, which the node sees from the runner itself.
			if ctx.Err() == nil {
				s.n.log.Warn("block sync: consensus refused a block", "height", h, "err", err)
			}
			return false
		}
	}
	return true
}

func (s *syncer) markBad(id peer.ID, why string, height uint64, err error) {
	s.n.stats.badSyncBlocks.Add(1)
	s.bad[id] = s.n.cfg.Clock.Now().Add(badPeerTimeout)
	s.n.log.Warn("block sync: dropping peer", "peer", id, "why", why, "height", height, "err", err)
}
