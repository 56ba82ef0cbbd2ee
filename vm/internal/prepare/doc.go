// Package prepare is wnode's deploy pipeline for contract code: it takes the bytes of a
// deploy or upgrade (raw Wasm or gzip of it), validates them against contract ABI v1 and
// wnode's limits, and instruments them for deterministic execution on wazero. Prepare is
// the one entry point; its output depends only on (code, schedule, limits).
//
// # Validation
//
// Accepted features: WebAssembly 1.0 plus sign-extension, mutable globals, non-trapping
// float-to-int, bulk memory (memory.copy, memory.fill, memory.init, data.drop), multi-value
// and the reference-types encodings compilers emit by default (typed select, LEB table
// index in call_indirect). Refused: SIMD, threads, reference types proper (table.*, ref.*,
// passive/declarative element segments, several tables), multi-memory, memory64, exception
// handling, tail calls, GC, extended constants, a start function, any import that is not
// an ABI v1 host function of module "wnode" with its exact signature (HostFuncs),
// imported memories/tables/globals, exports named with the ReservedPrefix, exported
// methods whose type is not () -> (), a missing "memory" export, and anything over
// Limits. Function bodies are fully type-checked. Every rejection is an *Error whose Rule
// names the rule and whose text names the place.
//
// # Instrumentation
//
// In this order:
//
//  1. Gas. Every metering block charges the summed static price of its instructions
//     (gas.Schedule.Instr, in milligas, rounded up to whole gas per block: gas.CeilGas)
//     before anything leaves its straight prefix (the instructions up to its first
//     control instruction other than block, call, or memory.grow/copy/fill/init): at
//     function entry for the entry block, elsewhere right after the prefix's first load
//     or store (at the block's start when it has none; see placeAt). Each function keeps the gas remaining in a local of its own, read
//     from the exported mutable i64 global GasGlobal on entry and after every call, and
//     written back before every call and on every exit; a charge is gl -= c, with no
//     memory access. The gas runs out only at a check: at function entry, branchless
//     (the global written, then drop(i32.load8_u(i32(gl >> 63))), which loads out of
//     bounds at address 2^32-1 when the gas went below zero; modules whose memory has no
//     first page or may reach 4 GiB divide by 1 + i32(gl >> 63) instead); at every loop
//     head (the first 64 of a function: if gl >= 0 {} else { global = gl; unreachable },
//     the trap in the else arm, which wazero's compiler lays out after the loop; later
//     ones branchless like the entry); and in the runtime after a method returns. So a
//     trap of a Wasm instruction may leave the global behind the gas actually charged:
//     the runtime then charges the whole gas limit (see "Runtime conventions").
//     Metering blocks start at function entry and
//     after loop, if, else and end; code after br, br_table, return and unreachable is
//     dead until the next else or end and is not charged; the fall-through of br_if stays
//     in the block of the br_if (a taken br_if has paid for the rest of its block); the
//     code after the end of a block reached only by one br_if is paid in advance by the
//     br_if's block (see charges).
//     memory.grow (per page it will add: the delta, or 0 when the delta exceeds the
//     memory's maximum minus memory.size and the grow will return -1) and memory.copy,
//     memory.fill, memory.init (per byte of the length) also charge dynamically, from
//     the operand, just before the instruction, through one added function.
//  2. Stack. Every defined function adds its frame cost (FrameOverhead + params + locals +
//     maximum operand stack height) to the exported mutable i32 global StackGlobal on entry
//     and traps with TrapStackOverflow when the sum exceeds Limits.MaxStackHeight; the
//     body is wrapped in a block and every return becomes a branch to it, so the cost is
//     subtracted again on every exit. Direct and indirect calls are covered alike, since
//     the accounting is in the callee.
//  3. Floats. The result of every float instruction that can produce a NaN (add, sub,
//     mul, div, sqrt, min, max, ceil, floor, trunc, nearest, demote, promote) is replaced
//     by the canonical NaN (f32 0x7fc00000, f64 0x7ff8000000000000) when it is a NaN, so
//     NaN bits never depend on the CPU.
//
// # Runtime conventions
//
// The instrumented module exports three globals, all 0 after instantiation:
//
//   - GasGlobal ("__wnode_gas", mutable i64): gas remaining. The runtime sets it
//     (at most math.MaxInt64) before calling a method, host functions subtract their
//     charges from it (it is current at every host call), and the runtime reads it back
//     afterwards: gas used is the limit minus the value; a negative value, after a trap
//     or a return, means the gas ran out and all of it was used. After a trap of a Wasm
//     instruction the value may be stale (the function's gas local is written back only
//     around calls and returns): the runtime charges the whole limit for such a trap.
//   - StackGlobal ("__wnode_stack", mutable i32): stack slots in use.
//   - TrapGlobal ("__wnode_trap", mutable i32): after a trap, TrapStackOverflow when the
//     stack limit trapped (as unreachable), TrapOutOfGas when a dynamic charge ran out of
//     gas. A trap with GasGlobal below zero ran out of gas, whichever trap instruction
//     fired (the out-of-bounds load, a division by zero, unreachable, or another trap of
//     the code between the charge and its check): only charges make the gas negative.
//     The static charges do not write TrapGlobal.
//
// A metadata section (package vm/metadata) is parsed and checked when present: malformed,
// oversized, or describing a method the module does not export refuses the module
// (RuleMetadata). Custom sections are dropped from the instrumented module (the original
// keeps them). A memory without a declared maximum gets
// Limits.MaxMemoryPages as its maximum.
package prepare

// Names and values of the globals the instrumented module exports.
const (
	GasGlobal   = "__wnode_gas"
	StackGlobal = "__wnode_stack"
	TrapGlobal  = "__wnode_trap"

	TrapNone          = 0 // no instrumentation trap
	TrapOutOfGas      = 1 // a gas charge took GasGlobal below zero
	TrapStackOverflow = 2 // a call would exceed Limits.MaxStackHeight
)
