//go:build !js

package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wnode/wnode/types"
)

// MaxBlockTime bounds a header's time (unix ms): a header at or above it is invalid.
// 2^62 ms is about 146 million years from 1970, so no honest clock reaches it; the cap
// keeps the time an i64 for the contracts' block_time and keeps parent time + 1 from
// wrapping. It does not stop a Byzantine proposer from setting a time far in the future
// but below it (after which no next block could have a later time): that needs the
// wall clock, which the chain does not read; the consensus application refuses
// proposals whose time is too far ahead of its own clock.
const MaxBlockTime = 1 << 62

// BuildBlock makes the next block as its proposer: it executes txs in order on top of
// the head, drops those that fail the pre-execution checks (wrong chain, bad signature,
// wrong nonce, cannot pay, gas price too low, no room left in the block's gas or bytes)
// and includes the others with their receipts, failed executions included. The header's
// time is max(time, parent time + 1) in unix ms, and an error when at or above
// MaxBlockTime (a clock that far off must not produce an invalid block); its roots are
// filled. lastCommit must be the commit of the head block (nil when the head is the
// genesis). The execution result is cached, so ValidateBlock and CommitBlock of the
// returned block do not run it again. It costs the execution of the txs plus one state
// Prepare.
func (c *Chain) BuildBlock(ctx context.Context, txs []*types.Tx, time uint64, proposer types.Address, lastCommit *types.Commit) (*types.Block, error) {
	c.execMu.Lock()
	defer c.execMu.Unlock()
	head := c.head.Load()
	if time = max(time, satAdd(head.header.Time, 1)); time >= MaxBlockTime {
		return nil, fmt.Errorf("chain: build block %d: time %d at or above the limit %d", head.header.Height+1, time, uint64(MaxBlockTime))
	}
	h := &types.Header{
		ChainID:            c.chainID,
		Height:             head.header.Height + 1,
		Time:               time,
		ParentHash:         head.hash,
		Proposer:           proposer,
		ValidatorsHash:     head.vals.Hash(),
		NextValidatorsHash: head.next.Hash(),
	}
	if err := c.checkLastCommit(head, h, lastCommit); err != nil {
		return nil, fmt.Errorf("chain: build block %d: %w", h.Height, err)
	}
	if lastCommit != nil {
		h.LastCommitHash = lastCommit.Hash()
	}
	e, err := c.newExecutor(ctx, h)
	if err != nil {
		return nil, err
	}
	c.recoverSenders(txs)
	minGas := c.sched.Tx.Base
	if w := c.execWorkers(len(txs)); w > 1 {
		if err := e.executeParallel(txs, w, true, nil); err != nil {
			return nil, fmt.Errorf("chain: build block %d: %w", h.Height, err)
		}
		txs = nil
	} else {
		done, err := e.inOrder()
		if err != nil {
			return nil, fmt.Errorf("chain: build block %d: %w", h.Height, err)
		}
		defer done()
	}
	for _, tx := range txs {
		if e.gasLeft < minGas {
			break // not even the cheapest tx fits any more
		}
		sender, size, err := e.precheck(tx)
		if err != nil {
			c.log.Debug("tx dropped from proposal", "tx", tx.Hash(), "err", err)
			continue
		}
		if err := e.apply(tx, sender, size); err != nil {
			return nil, fmt.Errorf("chain: build block %d: %w", h.Height, err)
		}
	}
	res, err := e.finish()
	if err != nil {
		return nil, err
	}
	res.block = &types.Block{Header: *h, Txs: e.txs, LastCommit: lastCommit}
	res.hash = h.Hash()
	c.cacheResults(res)
	return res.block, nil
}

// checkLastCommit checks that lastCommit is the one the header at h.Height needs: nil at
// height 1, otherwise a commit of the head block signed by more than 2/3 of the power of
// the head's set.
func (c *Chain) checkLastCommit(head *headInfo, h *types.Header, lastCommit *types.Commit) error {
	if h.Height == 1 {
		if lastCommit != nil {
			return errors.New("block 1 takes no last commit")
		}
		return nil
	}
	if lastCommit == nil {
		return fmt.Errorf("block %d needs the last commit", h.Height)
	}
	if lastCommit.Height != h.Height-1 || lastCommit.BlockHash != h.ParentHash {
		return fmt.Errorf("last commit is for %d %s, want %d %s", lastCommit.Height, lastCommit.BlockHash, h.Height-1, h.ParentHash)
	}
	if err := lastCommit.Verify(c.chainID, head.last); err != nil {
		return fmt.Errorf("last commit: %w", err)
	}
	return nil
}

// ValidateBlock checks that b is a valid next block on top of the head and that its
// results are right: chain id, height, parent hash, strictly increasing time below
// MaxBlockTime, validators
// hash, proposer in the set, last commit (signatures and power), size limits, tx root,
// every tx passing the pre-execution checks in order, the block's gas limit, and the
// state and receipt roots after re-executing it. Errors wrap types.ErrInvalidBlock,
// except a canceled context or a storage failure. The result is cached by block hash, so
// validating the same block again, or committing it, costs nothing more.
func (c *Chain) ValidateBlock(ctx context.Context, b *types.Block) error {
	c.execMu.Lock()
	defer c.execMu.Unlock()
	_, err := c.validateLocked(ctx, b)
	return err
}

func (c *Chain) validateLocked(ctx context.Context, b *types.Block) (*results, error) {
	hash := b.Hash()
	if res := c.cache[hash]; res != nil {
		return res, nil
	}
	head := c.head.Load()
	h := &b.Header
	invalid := func(format string, args ...any) (*results, error) {
		return nil, fmt.Errorf("%w: block %d: "+format, append([]any{types.ErrInvalidBlock, h.Height}, args...)...)
	}
	if err := b.ValidateBasic(c.chainID); err != nil {
		return nil, err
	}
	switch {
	case h.Height != head.header.Height+1:
		return invalid("height %d, next is %d", h.Height, head.header.Height+1)
	case h.ParentHash != head.hash:
		return invalid("parent %s, head is %s", h.ParentHash, head.hash)
	case h.Time <= head.header.Time:
		return invalid("time %d not after the parent's %d", h.Time, head.header.Time)
	case h.Time >= MaxBlockTime:
		return invalid("time %d at or above the limit %d", h.Time, uint64(MaxBlockTime))
	case h.ValidatorsHash != head.vals.Hash():
		return invalid("validators hash %s, want %s", h.ValidatorsHash, head.vals.Hash())
	case h.NextValidatorsHash != head.next.Hash():
		return invalid("next validators hash %s, want %s", h.NextValidatorsHash, head.next.Hash())
	}
	if _, ok := head.vals.Index(h.Proposer); !ok {
		return invalid("proposer %s is not a validator", h.Proposer)
	}
	if err := c.checkLastCommit(head, h, b.LastCommit); err != nil {
		return invalid("%v", err)
	}

	e, err := c.newExecutor(ctx, h)
	if err != nil {
		return nil, err
	}
	c.recoverSenders(b.Txs)
	if err := e.executeAll(b.Txs, c.execWorkers(len(b.Txs))); err != nil {
		return nil, err
	}
	// finish fills the roots into a copy of the header to compare them.
	want := *h
	e.header = &want
	res, err := e.finish()
	if err != nil {
		return nil, err
	}
	if want.StateRoot != h.StateRoot {
		return invalid("state root %s, execution gives %s", h.StateRoot, want.StateRoot)
	}
	if want.ReceiptRoot != h.ReceiptRoot {
		return invalid("receipt root %s, execution gives %s", h.ReceiptRoot, want.ReceiptRoot)
	}
	res.block, res.hash = b, hash
	c.cacheResults(res)
	return res, nil
}

// executeAll executes the txs of a block under validation on workers goroutines (1: in
// order). A tx failing its checks makes the block invalid: the error wraps
// types.ErrInvalidBlock; other errors are the node's (canceled, storage).
func (e *executor) executeAll(txs []*types.Tx, workers int) error {
	invalid := func(i int, tx *types.Tx, err error) error {
		return fmt.Errorf("%w: block %d: tx %d (%s): %v", types.ErrInvalidBlock, e.header.Height, i, tx.Hash(), err)
	}
	if workers > 1 {
		err := e.executeParallel(txs, workers, false, invalid)
		if err != nil && !errors.Is(err, types.ErrInvalidBlock) {
			err = fmt.Errorf("chain: validate block %d: %w", e.header.Height, err)
		}
		return err
	}
	done, err := e.inOrder()
	if err != nil {
		return err
	}
	defer done()
	for i, tx := range txs {
		sender, size, err := e.precheck(tx)
		if err != nil {
			return invalid(i, tx, err)
		}
		if err := e.apply(tx, sender, size); err != nil {
			return fmt.Errorf("chain: validate block %d: %w", e.header.Height, err)
		}
	}
	return nil
}

// cacheResults keeps res for CommitBlock. All cached results are for the height after
// the head; CommitBlock clears them.
func (c *Chain) cacheResults(res *results) {
	if len(c.cache) >= maxCachedResults {
		clear(c.cache) // a pathological number of proposals at one height: start over
	}
	c.cache[res.hash] = res
}

// CommitBlock makes b the new head: it checks that commit certifies b (height, hash,
// signatures of more than 2/3 of the power), validates and executes b unless it was
// already, then writes the state changes, the block, the commit, the receipts and the
// tx index in one synced Pebble batch. After a crash either all of it is stored or none.
// Subscribers are notified after the write. CommitBlockNoSync does not wait for the disk.
func (c *Chain) CommitBlock(ctx context.Context, b *types.Block, commit *types.Commit) error {
	return c.commitBlock(ctx, b, commit, true)
}

func (c *Chain) commitBlock(ctx context.Context, b *types.Block, commit *types.Commit, sync bool) error {
	c.execMu.Lock()
	defer c.execMu.Unlock()
	hash := b.Hash()
	if commit == nil {
		return fmt.Errorf("chain: commit block %d: no commit certificate", b.Height())
	}
	if commit.Height != b.Height() || commit.BlockHash != hash {
		return fmt.Errorf("%w: commit is for %d %s, block is %d %s", types.ErrInvalidCommit, commit.Height, commit.BlockHash, b.Height(), hash)
	}
	head := c.head.Load()
	if err := commit.Verify(c.chainID, head.vals); err != nil {
		return fmt.Errorf("chain: commit block %d: %w", b.Height(), err)
	}
	res, err := c.validateLocked(ctx, b)
	if err != nil {
		return err
	}
	next := head.next
	if res.newSet != nil {
		next = res.newSet
	}
	write := func(batch *pebble.Batch) error {
		if res.newSet != nil {
			if err := writeHistorySet(batch, b.Height()+ValidatorSwitchDelay, res.newSet); err != nil {
				return err
			}
		}
		return writeBlock(batch, res.block, hash, commit, res.receipts)
	}
	if sync {
		err = c.st.Commit(res.update, write)
	} else {
		err = c.st.CommitNoSync(res.update, write)
	}
	if err != nil {
		return fmt.Errorf("chain: commit block %d: %w", b.Height(), err)
	}
	if !sync {
		c.durable.request(c.st.Sync)
	}
	clear(c.cache)
	c.setHead(&res.block.Header, head.vals, head.next, next)
	if res.newSet != nil {
		c.log.Info("validator set change passed", "height", b.Height(), "effective", b.Height()+ValidatorSwitchDelay,
			"validators", res.newSet.Len(), "power", res.newSet.TotalPower(), "hash", res.newSet.Hash())
	}
	c.log.Debug("block committed", "height", b.Height(), "hash", hash, "txs", len(b.Txs), "gas", res.gasUsed)
	c.notify(&BlockEvent{Block: res.block, Hash: hash, Commit: commit, Receipts: res.receipts})
	return nil
}
