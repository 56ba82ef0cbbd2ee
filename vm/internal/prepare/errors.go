package prepare

import "fmt"

// Rule names the rule a rejected module broke. Callers branch on it (errors.As to *Error);
// package vm re-exports Error, Rule and the rules (vm.CodeError, vm.CodeRule, vm.Rule*)
// for callers outside the VM, who cannot import this package.
type Rule string

// The rules Prepare enforces.
const (
	RuleGzip           Rule = "gzip"            // compressed code is not valid gzip
	RuleCompressedSize Rule = "compressed size" // MaxCompressedSize
	RuleCodeSize       Rule = "code size"       // MaxCodeSize
	RuleMalformed      Rule = "malformed"       // not a well-formed binary module
	RuleFeature        Rule = "feature"         // a WebAssembly feature wnode refuses
	RuleInvalid        Rule = "invalid"         // breaks WebAssembly validation (types, indices)
	RuleImport         Rule = "import"          // not an ABI v1 host function with its signature
	RuleExport         Rule = "export"          // memory export, method types, names
	RuleStart          Rule = "start"           // a start function
	RuleTypes          Rule = "types"           // MaxTypes, MaxParams, MaxResults
	RuleFunctions      Rule = "functions"       // MaxFunctions, MaxImports
	RuleExports        Rule = "exports"         // MaxExports, MaxNameLength
	RuleLocals         Rule = "locals"          // MaxLocals
	RuleGlobals        Rule = "globals"         // MaxGlobals
	RuleTable          Rule = "table"           // one table, MaxTableSize, MaxElemSegments, segment bounds
	RuleMemory         Rule = "memory"          // one memory, MaxMemoryPages, data segment bounds
	RuleData           Rule = "data"            // MaxDataSegments, MaxDataSize
	RuleFunctionSize   Rule = "function size"   // MaxFunctionSize
	RuleNesting        Rule = "nesting"         // MaxNesting
	RuleBlocks         Rule = "blocks"          // MaxBlocks
	RuleBrTable        Rule = "br_table"        // MaxBrTableTargets
	RuleStack          Rule = "stack"           // a frame larger than MaxStackHeight
	RuleMetadata       Rule = "metadata"        // a malformed wnode.meta section, or one describing a method not exported
)

// Error is a module Prepare refuses: the rule, where in the module, and what was wrong.
// Its text reads like "wasm: function 12: local count 70000 exceeds limit 2048".
type Error struct {
	Rule  Rule
	Where string // "module", "function 12", "import 3 (wnode.foo)", "data segment 2", ...
	Msg   string
	Err   error // the decoder's error for RuleMalformed and some RuleFeature errors
}

// Error returns "wasm: <where>: <msg>".
func (e *Error) Error() string { return "wasm: " + e.Where + ": " + e.Msg }

// Unwrap returns the underlying decoder error, if any.
func (e *Error) Unwrap() error { return e.Err }

func errorf(rule Rule, where, format string, args ...any) *Error {
	return &Error{Rule: rule, Where: where, Msg: fmt.Sprintf(format, args...)}
}
