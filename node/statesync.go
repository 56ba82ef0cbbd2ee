package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
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
func (n *Node) stateSync(st *state.Store) error {
	sc := n.cfg.StateSync
	var trust types.Hash
	if sc.TrustHash != "" {
		b, err := hexutil.Decode(sc.TrustHash)
		if err != nil || len(b) != len(trust) {
			return fmt.Errorf("--state-sync.trust-hash %q: want a 0x-prefixed 32-byte hash", sc.TrustHash)
		}
		copy(trust[:], b)
	}
	if (sc.TrustHeight != 0) != (sc.TrustHash != "") {
		return errors.New("--state-sync.trust-height and --state-sync.trust-hash go together")
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
	// The snapshot's header is certified by a light client that follows the validator
	// set from the trust root (the header the user trusts, else the genesis), fed with
	// light blocks by the peers.
	src := &statesync.LightSource{Peers: host, ChainID: n.genesis.ChainID}
	var root *light.TrustedState
	if sc.TrustHeight != 0 {
		root, err = light.TrustHeight(ctx, src, n.genesis.ChainID, sc.TrustHeight, trust)
	} else {
		root, err = light.GenesisState(n.genesis)
	}
	if err != nil {
		return fmt.Errorf("state sync: trust root: %w", err)
	}
	lc, err := light.NewClient(root, src, light.ClientOptions{GasScheduleVersion: n.genesis.Params.GasScheduleVersion})
	if err != nil {
		return fmt.Errorf("state sync: %w", err)
	}
	defer lc.Close(context.Background())
	start := time.Now()
	res, err := statesync.Sync(ctx, statesync.Config{ChainID: n.genesis.ChainID, Headers: lc,
		TrustHeight: sc.TrustHeight, Discovery: sc.Discovery, Logger: log}, host, st,
		func(b *pebble.Batch, blk *types.Block, cm *types.Commit) error {
			return chain.WriteSyncBase(b, n.genesis, blk, cm)
		})
	if err != nil {
		return fmt.Errorf("state sync: %w", err)
	}
	// The peers caught lying during the join stay penalized on the node's own host.
	n.syncPenalties = host.Penalties()
	log.Info("state sync: state restored", "height", res.Height, "root", res.Root, "chunks", res.Chunks, "bytes", res.Bytes,
		"pairs", res.Pairs, "penalized", len(res.Penalized), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// snapshotSource is what the network serves on /wnode/snapshot/1: the light blocks of
// the chain, and the snapshots with --snapshots.
func (n *Node) snapshotSource() p2p.SnapshotSource {
	return &statesync.Server{Kept: n.snaps, Blocks: n.chain}
}
