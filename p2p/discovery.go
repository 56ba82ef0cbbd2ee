package p2p

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PeersProtocol is wnode's peer exchange: the asker opens a stream and closes its side;
// the answerer writes a JSON list of at most MaxExchangePeers peers it is connected to
// ({"id", "addrs"}, see docs/spec/wire.md) and closes the stream.
const PeersProtocol = "/wnode/peers/1"

// Bounds of the peer exchange and of the discovery loop.
const (
	// DefaultTargetPeers is Config.TargetPeers' default.
	DefaultTargetPeers = 8
	// DefaultDiscoveryInterval is Config.DiscoveryInterval's default.
	DefaultDiscoveryInterval = 2 * time.Second
	// MaxExchangePeers bounds the peers of one exchange answer.
	MaxExchangePeers = 16
	// MaxExchangeBytes bounds an answer read: 16 peers × 8 addresses × 256 bytes fit.
	MaxExchangeBytes = 64 << 10
	// exchangeTimeout bounds one exchange, dialTimeout one dial.
	exchangeTimeout = 5 * time.Second
	dialTimeout     = 5 * time.Second
	// exchangeFanout is how many connected peers are asked per round.
	exchangeFanout = 3
	// dialBackoff is how long a peer that could not be dialled is left alone.
	dialBackoff = 30 * time.Second
	// saveInterval is how often the known peers are written when only their last-seen
	// times changed; a new peer is written at once.
	saveInterval = 30 * time.Second
)

// servePeers answers a peer exchange with up to MaxExchangePeers connected peers other
// than the asker, picked at random so that askers learn different parts of the network.
func (n *Host) servePeers(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(exchangeTimeout))
	asker := s.Conn().RemotePeer()
	peers := n.h.Network().Peers()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	out := make([]KnownPeer, 0, MaxExchangePeers)
	for _, p := range peers {
		if len(out) == MaxExchangePeers {
			break
		}
		if p == asker {
			continue
		}
		var addrs []string
		for _, a := range n.h.Peerstore().Addrs(p) {
			addrs = append(addrs, a.String())
		}
		if addrs = validAddrs(addrs); len(addrs) > 0 {
			out = append(out, KnownPeer{ID: p.String(), Addrs: addrs})
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		_ = s.Reset()
		return
	}
	if _, err := s.Write(data); err != nil {
		_ = s.Reset()
	}
}

// askPeers asks p for the peers it is connected to.
func (n *Host) askPeers(ctx context.Context, p peer.ID) ([]KnownPeer, error) {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	s, err := n.h.NewStream(ctx, p, PeersProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(exchangeTimeout))
	_ = s.CloseWrite()
	data, err := io.ReadAll(io.LimitReader(s, MaxExchangeBytes+1))
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	return decodeExchange(data)
}

// decodeExchange decodes a peer-exchange answer: at most MaxExchangePeers valid peers
// are kept, an answer over MaxExchangeBytes or that is not a JSON list is an error.
func decodeExchange(data []byte) ([]KnownPeer, error) {
	if len(data) > MaxExchangeBytes {
		return nil, errExchangeTooLarge
	}
	peers, err := decodeKnownPeers(data)
	if err != nil {
		return nil, err
	}
	if len(peers) > MaxExchangePeers {
		peers = peers[:MaxExchangePeers]
	}
	return peers, nil
}

type exchangeError string

func (e exchangeError) Error() string { return string(e) }

const errExchangeTooLarge = exchangeError("p2p: peer exchange answer too large")

// discoveryLoop keeps the node at its target peer count: it dials the remembered peers
// at start, then every DiscoveryInterval records the connected peers in the store and,
// while below target, asks a few connected peers for theirs and dials those it is not
// connected to, at most as many as it lacks per round.
func (n *Host) discoveryLoop(ctx context.Context) {
	defer n.wg.Done()
	failed := map[peer.ID]time.Time{}
	n.dialSome(ctx, n.known.AddrInfos(), failed)
	lastSave := time.Now()
	t := time.NewTicker(n.cfg.DiscoveryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		fresh := false
		for _, p := range n.h.Network().Peers() {
			fresh = n.known.Seen(p, n.h.Peerstore().Addrs(p), now) || fresh
		}
		if fresh || now.Sub(lastSave) >= saveInterval {
			if err := n.known.Save(); err != nil {
				n.log.Warn("p2p: could not save known peers", "err", err)
			}
			lastSave = now
		}
		for id, at := range failed {
			if now.Sub(at) >= dialBackoff {
				delete(failed, id)
			}
		}
		if n.PeerCount() >= n.cfg.TargetPeers {
			continue
		}
		connected := n.h.Network().Peers()
		rand.Shuffle(len(connected), func(i, j int) { connected[i], connected[j] = connected[j], connected[i] })
		var cands []peer.AddrInfo
		for _, p := range connected[:min(exchangeFanout, len(connected))] {
			got, err := n.askPeers(ctx, p)
			if err != nil {
				n.log.Debug("p2p: peer exchange failed", "peer", p, "err", err)
				continue
			}
			for _, kp := range got {
				if ai, ok := kp.addrInfo(); ok {
					cands = append(cands, ai)
				}
			}
		}
		cands = append(cands, n.known.AddrInfos()...)
		n.dialSome(ctx, cands, failed)
	}
}

// dialSome dials, concurrently, candidates this node is not connected to until it would
// reach its target peer count, skipping itself and peers in backoff; it records failures
// in failed.
func (n *Host) dialSome(ctx context.Context, cands []peer.AddrInfo, failed map[peer.ID]time.Time) {
	want := n.cfg.TargetPeers - n.PeerCount()
	picked := map[peer.ID]bool{}
	var dial []peer.AddrInfo
	for _, ai := range cands {
		if len(dial) >= want {
			break
		}
		if ai.ID == n.h.ID() || picked[ai.ID] || n.h.Network().Connectedness(ai.ID) == network.Connected {
			continue
		}
		if _, ok := failed[ai.ID]; ok {
			continue
		}
		picked[ai.ID] = true
		dial = append(dial, ai)
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for _, ai := range dial {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			if err := n.h.Connect(dctx, ai); err != nil {
				n.log.Debug("p2p: discovered peer dial failed", "peer", ai.ID, "err", err)
				mu.Lock()
				failed[ai.ID] = time.Now()
				mu.Unlock()
				return
			}
			n.log.Debug("p2p: connected to discovered peer", "peer", ai.ID)
		}()
	}
	wg.Wait()
}
