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

// label is what the first pass of charges learns about a block, loop or if.
type label struct {
	refs int // branches that target it; 2 for loops and ifs and br_table targets (never merged)
	brIf int // the instruction index of a br_if that targets it, or -1
}

// openBlock is a block, loop or if open at the current instruction of charges.
type openBlock struct {
	id        int  // index into the labels
	entryDead bool // its entry is dead code
}

// mblock is a metering block being built by charges.
type mblock struct {
	charge
	dead bool // its first instruction is dead code
	into int  // the metering block that pays for it, or -1 when it pays for itself
}

// charges returns the static charges of a function body: one per reachable metering
// block with a non-zero price, placed at its first instruction, in milligas.
//
// One kind of metering block is not charged where it starts: the code after the end of a
// block (not a loop or if) whose end is reached only by one br_if (the fall-through into
// the end is dead and no other branch targets the block). That code runs exactly when the
// br_if is taken, at most once per run of the br_if's metering block, so its price is
// added to that block's charge: it is paid in advance, and overpaid when the br_if falls
// through. This is the shape compilers give a loop body that branches over an exit
// (`loop block ... br_if 0 ... br 2 end ... br_if 0 end`): one charge per iteration
// instead of two. The result is valid until the next call.
func (ins *instrumenter) charges(code *wasm.Code) []charge {
	body := code.Body
	labels := ins.labelsOf(code)

	blocks := ins.blockBuf[:0]
	defer func() { ins.blockBuf = blocks[:0] }()
	// Reachability from structure: code after an unconditional branch is dead until the
	// else or end of its block; code after a block's end is taken as reachable when the
	// block's entry was (a conservative choice: at worst dead code is charged).
	dead := false
	stack := ins.openBuf[:0] // the open blocks, loops and ifs
	defer func() { ins.openBuf = stack[:0] }()
	brIfBlock := ins.brIfBuf[:0] // for each br_if (by instruction index): its metering block
	defer func() { ins.brIfBuf = brIfBlock[:0] }()
	brIfBlock = slices.Grow(brIfBlock, len(body))[:len(body)]
	nextID := 0
	blocks = append(blocks, mblock{into: -1})
	pending := -1 // the payer of the metering block that starts after this end, or -1
	for i := range body {
		op := body[i].Op
		merge := -1
		switch op {
		case wasm.OpElse:
			dead = stack[len(stack)-1].entryDead
		case wasm.OpEnd:
			if len(stack) > 0 {
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				// dead: the end is not reached by falling through.
				if l := labels[o.id]; dead && l.refs == 1 && l.brIf >= 0 {
					merge = brIfBlock[l.brIf]
				}
				dead = o.entryDead
			}
		}
		if i > 0 && endsBlock(body[i-1].Op) {
			blocks = append(blocks, mblock{charge: charge{at: i}, dead: dead, into: pending})
		}
		pending = merge
		blocks[len(blocks)-1].cost += ins.cost[costIndex(op)]
		switch op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			stack = append(stack, openBlock{id: nextID, entryDead: dead})
			nextID++
		case wasm.OpBrIf:
			brIfBlock[i] = len(blocks) - 1
		case wasm.OpBr, wasm.OpBrTable, wasm.OpReturn, wasm.OpUnreachable:
			dead = true
		}
	}
	// Merged blocks pay through the block that pays for their payer (merges point back).
	for k := range blocks {
		if j := blocks[k].into; j >= 0 {
			if blocks[j].into >= 0 {
				j = blocks[j].into
				blocks[k].into = j
			}
			blocks[j].cost += blocks[k].cost
			blocks[k].cost = 0
		}
	}
	out := ins.chargeBuf[:0]
	defer func() { ins.chargeBuf = out[:0] }()
	for _, b := range blocks {
		if !b.dead && b.cost > 0 {
			out = append(out, b.charge)
		}
	}
	return out
}

// labelsOf returns, for each block, loop and if of the body in order, the branches that
// target it. Branches to the function's own label are not counted (they leave the body).
func (ins *instrumenter) labelsOf(code *wasm.Code) []label {
	labels := ins.labelBuf[:0]
	defer func() { ins.labelBuf = labels[:0] }()
	stack := ins.stackBuf[:0]
	defer func() { ins.stackBuf = stack[:0] }()
	target := func(depth uint64) int {
		if depth >= uint64(len(stack)) {
			return -1
		}
		return stack[len(stack)-1-int(depth)]
	}
	for i := range code.Body {
		in := &code.Body[i]
		switch in.Op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			stack = append(stack, len(labels))
			l := label{brIf: -1}
			if in.Op != wasm.OpBlock { // a loop's label is its head; an if's end joins its arms
				l.refs = 2
			}
			labels = append(labels, l)
		case wasm.OpEnd:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case wasm.OpBr, wasm.OpBrIf:
			if t := target(in.Imm); t >= 0 {
				labels[t].refs++
				if in.Op == wasm.OpBrIf {
					labels[t].brIf = i
				}
			}
		case wasm.OpBrTable:
			ls, _ := code.BrTable(in)
			for _, d := range ls {
				if t := target(uint64(d)); t >= 0 {
					labels[t].refs += 2
				}
			}
		}
	}
	return labels
}

// maxBranchCharges bounds the loop heads of a function checked with a branch: the first
// ones in code order get branchCharge, later ones localCharge and the branchless
// syncCheck. It bounds the basic blocks the branches add (wazero's compile time is
// superlinear in them) whatever the code, while real functions have far fewer loops.
const maxBranchCharges = 64

// gasPass appends to out the body with the static charge of every metering block (on
// entry for the entry block, elsewhere at placeAt: after the first memory access of the
// block's straight prefix) and the dynamic charges of memory.grow and the bulk memory
// instructions before them. tmp is a scratch i32 local (used only when the body has such
// instructions); gl is the function's gas local.
//
// The function keeps the gas remaining in gl: it is read from the gas global on entry
// and after every call (callees and host functions charge the global), and written back
// before every call and on every exit (stackPass's epilogue). Charges subtract from gl
// alone (localCharge: no memory access, so no store-to-load chain from one loop
// iteration's charge to the next); the gas runs out only at a check:
//   - on entry, after the entry block's charge (syncCheck: it writes the global, then
//     traps branchlessly when the gas is negative);
//   - in every loop head's block, with the block's charge if any (branchCharge: a branch
//     to a trap in the else arm, at the first maxBranchCharges loop heads; syncCheck
//     after them).
//     Every iteration passes its loop's head and every cycle pays at least one gas (a
//     branch costs at least 1 milligas), so no loop runs on without paying;
//   - in the callee of every call (its entry) or the host function (which charges the
//     global and fails below zero), and in the runtime after a return (a negative global
//     is out of gas).
//
// Between checks runs only straight-line code of one function, bounded by its size. A
// trap there leaves the global behind gl: the runtime charges the whole gas limit for
// any trap of a Wasm instruction (docs/rationale/vm-prepare.md, "Gas in a local").
func (ins *instrumenter) gasPass(out []wasm.Instr, code *wasm.Code, tmp, gl uint32) []wasm.Instr {
	body := code.Body
	cs := ins.charges(code)
	out = slices.Grow(out, len(body)+15*len(cs)+8)
	next, branches := 0, 0
	// Entry: load the global into the local, pay the entry block, write it back and check.
	var entry uint64
	if next < len(cs) && cs[next].at == 0 {
		entry = gas.CeilGas(cs[next].cost)
		next++
	}
	out = append(out, wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(ins.gasG)})
	if entry > 0 {
		out = append(out, wasm.I64Const(int64(entry)), wasm.Instr{Op: wasm.OpI64Sub})
	}
	out = append(out, wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(gl)})
	out = ins.syncCheck(out, gl)
	// Each charge (and each loop head's check) is placed at its block's placement point
	// (placeAt), not at its first instruction.
	place := -1 // where the pending charge goes, or -1
	var c uint64
	head := false
	for i := range body {
		charged := next < len(cs) && cs[next].at == i
		loopHead := i > 0 && body[i-1].Op == wasm.OpLoop
		if (charged || loopHead) && place >= 0 {
			// Never happens while every instruction after which a metering block starts
			// is a barrier (placeAt stops at it); should that change, the pending charge
			// is placed here instead of this block's charge being skipped.
			place = -1
			out = ins.placeCharge(out, c, head, &branches, gl)
		}
		if place < 0 {
			if charged || loopHead {
				c, head = 0, loopHead
				if charged {
					c = gas.CeilGas(cs[next].cost)
					next++
				}
				place = placeAt(body, i)
			}
		}
		if place == i {
			place = -1
			out = ins.placeCharge(out, c, head, &branches, gl)
		}
		switch body[i].Op {
		case wasm.OpMemoryGrow:
			out = ins.growCharge(out, tmp, ins.s.MemoryGrowPerPage, gl)
		case wasm.OpMemoryCopy:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryCopy.PerKiB, true, gl)
		case wasm.OpMemoryFill:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryFill.PerKiB, true, gl)
		case wasm.OpMemoryInit:
			out = ins.dynamicCharge(out, tmp, ins.s.MemoryInit.PerKiB, true, gl)
		}
		if op := body[i].Op; op == wasm.OpCall || op == wasm.OpCallIndirect {
			out = ins.callSynced(out, body[i], gl)
			continue
		}
		out = append(out, body[i])
	}
	return out
}

// callSynced appends a call with the local gas written to the global before it and read
// back after it.
func (ins *instrumenter) callSynced(out []wasm.Instr, call wasm.Instr, gl uint32) []wasm.Instr {
	return append(out,
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.gasG)},
		call,
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(ins.gasG)},
		wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(gl)},
	)
}

// localCharge appends gl -= cost.
func (ins *instrumenter) localCharge(out []wasm.Instr, cost uint64, gl uint32) []wasm.Instr {
	if cost == 0 {
		return out
	}
	return append(out,
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.I64Const(int64(cost)),
		wasm.Instr{Op: wasm.OpI64Sub},
		wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(gl)},
	)
}

// syncCheck appends the branchless check: it writes gl to the gas global, then
//
//	drop(i32.load8_u(i32(gl >> 63)))   (arithmetic shift: 0, or -1 when gl < 0)
//
// which reads byte 0 while gas remains and byte 2^32-1, never in bounds, once it ran out.
// The load is used when the memory has at least one page from the start and stays below
// 4 GiB (every real contract); otherwise drop(1 / (1 + i32(gl >> 63))), which traps
// dividing by zero. After the trap the global is negative: the runtime tells out of gas
// by that, whichever trap fired. (An if/unreachable at every function entry would add two
// basic blocks per function; the branchless form adds none.)
//
// Between two checks a function charges at most its instructions (a body is at most
// 128 KiB) × gas.MaxInstrCost (2^24 milligas): below 2^31 gas. gl goes below zero at most
// by that once per active frame (a callee may return with it negative), far from
// overflowing.
func (ins *instrumenter) syncCheck(out []wasm.Instr, gl uint32) []wasm.Instr {
	out = append(out,
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.gasG)},
	)
	if !ins.trapByLoad {
		out = append(out, wasm.I32Const(1))
	}
	out = append(out,
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.I64Const(63),
		wasm.Instr{Op: wasm.OpI64ShrS},
		wasm.Instr{Op: wasm.OpI32WrapI64},
	)
	if ins.trapByLoad {
		return append(out,
			wasm.Instr{Op: wasm.OpI32Load8U},
			wasm.Instr{Op: wasm.OpDrop},
		)
	}
	return append(out,
		wasm.I32Const(1),
		wasm.Instr{Op: wasm.OpI32Add},
		wasm.Instr{Op: wasm.OpI32DivU},
		wasm.Instr{Op: wasm.OpDrop},
	)
}

// branchCharge appends the charge of a metering block that starts at a loop's head (or
// only the check when cost is 0), against the gas local gl:
//
//	gl -= cost
//	if gl >= 0 {} else { gas global = gl; unreachable }
//
// The branch is never taken until the gas runs out: on the compiler it costs a compare
// and a predicted jump. The trap is in the else arm, not the then arm, because wazero's
// compiler lays out the then arm right after the test and the else arm after it: with
// the trap in the then arm every iteration jumps over it and the trap's exit sequence
// (about 40 bytes of machine code) sits inside the loop (insertion sort 1.25× → 1.11×
// raw wazero averaged over code layouts). The global is written only on the way to the
// trap, so that the runtime sees the gas ran out. The branch adds basic blocks to each
// loop, which wazero compiles superlinearly, hence at most maxBranchCharges per function.
func (ins *instrumenter) branchCharge(out []wasm.Instr, cost uint64, gl uint32) []wasm.Instr {
	out = append(out, wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)})
	if cost > 0 {
		out = append(out,
			wasm.I64Const(int64(cost)),
			wasm.Instr{Op: wasm.OpI64Sub},
			wasm.Instr{Op: wasm.OpLocalTee, Imm: uint64(gl)},
		)
	}
	return append(out,
		wasm.I64Const(0),
		wasm.Instr{Op: wasm.OpI64GeS},
		wasm.Instr{Op: wasm.OpIf, Imm: blockImm(wasm.BlockEmpty)},
		wasm.Instr{Op: wasm.OpElse},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.gasG)},
		wasm.Instr{Op: wasm.OpUnreachable},
		wasm.Instr{Op: wasm.OpEnd},
	)
}

// growCharge appends the dynamic charge of a memory.grow whose delta (pages, an i32) is
// on top of the stack (left there): delta × price when the grow will succeed, nothing
// when it will fail. A grow succeeds exactly when delta ≤ max - memory.size, max being
// the memory's maximum (always set by instrument; the engine enforces that bound and no
// other), so a contract asking for more than it may have pays only the static base and
// sees -1, instead of being charged for pages it never gets:
//
//	tmp = delta
//	charge(i64(tmp × (max - memory.size ≥ tmp)) × price)
//	tmp
//
// The operand stack never holds more than two values above the delta's slot, as in
// dynamicCharge, so frame costs are those of a charge on the requested delta.
func (ins *instrumenter) growCharge(out []wasm.Instr, tmp uint32, price uint64, gl uint32) []wasm.Instr {
	if price == 0 {
		return out
	}
	return append(out,
		wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(tmp)},
		wasm.I32Const(int32(ins.memMax)),
		wasm.Instr{Op: wasm.OpMemorySize},
		wasm.Instr{Op: wasm.OpI32Sub},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(tmp)},
		wasm.Instr{Op: wasm.OpI32GeU},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(tmp)},
		wasm.Instr{Op: wasm.OpI32Mul},
		wasm.Instr{Op: wasm.OpI64ExtendI32U},
		wasm.I64Const(int64(price)),
		wasm.Instr{Op: wasm.OpI64Mul},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.gasG)},
		wasm.Instr{Op: wasm.OpCall, Imm: uint64(ins.chargeFn)},
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(ins.gasG)},
		wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(tmp)},
	)
}

// dynamicCharge appends a charge computed from the i32 on top of the stack (left there):
// n × price, or ceil(n × price / 1024) when perKiB. n < 2^32 and price ≤
// gas.MaxInstrCost = 2^24, so the product fits in 56 bits.
func (ins *instrumenter) dynamicCharge(out []wasm.Instr, tmp uint32, price uint64, perKiB bool, gl uint32) []wasm.Instr {
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
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(ins.gasG)},
		wasm.Instr{Op: wasm.OpCall, Imm: uint64(ins.chargeFn)},
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(ins.gasG)},
		wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(gl)},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(tmp)},
	)
}

// placeCharge appends a block's charge c, checked when head (a loop head's block).
func (ins *instrumenter) placeCharge(out []wasm.Instr, c uint64, head bool, branches *int, gl uint32) []wasm.Instr {
	if !head {
		return ins.localCharge(out, c, gl)
	}
	if *branches < maxBranchCharges {
		*branches++
		return ins.branchCharge(out, c, gl)
	}
	out = ins.localCharge(out, c, gl)
	return ins.syncCheck(out, gl)
}

// barrier reports whether a charge must be placed before op: control instructions
// (except block, which opens a label and runs nothing), calls, and the instructions with
// a dynamic charge.
func barrier(op wasm.Opcode) bool {
	switch op {
	case wasm.OpNop, wasm.OpBlock:
		return false
	case wasm.OpMemoryGrow, wasm.OpMemoryCopy, wasm.OpMemoryFill, wasm.OpMemoryInit:
		return true
	}
	return op <= wasm.OpCallIndirect
}

// placeAt returns where the charge of the metering block starting at instruction at is
// placed: right after the first memory access (load or store) of the block's straight
// prefix, the instructions up to its first barrier; at its start when that prefix has
// none. Only straight code runs between the block's start and its charge, and the charge
// still comes before anything that leaves the prefix, so every execution pays what it
// paid with the charge at the start: the same gas whenever the call succeeds, reverts or
// fails in a host function (which sees the global written before the call). A trap of
// that code before the charge uses the whole gas limit either way (see gasPass); out of
// gas at a loop head is detected a few instructions later. Why after the first memory
// access: measured, not derived (docs/rationale/vm-prepare.md, "Session 7"): wazero's
// compiler then emits a loop head's bounds check and load in the same basic block as the
// charge's compare and branch, one block fewer per iteration.
func placeAt(body []wasm.Instr, at int) int {
	for i := at; i < len(body); i++ {
		op := body[i].Op
		if barrier(op) {
			break
		}
		if op >= wasm.OpI32Load && op <= wasm.OpI64Store32 {
			return i + 1
		}
	}
	return at
}
