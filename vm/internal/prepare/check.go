package prepare

import (
	"fmt"
	"slices"

	"github.com/wnode/wnode/vm/internal/wasm"
)

// unknown is the type of a value popped from the polymorphic stack of unreachable code.
const unknown wasm.ValType = 0

// ctrl is a control frame of the type checker (the WebAssembly spec's validation
// algorithm, appendix "Validation Algorithm").
type ctrl struct {
	op          wasm.Opcode
	params      []wasm.ValType
	results     []wasm.ValType
	height      int
	unreachable bool
}

func (c *ctrl) labelTypes() []wasm.ValType {
	if c.op == wasm.OpLoop {
		return c.params
	}
	return c.results
}

// checker type-checks function bodies; it is reused across the functions of a module.
type checker struct {
	mi    *moduleInfo
	l     *Limits
	vals  []wasm.ValType
	ctrls []ctrl
	max   int

	blocks uint64 // control instructions of the last function checked

	fn  int // function index, for errors
	pc  int // instruction index, for errors
	op  wasm.Opcode
	err *Error
}

func (c *checker) fail(rule Rule, format string, args ...any) {
	if c.err == nil {
		c.err = errorf(rule, funcWhere(c.fn), "instruction %d (%s): %s", c.pc, c.op, fmt.Sprintf(format, args...))
	}
}

func (c *checker) push(t wasm.ValType) {
	c.vals = append(c.vals, t)
	if len(c.vals) > c.max {
		c.max = len(c.vals)
	}
}

func (c *checker) pushAll(ts []wasm.ValType) {
	for _, t := range ts {
		c.push(t)
	}
}

func (c *checker) pop() wasm.ValType {
	top := &c.ctrls[len(c.ctrls)-1]
	if len(c.vals) == top.height {
		if top.unreachable {
			return unknown
		}
		c.fail(RuleInvalid, "operand stack underflow")
		return unknown
	}
	t := c.vals[len(c.vals)-1]
	c.vals = c.vals[:len(c.vals)-1]
	return t
}

func (c *checker) popExpect(want wasm.ValType) wasm.ValType {
	got := c.pop()
	if got != want && got != unknown && want != unknown {
		c.fail(RuleInvalid, "type mismatch: expected %s, found %s", want, got)
	}
	if got == unknown {
		return want
	}
	return got
}

func (c *checker) popAll(ts []wasm.ValType) {
	for i := len(ts) - 1; i >= 0; i-- {
		c.popExpect(ts[i])
	}
}

func (c *checker) pushCtrl(op wasm.Opcode, params, results []wasm.ValType) {
	c.ctrls = append(c.ctrls, ctrl{op: op, params: params, results: results, height: len(c.vals)})
	c.pushAll(params)
}

func (c *checker) popCtrl() ctrl {
	top := c.ctrls[len(c.ctrls)-1]
	c.popAll(top.results)
	if len(c.vals) != top.height {
		c.fail(RuleInvalid, "%d values left on the operand stack at the end of the block", len(c.vals)-top.height)
	}
	c.ctrls = c.ctrls[:len(c.ctrls)-1]
	return top
}

func (c *checker) setUnreachable() {
	top := &c.ctrls[len(c.ctrls)-1]
	c.vals = c.vals[:top.height]
	top.unreachable = true
}

// label returns the control frame a branch to depth targets, or nil.
func (c *checker) label(depth uint64) *ctrl {
	if depth >= uint64(len(c.ctrls)) {
		c.fail(RuleInvalid, "branch depth %d out of range (%d enclosing blocks)", depth, len(c.ctrls))
		return nil
	}
	return &c.ctrls[len(c.ctrls)-1-int(depth)]
}

// blockType resolves a block type to its params and results.
func (c *checker) blockType(bt int64) (params, results []wasm.ValType, ok bool) {
	if bt >= 0 {
		if bt >= int64(len(c.mi.m.Types)) {
			c.fail(RuleInvalid, "block type index %d out of range", bt)
			return nil, nil, false
		}
		t := c.mi.m.Types[bt]
		return t.Params, t.Results, true
	}
	if t, ok := wasm.BlockResult(bt); ok {
		return nil, resultTypes[t], true
	}
	return nil, nil, true // empty
}

var resultTypes = map[wasm.ValType][]wasm.ValType{
	wasm.I32: {wasm.I32}, wasm.I64: {wasm.I64}, wasm.F32: {wasm.F32}, wasm.F64: {wasm.F64},
}

// memAccess gives the value type and natural alignment (log2) of loads and stores.
var memAccess = map[wasm.Opcode]struct {
	t     wasm.ValType
	align uint32
	store bool
}{
	wasm.OpI32Load: {wasm.I32, 2, false}, wasm.OpI64Load: {wasm.I64, 3, false},
	wasm.OpF32Load: {wasm.F32, 2, false}, wasm.OpF64Load: {wasm.F64, 3, false},
	wasm.OpI32Load8S: {wasm.I32, 0, false}, wasm.OpI32Load8U: {wasm.I32, 0, false},
	wasm.OpI32Load16S: {wasm.I32, 1, false}, wasm.OpI32Load16U: {wasm.I32, 1, false},
	wasm.OpI64Load8S: {wasm.I64, 0, false}, wasm.OpI64Load8U: {wasm.I64, 0, false},
	wasm.OpI64Load16S: {wasm.I64, 1, false}, wasm.OpI64Load16U: {wasm.I64, 1, false},
	wasm.OpI64Load32S: {wasm.I64, 2, false}, wasm.OpI64Load32U: {wasm.I64, 2, false},
	wasm.OpI32Store: {wasm.I32, 2, true}, wasm.OpI64Store: {wasm.I64, 3, true},
	wasm.OpF32Store: {wasm.F32, 2, true}, wasm.OpF64Store: {wasm.F64, 3, true},
	wasm.OpI32Store8: {wasm.I32, 0, true}, wasm.OpI32Store16: {wasm.I32, 1, true},
	wasm.OpI64Store8: {wasm.I64, 0, true}, wasm.OpI64Store16: {wasm.I64, 1, true},
	wasm.OpI64Store32: {wasm.I64, 2, true},
}

// check type-checks one function body and returns its maximum operand stack height.
func (c *checker) check(fn int, typ wasm.FuncType, locals []wasm.ValType, code *wasm.Code) (int, error) {
	body := code.Body
	c.fn, c.err, c.max = fn, nil, 0
	c.vals, c.ctrls = c.vals[:0], c.ctrls[:0]
	m := c.mi.m
	c.ctrls = append(c.ctrls, ctrl{op: wasm.OpBlock, results: typ.Results})
	blocks := uint64(0)
	for pc := range body {
		in := &body[pc]
		c.pc, c.op = pc, in.Op
		if isControl(in.Op) {
			if blocks++; blocks > uint64(c.l.MaxBlocks) {
				c.fail(RuleBlocks, "more than %d control instructions (block, loop, if, else, br, br_if, br_table)", c.l.MaxBlocks)
				return 0, c.err
			}
		}
		if len(c.ctrls) == 0 {
			c.fail(RuleInvalid, "instruction after the function's final end")
			break
		}
		switch in.Op {
		case wasm.OpUnreachable:
			c.setUnreachable()
		case wasm.OpNop:
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			params, results, ok := c.blockType(in.BlockType())
			if !ok {
				break
			}
			if in.Op == wasm.OpIf {
				c.popExpect(wasm.I32)
			}
			c.popAll(params)
			if uint64(len(c.ctrls)) > uint64(c.l.MaxNesting) {
				c.fail(RuleNesting, "nesting depth %d exceeds limit %d", len(c.ctrls), c.l.MaxNesting)
				break
			}
			c.pushCtrl(in.Op, params, results)
		case wasm.OpElse:
			if c.ctrls[len(c.ctrls)-1].op != wasm.OpIf {
				c.fail(RuleInvalid, "else without if")
				break
			}
			f := c.popCtrl()
			c.pushCtrl(wasm.OpElse, f.params, f.results)
		case wasm.OpEnd:
			f := c.popCtrl()
			if f.op == wasm.OpIf && !slices.Equal(f.params, f.results) {
				c.fail(RuleInvalid, "if without else must leave its parameters unchanged")
			}
			c.pushAll(f.results)
		case wasm.OpBr:
			if lab := c.label(in.Imm); lab != nil {
				c.popAll(lab.labelTypes())
			}
			c.setUnreachable()
		case wasm.OpBrIf:
			c.popExpect(wasm.I32)
			if lab := c.label(in.Imm); lab != nil {
				ts := lab.labelTypes()
				c.popAll(ts)
				c.pushAll(ts)
			}
		case wasm.OpBrTable:
			labels, ok := code.BrTable(in)
			if !ok {
				c.fail(RuleInvalid, "labels %d..%d+%d out of range", in.Imm, in.Imm, in.Imm2)
				break
			}
			if uint64(len(labels)-1) > uint64(c.l.MaxBrTableTargets) {
				c.fail(RuleBrTable, "%d targets exceed limit %d", len(labels)-1, c.l.MaxBrTableTargets)
				break
			}
			c.popExpect(wasm.I32)
			def := c.label(uint64(labels[len(labels)-1]))
			if def == nil {
				break
			}
			arity := len(def.labelTypes())
			for _, t := range labels[:len(labels)-1] {
				lab := c.label(uint64(t))
				if lab == nil {
					break
				}
				ts := lab.labelTypes()
				if len(ts) != arity {
					c.fail(RuleInvalid, "br_table targets of different arity (%d and %d)", len(ts), arity)
					break
				}
				// Pop and push back, checking the types of every target against the stack.
				n := len(c.vals)
				c.popAll(ts)
				if len(c.vals) < n {
					c.vals = c.vals[:n]
				}
			}
			c.popAll(def.labelTypes())
			c.setUnreachable()
		case wasm.OpReturn:
			c.popAll(typ.Results)
			c.setUnreachable()
		case wasm.OpCall:
			if in.Imm >= uint64(len(c.mi.funcTypes)) {
				c.fail(RuleInvalid, "function index %d out of range (%d functions)", in.Imm, len(c.mi.funcTypes))
				break
			}
			t := c.mi.funcTypes[in.Imm]
			c.popAll(t.Params)
			c.pushAll(t.Results)
		case wasm.OpCallIndirect:
			if in.Imm2 != 0 || len(m.Tables) == 0 {
				c.fail(RuleInvalid, "table %d does not exist", in.Imm2)
				break
			}
			if in.Imm >= uint64(len(m.Types)) {
				c.fail(RuleInvalid, "type index %d out of range (%d types)", in.Imm, len(m.Types))
				break
			}
			t := m.Types[in.Imm]
			c.popExpect(wasm.I32)
			c.popAll(t.Params)
			c.pushAll(t.Results)
		case wasm.OpDrop:
			c.pop()
		case wasm.OpSelect:
			c.popExpect(wasm.I32)
			t1 := c.pop()
			t2 := c.pop()
			if t1 != t2 && t1 != unknown && t2 != unknown {
				c.fail(RuleInvalid, "select of different types %s and %s", t2, t1)
			}
			if t1 == unknown {
				t1 = t2
			}
			c.push(t1)
		case wasm.OpSelectT:
			t := wasm.ValType(in.Imm)
			c.popExpect(wasm.I32)
			c.popExpect(t)
			c.popExpect(t)
			c.push(t)
		case wasm.OpLocalGet, wasm.OpLocalSet, wasm.OpLocalTee:
			if in.Imm >= uint64(len(locals)) {
				c.fail(RuleInvalid, "local index %d out of range (%d locals)", in.Imm, len(locals))
				break
			}
			t := locals[in.Imm]
			switch in.Op {
			case wasm.OpLocalGet:
				c.push(t)
			case wasm.OpLocalSet:
				c.popExpect(t)
			default:
				c.popExpect(t)
				c.push(t)
			}
		case wasm.OpGlobalGet, wasm.OpGlobalSet:
			if in.Imm >= uint64(len(c.mi.globals)) {
				c.fail(RuleInvalid, "global index %d out of range (%d globals)", in.Imm, len(c.mi.globals))
				break
			}
			g := c.mi.globals[in.Imm]
			if in.Op == wasm.OpGlobalGet {
				c.push(g.Type)
			} else {
				if !g.Mutable {
					c.fail(RuleInvalid, "global %d is immutable", in.Imm)
				}
				c.popExpect(g.Type)
			}
		case wasm.OpMemorySize:
			c.push(wasm.I32)
		case wasm.OpMemoryGrow:
			c.popExpect(wasm.I32)
			c.push(wasm.I32)
		case wasm.OpI32Const:
			c.push(wasm.I32)
		case wasm.OpI64Const:
			c.push(wasm.I64)
		case wasm.OpF32Const:
			c.push(wasm.F32)
		case wasm.OpF64Const:
			c.push(wasm.F64)
		case wasm.OpMemoryInit, wasm.OpDataDrop:
			if !m.HasDataCount {
				c.fail(RuleInvalid, "requires a data count section")
				break
			}
			if in.Imm >= uint64(m.DataCount) {
				c.fail(RuleInvalid, "data segment %d out of range (%d segments)", in.Imm, m.DataCount)
				break
			}
			if in.Op == wasm.OpMemoryInit {
				c.popExpect(wasm.I32)
				c.popExpect(wasm.I32)
				c.popExpect(wasm.I32)
			}
		case wasm.OpMemoryCopy, wasm.OpMemoryFill:
			c.popExpect(wasm.I32)
			c.popExpect(wasm.I32)
			c.popExpect(wasm.I32)
		default:
			if acc, ok := memAccess[in.Op]; ok {
				if in.Imm2 > acc.align {
					c.fail(RuleInvalid, "alignment 2^%d larger than natural alignment 2^%d", in.Imm2, acc.align)
					break
				}
				if acc.store {
					c.popExpect(acc.t)
					c.popExpect(wasm.I32)
				} else {
					c.popExpect(wasm.I32)
					c.push(acc.t)
				}
				break
			}
			info := wasm.Info(in.Op)
			if info == nil || !info.Numeric {
				c.fail(RuleInvalid, "unexpected instruction")
				break
			}
			for i := len(info.In) - 1; i >= 0; i-- {
				c.popExpect(info.In[i])
			}
			c.push(info.Out)
		}
		if c.err != nil {
			return 0, c.err
		}
	}
	if c.err != nil {
		return 0, c.err
	}
	c.blocks = blocks
	if len(c.ctrls) != 0 {
		c.pc = len(body)
		c.fail(RuleInvalid, "function body ends inside %d unclosed blocks", len(c.ctrls))
		return 0, c.err
	}
	return c.max, nil
}

// isControl reports whether op is one of the control instructions MaxBlocks counts.
func isControl(op wasm.Opcode) bool {
	switch op {
	case wasm.OpBlock, wasm.OpLoop, wasm.OpIf, wasm.OpElse, wasm.OpBr, wasm.OpBrIf, wasm.OpBrTable:
		return true
	}
	return false
}
