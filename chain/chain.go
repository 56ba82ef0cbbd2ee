//go:build !js

// Package chain is wnode's state-transition function and block store: it executes a
// block's transactions against the state with the VM, produces receipts and the roots
// that go into the header, validates blocks proposed by others by re-executing them, and
// commits a block, its commit certificate, receipts and indices in the same Pebble batch
// as the state.
//
// Execution is deterministic: it depends only on the parent state, the block and the
// genesis parameters (no wall clock, no map order, no node-local data), so every
// validator computes the same state and receipt roots.
package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// Errors callers branch on with errors.Is. Block validation errors wrap
// types.ErrInvalidBlock; a transaction refused before execution wraps ErrTxInvalid.
var (
	// ErrNotFound: no such block, transaction or receipt.
	ErrNotFound = errors.New("chain: not found")
	// ErrTxInvalid: a transaction fails the checks before execution (chain id, signature,
	// nonce, balance, gas price, gas limit, size). Such a tx cannot be in a block.
	ErrTxInvalid = errors.New("invalid transaction")
	// ErrGenesisMismatch: the store holds a chain with another genesis.
	ErrGenesisMismatch = errors.New("chain: store was initialised with another genesis")
	// ErrExecution: EstimateGas found no gas limit with which the message succeeds; the
	// wrapped text is the execution's error.
	ErrExecution = errors.New("execution failed")
)

// Defaults of Options.
const (
	// minParallelTxs is the fewest transactions per worker for which a block executes
	// in parallel: below it, starting goroutines and the multi-version memory cost more
	// than they save.
	minParallelTxs = 8
	// maxCachedResults bounds the executed-but-uncommitted blocks kept for CommitBlock
	// (one per proposal seen at the next height; rounds rarely exceed a few).
	maxCachedResults = 8
)

// LatestHeight, passed as a height to the read methods, means the head's height at the
// time of the call.
const LatestHeight = ^uint64(0)

// Options configure a Chain. The zero value is usable.
type Options struct {
	// CallGasCap bounds the gas of Call and EstimateGas; 0 means gas.DefaultCallCap.
	CallGasCap uint64
	// RecoveryWorkers is the number of goroutines recovering transaction senders before
	// a block executes; 0 means GOMAXPROCS, 1 recovers inline.
	RecoveryWorkers int
	// ExecWorkers is the number of goroutines executing a block's transactions: 1 (or
	// 0) executes them in order, the reference; more executes them optimistically in
	// parallel with read validation, with the same results (state root, receipts, gas,
	// events; docs/rationale/parallel-exec.md). Blocks of fewer than minParallelTxs
	// transactions per worker run in order.
	ExecWorkers int
	// DebugLogs keeps contract log lines of transactions (dev mode) and writes them to
	// Logger at debug level. It never changes an outcome.
	DebugLogs bool
	// Logger receives the chain's logs; nil discards them.
	Logger *slog.Logger
	// ReadVM runs the work outside blocks: Call, CallWitness and EstimateGas. A VM built
	// Interruptible fits: Wasm code is not preempted by the Go scheduler, so a long call
	// on a non-interruptible VM holds up every stop-the-world of the garbage collector,
	// and with it block execution and consensus (pauses of 57 ms median, 435 ms max,
	// with one call burning the gas cap at a time); an interruptible VM returns to Go at
	// every loop iteration. Without an on-disk cache, code compiled for an estimate of a
	// deploy (which nobody paid for) never reaches disk. nil: the chain's VM.
	ReadVM *vm.VM
	// EstimateGasBudget bounds the gas one EstimateGas burns over all its runs; the
	// search then answers the lowest limit it saw succeed. 0 means 4 × CallGasCap.
	EstimateGasBudget uint64
}

// Chain executes and stores blocks. Create it with New. Block production and validation
// (BuildBlock, ValidateBlock, CommitBlock) are serialized; the read methods are safe for
// concurrent use with them and with each other.
type Chain struct {
	db      *pebble.DB
	st      *state.Store
	vm      *vm.VM
	gen     *genesis.Genesis
	params  genesis.Params
	minGas  uint256.Int
	sched   *gas.Schedule
	genVals *types.ValidatorSet // the genesis validator set
	sets    setCache
	chainID uint64
	opts    Options
	log     *slog.Logger

	minParallel int // minParallelTxs; tests lower it to run small blocks in parallel

	head atomic.Pointer[headInfo]

	execMu sync.Mutex              // serializes Build/Validate/Commit
	arenas parArenas               // memory of parallel executions, reused (parallel_arena.go)
	cache  map[types.Hash]*results // executed blocks at head+1, by block hash

	durable durability // background syncs of CommitBlockNoSync

	subMu sync.Mutex
	subs  map[*subscription]struct{}
}

// headInfo is the head block with the validator sets around it.
type headInfo struct {
	header types.Header
	hash   types.Hash
	last   *types.ValidatorSet // set of the head's height: signed the head
	vals   *types.ValidatorSet // set of head+1: signs the next block
	next   *types.ValidatorSet // set of head+2
}

// New opens the chain stored in db and st, or creates it from g when the store is
// empty: the genesis state becomes height 0 and a genesis header (no transactions,
// stateRoot of the genesis state) is stored, all in one batch. On an existing store, g
// must have the hash the store was created with. machine executes contracts and must
// use g's gas schedule. g is validated here. The caller keeps ownership of db, st and
// machine.
func New(db *pebble.DB, st *state.Store, machine *vm.VM, g *genesis.Genesis, opts Options) (*Chain, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	if g.TimeMs() >= MaxBlockTime {
		return nil, fmt.Errorf("chain: genesis time %d ms at or above the limit %d", g.TimeMs(), uint64(MaxBlockTime))
	}
	sched, err := gas.ByVersion(g.Params.GasScheduleVersion)
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	if ms := machine.Schedule(); ms.Version != sched.Version {
		return nil, fmt.Errorf("chain: VM uses gas schedule v%d, genesis says v%d", ms.Version, sched.Version)
	}
	sched = machine.Schedule()
	vals, err := g.ValidatorSet()
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	if opts.CallGasCap == 0 {
		opts.CallGasCap = gas.DefaultCallCap
	}
	if opts.EstimateGasBudget == 0 {
		opts.EstimateGasBudget = 4 * opts.CallGasCap
	}
	if opts.RecoveryWorkers <= 0 {
		opts.RecoveryWorkers = runtime.GOMAXPROCS(0)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Chain{
		db: db, st: st, vm: machine, gen: g, params: g.Params, sched: sched, genVals: vals,
		chainID: g.ChainID, opts: opts, log: logger, minParallel: minParallelTxs,
		cache: make(map[types.Hash]*results),
		subs:  make(map[*subscription]struct{}),
	}
	c.minGas = *g.Params.MinGasPrice.Int()
	c.durable.init()

	meta, err := c.readMeta()
	if err != nil {
		return nil, err
	}
	if !st.Initialized() {
		if meta != nil {
			return nil, errors.New("chain: block store exists without state")
		}
		if err := c.initGenesis(); err != nil {
			return nil, err
		}
		return c, nil
	}
	if meta == nil {
		return nil, errors.New("chain: state exists without block store metadata")
	}
	if meta.Format != storeFormat {
		return nil, fmt.Errorf("chain: block store format %d, this node reads %d", meta.Format, storeFormat)
	}
	if gh := g.Hash(); meta.GenesisHash != gh {
		return nil, fmt.Errorf("%w: store %s, genesis file %s", ErrGenesisMismatch, meta.GenesisHash, gh)
	}
	height, root := st.Latest()
	h, err := c.readHeader(height)
	if err != nil {
		return nil, fmt.Errorf("chain: head header at state height %d: %w", height, err)
	}
	if h.StateRoot != root {
		return nil, fmt.Errorf("chain: head %d has state root %s, state has %s", height, h.StateRoot, root)
	}
	sets, err := c.openSets(h)
	if err != nil {
		return nil, err
	}
	c.setHead(h, sets[0], sets[1], sets[2])
	return c, nil
}

func (c *Chain) initGenesis() error {
	ctx := context.Background()
	for i, k := range c.gen.Contracts {
		code, err := c.vm.Prepare(ctx, k.Code.Bytes)
		if err != nil {
			return fmt.Errorf("chain: genesis contracts[%d] (%s): %w", i, k.Address, err)
		}
		if len(code.Original) != len(k.Code.Bytes) {
			return fmt.Errorf("chain: genesis contracts[%d] (%s): code must be raw Wasm", i, k.Address)
		}
	}
	sdb := state.NewStateDB(state.Empty)
	c.gen.InitialState(sdb)
	sdb.SetStorage(types.ValidatorsAccount, keySets[0], encodeStoredSet(0, c.genVals))
	if err := sdb.Err(); err != nil {
		return fmt.Errorf("chain: genesis state: %w", err)
	}
	u, err := c.st.Prepare(0, sdb.Changes())
	if err != nil {
		return fmt.Errorf("chain: genesis state: %w", err)
	}
	h := types.Header{
		ChainID:            c.chainID,
		Height:             0,
		Time:               c.gen.TimeMs(),
		TxRoot:             types.EmptyRoot,
		StateRoot:          u.Root(),
		ReceiptRoot:        types.EmptyRoot,
		ValidatorsHash:     c.genVals.Hash(),
		NextValidatorsHash: c.genVals.Hash(),
	}
	meta, err := rlp.EncodeToBytes(&storeMeta{Format: storeFormat, GenesisHash: c.gen.Hash()})
	if err != nil {
		return fmt.Errorf("chain: encode metadata: %w", err)
	}
	blk := &types.Block{Header: h}
	err = c.st.Commit(u, func(b *pebble.Batch) error {
		if err := b.Set(metaKey, meta, nil); err != nil {
			return err
		}
		if err := writeHistorySet(b, 0, c.genVals); err != nil {
			return err
		}
		return writeBlock(b, blk, h.Hash(), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("chain: commit genesis: %w", err)
	}
	c.setHead(&h, c.genVals, c.genVals, c.genVals)
	c.log.Info("genesis committed", "chain_id", c.chainID, "state_root", h.StateRoot, "hash", h.Hash())
	return nil
}

func (c *Chain) setHead(h *types.Header, last, vals, next *types.ValidatorSet) {
	c.head.Store(&headInfo{header: *h, hash: h.Hash(), last: last, vals: vals, next: next})
}

// Head returns a copy of the latest committed header (the genesis header, height 0,
// before any block).
func (c *Chain) Head() *types.Header {
	h := c.head.Load().header
	return &h
}

// HeadHash returns the hash of the latest committed header.
func (c *Chain) HeadHash() types.Hash { return c.head.Load().hash }

// ChainID returns the chain id.
func (c *Chain) ChainID() uint64 { return c.chainID }

// Genesis returns the genesis the chain was opened with (do not modify it).
func (c *Chain) Genesis() *genesis.Genesis { return c.gen }

// Params returns the consensus parameters.
func (c *Chain) Params() genesis.Params { return c.params }

// Validators returns the validator set that signs the next block (head+1). Sets change
// by vote (ValidatorsAt gives the set of any height).
func (c *Chain) Validators() *types.ValidatorSet { return c.head.Load().vals }

// resolve maps LatestHeight to the head's height.
func (c *Chain) resolve(height uint64) uint64 {
	if height == LatestHeight {
		return c.head.Load().header.Height
	}
	return height
}

// execWorkers returns the number of workers that execute a block of n transactions.
func (c *Chain) execWorkers(n int) int {
	return max(1, min(c.opts.ExecWorkers, n/c.minParallel))
}
