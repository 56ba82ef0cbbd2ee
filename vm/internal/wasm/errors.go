package wasm

import "fmt"

// DecodeError is a malformed binary: what was wrong, where (byte offset in the input and
// the section or function being decoded).
type DecodeError struct {
	Offset  int    // byte offset in the input
	Context string // e.g. "code section: function 12"; empty at the top level
	Msg     string
}

// Error returns "wasm: decode: <context>: offset 0x..: <msg>".
func (e *DecodeError) Error() string {
	if e.Context == "" {
		return fmt.Sprintf("wasm: decode: offset 0x%x: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("wasm: decode: %s: offset 0x%x: %s", e.Context, e.Offset, e.Msg)
}

// UnsupportedError is a well-formed use of a WebAssembly feature wnode does not accept
// (SIMD, threads, exception handling, ...).
type UnsupportedError struct {
	Offset  int
	Context string
	Feature string // e.g. "SIMD", "threads", "multi-memory"
	What    string // the construct, e.g. "opcode 0xfd"
}

// Error returns "wasm: <context>: offset 0x..: <feature> not allowed: <what>".
func (e *UnsupportedError) Error() string {
	if e.Context == "" {
		return fmt.Sprintf("wasm: offset 0x%x: %s not allowed: %s", e.Offset, e.Feature, e.What)
	}
	return fmt.Sprintf("wasm: %s: offset 0x%x: %s not allowed: %s", e.Context, e.Offset, e.Feature, e.What)
}

// Features the decoder refuses, as named in UnsupportedError.Feature.
const (
	FeatureSIMD          = "SIMD"
	FeatureThreads       = "threads"
	FeatureExceptions    = "exception handling"
	FeatureTailCalls     = "tail calls"
	FeatureFuncRefs      = "typed function references"
	FeatureGC            = "GC"
	FeatureRefTypes      = "reference types"
	FeatureTables        = "table instructions"
	FeatureMultiMemory   = "multi-memory"
	FeatureMemory64      = "memory64"
	FeatureExtendedConst = "extended constant expressions"
	FeaturePageSizes     = "custom page sizes"
)
