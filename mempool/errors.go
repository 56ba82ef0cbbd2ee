package mempool

import "errors"

// Errors returned by Pool.Add. Each one is wrapped with the figures that caused it; test
// with errors.Is. Malformed or wrongly signed transactions fail with the errors of package
// types (types.ErrWrongChainID, types.ErrInvalidSig, types.ErrInvalidTxField, ...).
var (
	// ErrAlreadyKnown: a transaction with the same hash is already in the pool.
	ErrAlreadyKnown = errors.New("already known")
	// ErrNonceTooLow: the nonce is below the sender's account nonce (already used).
	ErrNonceTooLow = errors.New("nonce too low")
	// ErrTooManyForAccount: the nonce is MaxPerAccount or more ahead of the sender's
	// account nonce, so the sender would hold more than MaxPerAccount transactions.
	ErrTooManyForAccount = errors.New("too many transactions for account")
	// ErrInsufficientFunds: the sender's balance does not cover value + gasLimit*gasPrice
	// of this transaction together with every other transaction of the sender in the pool.
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrUnderpriced: the gas price is below the pool's minimum.
	ErrUnderpriced = errors.New("gas price below minimum")
	// ErrReplaceUnderpriced: a transaction with the same sender and nonce is in the pool and
	// the new one does not raise the gas price by at least PriceBump percent.
	ErrReplaceUnderpriced = errors.New("replacement gas price too low")
	// ErrQueueFull: the transaction would wait behind a nonce gap and the sender already
	// has MaxQueuedPerAccount such transactions, or the pool MaxQueued.
	ErrQueueFull = errors.New("too many transactions waiting behind a nonce gap")
	// ErrPoolFull: the pool is full and holds no cheaper transaction it may evict.
	ErrPoolFull = errors.New("mempool full")
	// ErrGasLimit: the gas limit exceeds the most a transaction may use (the block gas limit).
	ErrGasLimit = errors.New("gas limit too high")
	// ErrIntrinsicGas: the gas limit does not even cover the transaction's intrinsic gas.
	ErrIntrinsicGas = errors.New("gas limit below intrinsic gas")
	// ErrOversized: the encoded transaction is larger than MaxTxBytes.
	ErrOversized = errors.New("transaction too large")
)
