package rpc_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// fakeBackend is an in-memory rpc.Backend for tests of the RPC layer alone (error
// injection, timeouts, subscriptions). The real node is tested in package node and e2e.
// Contract "hello" at helloAddr answers "hello, " + args; method "fail" reverts; method
// "slow" blocks until the context ends.
type fakeBackend struct {
	mu       sync.Mutex
	blocks   []*rpc.Block
	receipts map[types.Hash]*types.Receipt
	txs      map[types.Hash]*types.Tx
	pending  map[types.Hash]*types.Tx
	accounts map[types.Address]*state.Account
	storage  map[string][]byte
	subs     map[int]chan<- *rpc.ChainEvent
	nextSub  int
	health   error
	gate     chan struct{} // method "gate" waits for it to close (or the context)
	skipNext bool          // the next commit notifies no subscriber (a full buffer)
	calls    atomic.Int64  // executions (Call)
}

var helloAddr = types.Address{0xaa}

func newFakeBackend() *fakeBackend {
	b := &fakeBackend{
		receipts: map[types.Hash]*types.Receipt{}, txs: map[types.Hash]*types.Tx{},
		pending: map[types.Hash]*types.Tx{}, accounts: map[types.Address]*state.Account{},
		storage: map[string][]byte{}, subs: map[int]chan<- *rpc.ChainEvent{},
		gate: make(chan struct{}),
	}
	b.accounts[helloAddr] = &state.Account{Balance: new(uint256.Int), CodeHash: crypto.Keccak256Hash([]byte("code"))}
	b.storage[string(helloAddr[:])+"k"] = []byte("v")
	b.commit(nil, nil) // genesis
	return b
}

// commit appends a block holding txs with receipts and notifies subscribers.
func (b *fakeBackend) commit(txs []*types.Tx, receipts []*types.Receipt) *rpc.Block {
	b.mu.Lock()
	h := &types.Header{ChainID: 7, Height: uint64(len(b.blocks)), Time: 1000 + uint64(len(b.blocks))}
	if len(b.blocks) > 0 {
		h.ParentHash = b.blocks[len(b.blocks)-1].Hash
	}
	h.StateRoot = crypto.Keccak256Hash([]byte(fmt.Sprint("root", h.Height)))
	blk := &rpc.Block{Header: h, Hash: h.Hash(), Txs: txs}
	b.blocks = append(b.blocks, blk)
	for i, tx := range txs {
		delete(b.pending, tx.Hash())
		b.txs[tx.Hash()] = tx
		receipts[i].Height, receipts[i].Index, receipts[i].TxHash = h.Height, uint64(i), tx.Hash()
		b.receipts[tx.Hash()] = receipts[i]
	}
	subs := make([]chan<- *rpc.ChainEvent, 0, len(b.subs))
	for _, ch := range b.subs {
		subs = append(subs, ch)
	}
	if b.skipNext {
		b.skipNext, subs = false, nil
	}
	b.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- &rpc.ChainEvent{Block: blk, Receipts: receipts}:
		default:
		}
	}
	return blk
}

func (b *fakeBackend) ChainID() uint64 { return 7 }

func (b *fakeBackend) Head() *types.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.blocks[len(b.blocks)-1].Header
}

func (b *fakeBackend) BlockByNumber(height uint64) (*rpc.Block, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if height >= uint64(len(b.blocks)) {
		return nil, rpc.ErrUnknownBlock
	}
	return b.blocks[height], nil
}

func (b *fakeBackend) BlockByHash(h types.Hash) (*rpc.Block, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, blk := range b.blocks {
		if blk.Hash == h {
			return blk, nil
		}
	}
	return nil, rpc.ErrNotFound
}

func (b *fakeBackend) Account(addr types.Address, height uint64) (*state.Account, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := b.accounts[addr]; ok {
		return a, nil
	}
	return &state.Account{Balance: new(uint256.Int)}, nil
}

func (b *fakeBackend) Code(addr types.Address, height uint64) ([]byte, error) {
	if addr == helloAddr {
		return []byte("code"), nil
	}
	return nil, nil
}

// helloMeta is the fake hello contract's metadata: hello is text, json answers JSON
// (valid or not, by its input), count a u64.
var helloMeta = &metadata.Metadata{Version: 1, Methods: []metadata.Method{
	{Name: "count", Kind: metadata.View, Input: metadata.None, Output: metadata.U64, Doc: "Counts."},
	{Name: "hello", Kind: metadata.View, Input: metadata.Text, Output: metadata.Text, Doc: "Greets."},
	{Name: "json", Kind: metadata.View, Input: metadata.Bytes, Output: metadata.JSON},
}}

func (b *fakeBackend) Contract(ctx context.Context, addr types.Address, height uint64) (*rpc.ContractInfo, error) {
	if addr != helloAddr {
		return nil, nil
	}
	return &rpc.ContractInfo{CodeHash: types.Hash(crypto.Keccak256Hash([]byte("code"))), CodeSize: 4,
		Admin: types.Address{0xad}, DeployHeight: 1, DeployKnown: true, Methods: []string{"count", "hello", "json"},
		Metadata: helloMeta}, nil
}

func (b *fakeBackend) Storage(addr types.Address, key []byte, height uint64) ([]byte, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.storage[string(addr[:])+string(key)]
	return v, ok, nil
}

func (b *fakeBackend) Transaction(h types.Hash) (*types.Tx, *rpc.TxLocation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if tx, ok := b.pending[h]; ok {
		return tx, nil, nil
	}
	if tx, ok := b.txs[h]; ok {
		r := b.receipts[h]
		return tx, &rpc.TxLocation{Height: r.Height, BlockHash: b.blocks[r.Height].Hash, Index: r.Index}, nil
	}
	return nil, nil, rpc.ErrNotFound
}

func (b *fakeBackend) Receipt(h types.Hash) (*types.Receipt, *types.Header, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.receipts[h]
	if !ok {
		return nil, nil, rpc.ErrNotFound
	}
	return r, b.blocks[r.Height].Header, nil
}

func (b *fakeBackend) SendTransaction(ctx context.Context, tx *types.Tx) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.pending[tx.Hash()]; ok {
		return fmt.Errorf("%w: %s", rpc.ErrTxKnown, tx.Hash())
	}
	if tx.Nonce > 100 {
		return fmt.Errorf("%w: nonce %d", rpc.ErrNonceTooHigh, tx.Nonce)
	}
	b.pending[tx.Hash()] = tx
	return nil
}

func (b *fakeBackend) PendingNonce(addr types.Address) (uint64, error) { return 3, nil }
func (b *fakeBackend) GasPrice() *uint256.Int                          { return uint256.NewInt(1) }

func (b *fakeBackend) Call(ctx context.Context, req *rpc.CallRequest, height uint64) (*rpc.CallResult, error) {
	b.calls.Add(1)
	if req.To != helloAddr {
		return nil, &rpc.ExecutionError{Reason: "no contract code at address", NotFound: true}
	}
	b.mu.Lock()
	hdr := b.blocks[height].Header
	b.mu.Unlock()
	switch req.Method {
	case "hello":
		out := append([]byte("hello, "), req.Args...)
		return &rpc.CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot, Output: out, GasUsed: 1000 + uint64(len(req.Args)),
			Events: []types.Event{{Contract: helloAddr, Topic: []byte("hi"), Data: req.Args}}, Logs: []string{"called"},
			Metadata: helloMeta}, nil
	case "count":
		return &rpc.CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot, Output: []byte{0, 0, 0, 0, 0, 0, 0, 7}, Metadata: helloMeta}, nil
	case "json":
		return &rpc.CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot, Output: req.Args, Metadata: helloMeta}, nil
	case "gas":
		return &rpc.CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot, Output: []byte(fmt.Sprint(req.Gas))}, nil
	case "bytes":
		return &rpc.CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot, Output: []byte{0xff, 0, 1}}, nil
	case "fail":
		return nil, &rpc.ExecutionError{Reason: "revert: nope", Output: []byte("nope"), GasUsed: 42}
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "gate":
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &rpc.CallResult{Height: hdr.Height, StateRoot: hdr.StateRoot, Output: []byte("open")}, nil
	}
	return nil, &rpc.ExecutionError{Reason: "method not found", NotFound: true}
}

func (b *fakeBackend) EstimateGas(ctx context.Context, req *rpc.CallRequest, height uint64) (uint64, error) {
	res, err := b.Call(ctx, req, height)
	if err != nil {
		return 0, err
	}
	return res.GasUsed + 100, nil
}

func (b *fakeBackend) SubscribeChain(ch chan<- *rpc.ChainEvent) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextSub
	b.nextSub++
	b.subs[id] = ch
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}
}

func (b *fakeBackend) subCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (b *fakeBackend) NodeInfo() rpc.NodeInfo {
	return rpc.NodeInfo{Name: "fake/1", ChainID: 7, Dev: true, Validator: true}
}
func (b *fakeBackend) Peers() []rpc.PeerInfo { return nil }
func (b *fakeBackend) Health() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.health
}
