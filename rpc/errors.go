package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Error is a JSON-RPC error with a stable code, a clear message and optional data. The
// go-ethereum server sends Code as the error's code and Data as its data field.
type Error struct {
	Code    int
	Message string
	Data    any
}

func (e *Error) Error() string { return e.Message }

// ErrorCode returns the JSON-RPC error code.
func (e *Error) ErrorCode() int { return e.Code }

// ErrorData returns the error's data field (nil: none).
func (e *Error) ErrorData() any { return e.Data }

func newError(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinel errors a Backend wraps so that the server answers with the right code. A
// backend may also return an *Error directly.
var (
	ErrUnknownBlock      = errors.New("unknown block")
	ErrNotReady          = errors.New("node not ready")
	ErrTxInvalid         = errors.New("invalid transaction")
	ErrNonceTooLow       = errors.New("nonce too low")
	ErrNonceTooHigh      = errors.New("nonce too high")
	ErrInsufficientFunds = errors.New("insufficient funds")
	ErrTxKnown           = errors.New("transaction already known")
	ErrTxPoolFull        = errors.New("transaction pool full or tx underpriced")
	ErrGasLimit          = errors.New("bad gas limit")
	ErrExecution         = errors.New("execution failed")
	ErrNotFound          = errors.New("not found")
)

var sentinelCodes = []struct {
	err  error
	code int
}{
	{ErrUnknownBlock, rpctypes.CodeUnknownBlock},
	{ErrNotReady, rpctypes.CodeNotReady},
	{ErrTxInvalid, rpctypes.CodeTxInvalid},
	{ErrNonceTooLow, rpctypes.CodeNonceTooLow},
	{ErrNonceTooHigh, rpctypes.CodeNonceTooHigh},
	{ErrInsufficientFunds, rpctypes.CodeInsufficientFunds},
	{ErrTxKnown, rpctypes.CodeTxKnown},
	{ErrTxPoolFull, rpctypes.CodeTxPoolFull},
	{ErrGasLimit, rpctypes.CodeGasLimit},
	{ErrExecution, rpctypes.CodeExecutionFailed},
	{context.DeadlineExceeded, rpctypes.CodeTimeout},

	{types.ErrTxTooLarge, rpctypes.CodeTxInvalid},
	{types.ErrInvalidSig, rpctypes.CodeTxInvalid},
	{types.ErrInvalidKind, rpctypes.CodeTxInvalid},
	{types.ErrInvalidTxField, rpctypes.CodeTxInvalid},
	{types.ErrWrongChainID, rpctypes.CodeTxInvalid},
	{mempool.ErrOversized, rpctypes.CodeTxInvalid},
	{mempool.ErrAlreadyKnown, rpctypes.CodeTxKnown},
	{mempool.ErrNonceTooLow, rpctypes.CodeNonceTooLow},
	{mempool.ErrTooManyForAccount, rpctypes.CodeNonceTooHigh},
	{mempool.ErrInsufficientFunds, rpctypes.CodeInsufficientFunds},
	{mempool.ErrUnderpriced, rpctypes.CodeTxPoolFull},
	{mempool.ErrReplaceUnderpriced, rpctypes.CodeTxPoolFull},
	{mempool.ErrPoolFull, rpctypes.CodeTxPoolFull},
	{mempool.ErrQueueFull, rpctypes.CodeTxPoolFull},
	{mempool.ErrGasLimit, rpctypes.CodeGasLimit},
	{mempool.ErrIntrinsicGas, rpctypes.CodeGasLimit},
}

// toRPCError turns a backend error into a JSON-RPC error with a stable code. Errors the
// backend did not classify are server errors carrying the backend's message.
func toRPCError(err error) error {
	if err == nil {
		return nil
	}
	var re *Error
	if errors.As(err, &re) {
		return re
	}
	var be *BusyError
	if errors.As(err, &be) {
		return be.rpcError()
	}
	var ee *ExecutionError
	if errors.As(err, &ee) {
		return &Error{Code: rpctypes.CodeExecutionFailed, Message: ee.Error(), Data: map[string]any{
			"reason": ee.Reason, "output": hexutil.Bytes(nonNil(ee.Output)), "gasUsed": hexutil.Uint64(ee.GasUsed),
			"notFound": ee.NotFound,
		}}
	}
	for _, s := range sentinelCodes {
		if errors.Is(err, s.err) {
			return &Error{Code: s.code, Message: err.Error()}
		}
	}
	return &Error{Code: rpctypes.CodeServer, Message: err.Error()}
}

// ExecutionError is returned by Backend.Call and Backend.EstimateGas when the contract
// reverted, trapped or ran out of gas. It wraps ErrExecution; the server sends it as
// rpctypes.CodeExecutionFailed with Output and GasUsed as data.
type ExecutionError struct {
	Reason   string // the revert message or trap description
	Output   []byte // revert data, if any
	GasUsed  uint64
	NotFound bool // the address holds no contract, or the contract no such method
}

func (e *ExecutionError) Error() string { return "execution failed: " + e.Reason }

// Unwrap makes errors.Is(err, ErrExecution) true.
func (e *ExecutionError) Unwrap() error { return ErrExecution }
