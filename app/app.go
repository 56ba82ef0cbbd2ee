package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/types"
)

// maxProposalTxBytes bounds the transactions of a block this node proposes, whatever the
// genesis allows (genesis.MaxBlockBytesLimit is 16 MiB): the block must fit a proposal
// (types.MaxProposalBlockSize) with its header and last commit, and one block sync frame
// (p2p.MaxFrameSize) with its own commit as well.
const maxProposalTxBytes = types.MaxProposalBlockSize - 2*types.MaxCommitSize - 64<<10

// App is the consensus.Application of a node, over its chain and mempool: a proposal
// is a block built from the mempool's pending transactions and executed by the chain,
// validation re-executes a block on top of the head, and a decided block is committed to
// the chain and its transactions removed from the mempool. Dev mode (one validator)
// and networked mode use the same App.
//
// Consensus calls it from one goroutine, one method at a time; App is not safe for
// concurrent use otherwise. The chain and the pool may be read concurrently by others.
type App struct {
	chain    *chain.Chain
	pool     *mempool.Pool
	accounts Accounts
	proposer types.Address
	opts     AppOptions
	maxGas   uint64
	maxBytes int

	// blocks decoded (or built) for the next height, by hash, so that Commit does not
	// decode again a block this node proposed or validated. Cleared at every commit.
	blocks map[types.Hash]*types.Block
}

// AppOptions are the optional parts of an App.
type AppOptions struct {
	// Logger receives debug lines about proposals and commits; nil discards them.
	Logger *slog.Logger
	// Observe, if set, is told how long each step took: "build" (ProposeBlock),
	// "validate" (ValidateBlock) and "commit" (Commit), for metrics. It is called on the
	// consensus goroutine and must be fast.
	Observe func(step string, took time.Duration)
	// MaxClockDrift bounds how far in the future of this node's clock a proposed block's
	// time may be (default 10 s). The chain itself only requires increasing times, so
	// without this a Byzantine proposer could push block time arbitrarily far ahead and
	// every honest proposer after it would have to follow. The check is local (it votes
	// nil, it never rejects a committed block), like CometBFT's timely-proposal rule.
	MaxClockDrift time.Duration
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

var _ consensus.Application = (*App)(nil)

// NewApp returns the Application of a node whose validator address (the block
// proposer it writes into the blocks it builds) is proposer. A node that does not
// propose may pass the zero address.
func NewApp(c *chain.Chain, pool *mempool.Pool, proposer types.Address, opts AppOptions) *App {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := c.Params()
	return &App{
		chain: c, pool: pool, accounts: Accounts{Chain: c, Logger: opts.Logger}, proposer: proposer, opts: opts,
		maxGas: p.BlockGasLimit, maxBytes: int(min(p.MaxBlockBytes, maxProposalTxBytes)),
		blocks: map[types.Hash]*types.Block{},
	}
}

func (a *App) observe(step string, start time.Time) {
	if a.opts.Observe != nil {
		a.opts.Observe(step, time.Since(start))
	}
}

// ProposeBlock builds the next block from the mempool's pending transactions (within
// the block's gas and byte limits, best price first), executes it and returns its
// encoding and hash. The committed state does not change. It costs the execution of the
// block's transactions.
func (a *App) ProposeBlock(ctx context.Context, height uint64, round int32, timeMs uint64) ([]byte, types.Hash, error) {
	head := a.chain.Head()
	if head.Height+1 != height {
		return nil, types.Hash{}, fmt.Errorf("propose %d: chain head is %d", height, head.Height)
	}
	var lastCommit *types.Commit
	if head.Height > 0 {
		var err error
		if lastCommit, err = a.chain.CommitAt(head.Height); err != nil {
			return nil, types.Hash{}, fmt.Errorf("propose %d: %w", height, err)
		}
	}
	start := time.Now()
	txs := a.pool.Pending(candidateGas(a.maxGas), a.maxBytes, 0)
	b, err := a.chain.BuildBlock(ctx, txs, timeMs, a.proposer, lastCommit)
	if err != nil {
		return nil, types.Hash{}, fmt.Errorf("propose %d: %w", height, err)
	}
	a.observe("build", start)
	hash := b.Hash()
	a.keep(hash, b)
	a.opts.Logger.Debug("proposing block", "height", height, "round", round, "txs", len(b.Txs), "hash", hash, "took", time.Since(start))
	return b.Encode(), hash, nil
}

// candidateGas is the sum of declared gas limits of the txs a proposal is built from, for
// a block of maxGas: twice the block's gas. The block's gas limit bounds the gas its txs
// use (chain.BuildBlock stops when what is left is used up), and txs declare more than
// they use: clients add a margin to their estimate (25 % for package client), so
// selecting by declared gas alone left full blocks a fifth empty (2,002 counter
// increments declaring 243,000 gas each in a 500 M block, where 2,590 of their 193,000
// fit). The candidates that do not fit are dropped by BuildBlock's pre-check before any
// state is read, and stay in the pool for the next block.
func candidateGas(maxGas uint64) uint64 {
	if maxGas > math.MaxUint64/2 {
		return 0 // no bound
	}
	return 2 * maxGas
}

// ValidateBlock decodes a proposed block, checks it is for height and re-executes it on
// top of the head (chain.ValidateBlock: header, last commit, every tx, state and receipt
// roots). Errors wrap types.ErrInvalidBlock for a bad block. A block validated (or
// built) before costs only its decoding; the senders of txs the mempool holds are not
// recovered again.
func (a *App) ValidateBlock(ctx context.Context, height uint64, data []byte) (types.Hash, error) {
	// A tx this node's pool holds has the same bytes as the block's copy (same hash), and
	// its sender already recovered: the block takes the pool's Tx, which spares a decoding
	// per tx and the chain a signature recovery per tx (about a seventh of a validator's
	// CPU at 500 tx/s).
	b, err := types.DecodeBlockReusing(data, a.pool.Get)
	if err != nil {
		return types.Hash{}, err
	}
	if b.Height() != height {
		return types.Hash{}, fmt.Errorf("%w: block of height %d proposed at %d", types.ErrInvalidBlock, b.Height(), height)
	}
	hash := b.Hash()
	if _, ok := a.blocks[hash]; ok {
		return hash, nil
	}
	// A certified block (block sync) is decided: a validator whose clock is behind must
	// still take it, or it could never catch up (and would blame the peer serving it).
	if !consensus.Certified(ctx) {
		if err := a.checkTime(b.Header.Time); err != nil {
			return types.Hash{}, err
		}
	}
	start := time.Now()
	if err := a.chain.ValidateBlock(ctx, b); err != nil {
		return types.Hash{}, err
	}
	a.observe("validate", start)
	a.keep(hash, b)
	return hash, nil
}

// ErrBlockFromFuture is returned by ValidateBlock for a block whose time is ahead of this
// node's clock by more than AppOptions.MaxClockDrift.
var ErrBlockFromFuture = errors.New("block time too far in the future")

func (a *App) checkTime(ms uint64) error {
	now, drift := time.Now, a.opts.MaxClockDrift
	if a.opts.Now != nil {
		now = a.opts.Now
	}
	if drift <= 0 {
		drift = 10 * time.Second
	}
	limit := uint64(now().Add(drift).UnixMilli())
	if ms > limit {
		return fmt.Errorf("%w: %d ms > local clock + %v", ErrBlockFromFuture, ms, drift)
	}
	return nil
}

// keep remembers a block of the next height, bounded like the chain's own cache: a
// pathological number of proposals at one height starts it over.
func (a *App) keep(hash types.Hash, b *types.Block) {
	if len(a.blocks) >= 8 {
		clear(a.blocks)
	}
	a.blocks[hash] = b
}

// Commit writes the decided block with its certificate to the chain (one batch, not
// waiting for the disk: chain.CommitBlockNoSync syncs it in the background, and
// consensus waits for that with WaitDurable before it signs anything of the next
// height) and brings the mempool up to the new state. A commit that has started
// finishes even if ctx is cancelled: the block is decided, and a graceful stop should
// leave it written rather than replay it.
func (a *App) Commit(ctx context.Context, height uint64, data []byte, commit *types.Commit) error {
	b, ok := a.blocks[commit.BlockHash]
	if !ok {
		var err error
		if b, err = types.DecodeBlockReusing(data, a.pool.Get); err != nil {
			return fmt.Errorf("commit %d: %w", height, err)
		}
	}
	start := time.Now()
	if err := a.chain.CommitBlockNoSync(context.WithoutCancel(ctx), b, commit); err != nil {
		return fmt.Errorf("commit %d: %w", height, err)
	}
	a.observe("commit", start)
	clear(a.blocks)
	a.pool.Update(a.accounts, b.Txs)
	return nil
}

// WaitDurable returns once every committed block is durable (chain.Chain.WaitDurable):
// at once when the background sync of the last commit is over.
func (a *App) WaitDurable() error { return a.chain.WaitDurable() }

// HasPendingTxs reports whether the mempool holds a transaction that could go into the
// next block.
func (a *App) HasPendingTxs() bool { return a.pool.HasPending() }

// Validators is the chain's validator set of height (chain.Chain.ValidatorsAt): known up
// to two heights above the committed head.
func (a *App) Validators(height uint64) (*types.ValidatorSet, error) {
	return a.chain.ValidatorsAt(height)
}

// Accounts is the mempool's view (mempool.AccountState) of the chain's latest committed
// state. Each call reads one account from the state (a few µs, cached by Pebble).
type Accounts struct {
	Chain *chain.Chain
	// Logger receives read failures; nil discards them.
	Logger *slog.Logger
}

var _ mempool.AccountState = Accounts{}

// Account is addr's next nonce and balance in the latest committed state: one read.
func (s Accounts) Account(addr types.Address) (uint64, *uint256.Int) {
	acc, err := s.Chain.Account(addr, chain.LatestHeight)
	if err != nil {
		// The chain re-checks nonces and balances when it builds a block, so a wrong
		// answer here costs a wasted slot in the pool, never a wrong block.
		if s.Logger != nil {
			s.Logger.Error("mempool: read account", "addr", addr, "err", err)
		}
		return 0, new(uint256.Int)
	}
	if acc.Balance == nil {
		return acc.Nonce, new(uint256.Int)
	}
	return acc.Nonce, acc.Balance
}

// Nonce is the nonce addr's next transaction must carry.
func (s Accounts) Nonce(addr types.Address) uint64 {
	n, _ := s.Account(addr)
	return n
}

// Balance is addr's balance in the latest committed state.
func (s Accounts) Balance(addr types.Address) *uint256.Int {
	_, b := s.Account(addr)
	return b
}
