package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/types"
)

// Error codes of wnode's JSON-RPC errors. They are stable: clients branch on them.
// The -327xx and -32600..-32603 codes are JSON-RPC 2.0's; -32002 and -32003 are
// go-ethereum's server codes; the rest are wnode's. docs/rpc.md lists them all.
const (
	CodeParseError     = -32700 // the body is not JSON
	CodeInvalidRequest = -32600 // not a JSON-RPC request, empty batch, batch too large
	CodeMethodNotFound = -32601 // unknown method or subscription name
	CodeInvalidParams  = -32602 // wrong number, type or format of params
	CodeInternal       = -32603 // a bug or an I/O failure in the node

	CodeServer           = -32000 // any other server-side failure
	CodeUnknownBlock     = -32001 // block number above the head, or state no longer kept
	CodeTimeout          = -32002 // the request ran longer than the per-request timeout
	CodeResponseTooLarge = -32003 // a batch answer exceeded the response size limit
	CodeNotReady         = -32004 // the node is starting or shutting down

	CodeTxInvalid         = -32010 // malformed tx, bad signature, wrong chain id, bad fields
	CodeNonceTooLow       = -32011 // the sender's nonce is already past the tx's nonce
	CodeNonceTooHigh      = -32012 // the tx's nonce is too far ahead of the sender's nonce
	CodeInsufficientFunds = -32013 // balance below value + gasLimit × gasPrice
	CodeTxKnown           = -32014 // the tx is already pending or included
	CodeTxPoolFull        = -32015 // the mempool is full, or the tx is underpriced
	CodeGasLimit          = -32016 // gas limit below the intrinsic gas, or above the block limit

	CodeExecutionFailed = -32020 // a call or gas estimate reverted, trapped or ran out of gas
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
	{ErrUnknownBlock, CodeUnknownBlock},
	{ErrNotReady, CodeNotReady},
	{ErrTxInvalid, CodeTxInvalid},
	{ErrNonceTooLow, CodeNonceTooLow},
	{ErrNonceTooHigh, CodeNonceTooHigh},
	{ErrInsufficientFunds, CodeInsufficientFunds},
	{ErrTxKnown, CodeTxKnown},
	{ErrTxPoolFull, CodeTxPoolFull},
	{ErrGasLimit, CodeGasLimit},
	{ErrExecution, CodeExecutionFailed},
	{context.DeadlineExceeded, CodeTimeout},

	{types.ErrTxTooLarge, CodeTxInvalid},
	{types.ErrInvalidSig, CodeTxInvalid},
	{types.ErrInvalidKind, CodeTxInvalid},
	{types.ErrInvalidTxField, CodeTxInvalid},
	{types.ErrWrongChainID, CodeTxInvalid},
	{mempool.ErrOversized, CodeTxInvalid},
	{mempool.ErrAlreadyKnown, CodeTxKnown},
	{mempool.ErrNonceTooLow, CodeNonceTooLow},
	{mempool.ErrTooManyForAccount, CodeNonceTooHigh},
	{mempool.ErrInsufficientFunds, CodeInsufficientFunds},
	{mempool.ErrUnderpriced, CodeTxPoolFull},
	{mempool.ErrReplaceUnderpriced, CodeTxPoolFull},
	{mempool.ErrPoolFull, CodeTxPoolFull},
	{mempool.ErrGasLimit, CodeGasLimit},
	{mempool.ErrIntrinsicGas, CodeGasLimit},
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
	var ee *ExecutionError
	if errors.As(err, &ee) {
		return &Error{Code: CodeExecutionFailed, Message: ee.Error(), Data: map[string]any{
			"reason": ee.Reason, "output": hexutil.Bytes(nonNil(ee.Output)), "gasUsed": hexutil.Uint64(ee.GasUsed),
			"notFound": ee.NotFound,
		}}
	}
	for _, s := range sentinelCodes {
		if errors.Is(err, s.err) {
			return &Error{Code: s.code, Message: err.Error()}
		}
	}
	return &Error{Code: CodeServer, Message: err.Error()}
}

// ExecutionError is returned by Backend.Call and Backend.EstimateGas when the contract
// reverted, trapped or ran out of gas. It wraps ErrExecution; the server sends it as
// CodeExecutionFailed with Output and GasUsed as data.
type ExecutionError struct {
	Reason   string // the revert message or trap description
	Output   []byte // revert data, if any
	GasUsed  uint64
	NotFound bool // the address holds no contract, or the contract no such method
}

func (e *ExecutionError) Error() string { return "execution failed: " + e.Reason }

// Unwrap makes errors.Is(err, ErrExecution) true.
func (e *ExecutionError) Unwrap() error { return ErrExecution }
