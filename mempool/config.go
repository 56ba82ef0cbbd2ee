package mempool

import (
	"time"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
)

// AccountState is what the pool needs to know about accounts. The chain implements it over
// its latest committed state. The pool calls it with and without its own lock held, from
// concurrent Adds: an implementation must be safe for concurrent use and must not call
// back into the pool.
type AccountState interface {
	// Account returns the nonce the account's next transaction must carry and the
	// account's balance (the pool does not modify it). One call per account check: over
	// the chain's state it is one read, where a Nonce and a Balance method were two (5-11 %
	// of a node's CPU under load).
	Account(addr types.Address) (nonce uint64, balance *uint256.Int)
}

// Defaults used by New for the zero fields of a Config.
const (
	DefaultMaxTxs        = 10_000
	DefaultMaxPerAccount = 1_000
	DefaultMaxTxBytes    = types.MaxTxSize
	DefaultMaxBytes      = 64 << 20
	DefaultPriceBump     = 10
	DefaultQueuedTTL     = 600
	// DefaultMaxQueued and DefaultMaxQueuedPerAccount bound the txs waiting behind a nonce
	// gap, which may never pay: a tenth of DefaultMaxTxs in all, 64 per sender (as
	// go-ethereum's txpool: 1,024 global queue, 64 per account).
	DefaultMaxQueued           = 1024
	DefaultMaxQueuedPerAccount = 64
)

// Config bounds the pool. Zero fields take the defaults above (MaxTxGas 0 means no limit,
// a nil MinGasPrice accepts any price, a nil Schedule means gas.Default()).
type Config struct {
	// ChainID of the chain; transactions for any other chain are rejected.
	ChainID uint64
	// MaxTxs bounds the number of transactions in the pool.
	MaxTxs int
	// MaxBytes bounds the sum of the encoded sizes of the transactions in the pool.
	MaxBytes int
	// MaxPerAccount bounds the transactions of one sender: a nonce must be below the
	// account nonce + MaxPerAccount. A load generator sending thousands of transactions
	// from one account needs a large value.
	MaxPerAccount int
	// MaxTxBytes bounds the encoded size of one transaction.
	MaxTxBytes int
	// MaxTxGas bounds the gas limit of one transaction; set it to the block gas limit,
	// since a transaction that cannot fit a block would stay in the pool forever.
	MaxTxGas uint64
	// MinGasPrice is the lowest gas price accepted.
	MinGasPrice *uint256.Int
	// PriceBump is the percentage by which a replacement must raise the gas price.
	PriceBump uint64
	// MaxQueued bounds the transactions waiting behind a nonce gap (queued), in all; a new
	// queued tx past it is refused (ErrQueueFull). An executable tx evicts queued ones
	// before any executable one, whatever their price.
	MaxQueued int
	// MaxQueuedPerAccount bounds the queued transactions of one sender (ErrQueueFull).
	MaxQueuedPerAccount int
	// QueuedTTL is the number of blocks a transaction may wait behind a nonce gap before
	// Update drops it.
	QueuedTTL uint64
	// Schedule prices the intrinsic gas every transaction must cover.
	Schedule *gas.Schedule
	// Now is the wall clock of Stale (nil: time.Now); the pool's own rules count blocks.
	Now func() time.Time
}

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	if c.MaxTxs <= 0 {
		c.MaxTxs = DefaultMaxTxs
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxPerAccount <= 0 {
		c.MaxPerAccount = DefaultMaxPerAccount
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = DefaultMaxQueued
	}
	if c.MaxQueuedPerAccount <= 0 {
		c.MaxQueuedPerAccount = DefaultMaxQueuedPerAccount
	}
	if c.MaxTxBytes <= 0 {
		c.MaxTxBytes = DefaultMaxTxBytes
	}
	if c.MinGasPrice == nil {
		c.MinGasPrice = new(uint256.Int)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PriceBump == 0 {
		c.PriceBump = DefaultPriceBump
	}
	if c.QueuedTTL == 0 {
		c.QueuedTTL = DefaultQueuedTTL
	}
	if c.Schedule == nil {
		c.Schedule = gas.Default()
	}
	return c
}
