package rpc

import (
	"context"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// Backend is what the RPC server needs of a node: the chain's read methods, the mempool,
// read-only execution, a feed of committed blocks and facts about the node. The node
// package implements it over chain, mempool and p2p; tests may implement it directly.
//
// Heights passed in are at most Head().Height (the server resolves block tags first).
// Every method must be safe for concurrent use. Errors that a client should be able to
// branch on wrap the sentinel errors of this package (ErrUnknownBlock, ErrNotFound, ...),
// of package mempool or package types, or are an *ExecutionError or an *Error; anything
// else is answered as a generic server error.
type Backend interface {
	// ChainID is the chain's id, from genesis.
	ChainID() uint64
	// Head is the header of the latest committed block (the genesis header at height 0).
	Head() *types.Header

	// BlockByNumber returns the block at height with its transactions, or an error
	// wrapping ErrUnknownBlock when there is none.
	BlockByNumber(height uint64) (*Block, error)
	// BlockByHash returns the block with hash h, or an error wrapping ErrNotFound.
	BlockByHash(h types.Hash) (*Block, error)

	// Account returns addr's account in the state after block height (an empty account,
	// not an error, when addr was never used), or ErrUnknownBlock when that state is no
	// longer kept.
	Account(addr types.Address, height uint64) (*state.Account, error)
	// Code returns the original code of the contract at addr (nil when none).
	Code(addr types.Address, height uint64) ([]byte, error)
	// Storage returns the value under key in the contract's storage and whether it exists.
	Storage(addr types.Address, key []byte, height uint64) ([]byte, bool, error)
	// Contract describes the contract at addr (nil, nil when there is none): code hash and
	// size, admin, deploy height, methods and metadata. It validates the code (no
	// compilation) when the VM's cache does not hold it.
	Contract(ctx context.Context, addr types.Address, height uint64) (*ContractInfo, error)

	// Transaction returns an included or pending transaction. loc is nil for a pending
	// one. An unknown hash is an error wrapping ErrNotFound.
	Transaction(h types.Hash) (tx *types.Tx, loc *TxLocation, err error)
	// Receipt returns the receipt of an included transaction and the header of its block,
	// or an error wrapping ErrNotFound.
	Receipt(h types.Hash) (*types.Receipt, *types.Header, error)

	// SendTransaction validates tx and adds it to the mempool (and gossips it).
	SendTransaction(ctx context.Context, tx *types.Tx) error
	// PendingNonce is the nonce the sender's next transaction should use, counting the
	// sender's pending transactions.
	PendingNonce(addr types.Address) (uint64, error)
	// GasPrice is the lowest gas price the mempool accepts.
	GasPrice() *uint256.Int

	// Call runs a read-only method call on the state after block height and discards its
	// changes. req.Gas is already capped by the server. A reverted, trapped or out-of-gas
	// call returns an *ExecutionError.
	Call(ctx context.Context, req *CallRequest, height uint64) (*CallResult, error)
	// EstimateGas returns the gas limit with which req, sent as a transaction by req.From,
	// succeeds: a deploy (Code, no To), an upgrade (Code and To), an invoke (Method) or a
	// transfer. A request that fails even with the cap returns an *ExecutionError.
	EstimateGas(ctx context.Context, req *CallRequest, height uint64) (uint64, error)

	// SubscribeChain delivers every block committed from now on to ch, in height order,
	// without ever blocking the chain: a subscriber whose channel is full misses blocks
	// (counted in metrics). unsubscribe stops delivery; it is idempotent.
	SubscribeChain(ch chan<- *ChainEvent) (unsubscribe func())

	// NodeInfo describes the node.
	NodeInfo() NodeInfo
	// Peers lists the connected peers (none for a single node).
	Peers() []PeerInfo
	// Health returns nil when the node serves requests, or why it does not.
	Health() error
}

// Block is a block as the RPC serves it: its header, hash and transactions.
type Block struct {
	Header *types.Header
	Hash   types.Hash
	Txs    []*types.Tx
}

// TxLocation says where an included transaction is.
type TxLocation struct {
	Height    uint64
	BlockHash types.Hash
	Index     uint64
}

// CallRequest is a read-only call.
type CallRequest struct {
	From   types.Address // zero: no sender
	To     types.Address
	Method string
	Args   []byte
	Value  *uint256.Int // nil: zero
	Gas    uint64       // gas limit, capped by the server; for EstimateGas 0 means no limit of the caller's
	// Code is the code of a deploy (To zero) or an upgrade (To set), for EstimateGas
	// only; a Call never has it.
	Code []byte
}

// CallResult is the answer of a successful call.
type CallResult struct {
	Height    uint64     // the state the call ran on: after this block
	StateRoot types.Hash // that block's state root
	Output    []byte
	GasUsed   uint64
	Events    []types.Event
	Logs      []string           // debug lines the contract wrote with log
	Metadata  *metadata.Metadata // the called contract's metadata section; nil when none
}

// ContractInfo describes a deployed contract (Backend.Contract).
type ContractInfo struct {
	CodeHash     types.Hash
	CodeSize     int
	Admin        types.Address
	DeployHeight uint64
	DeployKnown  bool // false when the block store has no record of the deploy
	Methods      []string
	Metadata     *metadata.Metadata
}

// ValidatorBackend is what a Backend that serves wn_getValidatorProposals adds.
type ValidatorBackend interface {
	// ValidatorProposals returns the open validator set change proposals at the head
	// with an id above after, in id order, at most max of them, with their voters'
	// power in the set of the next height.
	ValidatorProposals(after uint64, max int) ([]rpctypes.ValidatorProposalJSON, error)
	// Validators returns the validator set of height (wn_getValidators of the genesis
	// height, which has no certificate).
	Validators(height uint64) (*types.ValidatorSet, error)
}

// ChainEvent is a committed block with its receipts.
type ChainEvent struct {
	Block    *Block
	Receipts []*types.Receipt
}

// NodeInfo describes a node for wn_nodeInfo and /health.
type NodeInfo struct {
	Name        string // software name and version
	ChainID     uint64 //
	GenesisHash types.Hash
	Dev         bool     // a single-validator development chain
	Validator   bool     // the node votes
	PeerID      string   // libp2p peer id; empty without p2p
	ListenAddrs []string // p2p multiaddrs
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
}
