package prepare

import (
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

func costIndex(op wasm.Opcode) int {
	if op > 0xff {
		return 256 + int(op&0xff)
	}
	return int(op)
}

// initCosts fills the static price of every opcode from the schedule.
func (ins *instrumenter) initCosts() {
	for i := range ins.cost {
		op := wasm.Opcode(i)
		if i >= 256 {
			op = wasm.PrefixMisc<<8 | wasm.Opcode(i-256)
		}
		if wasm.Info(op) != nil {
			ins.cost[i] = staticCost(op, ins)
		}
	}
}

// staticCost is the price in milligas of one execution of op known before it runs
// (dynamic parts of memory.grow and the bulk memory instructions are charged separately).
func staticCost(op wasm.Opcode, ins *instrumenter) uint64 {
	s := ins.s
	switch op {
	case wasm.OpUnreachable, wasm.OpNop, wasm.OpBlock, wasm.OpLoop, wasm.OpElse, wasm.OpEnd:
		return 0
	case wasm.OpBr, wasm.OpBrIf, wasm.OpBrTable, wasm.OpIf, wasm.OpReturn:
		return s.Branch
	case wasm.OpCall:
		return s.Call
	case wasm.OpCallIndirect:
		return s.CallIndirect
	case wasm.OpLocalGet, wasm.OpLocalSet, wasm.OpLocalTee:
		return s.Local
	case wasm.OpGlobalGet, wasm.OpGlobalSet:
		return s.Global
	case wasm.OpMemorySize:
		return s.MemorySize
	case wasm.OpMemoryGrow: // these static parts are in gas
		return s.MemoryGrowBase * gas.MilliGas
	case wasm.OpMemoryCopy:
		return s.MemoryCopy.Base * gas.MilliGas
	case wasm.OpMemoryFill:
		return s.MemoryFill.Base * gas.MilliGas
	case wasm.OpMemoryInit:
		return s.MemoryInit.Base * gas.MilliGas
	case wasm.OpDataDrop:
		return s.DataDrop
	case wasm.OpF32Div, wasm.OpF64Div:
		return s.FloatDiv
	case wasm.OpF32Sqrt, wasm.OpF64Sqrt:
		return s.FloatSqrt
	case wasm.OpI32Mul, wasm.OpI64Mul:
		return s.IntMul
	case wasm.OpI32ReinterpretF, wasm.OpI64ReinterpretF, wasm.OpF32ReinterpretI, wasm.OpF64ReinterpretI,
		wasm.OpF32Const, wasm.OpF64Const:
		return s.Simple
	}
	switch {
	case op >= wasm.OpI32Load && op <= wasm.OpI64Load32U:
		return s.Load
	case op >= wasm.OpI32Store && op <= wasm.OpI64Store32:
		return s.Store
	case op >= wasm.OpI32DivS && op <= wasm.OpI32RemU, op >= wasm.OpI64DivS && op <= wasm.OpI64RemU:
		return s.IntDiv
	}
	if info := wasm.Info(op); info != nil && info.Numeric {
		if isFloat(info.Out) {
			return s.Float
		}
		for _, t := range info.In {
			if isFloat(t) {
				return s.Float
			}
		}
	}
	return s.Simple
}

func isFloat(t wasm.ValType) bool { return t == wasm.F32 || t == wasm.F64 }
