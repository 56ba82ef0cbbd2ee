package statesync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// Blocks is what Server reads light blocks from: chain.Chain implements it.
type Blocks interface {
	HeaderByNumber(height uint64) (*types.Header, error)
	CommitAt(height uint64) (*types.Commit, error)
	ValidatorsAt(height uint64) (*types.ValidatorSet, error)
}

// Server is what a node serves on /wnode/snapshot/1 (a p2p.SnapshotSource): its
// snapshots, when it takes some, and the light blocks of its
// chain, which any node serves so that joining nodes can follow the validator set. Kept
// may be nil (a node that takes no snapshots).
type Server struct {
	Kept   *Snapshots
	Blocks Blocks
}

// Snapshots lists the kept snapshots (none without Snapshots).
func (s *Server) Snapshots() []p2p.SnapshotInfo {
	if s.Kept == nil {
		return nil
	}
	return s.Kept.Snapshots()
}

// Manifest returns a kept snapshot's manifest.
func (s *Server) Manifest(height uint64) ([]byte, error) {
	if s.Kept == nil {
		return nil, nil
	}
	return s.Kept.Manifest(height)
}

// Chunk returns a kept snapshot's chunk.
func (s *Server) Chunk(height, index uint64) ([]byte, error) {
	if s.Kept == nil {
		return nil, nil
	}
	return s.Kept.Chunk(height, index)
}

// LightBlock returns the header, commit and validator set of height; nil when the chain
// does not hold them (height 0, above the head, below a state-synced node's base).
func (s *Server) LightBlock(height uint64) (*p2p.LightBlock, error) {
	if height == 0 || s.Blocks == nil {
		return nil, nil
	}
	hdr, err := s.Blocks.HeaderByNumber(height)
	if err != nil {
		return nil, nil
	}
	cm, err := s.Blocks.CommitAt(height)
	if err != nil {
		return nil, nil
	}
	vs, err := s.Blocks.ValidatorsAt(height)
	if err != nil {
		return nil, nil
	}
	lb := &p2p.LightBlock{Header: hdr.Encode(), Commit: cm.Encode()}
	for _, v := range vs.Validators() {
		lb.Validators = append(lb.Validators, p2p.LightValidator{Address: v.Address, PubKey: v.PubKey, Power: v.Power})
	}
	return lb, nil
}

// LightSource is a light.Source over the snapshot protocol's light blocks: it asks the
// connected peers in turn and returns the first certificate that holds together (the
// commit is for the header and signed by more than 2/3 of the set the header names); a
// peer whose answer does not is penalized. Whether the set is the right one is the light
// client's to check.
type LightSource struct {
	Peers   Peers
	ChainID uint64
	// Wait bounds how long Certificate waits for a peer to answer (0: 30 s).
	Wait time.Duration

	next atomic.Uint64 // the peer asked first rotates
}

// Certificate implements light.Source.
func (l *LightSource) Certificate(ctx context.Context, height uint64) (*light.Certificate, error) {
	wait := l.Wait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		peers := l.Peers.ConnectedPeers()
		slices.Sort(peers) // libp2p lists peers in map order: sorted, the rotation is real
		first := int(l.next.Add(1))
		for i := range peers {
			p := peers[(first+i)%len(peers)]
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			lb, err := l.Peers.RequestLightBlock(rctx, p, height)
			cancel()
			if err != nil || lb == nil {
				continue
			}
			c := &light.Certificate{Header: lb.Header, Commit: lb.Commit}
			for _, v := range lb.Validators {
				c.Validators = append(c.Validators, light.Validator{Address: v.Address, PubKey: v.PubKey, Power: hexutil.Uint64(v.Power)})
			}
			if err := l.check(c, height); err != nil {
				l.Peers.Penalize(p, p2p.PenaltyBadData, fmt.Sprintf("light block %d: %v", height, err))
				continue
			}
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("statesync: no peer served the light block of height %d", height)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (l *LightSource) check(c *light.Certificate, height uint64) error {
	lb, err := c.Decode()
	if err != nil {
		return err
	}
	switch {
	case lb.Header.Height != height:
		return fmt.Errorf("header of height %d", lb.Header.Height)
	case l.ChainID != 0 && lb.Header.ChainID != l.ChainID:
		return fmt.Errorf("header of chain %d", lb.Header.ChainID)
	case lb.Validators.Hash() != lb.Header.ValidatorsHash:
		return errors.New("the validator set is not the one the header names")
	case lb.Commit.Height != height || lb.Commit.BlockHash != lb.Header.Hash():
		return errors.New("the commit is not for the header")
	}
	return lb.Commit.Verify(lb.Header.ChainID, lb.Validators)
}
