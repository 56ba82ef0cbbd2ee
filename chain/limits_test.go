package chain

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestOversizedStorageIsATrap: a tx writing a value or reading a key over the state's
// limits is an ordinary failed tx with a receipt; block building and validation go on
// (before the fix such a tx made BuildBlock fail in every round while it stayed in the
// mempools: the chain halted).
func TestOversizedStorageIsATrap(t *testing.T) {
	ctx := context.Background()
	machine := newVM(t, vm.EngineCompiler)
	leader := openNode(t, "", machine, testGenesis(nil), Options{})
	defer leader.close()
	follower := openNode(t, "", newVM(t, vm.EngineInterpreter), testGenesis(nil), Options{})
	defer follower.close()

	deploy := signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "kv1"), GasLimit: workloadGas})
	b1, c1 := produce(t, leader, []*types.Tx{deploy}, nil)
	if err := follower.c.CommitBlock(ctx, b1, c1); err != nil {
		t.Fatal(err)
	}
	kv := types.ContractAddress(addrOf("alice"), 0)

	// set: input = klen (1 byte) | key | value.
	setArgs := func(key string, valueLen int) []byte {
		return append(append([]byte{byte(len(key))}, key...), make([]byte, valueLen)...)
	}
	bigKey := strings.Repeat("k", types.MaxStorageKeySize+1)
	invoke := func(nonce uint64, method string, args []byte) *types.Tx {
		return signTx(t, "alice", &types.Tx{Kind: types.TxInvoke, To: kv, Method: method, Args: args,
			Nonce: nonce, GasLimit: 4 * workloadGas})
	}
	txs := []*types.Tx{
		invoke(1, "set", setArgs("big", types.MaxStorageValueSize+1)), // value over the limit
		invoke(2, "get", []byte(bigKey)),                              // key over the limit
		invoke(3, "set", setArgs("max", types.MaxStorageValueSize)),   // at the limit: fine
	}
	b2, err := leader.c.BuildBlock(ctx, txs, b1.Header.Time+1000, addrOf("v0"), c1)
	if err != nil {
		t.Fatalf("BuildBlock: %v", err)
	}
	if len(b2.Txs) != len(txs) {
		t.Fatalf("%d txs in the block, want %d", len(b2.Txs), len(txs))
	}
	c2 := commitFor(t, b2)
	if err := leader.c.CommitBlock(ctx, b2, c2); err != nil {
		t.Fatal(err)
	}
	if err := follower.c.CommitBlock(ctx, b2, c2); err != nil {
		t.Fatalf("follower: %v", err)
	}
	rs, err := leader.c.Receipts(2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"trap: storage value of 65537 bytes exceeds 65536",
		"trap: storage key of 257 bytes exceeds 256",
		"",
	}
	for i, r := range rs {
		if r.Error != want[i] || r.Succeeded() != (want[i] == "") || r.GasUsed == 0 {
			t.Errorf("receipt %d: status %d error %q gas %d, want error %q", i, r.Status, r.Error, r.GasUsed, want[i])
		}
	}
	if _, ok, _ := leader.c.Storage(kv, []byte("big"), LatestHeight); ok {
		t.Error("oversized value stored")
	}
	if v, ok, _ := leader.c.Storage(kv, []byte("max"), LatestHeight); !ok || len(v) != types.MaxStorageValueSize {
		t.Errorf("value at the limit: %d bytes, present %v", len(v), ok)
	}

	// A read-only call with an oversized key fails as the contract's failure, not the node's.
	res, err := leader.c.Call(ctx, CallMsg{To: kv, Method: "get", Args: []byte(bigKey)}, LatestHeight)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !errors.Is(res.Err, vm.ErrTrap) {
		t.Fatalf("call with an oversized key: %v", res.Err)
	}
	if _, err := leader.c.EstimateGas(ctx, CallMsg{From: addrOf("alice"), To: kv, Method: "get", Args: []byte(bigKey)}, LatestHeight); !errors.Is(err, ErrExecution) {
		t.Fatalf("estimate with an oversized key: %v", err)
	}
}

// TestBlockTimeLimit: a header time at or above MaxBlockTime is invalid, and BuildBlock
// neither wraps parent time + 1 nor builds such a block. (Before the fix a Byzantine
// proposer's block at time 2^64-1 was valid, and the next BuildBlock wrapped to time 0,
// which every validator then rejected as not after the parent: the chain halted.)
func TestBlockTimeLimit(t *testing.T) {
	ctx := context.Background()
	n := openNode(t, "", newVM(t, vm.EngineCompiler), testGenesis(nil), Options{})
	defer n.close()
	if _, err := n.c.BuildBlock(ctx, nil, math.MaxUint64, addrOf("v1"), nil); err == nil {
		t.Fatal("BuildBlock at time 2^64-1 succeeded")
	}
	if _, err := n.c.BuildBlock(ctx, nil, MaxBlockTime, addrOf("v1"), nil); err == nil {
		t.Fatal("BuildBlock at MaxBlockTime succeeded")
	}
	good, err := n.c.BuildBlock(ctx, nil, n.c.Head().Time+1000, addrOf("v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A Byzantine proposer's block: the same block with another time (no tx reads it,
	// so the roots still match).
	withTime := func(ms uint64) *types.Block {
		b := *good
		b.Header.Time = ms
		return &b
	}
	for _, ms := range []uint64{math.MaxUint64, MaxBlockTime} {
		if err := n.c.ValidateBlock(ctx, withTime(ms)); !errors.Is(err, types.ErrInvalidBlock) {
			t.Fatalf("block at time %d: %v, want ErrInvalidBlock", ms, err)
		}
	}
	last := withTime(MaxBlockTime - 1)
	if err := n.c.ValidateBlock(ctx, last); err != nil {
		t.Fatalf("block at MaxBlockTime-1: %v", err)
	}
	if err := n.c.CommitBlock(ctx, last, commitFor(t, last)); err != nil {
		t.Fatal(err)
	}
	// No later time is left: building fails cleanly instead of wrapping around.
	if b, err := n.c.BuildBlock(ctx, nil, 1_700_000_000_000, addrOf("v0"), commitFor(t, last)); err == nil {
		t.Fatalf("built block 2 at time %d after a parent at %d", b.Header.Time, last.Header.Time)
	}
}

// TestWorstReceiptFits: the largest receipt the VM's limits allow (the whole output, the
// most events with the most bytes and the most per-event overhead, or the longest revert
// message) encodes within types.MaxReceiptSize and decodes, so the receipts of every
// committed block can be read back. Before the VM capped the events' bytes, 1024 events
// of 256 + 64 KiB made a receipt of ~65 MiB.
func TestWorstReceiptFits(t *testing.T) {
	const slack = 64 << 10
	if types.MaxReceiptSize < vm.MaxOutputSize+vm.MaxEventBytes+vm.MaxEvents*64+slack {
		t.Fatalf("MaxReceiptSize %d below output %d + events %d + overhead", types.MaxReceiptSize, vm.MaxOutputSize, vm.MaxEventBytes)
	}
	full := func(b byte, n int) []byte { return []byte(strings.Repeat(string(b), n)) }
	ok := &types.Receipt{
		TxHash: types.Hash{1}, Status: types.ReceiptSuccess, GasUsed: math.MaxUint64,
		Output: full(0xff, vm.MaxOutputSize), ContractAddress: types.Address{2},
		Height: math.MaxUint64, Index: math.MaxUint64,
	}
	perEvent := vm.MaxEventBytes / vm.MaxEvents
	for range vm.MaxEvents {
		ok.Events = append(ok.Events, types.Event{Contract: types.Address{3},
			Topic: full(0xff, vm.MaxTopicSize), Data: full(0xff, perEvent-vm.MaxTopicSize)})
	}
	failed := &types.Receipt{TxHash: types.Hash{1}, Status: types.ReceiptFailed, GasUsed: math.MaxUint64,
		Error: (&vm.RevertError{Msg: string(full('x', vm.MaxOutputSize))}).Error(), Height: math.MaxUint64, Index: math.MaxUint64}
	for _, r := range []*types.Receipt{ok, failed} {
		b := r.Encode()
		if len(b) > types.MaxReceiptSize {
			t.Fatalf("worst receipt is %d bytes, limit %d", len(b), types.MaxReceiptSize)
		}
		if _, err := types.DecodeReceipt(b); err != nil {
			t.Fatal(err)
		}
	}
}
