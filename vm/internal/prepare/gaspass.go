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

// maxBranchCharges bounds the loop heads of a function charged with a branch: the first
// ones in code order get branchCharge, later ones staticCharge. It bounds the basic blocks
// the branches add (wazero's compile time is superlinear in them) whatever the code,
// while real functions have far fewer loops.
const maxBranchCharges = 64

// gasPass appends to out the body with the static charge of every metering block at its
// start and the dynamic charges of memory.grow and the bulk memory instructions before
// them. tmp is a scratch i32 local (used only when the body has such instructions).
//
// A metering block that starts at a loop's head (the instruction after the loop) is
// charged with a branch (branchCharge), up to maxBranchCharges per function, every other
// one without (staticCharge). Both
// charge the same gas at the same place and trap when it runs out: only the code differs.
func (ins *instrumenter) gasPass(out []wasm.Instr, code *wasm.Code, tmp uint32) []wasm.Instr {
	body := code.Body
	cs := ins.charges(code)
	out = slices.Grow(out, len(body)+15*len(cs)+8)
	next, branches := 0, 0
	for i := range body {
		if next < len(cs) && cs[next].at == i {
			if i > 0 && body[i-1].Op == wasm.OpLoop && branches < maxBranchCharges {
				out = ins.branchCharge(out, gas.CeilGas(cs[next].cost))
				branches++
			} else {
				out = ins.staticCharge(out, gas.CeilGas(cs[next].cost))
			}
			next++
		}
		switch body[i].Op {
		case wasm.OpMemoryGrow:
			out = ins.growCharge(out, tmp, ins.s.MemoryGrowPerPage)
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
//	drop(i32.load8_u(i32(gas >> 63)))   (arithmetic shift: 0, or -1 when gas < 0)
//
// The load reads byte 0 while gas remains and byte 2^32-1, never in bounds, once it ran
// out. It is used when the memory has at least one page from the start and stays below
// 4 GiB (every real contract); otherwise the last step is drop(1 / (1 + i32(gas >> 63))),
// which traps dividing by zero. The load is the cheaper: a division per metering block
// made insertion sort 13 % slower (1.31× raw wazero against 1.15×).
//
// The charge is branchless on purpose: an if/unreachable per metering block multiplies
// the basic blocks of a function by three, and wazero's compile time grows faster than
// linearly with them (measured in docs/rationale/vm-prepare.md). Loop heads are the
// exception (branchCharge). No charge writes the trap global: after a trap, a negative
// gas global says that the gas ran out (only a failed charge leaves it negative, and a
// failed charge traps at once), so which trap instruction fired does not matter. The
// first version wrote the trap global on every charge: two more global accesses.
//
// cost is at most ceil(2^32 instructions × gas.MaxInstrCost milligas / 1000) < 2^47 and
// gas is never negative before a charge, so the subtraction cannot overflow.
func (ins *instrumenter) staticCharge(out []wasm.Instr, cost uint64) []wasm.Instr {
	g := uint64(ins.gasG)
	if !ins.trapByLoad {
		out = append(out, wasm.I32Const(1))
	}
	out = append(out,
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(int64(cost)),
		wasm.Instr{Op: wasm.OpI64Sub},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: g},
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(63),
		wasm.Instr{Op: wasm.OpI64ShrS},
		wasm.Instr{Op: wasm.OpI32WrapI64},
	)
	if ins.trapByLoad {
		return append(out,
			wasm.Instr{Op: wasm.OpI32Load8U}, // offset 0, alignment 1
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

// branchCharge appends the charge of a metering block that starts at a loop's head:
//
//	gas -= cost
//	if gas >= 0 {} else { unreachable }
//
// It charges what staticCharge would, but the test is a branch that is never taken until
// the gas runs out: on the compiler it costs almost nothing, where the branchless load
// costs a dependent load and its bounds check on every iteration (insertion sort 1.49× →
// 1.34× raw wazero, sha256 1.22× → 1.10×; docs/rationale/vm-prepare.md). The trap is in
// the else arm, not the then arm, because wazero's compiler lays out the then arm right
// after the test and the else arm after it: with the trap in the then arm every
// iteration jumps over it and the trap's exit sequence (about 40 bytes of machine code)
// sits inside the loop; in the else arm the loop falls through and the trap is out of the
// way (insertion sort 1.25× → 1.11× raw wazero averaged over code layouts, sha256 1.09× →
// 1.07×). The branch adds basic blocks to each loop, which wazero compiles
// superlinearly: with a branch at every loop head, a function of MaxBlocks/2 loops
// compiled 1.6× slower (BenchmarkDeploy's loop worst case), hence at most
// maxBranchCharges per function.
func (ins *instrumenter) branchCharge(out []wasm.Instr, cost uint64) []wasm.Instr {
	g := uint64(ins.gasG)
	return append(out,
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(int64(cost)),
		wasm.Instr{Op: wasm.OpI64Sub},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: g},
		wasm.Instr{Op: wasm.OpGlobalGet, Imm: g},
		wasm.I64Const(0),
		wasm.Instr{Op: wasm.OpI64GeS},
		wasm.Instr{Op: wasm.OpIf, Imm: blockImm(wasm.BlockEmpty)},
		wasm.Instr{Op: wasm.OpElse},
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
func (ins *instrumenter) growCharge(out []wasm.Instr, tmp uint32, price uint64) []wasm.Instr {
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
		wasm.Instr{Op: wasm.OpCall, Imm: uint64(ins.chargeFn)},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(tmp)},
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
