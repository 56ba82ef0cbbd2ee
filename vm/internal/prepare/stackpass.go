package prepare

import (
	"slices"

	"github.com/wnode/wnode/vm/internal/wasm"
)

// stackPass appends to out the body with the function's frame cost to the stack global on entry (trapping with
// TrapStackOverflow above Limits.MaxStackHeight) and subtracts it on every exit: the body is wrapped in a block whose
// result type is the function's, every return becomes a branch to that block, and the
// subtraction follows the block, after the write-back of the gas local gasL to the gas
// global (see gasPass).
//
// The global holds at most MaxStackHeight before the addition and cost is at most
// MaxStackHeight (validation refuses bigger frames), so the i32 arithmetic cannot wrap.
func (ins *instrumenter) stackPass(out, body []wasm.Instr, cost uint64, results []wasm.ValType, gasL uint32) []wasm.Instr {
	g := uint64(ins.stackG)
	out = slices.Grow(out, len(body)+20)
	out = append(out,
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I32Const(int32(cost)),
		wasm.Instr{Op: wasm.OpI32Add},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: g},
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I32Const(int32(ins.l.MaxStackHeight)),
		wasm.Instr{Op: wasm.OpI32GtU},
	)
	// The trap stays in the then arm: in the else arm (as at loop heads) it measured no
	// faster on sha256 and slower on insertion sort, whose single function's loops it
	// moved (docs/rationale/vm-prepare.md, "Gas in a local").
	out = ins.trapWith(out, TrapStackOverflow)
	out = append(out, wasm.Instr{Op: wasm.OpBlock, Imm: blockImm(ins.blockType(results))})
	depth := uint64(0) // blocks open inside the wrapper
	for i := range body {
		in := body[i]
		switch in.Op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			depth++
		case wasm.OpEnd:
			if i == len(body)-1 { // the function's end closes the wrapper
				return append(out,
					in,
					wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gasL)},
					wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.gasG)},
					wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
					wasm.I32Const(int32(cost)),
					wasm.Instr{Op: wasm.OpI32Sub},
					wasm.Instr{Op: wasm.OpGlobalSet, Imm: g},
					wasm.Instr{Op: wasm.OpEnd},
				)
			}
			depth--
		case wasm.OpReturn:
			in = wasm.Instr{Op: wasm.OpBr, Imm: depth}
		}
		out = append(out, in)
	}
	return out // unreachable for a validated body, which ends with end
}

// blockType returns the block type of a block with no params and the given results.
func (ins *instrumenter) blockType(results []wasm.ValType) int64 {
	switch len(results) {
	case 0:
		return wasm.BlockEmpty
	case 1:
		return wasm.BlockTypeOf(results[0])
	}
	return int64(ins.typeIndex(wasm.FuncType{Results: results}))
}
