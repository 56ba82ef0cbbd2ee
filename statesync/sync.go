package statesync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// Peers is what Sync needs of the network: p2p.Host implements it.
type Peers interface {
	ConnectedPeers() []peer.ID
	ListSnapshots(ctx context.Context, p peer.ID) ([]p2p.SnapshotInfo, error)
	SnapshotManifest(ctx context.Context, p peer.ID, height uint64) ([]byte, error)
	SnapshotChunk(ctx context.Context, p peer.ID, height, index uint64) ([]byte, error)
	RequestBlocks(ctx context.Context, p peer.ID, from uint64, max int) ([]p2p.SyncBlock, error)
	RequestLightBlock(ctx context.Context, p peer.ID, height uint64) (*p2p.LightBlock, error)
	Penalize(p peer.ID, weight float64, reason string)
}

// HeaderVerifier verifies the header of a height from a trust root, following the
// validator set: light.Client implements it (over a LightSource).
type HeaderVerifier interface {
	VerifyHeaderAt(ctx context.Context, height uint64) (*types.Header, error)
}

// Config configures Sync.
type Config struct {
	// ChainID is the chain's id. Headers, when set, certifies the snapshot's header (a
	// light client following the validator set from its trust root); otherwise
	// Validators, a fixed set, must have signed it.
	ChainID    uint64
	Headers    HeaderVerifier
	Validators *types.ValidatorSet
	// TrustHeight and TrustHash, when TrustHash is set, pin the chain: the header at
	// TrustHeight must have this hash, and only snapshots at TrustHeight or above are
	// taken.
	TrustHeight uint64
	TrustHash   types.Hash
	// Discovery is how long snapshot offers are gathered before the best is chosen,
	// unless MinPeers peers answered sooner (defaults 10 s and 3).
	Discovery time.Duration
	MinPeers  int
	// Fetchers is how many chunks are fetched at once (default 8), from different peers
	// when there are several; Window bounds the chunks fetched ahead of the one being
	// applied (default 16: 16 MiB held at most with chunks of 1 MiB).
	Fetchers int
	Window   int
	// RequestTimeout bounds one request (default 15 s).
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

func (c *Config) defaults() {
	if c.Discovery <= 0 {
		c.Discovery = 10 * time.Second
	}
	if c.MinPeers <= 0 {
		c.MinPeers = 3
	}
	if c.Fetchers <= 0 {
		c.Fetchers = 8
	}
	if c.Window <= 0 {
		c.Window = 16
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Install writes into b, with the restored state, what the chain needs to start at the
// snapshot's height: the certified block and its commit certificate (chain.WriteSyncBase).
type Install func(b *pebble.Batch, blk *types.Block, commit *types.Commit) error

// Result describes a finished state sync.
type Result struct {
	Height uint64
	Root   types.Hash
	Chunks int
	Bytes  int64
	Pairs  uint64
	// Discover is the time to gather offers, Verify to certify the header, Restore to
	// fetch, check and apply every chunk and build and commit the tree (fetching and
	// applying overlap).
	Discover, Verify, Restore time.Duration
	// Penalized are the peers caught sending bad data.
	Penalized []peer.ID
}

// ErrNoSnapshot: no peer offers a usable snapshot (or every offer failed).
var ErrNoSnapshot = errors.New("statesync: no usable snapshot offered")

type offer struct {
	info  p2p.SnapshotInfo
	peers []peer.ID
}

type syncer struct {
	cfg   Config
	peers Peers
	st    *state.Store
	ver   *light.Verifier
	log   *slog.Logger

	installFn Install

	mu     sync.Mutex
	banned map[peer.ID]bool
	fails  map[peer.ID]int
	res    Result
}

// Sync rebuilds the state in st, which must hold no version, from a snapshot offered by
// peers: it gathers offers, takes the highest snapshot at or above the trust height
// whose header at its height is certified by the trusted validators and has the
// snapshot's root as its state root, fetches its chunks in parallel from the peers
// offering it, checking each against the manifest, applies them, and commits the
// restored state with what install adds once the rebuilt root equals the certified one.
// A peer caught lying is penalized and avoided and the sync goes on with the others;
// a snapshot no honest peer can complete is given up for the next one. On error the
// store holds no version (a crash meanwhile too: state.New wipes a restore that did not
// finish).
func Sync(ctx context.Context, cfg Config, peers Peers, st *state.Store, install Install) (*Result, error) {
	cfg.defaults()
	if (cfg.Validators == nil && cfg.Headers == nil) || cfg.ChainID == 0 {
		return nil, errors.New("statesync: a trust root (chain id, and a light client or a validator set) is required")
	}
	if st.Initialized() {
		return nil, state.ErrRestoreState
	}
	var vals []light.Validator
	var ver *light.Verifier
	if cfg.Headers == nil {
		for _, v := range cfg.Validators.Validators() {
			vals = append(vals, light.Validator{Address: v.Address, PubKey: v.PubKey, Power: hexutil.Uint64(v.Power)})
		}
		var err error
		if ver, err = light.New(light.Trust{ValidatorsHash: cfg.Validators.Hash(), ChainID: cfg.ChainID}, light.Options{}); err != nil {
			return nil, err
		}
	}
	if install == nil {
		install = func(*pebble.Batch, *types.Block, *types.Commit) error { return nil }
	}
	s := &syncer{cfg: cfg, peers: peers, st: st, ver: ver, log: cfg.Logger, installFn: install,
		banned: map[peer.ID]bool{}, fails: map[peer.ID]int{}}
	start := time.Now()
	offers, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	s.res.Discover = time.Since(start)
	if cfg.TrustHash != (types.Hash{}) && cfg.Headers == nil {
		blk, _, err := s.certified(ctx, cfg.TrustHeight, vals, nil)
		if err != nil {
			return nil, fmt.Errorf("statesync: trusted header %d: %w", cfg.TrustHeight, err)
		}
		if h := blk.Hash(); h != cfg.TrustHash {
			return nil, fmt.Errorf("statesync: the certified header at the trust height %d hashes to %s, not the trusted %s", cfg.TrustHeight, h, cfg.TrustHash)
		}
	}
	for _, o := range offers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := s.try(ctx, o, vals)
		if err == nil {
			res := s.res
			return &res, nil
		}
		s.log.Warn("statesync: snapshot failed, trying the next", "height", o.info.Height, "err", err)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, ErrNoSnapshot
}

func (s *syncer) penalize(p peer.ID, weight float64, reason string) {
	s.peers.Penalize(p, weight, reason)
	if weight < p2p.PenaltyBadData {
		s.mu.Lock()
		s.fails[p]++
		ban := s.fails[p] >= 3
		s.mu.Unlock()
		if !ban {
			return
		}
	}
	s.mu.Lock()
	if !s.banned[p] {
		s.banned[p] = true
		if weight >= p2p.PenaltyBadData {
			s.res.Penalized = append(s.res.Penalized, p)
		}
	}
	s.mu.Unlock()
}

// succeeded forgets p's failures to answer: only consecutive ones get it dropped.
func (s *syncer) succeeded(p peer.ID) {
	s.mu.Lock()
	delete(s.fails, p)
	s.mu.Unlock()
}

func (s *syncer) isBanned(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.banned[p]
}

// discover gathers the offers of the connected peers until there is one and MinPeers
// answered or Discovery passed, and returns them best first: the highest
// height at or above the trust height, then the most peers.
func (s *syncer) discover(ctx context.Context) ([]offer, error) {
	deadline := time.Now().Add(s.cfg.Discovery)
	asked, asking := map[peer.ID]bool{}, time.Now()
	byHash := map[types.Hash]*offer{}
	answered := 0
	for {
		for _, p := range s.peers.ConnectedPeers() {
			if asked[p] {
				continue
			}
			asked[p] = true
			rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
			list, err := s.peers.ListSnapshots(rctx, p)
			cancel()
			if err != nil {
				s.log.Debug("statesync: no snapshot list", "peer", p, "err", err)
				continue
			}
			answered++
			for _, in := range list {
				if in.Format != state.SnapshotFormat || in.Height < max(s.cfg.TrustHeight, 1) || in.Chunks > state.MaxSnapshotChunks {
					continue
				}
				o := byHash[in.ManifestHash]
				if o == nil {
					o = &offer{info: in}
					byHash[in.ManifestHash] = o
				}
				if o.info == in && !slices.Contains(o.peers, p) {
					o.peers = append(o.peers, p)
				}
			}
		}
		if len(byHash) > 0 && (answered >= s.cfg.MinPeers || time.Now().After(deadline)) {
			break
		}
		if len(byHash) == 0 && time.Since(asking) > time.Second {
			// Nothing usable yet: ask everyone again (a snapshot may be being taken).
			asked, asking = map[peer.ID]bool{}, time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline.Add(s.cfg.Discovery)) {
			return nil, fmt.Errorf("%w: %d answers in %s", ErrNoSnapshot, answered, 2*s.cfg.Discovery)
		}
	}
	var out []offer
	for _, o := range byHash {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b offer) int {
		return cmp.Or(cmp.Compare(b.info.Height, a.info.Height), cmp.Compare(len(b.peers), len(a.peers)))
	})
	s.log.Info("statesync: snapshots offered", "offers", len(out), "peers", answered, "best", out[0].info.Height)
	return out, nil
}

// certified fetches the block at height and its commit certificate from the peers
// (those of prefer first) and returns them once the certificate verifies against the
// trusted set. A peer whose answer fails is penalized.
func (s *syncer) certified(ctx context.Context, height uint64, vals []light.Validator, prefer []peer.ID) (*types.Block, *types.Commit, error) {
	if s.cfg.Headers != nil {
		return s.certifiedByClient(ctx, height, prefer)
	}
	return s.blockFromPeers(ctx, height, prefer, "a certified block", func(sb p2p.SyncBlock) (*types.Block, *types.Commit, error) {
		return s.verifyBlock(sb, height, vals)
	})
}

// certifiedByClient has the light client verify the header of height, then takes the
// commit of a light block for that header and the block whose hash it is from peers.
func (s *syncer) certifiedByClient(ctx context.Context, height uint64, prefer []peer.ID) (*types.Block, *types.Commit, error) {
	hdr, err := s.cfg.Headers.VerifyHeaderAt(ctx, height)
	if err != nil {
		return nil, nil, fmt.Errorf("light client: header %d: %w", height, err)
	}
	want := hdr.Hash()
	src := &LightSource{Peers: s.peers, ChainID: s.cfg.ChainID, Wait: s.cfg.RequestTimeout}
	c, err := src.Certificate(ctx, height)
	if err != nil {
		return nil, nil, err
	}
	lb, err := c.Decode()
	if err != nil || lb.Header.Hash() != want {
		return nil, nil, fmt.Errorf("the light block of %d is not the verified header", height)
	}
	return s.blockFromPeers(ctx, height, prefer, "block", func(sb p2p.SyncBlock) (*types.Block, *types.Commit, error) {
		blk, err := types.DecodeBlock(sb.Block)
		if err == nil && blk.Hash() != want {
			err = fmt.Errorf("block hashes to %s, the verified header to %s", blk.Hash(), want)
		}
		if err == nil {
			err = blk.ValidateBasic(s.cfg.ChainID)
		}
		if err != nil {
			return nil, nil, err
		}
		return blk, lb.Commit, nil
	})
}

// blockFromPeers asks the peers (those of prefer first, each once, banned ones skipped)
// for the block at height until check accepts an answer; a peer whose answer check
// refuses is penalized. what names the block in the error when no peer served one.
func (s *syncer) blockFromPeers(ctx context.Context, height uint64, prefer []peer.ID, what string,
	check func(p2p.SyncBlock) (*types.Block, *types.Commit, error)) (*types.Block, *types.Commit, error) {
	ps := append(slices.Clone(prefer), s.peers.ConnectedPeers()...)
	tried := map[peer.ID]bool{}
	for _, p := range ps {
		if tried[p] || s.isBanned(p) {
			continue
		}
		tried[p] = true
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		sbs, err := s.peers.RequestBlocks(rctx, p, height, 1)
		cancel()
		if err != nil || len(sbs) == 0 {
			continue
		}
		blk, cm, err := check(sbs[0])
		if err != nil {
			s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("block %d: %v", height, err))
			continue
		}
		return blk, cm, nil
	}
	return nil, nil, fmt.Errorf("no peer served %s %d", what, height)
}

func (s *syncer) verifyBlock(sb p2p.SyncBlock, height uint64, vals []light.Validator) (*types.Block, *types.Commit, error) {
	blk, err := types.DecodeBlock(sb.Block)
	if err != nil {
		return nil, nil, err
	}
	if blk.Height() != height {
		return nil, nil, fmt.Errorf("block at height %d, asked %d", blk.Height(), height)
	}
	if err := blk.ValidateBasic(s.cfg.ChainID); err != nil {
		return nil, nil, err
	}
	if _, err := s.ver.VerifyHeader(&light.Certificate{Header: blk.Header.Encode(), Commit: sb.Commit, Validators: vals}); err != nil {
		return nil, nil, err
	}
	cm, err := types.DecodeCommit(sb.Commit)
	if err != nil {
		return nil, nil, err
	}
	return blk, cm, nil
}

// try restores the snapshot of o.
func (s *syncer) try(ctx context.Context, o offer, vals []light.Validator) error {
	start := time.Now()
	h := o.info.Height
	var m *state.Manifest
	for _, p := range o.peers {
		if s.isBanned(p) {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		b, err := s.peers.SnapshotManifest(rctx, p, h)
		cancel()
		if err != nil || len(b) == 0 {
			s.penalize(p, p2p.PenaltyUnavailable, fmt.Sprintf("manifest %d: %v", h, err))
			continue
		}
		if crypto.Keccak256Hash(b) != o.info.ManifestHash {
			s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("manifest %d is not the one listed", h))
			continue
		}
		dm, err := state.DecodeManifest(b)
		if err != nil || dm.Height != h || uint64(len(dm.ChunkHashes)) != o.info.Chunks {
			s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("manifest %d: %v", h, err))
			continue
		}
		m = dm
		break
	}
	if m == nil {
		return errors.New("no peer served the manifest")
	}
	blk, cm, err := s.certified(ctx, h, vals, o.peers)
	if err != nil {
		return err
	}
	s.res.Verify = time.Since(start)
	if blk.Header.StateRoot != m.Root {
		for _, p := range o.peers {
			s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("snapshot %d has root %s, the certified header %s", h, m.Root, blk.Header.StateRoot))
		}
		return fmt.Errorf("snapshot %d: root %s is not the certified %s", h, m.Root, blk.Header.StateRoot)
	}
	s.log.Info("statesync: restoring", "height", h, "root", m.Root, "chunks", len(m.ChunkHashes), "pairs", m.Pairs, "peers", len(o.peers))
	start = time.Now()
	r, err := s.st.NewRestore(m)
	if err != nil {
		return err
	}
	bytes, err := s.fetchAndApply(ctx, o, m, r)
	if err != nil {
		return errors.Join(err, r.Abort())
	}
	err = r.Finish(func(b *pebble.Batch) error { return s.installFn(b, blk, cm) })
	if errors.Is(err, state.ErrSnapshotRoot) {
		// Every chunk matched a manifest whose root is the certified one, yet the pairs do
		// not hash to it: whoever wrote the manifest lied.
		for _, p := range o.peers {
			s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("snapshot %d: %v", h, err))
		}
	}
	if err != nil {
		return err
	}
	s.res.Restore = time.Since(start)
	s.res.Height, s.res.Root, s.res.Chunks, s.res.Bytes, s.res.Pairs = h, m.Root, len(m.ChunkHashes), bytes, m.Pairs
	return nil
}

// fetchAndApply fetches the chunks of m with Fetchers workers, at most Window ahead of
// the one applied next, each from a peer offering the snapshot (rotating), checks each
// against its hash in m and applies them in order.
func (s *syncer) fetchAndApply(ctx context.Context, o offer, m *state.Manifest, r *state.Restore) (int64, error) {
	n := len(m.ChunkHashes)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		cond   = sync.NewCond(&mu)
		queue  []int // indices to fetch, ascending
		have   = map[int][]byte{}
		next   int // the index applied next
		failed error
		rr     int
		bytes  int64
	)
	for i := range n {
		queue = append(queue, i)
	}
	const perPeer = 2
	inflight := map[peer.ID]int{}
	// pick returns a peer to ask, rotating over those offering the snapshot that are not
	// banned and have fewer than perPeer requests in flight (servers refuse more than 4
	// at once); busy when all are busy, none when all are banned.
	pick := func() (p peer.ID, busy, none bool) {
		none = true
		for range o.peers {
			q := o.peers[rr%len(o.peers)]
			rr++
			if s.isBanned(q) {
				continue
			}
			none = false
			if inflight[q] < perPeer {
				inflight[q]++
				return q, false, false
			}
		}
		return "", !none, none
	}
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { mu.Lock(); cond.Broadcast(); mu.Unlock() })
	defer stop()
	for range min(s.cfg.Fetchers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for failed == nil && ctx.Err() == nil && (len(queue) == 0 || queue[0] >= next+s.cfg.Window) && next < n {
					cond.Wait()
				}
				if failed != nil || ctx.Err() != nil || next >= n {
					mu.Unlock()
					return
				}
				p, busy, none := pick()
				if none {
					failed = errors.New("every peer offering the snapshot failed or lied")
					cond.Broadcast()
					mu.Unlock()
					return
				}
				if busy {
					cond.Wait()
					mu.Unlock()
					continue
				}
				i := queue[0]
				queue = queue[1:]
				mu.Unlock()
				rctx, rcancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
				c, err := s.peers.SnapshotChunk(rctx, p, m.Height, uint64(i))
				rcancel()
				switch {
				case ctx.Err() != nil:
					return
				case err != nil || len(c) == 0:
					s.penalize(p, p2p.PenaltyUnavailable, fmt.Sprintf("chunk %d of %d: %v", i, m.Height, err))
					c = nil
				case crypto.Keccak256Hash(c) != m.ChunkHashes[i]:
					s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("chunk %d of snapshot %d does not match the manifest", i, m.Height))
					c = nil
				}
				if c != nil {
					s.succeeded(p)
				}
				mu.Lock()
				inflight[p]--
				if c == nil {
					// Back in the queue, in order, for another peer.
					at, _ := slices.BinarySearch(queue, i)
					queue = slices.Insert(queue, at, i)
				} else {
					have[i] = c
				}
				cond.Broadcast()
				mu.Unlock()
			}
		}()
	}
	var err error
	mu.Lock()
	for next < n {
		for have[next] == nil && failed == nil && ctx.Err() == nil {
			cond.Wait()
		}
		if failed != nil || ctx.Err() != nil {
			err = cmp.Or(failed, ctx.Err())
			break
		}
		c := have[next]
		delete(have, next)
		mu.Unlock()
		aerr := r.Apply(c)
		mu.Lock()
		if aerr != nil {
			// The chunk matched the manifest's hash: the manifest itself is bad.
			err = aerr
			for _, p := range o.peers {
				s.penalize(p, p2p.PenaltyBadData, fmt.Sprintf("snapshot %d: %v", m.Height, aerr))
			}
			break
		}
		bytes += int64(len(c))
		next++
		cond.Broadcast()
	}
	if err != nil && failed == nil {
		failed = err
	}
	cond.Broadcast()
	mu.Unlock()
	cancel()
	wg.Wait()
	return bytes, err
}
