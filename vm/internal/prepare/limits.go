package prepare

import "fmt"

// Limits bound what a deployable module may contain. Prepare rejects a module that
// exceeds any of them with an *Error naming the limit. Every limit also bounds the work
// and memory of validation, instrumentation and wazero's compilation, so the zero value
// (everything refused) is never useful: start from DefaultLimits.
//
// Limits is a comparable value; it is part of what the instrumented output depends on
// (MaxMemoryPages and MaxStackHeight are written into it).
type Limits struct {
	MaxCodeSize       uint32 // uncompressed module bytes
	MaxCompressedSize uint32 // bytes of a gzip-compressed module as deployed
	MaxTypes          uint32 // entries of the type section
	MaxImports        uint32 // imports (all from module "wnode")
	MaxFunctions      uint32 // imported + defined functions
	MaxExports        uint32
	MaxNameLength     uint32 // bytes of an import or export name
	MaxParams         uint32 // parameters of a function type
	MaxResults        uint32 // results of a function type (multi-value)
	MaxLocals         uint32 // parameters + declared locals of one function
	MaxGlobals        uint32 // module-defined globals (the instrumenter adds 3)
	MaxTableSize      uint32 // initial elements of the one table
	MaxElemSegments   uint32
	MaxMemoryPages    uint32 // initial and maximum 64 KiB pages; a missing maximum becomes this
	MaxDataSegments   uint32
	MaxDataSize       uint32 // total bytes of all data segments
	MaxFunctionSize   uint32 // bytes of one function body (canonical encoding)
	MaxNesting        uint32 // depth of nested block/loop/if in one function
	// MaxBlocks bounds the control instructions (block, loop, if, else, br, br_if,
	// br_table) of one function. wazero's compile time grows faster than linearly with
	// them within a function; this keeps a deploy's compile time within a small factor
	// of its price (see Module.Blocks and gas.Tx.CompilePerBlock).
	MaxBlocks         uint32
	MaxBrTableTargets uint32 // labels of one br_table
	// MaxStackHeight is the deterministic stack limit, in value slots: a call fails with
	// the stack trap when the sum of the frame costs of the active calls would exceed it.
	// A frame costs FrameOverhead + params + locals + the function's maximum operand
	// stack height. With the default, at most MaxStackHeight/FrameOverhead = 1024 frames
	// can be active, below wazero's interpreter ceiling of 2000 frames and far below its
	// compiler's 400 MB stack ceiling, so wazero's own limit is never what stops a call.
	MaxStackHeight uint32
}

// FrameOverhead is the fixed stack cost of every call, in value slots, on top of the
// callee's params, locals and operand stack (return address, frame pointer, spills).
const FrameOverhead = 16

// DefaultLimits returns wnode's limits for contract code. The reasons for each figure are
// in docs/rationale/vm-prepare.md.
func DefaultLimits() Limits {
	return Limits{
		MaxCodeSize:       1 << 20,   // 1 MiB
		MaxCompressedSize: 512 << 10, // 512 KiB
		MaxTypes:          1024,
		MaxImports:        128,
		MaxFunctions:      10_000,
		MaxExports:        1024,
		MaxNameLength:     256,
		MaxParams:         64,
		MaxResults:        8,
		MaxLocals:         2048,
		MaxGlobals:        1024,
		MaxTableSize:      10_000,
		MaxElemSegments:   1024,
		MaxMemoryPages:    256, // 16 MiB
		MaxDataSegments:   1024,
		MaxDataSize:       512 << 10,
		MaxFunctionSize:   128 << 10,
		MaxNesting:        1024,
		MaxBlocks:         2048,
		MaxBrTableTargets: 16_384,
		MaxStackHeight:    16_384,
	}
}

// validate refuses limits the instrumentation cannot honour: a memory maximum above
// WebAssembly's 65536 pages, or a stack limit whose doubled value would wrap the i32
// stack global.
func (l *Limits) validate() error {
	if l.MaxMemoryPages > 65536 {
		return fmt.Errorf("prepare: Limits.MaxMemoryPages %d exceeds 65536", l.MaxMemoryPages)
	}
	if l.MaxStackHeight > 1<<30 {
		return fmt.Errorf("prepare: Limits.MaxStackHeight %d exceeds 2^30", l.MaxStackHeight)
	}
	return nil
}
