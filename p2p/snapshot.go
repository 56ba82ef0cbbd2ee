package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/wnode/wnode/types"
)

// SnapshotProtocol serves state snapshots to nodes joining by state sync: the list of
// snapshots a node keeps, a snapshot's manifest, one chunk, and the light block (header,
// commit, validator set) of a height, which the joining node's light client follows to
// the snapshot's height across validator set changes (docs/spec/wire.md).
const SnapshotProtocol = "/wnode/snapshot/1"

// Snapshot protocol bounds (docs/spec/wire.md's table holds them).
const (
	// MaxSnapshotFrame bounds one answer: a manifest or a chunk (the state package's
	// limits on both are at most this; a test holds them to it).
	MaxSnapshotFrame = 4 << 20
	// MaxSnapshotsListed bounds the snapshots one list answer names.
	MaxSnapshotsListed = 16
	// snapshotListBytes bounds a list answer: 16 entries of about 80 bytes.
	snapshotListBytes = 4 << 10
	// snapshotTimeout bounds one request and its answer.
	snapshotTimeout = 20 * time.Second
)

// Snapshot request ops.
const (
	snapList     = 1
	snapManifest = 2
	snapChunk    = 3
	snapLight    = 4
)

// LightBlock is a height's header and commit certificate, encoded by the types package,
// with the validator set that signed it: what a light client verifies a header with.
type LightBlock struct {
	Header     []byte
	Commit     []byte
	Validators []LightValidator
}

// LightValidator is a member of a LightBlock's validator set.
type LightValidator struct {
	Address types.Address
	PubKey  []byte
	Power   uint64
}

// SnapshotInfo names one snapshot a peer offers.
type SnapshotInfo struct {
	Height       uint64
	Format       uint64
	Chunks       uint64
	ManifestHash types.Hash // keccak256 of the encoded manifest
}

// SnapshotSource is what a node serves on SnapshotProtocol. Its methods must be safe for
// concurrent use; they return nil (no error) for a snapshot or chunk they do not have.
type SnapshotSource interface {
	// Snapshots lists the snapshots kept, newest first.
	Snapshots() []SnapshotInfo
	// Manifest returns the encoded manifest of the snapshot at height.
	Manifest(height uint64) ([]byte, error)
	// Chunk returns chunk index of the snapshot at height.
	Chunk(height uint64, index uint64) ([]byte, error)
	// LightBlock returns the light block of a committed height.
	LightBlock(height uint64) (*LightBlock, error)
}

// SnapshotLimits bound what one peer can make a node spend serving snapshots; the zero
// value of a field takes its default.
type SnapshotLimits struct {
	// Streams is how many snapshot requests of one peer are served at once (default 4);
	// more are refused (the stream is reset).
	Streams int
	// TotalStreams bounds the snapshot requests served at once from all peers together
	// (default 16; with chunks of up to MaxSnapshotFrame, 64 MiB held at most).
	TotalStreams int
	// RequestsPerSecond and RequestBurst bound a peer's request rate (default 20 and 40);
	// requests beyond it are refused.
	RequestsPerSecond float64
	RequestBurst      int
	// BytesPerSecond bounds the bytes a peer is sent (default 32 MiB/s, with a burst of
	// MaxSnapshotFrame): an answer waits for its allowance, within the request timeout.
	BytesPerSecond int
}

func (l *SnapshotLimits) defaults() {
	if l.Streams <= 0 {
		l.Streams = 4
	}
	if l.TotalStreams <= 0 {
		l.TotalStreams = 16
	}
	if l.RequestsPerSecond <= 0 {
		l.RequestsPerSecond = 20
	}
	if l.RequestBurst <= 0 {
		l.RequestBurst = 40
	}
	if l.BytesPerSecond <= 0 {
		l.BytesPerSecond = 32 << 20
	}
}

type snapshotRequest struct {
	Op     uint8
	Height uint64
	Index  uint64
}

// peerBudget is one peer's allowance on SnapshotProtocol.
type peerBudget struct {
	streams  int
	requests *rate.Limiter
	bytes    *rate.Limiter
	used     time.Time
}

// snapshotServer holds the source and the per-peer budgets.
type snapshotServer struct {
	mu      sync.Mutex
	src     SnapshotSource
	limits  SnapshotLimits
	peers   map[peer.ID]*peerBudget
	streams int
	refused uint64
}

// SetSnapshotSource makes the node serve src on SnapshotProtocol (nil: serve nothing).
func (n *Host) SetSnapshotSource(src SnapshotSource) {
	n.snap.mu.Lock()
	n.snap.src = src
	n.snap.mu.Unlock()
}

// SnapshotRequestsRefused counts snapshot requests refused by the per-peer limits.
func (n *Host) SnapshotRequestsRefused() uint64 {
	n.snap.mu.Lock()
	defer n.snap.mu.Unlock()
	return n.snap.refused
}

// admit takes a stream slot and a request token of p, or refuses.
func (s *snapshotServer) admit(p peer.ID, now time.Time) (*peerBudget, SnapshotSource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.peers[p]
	if b == nil {
		if len(s.peers) >= 1024 {
			for id, o := range s.peers { // forget idle peers; their buckets were full again
				if o.streams == 0 && now.Sub(o.used) > time.Minute {
					delete(s.peers, id)
				}
			}
		}
		b = &peerBudget{
			requests: rate.NewLimiter(rate.Limit(s.limits.RequestsPerSecond), s.limits.RequestBurst),
			bytes:    rate.NewLimiter(rate.Limit(s.limits.BytesPerSecond), max(s.limits.BytesPerSecond, MaxSnapshotFrame)),
		}
		s.peers[p] = b
	}
	b.used = now
	if s.src == nil || b.streams >= s.limits.Streams || s.streams >= s.limits.TotalStreams || !b.requests.AllowN(now, 1) {
		s.refused++
		return nil, nil, false
	}
	b.streams++
	s.streams++
	return b, s.src, true
}

func (s *snapshotServer) release(b *peerBudget) {
	s.mu.Lock()
	b.streams--
	s.streams--
	s.mu.Unlock()
}

func (n *Host) serveSnapshot(st network.Stream) {
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
	defer cancel()
	_ = st.SetDeadline(time.Now().Add(snapshotTimeout))
	from := st.Conn().RemotePeer()
	b, src, ok := n.snap.admit(from, time.Now())
	if !ok {
		_ = st.Reset()
		return
	}
	defer n.snap.release(b)
	req, err := readFrame(bufio.NewReader(st), maxRequestSize)
	if err != nil {
		_ = st.Reset()
		return
	}
	var r snapshotRequest
	if err := rlp.DecodeBytes(req, &r); err != nil {
		n.log.Debug("p2p: bad snapshot request", "peer", from, "err", err)
		_ = st.Reset()
		return
	}
	var out []byte
	switch r.Op {
	case snapList:
		list := src.Snapshots()
		out, err = rlp.EncodeToBytes(list[:min(len(list), MaxSnapshotsListed)])
	case snapManifest:
		out, err = src.Manifest(r.Height)
	case snapChunk:
		out, err = src.Chunk(r.Height, r.Index)
	case snapLight:
		var lb *LightBlock
		if lb, err = src.LightBlock(r.Height); err == nil && lb != nil {
			out, err = rlp.EncodeToBytes(lb)
		}
	default:
		err = fmt.Errorf("unknown op %d", r.Op)
	}
	if err != nil || len(out) > MaxSnapshotFrame {
		n.log.Debug("p2p: snapshot request not served", "peer", from, "op", r.Op, "height", r.Height, "index", r.Index, "err", err)
		_ = st.Reset()
		return
	}
	if err := b.bytes.WaitN(ctx, max(len(out), 1)); err != nil {
		_ = st.Reset()
		return
	}
	if err := writeFrame(st, out); err != nil {
		_ = st.Reset()
	}
}

// snapshotRequest sends one request to p and reads its one-frame answer of at most limit
// bytes. An empty answer means p does not have what was asked.
func (n *Host) snapshotRequest(ctx context.Context, p peer.ID, r snapshotRequest, limit int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	st, err := n.h.NewStream(ctx, p, SnapshotProtocol)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	_ = st.SetDeadline(deadline(ctx))
	// The deadline bounds the stream; a cancelled context ends it at once too.
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	req, _ := rlp.EncodeToBytes(&r)
	if err := writeFrame(st, req); err != nil {
		_ = st.Reset()
		return nil, err
	}
	if err := st.CloseWrite(); err != nil {
		_ = st.Reset()
		return nil, err
	}
	b, err := readFrame(bufio.NewReader(st), limit)
	if err != nil {
		_ = st.Reset()
		if errors.Is(err, io.EOF) {
			err = errors.New("stream closed without an answer (refused or not available)")
		}
		return nil, err
	}
	return b, nil
}

// ListSnapshots asks p for the snapshots it offers (at most MaxSnapshotsListed).
func (n *Host) ListSnapshots(ctx context.Context, p peer.ID) ([]SnapshotInfo, error) {
	b, err := n.snapshotRequest(ctx, p, snapshotRequest{Op: snapList}, snapshotListBytes)
	if err != nil {
		return nil, fmt.Errorf("p2p: snapshots of %s: %w", p, err)
	}
	out, err := decodeSnapshotList(b)
	if err != nil {
		return nil, fmt.Errorf("p2p: snapshots of %s: %w", p, err)
	}
	return out, nil
}

// decodeSnapshotList decodes a list answer: at most snapshotListBytes, at most
// MaxSnapshotsListed entries. It never panics on any input.
func decodeSnapshotList(b []byte) ([]SnapshotInfo, error) {
	if len(b) > snapshotListBytes {
		return nil, fmt.Errorf("list of %d bytes exceeds %d", len(b), snapshotListBytes)
	}
	var out []SnapshotInfo
	if err := rlp.DecodeBytes(b, &out); err != nil {
		return nil, err
	}
	if len(out) > MaxSnapshotsListed {
		return nil, fmt.Errorf("%d listed, limit %d", len(out), MaxSnapshotsListed)
	}
	return out, nil
}

// decodeLightBlock decodes a light block answer (at most MaxSnapshotFrame bytes, at most
// types.MaxValidators validators); the types package decodes its header and commit
// strictly later. It never panics on any input.
func decodeLightBlock(b []byte) (*LightBlock, error) {
	if len(b) > MaxSnapshotFrame {
		return nil, fmt.Errorf("light block of %d bytes exceeds %d", len(b), MaxSnapshotFrame)
	}
	var lb LightBlock
	if err := rlp.DecodeBytes(b, &lb); err != nil {
		return nil, err
	}
	if len(lb.Validators) > types.MaxValidators {
		return nil, fmt.Errorf("%d validators, limit %d", len(lb.Validators), types.MaxValidators)
	}
	return &lb, nil
}

// SnapshotManifest asks p for the encoded manifest of its snapshot at height, unchecked
// (at most MaxSnapshotFrame bytes).
func (n *Host) SnapshotManifest(ctx context.Context, p peer.ID, height uint64) ([]byte, error) {
	b, err := n.snapshotRequest(ctx, p, snapshotRequest{Op: snapManifest, Height: height}, MaxSnapshotFrame)
	if err != nil {
		return nil, fmt.Errorf("p2p: manifest %d from %s: %w", height, p, err)
	}
	return b, nil
}

// SnapshotChunk asks p for chunk index of its snapshot at height, unchecked (at most
// MaxSnapshotFrame bytes).
func (n *Host) SnapshotChunk(ctx context.Context, p peer.ID, height, index uint64) ([]byte, error) {
	b, err := n.snapshotRequest(ctx, p, snapshotRequest{Op: snapChunk, Height: height, Index: index}, MaxSnapshotFrame)
	if err != nil {
		return nil, fmt.Errorf("p2p: chunk %d of snapshot %d from %s: %w", index, height, p, err)
	}
	return b, nil
}

// RequestLightBlock asks p for the light block of height, unchecked (at most
// MaxSnapshotFrame bytes); nil when p does not have it.
func (n *Host) RequestLightBlock(ctx context.Context, p peer.ID, height uint64) (*LightBlock, error) {
	b, err := n.snapshotRequest(ctx, p, snapshotRequest{Op: snapLight, Height: height}, MaxSnapshotFrame)
	if err != nil {
		return nil, fmt.Errorf("p2p: light block %d from %s: %w", height, p, err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	lb, err := decodeLightBlock(b)
	if err != nil {
		return nil, fmt.Errorf("p2p: light block %d from %s: %w", height, p, err)
	}
	return lb, nil
}
