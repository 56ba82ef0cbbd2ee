package p2p

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/wnode/wnode/internal/atomicfile"
)

// Bounds of the known-peers file and of one peer's entry.
const (
	// DefaultMaxKnownPeers is how many peers a PeerStore remembers by default.
	DefaultMaxKnownPeers = 128
	// maxPeerAddrs bounds the addresses kept (and exchanged) per peer.
	maxPeerAddrs = 8
	// maxPeerAddrLen bounds one multiaddr's text.
	maxPeerAddrLen = 256
	// maxPeersFile bounds the known-peers file read at start.
	maxPeersFile = 1 << 20
)

// KnownPeer is a peer this node was connected to: its ID, the addresses it listens on
// and when it was last seen connected.
type KnownPeer struct {
	ID       string    `json:"id"`
	Addrs    []string  `json:"addrs"`
	LastSeen time.Time `json:"lastSeen"`
}

// PeerStore remembers the peers a node was connected to, the most recently seen first,
// at most max of them, in a JSON file written atomically (temp file, fsync, rename), so
// that a restarted node dials them besides its bootnodes. Only peers this node was
// connected to are stored, never addresses merely heard of from other peers, so a
// hostile peer cannot fill the file. Its methods are safe for concurrent use.
type PeerStore struct {
	path string
	max  int

	mu    sync.Mutex
	peers map[peer.ID]KnownPeer
	dirty bool
}

// OpenPeerStore reads the known-peers file at path (a missing file is an empty store)
// keeping at most max peers (DefaultMaxKnownPeers when max <= 0). An unreadable or
// malformed file is an error and the store returned is empty: the caller may go on
// without it; the next Save replaces the file. An empty path is a store kept in memory.
func OpenPeerStore(path string, max int) (*PeerStore, error) {
	if max <= 0 {
		max = DefaultMaxKnownPeers
	}
	s := &PeerStore{path: path, max: max, peers: map[peer.ID]KnownPeer{}}
	if path == "" {
		return s, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("p2p: known peers: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPeersFile+1))
	if err != nil {
		return s, fmt.Errorf("p2p: known peers %s: %w", path, err)
	}
	if len(data) > maxPeersFile {
		return s, fmt.Errorf("p2p: known peers %s: larger than %d bytes", path, maxPeersFile)
	}
	peers, err := decodeKnownPeers(data)
	if err != nil {
		return s, fmt.Errorf("p2p: known peers %s: %w", path, err)
	}
	for _, p := range peers {
		s.put(p)
	}
	s.trim()
	s.dirty = false
	return s, nil
}

// decodeKnownPeers decodes a list of peers (the known-peers file, a peer-exchange
// answer), dropping entries with an invalid peer ID and addresses that do not parse, and
// keeping at most maxPeerAddrs addresses per peer.
func decodeKnownPeers(data []byte) ([]KnownPeer, error) {
	var in []KnownPeer
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, err
	}
	out := in[:0]
	for _, p := range in {
		id, err := peer.Decode(p.ID)
		if err != nil {
			continue
		}
		addrs := validAddrs(p.Addrs)
		if len(addrs) == 0 {
			continue
		}
		out = append(out, KnownPeer{ID: id.String(), Addrs: addrs, LastSeen: p.LastSeen})
	}
	return out, nil
}

func validAddrs(in []string) []string {
	var out []string
	for _, a := range in {
		if len(out) == maxPeerAddrs {
			break
		}
		if len(a) > maxPeerAddrLen {
			continue
		}
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			continue
		}
		// Only transport addresses: a /p2p/ part would name some other peer.
		if _, err := m.ValueForProtocol(ma.P_P2P); err == nil {
			continue
		}
		out = append(out, m.String())
	}
	return out
}

func (s *PeerStore) put(p KnownPeer) {
	id, err := peer.Decode(p.ID)
	if err != nil {
		return
	}
	if old, ok := s.peers[id]; ok && old.LastSeen.After(p.LastSeen) {
		return
	}
	s.peers[id] = p
	s.dirty = true
}

// trim drops the least recently seen peers beyond max.
func (s *PeerStore) trim() {
	if len(s.peers) <= s.max {
		return
	}
	for _, p := range s.sorted()[s.max:] {
		id, _ := peer.Decode(p.ID)
		delete(s.peers, id)
	}
	s.dirty = true
}

// sorted returns the peers, the most recently seen first (ties by ID, so the file's
// content depends only on the set).
func (s *PeerStore) sorted() []KnownPeer {
	out := make([]KnownPeer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b KnownPeer) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Seen records that the node is connected to id, listening on addrs, at time now, and
// says whether the peer is new to the store or its addresses changed. Invalid addresses
// are dropped; a peer without a valid one is not recorded.
func (s *PeerStore) Seen(id peer.ID, addrs []ma.Multiaddr, now time.Time) bool {
	strs := make([]string, 0, len(addrs))
	for _, a := range addrs {
		strs = append(strs, a.String())
	}
	strs = validAddrs(strs)
	if len(strs) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.peers[id]
	s.put(KnownPeer{ID: id.String(), Addrs: strs, LastSeen: now.UTC()})
	s.trim()
	_, kept := s.peers[id]
	return kept && (!had || !slices.Equal(old.Addrs, strs))
}

// Peers returns the known peers, the most recently seen first.
func (s *PeerStore) Peers() []KnownPeer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sorted()
}

// AddrInfos returns the known peers as dialable AddrInfos, the most recently seen first.
func (s *PeerStore) AddrInfos() []peer.AddrInfo {
	var out []peer.AddrInfo
	for _, p := range s.Peers() {
		if ai, ok := p.addrInfo(); ok {
			out = append(out, ai)
		}
	}
	return out
}

func (p KnownPeer) addrInfo() (peer.AddrInfo, bool) {
	id, err := peer.Decode(p.ID)
	if err != nil {
		return peer.AddrInfo{}, false
	}
	ai := peer.AddrInfo{ID: id}
	for _, a := range p.Addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			ai.Addrs = append(ai.Addrs, m)
		}
	}
	return ai, len(ai.Addrs) > 0
}

// Save writes the store to its file if it changed since it was read or last saved:
// to a temporary file in the same directory, synced, then renamed over the old one, so
// a crash leaves the old file or the new one, never a mix.
func (s *PeerStore) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" || !s.dirty {
		return nil
	}
	data, err := json.MarshalIndent(s.sorted(), "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.path, data, 0o600); err != nil {
		return fmt.Errorf("p2p: save known peers: %w", err)
	}
	s.dirty = false
	return nil
}
