package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wnode/wnode/vm/internal/prepare"
)

// Errors a caller of Call branches on. Result.Err is one of them (possibly wrapped with a
// deterministic detail) or a *RevertError; or, for failures of the node rather than of the
// execution, ErrCanceled or ErrInternal. Every other error text is a pure function of
// the execution, the same on every engine and CPU: it is consensus data (receipts).
var (
	// ErrOutOfGas: the call used all its gas. GasUsed is the whole gas limit.
	ErrOutOfGas = errors.New("out of gas")
	// ErrStackOverflow: the contract exceeded the deterministic stack-height limit the
	// instrumenter inserts.
	ErrStackOverflow = errors.New("stack overflow")
	// ErrTrap: the contract trapped (unreachable, division by zero, out-of-bounds memory,
	// a bad pointer given to a host function, a host limit exceeded, ...). The wrapped
	// detail names the kind, e.g. "trap: integer divide by zero".
	ErrTrap = errors.New("trap")
	// ErrMethodNotFound: the contract exports no method of that name.
	ErrMethodNotFound = errors.New("method not found")
	// ErrNoCode: the called address holds no contract.
	ErrNoCode = errors.New("no contract code at address")
	// ErrInsufficientBalance: the caller cannot pay the call's value.
	ErrInsufficientBalance = errors.New("insufficient balance")
	// ErrInvalidCode: Prepare rejected the code; the wrapped *CodeError names the rule
	// broken.
	ErrInvalidCode = errors.New("invalid code")
	// ErrCanceled: the context was canceled or timed out during execution. Unlike every
	// other error it is not a property of the execution but of this node: a block executor
	// must not record it in a receipt but abandon the block.
	ErrCanceled = errors.New("execution canceled")
	// ErrInternal: the node could not run the call or prepare the code (code that
	// prepare accepted failed to compile, e.g. for an I/O error of the on-disk cache, or
	// to instantiate, for lack of memory for instance). Like ErrCanceled it says nothing
	// about the execution: do not record it in a receipt.
	ErrInternal = errors.New("vm internal error")
)

// CodeError is the error under ErrInvalidCode when Prepare refuses code: the rule the
// module broke (Rule, one of the Rule constants), where in the module, and what was
// wrong. Its text reads like "wasm: function 12: local count 70000 exceeds limit 2048".
// Branch on it with errors.As:
//
//	var ce *vm.CodeError
//	if errors.As(err, &ce) && ce.Rule == vm.RuleCodeSize { ... }
type CodeError = prepare.Error

// CodeRule names a rule of code validation (CodeError.Rule).
type CodeRule = prepare.Rule

// The rules Prepare enforces; vm/internal/prepare's limits give their figures.
const (
	RuleGzip           = prepare.RuleGzip           // compressed code is not valid gzip
	RuleCompressedSize = prepare.RuleCompressedSize // compressed code too large
	RuleCodeSize       = prepare.RuleCodeSize       // uncompressed code too large
	RuleMalformed      = prepare.RuleMalformed      // not a well-formed binary module
	RuleFeature        = prepare.RuleFeature        // a WebAssembly feature wnode refuses
	RuleInvalid        = prepare.RuleInvalid        // breaks WebAssembly validation
	RuleImport         = prepare.RuleImport         // not an ABI v1 host function with its signature
	RuleExport         = prepare.RuleExport         // memory export, method types, names
	RuleStart          = prepare.RuleStart          // a start function
	RuleTypes          = prepare.RuleTypes          // too many types, params or results
	RuleFunctions      = prepare.RuleFunctions      // too many functions or imports
	RuleExports        = prepare.RuleExports        // too many exports, names too long
	RuleLocals         = prepare.RuleLocals         // too many locals
	RuleGlobals        = prepare.RuleGlobals        // too many globals
	RuleTable          = prepare.RuleTable          // table count, size, element segments
	RuleMemory         = prepare.RuleMemory         // memory count, pages, data segment bounds
	RuleData           = prepare.RuleData           // data segment count and size
	RuleFunctionSize   = prepare.RuleFunctionSize   // a function body too large
	RuleNesting        = prepare.RuleNesting        // blocks nested too deep
	RuleBlocks         = prepare.RuleBlocks         // too many control instructions
	RuleBrTable        = prepare.RuleBrTable        // a br_table with too many targets
	RuleStack          = prepare.RuleStack          // a frame larger than the stack limit
)

// RevertError is the error of a call whose contract called revert(msg). All changes of
// the call are undone. Match it with errors.As.
type RevertError struct {
	Msg string
}

// Error returns "revert: " followed by the message.
func (e *RevertError) Error() string { return "revert: " + e.Msg }

// trap builds the error of a trap of the given kind: "trap: <kind>".
func trap(kind string) error { return &trapError{kind: kind} }

type trapError struct{ kind string }

func (e *trapError) Error() string        { return "trap: " + e.kind }
func (e *trapError) Is(target error) bool { return target == ErrTrap }

// Traps raised by host functions. They are panicked inside host functions and recovered
// by wazero as call errors, then mapped back by classify.
var (
	errHostOOB     = trap("out of bounds memory access")
	errHostOOG     = ErrOutOfGas
	errUnreachable = trap("unreachable")
)

// wasmTraps are wazero's runtime trap messages (identical across its engines) mapped to
// our fixed texts, so that no engine-specific wording can ever reach a receipt.
var wasmTraps = map[string]error{
	"unreachable":                   errUnreachable,
	"integer divide by zero":        trap("integer divide by zero"),
	"integer overflow":              trap("integer overflow"),
	"invalid conversion to integer": trap("invalid conversion to integer"),
	"out of bounds memory access":   errHostOOB,
	"invalid table access":          trap("invalid table access"),
	"indirect call type mismatch":   trap("indirect call type mismatch"),
	// wazero's own stack guard: the instrumenter's limit is far below it, so this only
	// fires if that limit is wrong; it is still reported deterministically.
	"stack overflow": ErrStackOverflow,
}

// classify maps an error returned by a wazero call to the VM's deterministic error.
// trapGlobal is the value of __wnode_trap after the call; outOfGas reports a negative
// __wnode_gas, which only a failed gas charge leaves (it then traps).
func classify(ctx context.Context, err error, trapGlobal uint64, outOfGas bool) error {
	if outOfGas {
		return ErrOutOfGas
	}
	switch trapGlobal {
	case prepare.TrapOutOfGas:
		return ErrOutOfGas
	case prepare.TrapStackOverflow:
		return ErrStackOverflow
	}
	var rev *RevertError
	var te *trapError
	var exit *sys.ExitError
	var ne *nodeError
	switch {
	case errors.As(err, &ne):
		return ne.err
	case errors.As(err, &rev):
		return rev
	case errors.Is(err, ErrOutOfGas):
		return ErrOutOfGas
	case errors.Is(err, ErrStackOverflow):
		return ErrStackOverflow
	case errors.As(err, &te):
		return te
	case errors.As(err, &exit):
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
		}
		// No import lets a contract exit; an exit error without a canceled context is a
		// module closed under it.
		return ErrCanceled
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "wasm error: "); ok {
		kind, _, _ := strings.Cut(rest, "\n")
		if e, ok := wasmTraps[kind]; ok {
			return e
		}
	}
	// Everything a contract can cause is matched above; anything else (a Go panic in a
	// host function or a StateDB, a trap of a disabled feature) is the node's failure and
	// must not become a receipt that could differ between nodes.
	first, _, _ := strings.Cut(msg, "\n")
	return fmt.Errorf("%w: %s", ErrInternal, first)
}

// nodeError carries a node-local failure (ErrCanceled, ErrInternal) out of a host
// function: it aborts the whole call instead of becoming a callee's result code.
type nodeError struct{ err error }

func (e *nodeError) Error() string { return e.err.Error() }
func (e *nodeError) Unwrap() error { return e.err }

// Result codes of the call host function, returned to the calling contract.
const (
	callOK           = 0
	callRevert       = 1
	callTrap         = 2
	callOutOfGas     = 3
	callStack        = 4 // stack-height limit in the callee, or call depth exceeded
	callNotFound     = 5 // no code at the address, or no such method
	callInsufficient = 6 // the caller cannot pay the value
)

// callCode returns the call host function's result code for a callee's error.
func callCode(err error) int32 {
	var rev *RevertError
	switch {
	case err == nil:
		return callOK
	case errors.As(err, &rev):
		return callRevert
	case errors.Is(err, ErrOutOfGas):
		return callOutOfGas
	case errors.Is(err, ErrStackOverflow):
		return callStack
	case errors.Is(err, ErrNoCode), errors.Is(err, ErrMethodNotFound):
		return callNotFound
	case errors.Is(err, ErrInsufficientBalance):
		return callInsufficient
	}
	return callTrap
}
