package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/wnode/wnode/types"
)

// Limits of the request/response protocols. A sync response carries at most
// MaxSyncBlocks blocks, MaxFrameSize bytes per block and MaxSyncBytes in all; a peer
// exceeding them is cut off, so a hostile peer can make us hold at most MaxSyncBytes.
const (
	MaxSyncBlocks   = 64
	MaxFrameSize    = 8 << 20
	MaxSyncBytes    = 64 << 20 // one response, all frames together
	maxRequestSize  = 1 << 10
	protocolTimeout = 20 * time.Second
)

// Status is a node's view of its chain, exchanged on /wnode/status/1.
type Status struct {
	ChainID     uint64
	GenesisHash types.Hash
	Height      uint64
	BlockHash   types.Hash
}

// SyncBlock is one committed block with the commit certificate that finalized it, both
// encoded by the types package.
type SyncBlock struct {
	Block  []byte
	Commit []byte
}

type syncRequest struct {
	From uint64
	Max  uint64
}

// writeFrame writes a uvarint length and the bytes.
func writeFrame(w io.Writer, b []byte) error {
	var l [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(l[:], uint64(len(b)))
	if _, err := w.Write(l[:n]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// readFrame reads one frame of at most limit bytes.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("frame of %d bytes exceeds limit %d", n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (n *Host) serveStatus(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(protocolTimeout))
	b, err := rlp.EncodeToBytes(n.handler.Status())
	if err != nil {
		_ = s.Reset()
		return
	}
	if err := writeFrame(s, b); err != nil {
		_ = s.Reset()
	}
}

func (n *Host) serveSync(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(protocolTimeout))
	br := bufio.NewReader(s)
	req, err := readFrame(br, maxRequestSize)
	if err != nil {
		_ = s.Reset()
		return
	}
	var r syncRequest
	if err := rlp.DecodeBytes(req, &r); err != nil {
		n.log.Debug("p2p: bad sync request", "peer", s.Conn().RemotePeer(), "err", err)
		_ = s.Reset()
		return
	}
	max := int(min(r.Max, MaxSyncBlocks))
	blocks, err := n.handler.SyncBlocks(r.From, max)
	if err != nil {
		_ = s.Reset()
		return
	}
	bw := bufio.NewWriter(s)
	total := 0
	for _, sb := range blocks[:min(len(blocks), max)] {
		b, err := rlp.EncodeToBytes(&sb)
		if err != nil || len(b) > MaxFrameSize || total+len(b) > MaxSyncBytes {
			break
		}
		total += len(b)
		if err := writeFrame(bw, b); err != nil {
			_ = s.Reset()
			return
		}
	}
	if err := bw.Flush(); err != nil {
		_ = s.Reset()
	}
}

// RequestStatus asks p for its chain status.
func (n *Host) RequestStatus(ctx context.Context, p peer.ID) (Status, error) {
	var st Status
	s, err := n.h.NewStream(ctx, p, StatusProtocol)
	if err != nil {
		return st, fmt.Errorf("p2p: status from %s: %w", p, err)
	}
	defer s.Close()
	_ = s.SetDeadline(deadline(ctx))
	b, err := readFrame(bufio.NewReader(s), maxRequestSize)
	if err != nil {
		_ = s.Reset()
		return st, fmt.Errorf("p2p: status from %s: %w", p, err)
	}
	if err := rlp.DecodeBytes(b, &st); err != nil {
		return st, fmt.Errorf("p2p: status from %s: %w", p, err)
	}
	return st, nil
}

// RequestBlocks asks p for up to max committed blocks from height from on. The blocks are
// returned as received; the caller verifies each block and commit before applying it.
func (n *Host) RequestBlocks(ctx context.Context, p peer.ID, from uint64, max int) ([]SyncBlock, error) {
	if max <= 0 || max > MaxSyncBlocks {
		max = MaxSyncBlocks
	}
	s, err := n.h.NewStream(ctx, p, SyncProtocol)
	if err != nil {
		return nil, fmt.Errorf("p2p: sync from %s: %w", p, err)
	}
	defer s.Close()
	_ = s.SetDeadline(deadline(ctx))
	req, _ := rlp.EncodeToBytes(&syncRequest{From: from, Max: uint64(max)})
	if err := writeFrame(s, req); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("p2p: sync from %s: %w", p, err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("p2p: sync from %s: %w", p, err)
	}
	br := bufio.NewReader(s)
	var out []SyncBlock
	total := 0
	for len(out) < max {
		b, err := readFrame(br, min(MaxFrameSize+64, MaxSyncBytes-total))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = s.Reset()
			return out, fmt.Errorf("p2p: sync from %s: %w", p, err)
		}
		total += len(b)
		var sb SyncBlock
		if err := rlp.DecodeBytes(b, &sb); err != nil {
			_ = s.Reset()
			return out, fmt.Errorf("p2p: sync from %s: bad block frame: %w", p, err)
		}
		out = append(out, sb)
	}
	return out, nil
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(protocolTimeout)
}
