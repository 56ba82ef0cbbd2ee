package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/statesync"
	"github.com/wnode/wnode/types"
)

// stateSync restores st from a peer's snapshot (wnode start --state-sync) before the
// chain is opened, over a client-only p2p host (it has no chain to answer with yet) that
// dials the bootnodes and discovers their peers. It writes the certified block at the
// snapshot's height with the state, so the chain opens there and block sync takes over.
// On failure st is left empty: the next start tries again from scratch.
func (n *Node) stateSync(st *state.Store, vals *types.ValidatorSet) error {
	sc := n.cfg.StateSync
	var trust types.Hash
	if sc.TrustHash != "" {
		b, err := hexutil.Decode(sc.TrustHash)
		if err != nil || len(b) != len(trust) {
			return fmt.Errorf("--state-sync.trust-hash %q: want a 0x-prefixed 32-byte hash", sc.TrustHash)
		}
		copy(trust[:], b)
	} else if sc.TrustHeight != 0 {
		return errors.New("--state-sync.trust-height needs --state-sync.trust-hash")
	}
	if len(n.cfg.P2P.Bootnodes) == 0 {
		return errors.New("--state-sync needs --bootnodes to find snapshots")
	}
	timeout := sc.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	log := n.log.With("component", "statesync")
	host, err := p2p.New(ctx, n.key, p2p.Config{ChainID: n.genesis.ChainID, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootnodes: n.cfg.P2P.Bootnodes, TargetPeers: n.cfg.P2P.TargetPeers, Logger: log}, nil)
	if err != nil {
		return fmt.Errorf("state sync: %w", err)
	}
	defer host.Close()
	log.Info("state sync: looking for snapshots", "bootnodes", len(n.cfg.P2P.Bootnodes), "trust_height", sc.TrustHeight)
	start := time.Now()
	res, err := statesync.Sync(ctx, statesync.Config{ChainID: n.genesis.ChainID, Validators: vals,
		TrustHeight: sc.TrustHeight, TrustHash: trust, Discovery: sc.Discovery, Logger: log}, host, st,
		func(b *pebble.Batch, blk *types.Block, cm *types.Commit) error {
			return chain.WriteSyncBase(b, n.genesis, blk, cm)
		})
	if err != nil {
		return fmt.Errorf("state sync: %w", err)
	}
	log.Info("state sync: state restored", "height", res.Height, "root", res.Root, "chunks", res.Chunks, "bytes", res.Bytes,
		"pairs", res.Pairs, "penalized", len(res.Penalized), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// snapshotSource is what the network serves on /wnode/snapshot/1: nil without --snapshots.
func (n *Node) snapshotSource() p2p.SnapshotSource {
	if n.snaps == nil {
		return nil
	}
	return n.snaps
}
