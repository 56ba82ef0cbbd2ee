package prepare

import (
	"slices"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// charge is a static charge to insert before instruction at: the milligas sum of its
// metering block (the charge rounds it up to whole gas).
type charge struct {
	at   int
	cost uint64
}

// endsBlock reports whether a new metering block starts after op: control may arrive at
// the next instruction from elsewhere (the loop head; the targets of branches after an
// end), or reach it only conditionally (then- and else-branches), or not at all (after an
// unconditional branch: the dead code that follows is not charged). The fall-through of
// br_if stays in the block of the br_if: when the branch is taken, the rest of the block
// has been paid for and is not run. That overcharge is bounded by one block per taken
// branch and saves a charge per br_if (loop exits, early returns).
func endsBlock(op wasm.Opcode) bool {
	switch op {
	case wasm.OpLoop, wasm.OpIf, wasm.OpElse, wasm.OpEnd,
		wasm.OpBr, wasm.OpBrTable, wasm.OpReturn, wasm.OpUnreachable:
		return true
	}
	return false
}

// charges returns the static charges of a function body: one per reachable metering
// block with a non-zero price, placed at its first instruction. The result is valid until
// the next call.
func (ins *instrumenter) charges(body []wasm.Instr) []charge {
	type block struct {
		charge
		dead bool // the block's first instruction is dead code
	}
	out := ins.chargeBuf[:0]
	defer func() { ins.chargeBuf = out[:0] }()
	flush := func(b block) {
		if !b.dead && b.cost > 0 {
			out = append(out, b.charge)
		}
	}
	// Reachability from structure: code after an unconditional branch is dead until the
	// else or end of its block; code after a block's end is taken as reachable when the
	// block's entry was (a conservative choice: at worst dead code is charged).
	dead := false
	entryDead := ins.deadBuf[:0] // for each open block: was its entry dead code?
	defer func() { ins.deadBuf = entryDead[:0] }()
	cur := block{}
	for i := range body {
		op := body[i].Op
		switch op {
		case wasm.OpElse:
			dead = entryDead[len(entryDead)-1]
		case wasm.OpEnd:
			if len(entryDead) > 0 {
				dead = entryDead[len(entryDead)-1]
				entryDead = entryDead[:len(entryDead)-1]
			}
		}
		if i > 0 && endsBlock(body[i-1].Op) {
			flush(cur)
			cur = block{charge: charge{at: i}, dead: dead}
		}
		cur.cost += ins.cost[costIndex(op)]
		switch op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			entryDead = append(entryDead, dead)
		case wasm.OpBr, wasm.OpBrTable, wasm.OpReturn, wasm.OpUnreachable:
			dead = true
		}
	}
	flush(cur)
	return out
}

// gasPass appends to out the body with the static charge of every metering block at its
// start and the dynamic charges of memory.grow and the bulk memory instructions before
// them. tmp is a scratch i32 local (used only when the body has such instructions).
func (ins *instrumenter) gasPass(out, body []wasm.Instr, tmp uint32) []wasm.Instr {
	cs := ins.charges(body)
	out = slices.Grow(out, len(body)+15*len(cs)+8)
	next := 0
	for i := range body {
		if next < len(cs) && cs[next].at == i {
			out = ins.staticCharge(out, gas.CeilGas(cs[next].cost))
			next++
		}
		switch body[i].Op {
		case wasm.OpMemoryGrow:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryGrowPerPage, false)
		case wasm.OpMemoryCopy:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryCopy.PerKiB, true)
		case wasm.OpMemoryFill:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryFill.PerKiB, true)
		case wasm.OpMemoryInit:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryInit.PerKiB, true)
		}
		out = append(out, body[i])
	}
	return out
}

// staticCharge appends a charge of cost against the gas global:
//
//	gas -= cost
//	trap = gas >>> 63            (1 when gas < 0, else 0)
//	drop(1 / (1 - trap))         (traps, dividing by zero, when gas < 0)
//
// It is branchless on purpose: an if/unreachable per metering block multiplies the basic
// blocks of a function by three, and wazero's compile time grows faster than linearly
// with them (measured in docs/rationale/vm-prepare.md). The trap global is written by
// every charge, so after any trap it tells whether the gas ran out.
//
// cost is at most ceil(2^32 instructions × gas.MaxInstrCost milligas / 1000) < 2^47 and
// gas is never negative before a charge, so the subtraction cannot overflow.
func (ins *instrumenter) staticCharge(out []wasm.Instr, cost uint64) []wasm.Instr {
	g, trap := uint64(ins.gasG), uint64(ins.trapG)
	return append(out,
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(int64(cost)),
		wasm.Instr{Op: wasm.OpI64Sub},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: g},
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(63),
		wasm.Instr{Op: wasm.OpI64ShrU},
		wasm.Instr{Op: wasm.OpI32WrapI64},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: trap},
		wasm.I32Const(1),
		wasm.I32Const(1),
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: trap},
		wasm.Instr{Op: wasm.OpI32Sub},
		wasm.Instr{Op: wasm.OpI32DivU},
		wasm.Instr{Op: wasm.OpDrop},
	)
}

// dynamicCharge appends a charge computed from the i32 on top of the stack (left there):
// n × price, or ceil(n × price / 1024) when perKiB. n < 2^32 and price ≤
// gas.MaxInstrCost = 2^24, so the product fits in 56 bits.
func (ins *instrumenter) dynamicCharge(out []wasm.Instr, tmp uint32, price uint64, perKiB bool) []wasm.Instr {
	if price == 0 {
		return out
	}
	out = append(out,
		wasm.Instr{Op: wasm.OpLocalTee, Imm: uint64(tmp)},
		wasm.Instr{Op: wasm.OpI64ExtendI32U},
		wasm.I64Const(int64(price)),
		wasm.Instr{Op: wasm.OpI64Mul},
	)
	if perKiB {
		out = append(out,
			wasm.I64Const(1023),
			wasm.Instr{Op: wasm.OpI64Add},
			wasm.I64Const(10),
			wasm.Instr{Op: wasm.OpI64ShrU},
		)
	}
	return append(out,
		wasm.Instr{Op: wasm.OpCall, Imm: uint64(ins.chargeFn)},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(tmp)},
	)
}
