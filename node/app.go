package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/types"
)

// app is the consensus.Application of a node: blocks are built from the mempool and
// executed by the chain. Consensus calls it from one goroutine, one method at a time.
type app struct {
	chain    *chain.Chain
	pool     *mempool.Pool
	proposer types.Address
	params   genesis.Params
	metrics  *metrics
	log      *slog.Logger

	// blocks decoded (or built) at the next height, by hash, so that Commit does not
	// decode again what this node proposed or validated. Cleared at every commit.
	blocks map[types.Hash]*types.Block
}

var _ consensus.Application = (*app)(nil)

func (a *app) ProposeBlock(ctx context.Context, height uint64, round int32, timeMs uint64) ([]byte, types.Hash, error) {
	head := a.chain.Head()
	if head.Height+1 != height {
		return nil, types.Hash{}, fmt.Errorf("propose %d: head is %d", height, head.Height)
	}
	var lastCommit *types.Commit
	if head.Height > 0 {
		var err error
		if lastCommit, err = a.chain.CommitAt(head.Height); err != nil {
			return nil, types.Hash{}, fmt.Errorf("propose %d: %w", height, err)
		}
	}
	txs := a.pool.Pending(a.params.BlockGasLimit, int(a.params.MaxBlockBytes), 0)
	start := time.Now()
	b, err := a.chain.BuildBlock(ctx, txs, timeMs, a.proposer, lastCommit)
	if err != nil {
		return nil, types.Hash{}, fmt.Errorf("propose %d: %w", height, err)
	}
	a.metrics.observeBlock("build", start)
	hash := b.Hash()
	a.blocks[hash] = b
	a.log.Debug("proposed block", "height", height, "round", round, "txs", len(b.Txs), "hash", hash, "took", time.Since(start))
	return b.Encode(), hash, nil
}

func (a *app) ValidateBlock(ctx context.Context, height uint64, data []byte) (types.Hash, error) {
	b, err := types.DecodeBlock(data)
	if err != nil {
		return types.Hash{}, err
	}
	if b.Height() != height {
		return types.Hash{}, fmt.Errorf("%w: block of height %d proposed at %d", types.ErrInvalidBlock, b.Height(), height)
	}
	hash := b.Hash()
	if _, ok := a.blocks[hash]; ok {
		return hash, nil // built here: already executed
	}
	start := time.Now()
	if err := a.chain.ValidateBlock(ctx, b); err != nil {
		return types.Hash{}, err
	}
	a.metrics.observeBlock("validate", start)
	a.blocks[hash] = b
	return hash, nil
}

func (a *app) Commit(ctx context.Context, height uint64, data []byte, commit *types.Commit) error {
	b, ok := a.blocks[commit.BlockHash]
	if !ok {
		var err error
		if b, err = types.DecodeBlock(data); err != nil {
			return fmt.Errorf("commit %d: %w", height, err)
		}
	}
	start := time.Now()
	// A started commit is finished even when the node is shutting down: the block is
	// decided, and a graceful stop should leave it written rather than replay it.
	if err := a.chain.CommitBlock(context.WithoutCancel(ctx), b, commit); err != nil {
		return fmt.Errorf("commit %d: %w", height, err)
	}
	a.metrics.observeBlock("commit", start)
	clear(a.blocks)
	a.pool.Update(chainAccounts{a.chain, a.log}, b.Txs)
	return nil
}

func (a *app) HasPendingTxs() bool { return a.pool.HasPending() }

// chainAccounts is the mempool's view of the latest committed state.
type chainAccounts struct {
	c   *chain.Chain
	log *slog.Logger
}

func (s chainAccounts) account(addr types.Address) *chainAccount {
	acc, err := s.c.Account(addr, chain.LatestHeight)
	if err != nil {
		// The chain re-checks nonces and balances when it builds a block, so a wrong
		// answer here costs a wasted slot in the pool, not a wrong block.
		s.log.Error("mempool: read account", "addr", addr, "err", err)
		return &chainAccount{balance: new(uint256.Int)}
	}
	bal := acc.Balance
	if bal == nil {
		bal = new(uint256.Int)
	}
	return &chainAccount{nonce: acc.Nonce, balance: bal}
}

type chainAccount struct {
	nonce   uint64
	balance *uint256.Int
}

func (s chainAccounts) Nonce(addr types.Address) uint64         { return s.account(addr).nonce }
func (s chainAccounts) Balance(addr types.Address) *uint256.Int { return s.account(addr).balance }
