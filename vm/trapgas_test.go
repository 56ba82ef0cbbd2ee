package vm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/internal/wasm"
	"github.com/wnode/wnode/vm/vmtest"
)

// trapGasModule is a contract whose methods run a loop of 100 iterations (spin) and then
// fail in each way a call can fail, or return.
func trapGasModule() []byte {
	empty := int64(wasm.BlockEmpty)
	blk := func(op wasm.Opcode) wasm.Instr { return wasm.Instr{Op: op, Imm: uint64(empty)} }
	op := func(op wasm.Opcode, imm uint64) wasm.Instr { return wasm.Instr{Op: op, Imm: imm} }
	const spinFn, calleeFn = 2, 9
	spin := []wasm.Instr{ // spin(n): for ; n != 0; n-- { sink += n }
		blk(wasm.OpBlock), op(wasm.OpLocalGet, 0), op(wasm.OpI32Eqz, 0), op(wasm.OpBrIf, 0),
		blk(wasm.OpLoop),
		op(wasm.OpGlobalGet, 0), op(wasm.OpLocalGet, 0), op(wasm.OpI64ExtendI32U, 0), op(wasm.OpI64Add, 0), op(wasm.OpGlobalSet, 0),
		op(wasm.OpLocalGet, 0), wasm.I32Const(1), op(wasm.OpI32Sub, 0), op(wasm.OpLocalTee, 0), op(wasm.OpBrIf, 0),
		op(wasm.OpEnd, 0), op(wasm.OpEnd, 0), op(wasm.OpEnd, 0),
	}
	spin100 := []wasm.Instr{wasm.I32Const(100), op(wasm.OpCall, spinFn)}
	body := func(parts ...[]wasm.Instr) []wasm.Instr {
		var b []wasm.Instr
		for _, p := range parts {
			b = append(b, p...)
		}
		return append(b, op(wasm.OpEnd, 0))
	}
	methods := []struct {
		name string
		body []wasm.Instr
	}{
		// A trap in the middle of a loop: for i = 0; ; i++ { sink += i; if i == 50 { unreachable } }.
		{"trap_loop", body([]wasm.Instr{
			blk(wasm.OpLoop),
			op(wasm.OpGlobalGet, 0), op(wasm.OpLocalGet, 0), op(wasm.OpI64ExtendI32U, 0), op(wasm.OpI64Add, 0), op(wasm.OpGlobalSet, 0),
			op(wasm.OpLocalGet, 0), wasm.I32Const(50), op(wasm.OpI32Eq, 0), blk(wasm.OpIf), op(wasm.OpUnreachable, 0), op(wasm.OpEnd, 0),
			op(wasm.OpLocalGet, 0), wasm.I32Const(1), op(wasm.OpI32Add, 0), op(wasm.OpLocalSet, 0), op(wasm.OpBr, 0),
			op(wasm.OpEnd, 0),
		})},
		{"trap_callee", body(spin100, []wasm.Instr{op(wasm.OpCall, calleeFn)})},
		{"revert_after", body(spin100, []wasm.Instr{wasm.I32Const(0), wasm.I32Const(4), op(wasm.OpCall, 0)})},
		// input_read to the last byte of memory: the 8-byte input does not fit.
		{"host_trap", body(spin100, []wasm.Instr{wasm.I32Const(65535), op(wasm.OpCall, 1)})},
		{"spin", body(spin100)},
		{"oob_after", body(spin100, []wasm.Instr{wasm.I32Const(65535), op(wasm.OpI64Load, 0), op(wasm.OpDrop, 0)})},
	}
	m := &wasm.Module{
		Types: []wasm.FuncType{
			{Params: []wasm.ValType{wasm.I32, wasm.I32}},
			{Params: []wasm.ValType{wasm.I32}},
			{},
		},
		Imports: []wasm.Import{
			{Module: "wnode", Name: "revert", Kind: wasm.KindFunc, Func: 0},
			{Module: "wnode", Name: "input_read", Kind: wasm.KindFunc, Func: 1},
		},
		Memories: []wasm.Limits{{Min: 1, Max: 1, HasMax: true}},
		Globals:  []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I64, Mutable: true}, Init: wasm.ConstExpr{Op: wasm.OpI64Const}}},
		Exports:  []wasm.Export{{Name: "memory", Kind: wasm.KindMemory}},
	}
	m.Funcs = append(m.Funcs, 1)
	m.Code = append(m.Code, wasm.Code{Body: spin})
	for i, f := range methods {
		m.Funcs = append(m.Funcs, 2)
		m.Code = append(m.Code, wasm.Code{Locals: []wasm.LocalDecl{{Count: 1, Type: wasm.I32}}, Body: f.body})
		m.Exports = append(m.Exports, wasm.Export{Name: f.name, Kind: wasm.KindFunc, Index: uint32(3 + i)})
	}
	// calleeFn: spin, then divide by zero.
	m.Funcs = append(m.Funcs, 2)
	m.Code = append(m.Code, wasm.Code{Body: body(spin100, []wasm.Instr{wasm.I32Const(1), wasm.I32Const(0), op(wasm.OpI32DivU, 0), op(wasm.OpDrop, 0)})})
	if len(m.Code)+1 != calleeFn {
		panic("trapGasModule: callee index")
	}
	return wasm.Encode(m)
}

// TestTrapGas pins what a failed call is charged (vm.Version 6): a trap of a Wasm
// instruction — in the middle of a loop, in a callee, after a loop — and out of gas use the
// whole gas limit, whatever the limit; a failure raised by a host function (a revert, a
// host trap) uses the gas charged up to it, the same under any limit that covers it. With
// one gas less than a successful call uses, the call runs out of gas (trapping at a check,
// or returning with the gas below zero) and uses its whole limit. Both engines agree.
func TestTrapGas(t *testing.T) {
	code := trapGasModule()
	input := le32(1, 2) // 8 bytes: too many for the last byte of memory
	for _, e := range engines {
		v := newVM(t, e)
		s := vmtest.New()
		s.SetCode(advAddr, code)
		do := func(method string, limit uint64) *vm.Result {
			return v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: advAddr, Method: method, Input: input, Gas: limit})
		}
		var rev *vm.RevertError
		for _, c := range []struct {
			method string
			want   error // nil: a revert
			whole  bool  // uses the whole limit
		}{
			{"trap_loop", vm.ErrTrap, true},
			{"trap_callee", vm.ErrTrap, true},
			{"oob_after", vm.ErrTrap, true},
			{"revert_after", nil, false},
			{"host_trap", vm.ErrTrap, false},
		} {
			var used []uint64
			for _, limit := range []uint64{1_000_000, 3_000_000} {
				r := do(c.method, limit)
				if c.want == nil && !errors.As(r.Err, &rev) || c.want != nil && !errors.Is(r.Err, c.want) {
					t.Fatalf("%v %s: error %v, want %v", e, c.method, r.Err, c.want)
				}
				if c.whole != (r.GasUsed == limit) || r.GasUsed == 0 {
					t.Fatalf("%v %s: used %d of %d, whole limit %v", e, c.method, r.GasUsed, limit, c.whole)
				}
				used = append(used, r.GasUsed)
			}
			if !c.whole && used[0] != used[1] {
				t.Fatalf("%v %s: used %d and %d under two limits", e, c.method, used[0], used[1])
			}
		}
		r := do("spin", 1_000_000)
		if r.Err != nil || r.GasUsed < 100 {
			t.Fatalf("%v spin: %v, used %d", e, r.Err, r.GasUsed)
		}
		for limit := r.GasUsed - 1; limit+30 >= r.GasUsed && limit > 0; limit-- {
			if r := do("spin", limit); !errors.Is(r.Err, vm.ErrOutOfGas) || r.GasUsed != limit {
				t.Fatalf("%v spin with %d gas: %v, used %d", e, limit, r.Err, r.GasUsed)
			}
		}
		if r2 := do("spin", r.GasUsed); r2.Err != nil || r2.GasUsed != r.GasUsed {
			t.Fatalf("%v spin with exactly %d gas: %v, used %d", e, r.GasUsed, r2.Err, r2.GasUsed)
		}
	}
}
