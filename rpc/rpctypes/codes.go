package rpctypes

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
	CodeBusy             = -32005 // admission control refused an execution, or a subscription cap is reached: retry after data.retryAfter seconds

	CodeTxInvalid         = -32010 // malformed tx, bad signature, wrong chain id, bad fields
	CodeNonceTooLow       = -32011 // the sender's nonce is already past the tx's nonce
	CodeNonceTooHigh      = -32012 // the tx's nonce is too far ahead of the sender's nonce
	CodeInsufficientFunds = -32013 // balance below value + gasLimit × gasPrice
	CodeTxKnown           = -32014 // the tx is already pending or included
	CodeTxPoolFull        = -32015 // the mempool is full, or the tx is underpriced
	CodeGasLimit          = -32016 // gas limit below the intrinsic gas, or above the block limit

	CodeExecutionFailed = -32020 // a call or gas estimate reverted, trapped or ran out of gas
)
