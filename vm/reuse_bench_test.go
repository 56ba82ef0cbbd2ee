package vm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/internal/wasm"
	"github.com/wnode/wnode/vm/vmtest"
)

// frameModule returns a contract whose linear memory has pages pages, laid out as a C or
// Rust compiler lays it out: a shadow stack growing down from stackTop, data right
// above. Its method "frame" pushes a 256-byte frame, writes 64 bytes of it and pops it,
// as the smallest compiled method does.
func frameModule(pages, stackTop uint32) []byte {
	i32 := func(v int32) wasm.Instr { return wasm.I32Const(v) }
	sp := wasm.Instr{Op: wasm.OpGlobalGet, Imm: 0}
	body := []wasm.Instr{
		sp, i32(256), {Op: wasm.OpI32Sub}, {Op: wasm.OpGlobalSet, Imm: 0},
	}
	for off := uint64(0); off < 64; off += 8 {
		body = append(body, sp, wasm.I64Const(-1), wasm.Instr{Op: wasm.OpI64Store, Imm: off, Imm2: 3})
	}
	body = append(body, sp, i32(256), wasm.Instr{Op: wasm.OpI32Add}, wasm.Instr{Op: wasm.OpGlobalSet, Imm: 0},
		wasm.Instr{Op: wasm.OpEnd})
	m := &wasm.Module{
		Types:    []wasm.FuncType{{}},
		Funcs:    []uint32{0},
		Memories: []wasm.Limits{{Min: pages, Max: pages, HasMax: true}},
		Globals: []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true},
			Init: wasm.ConstExpr{Op: wasm.OpI32Const, Imm: uint64(stackTop)}}},
		Exports: []wasm.Export{{Name: "memory", Kind: wasm.KindMemory}, {Name: "frame", Kind: wasm.KindFunc}},
		Code:    []wasm.Code{{Body: body}},
		Data:    []wasm.Data{{Offset: wasm.ConstExpr{Op: wasm.OpI32Const, Imm: uint64(stackTop)}, Init: []byte("constant data of the contract, a hundred bytes or so .........................................")}},
	}
	return wasm.Encode(m)
}

// BenchmarkInstanceReuse: one call of the smallest method of contracts with linear
// memories of 1 to 64 pages (the stack at 64 KiB below the top, as clang and rustc lay
// it out with a 1 MiB stack at 17 pages), with a reused instance and with a fresh one:
// what the reset of a memory costs against the instantiation it replaces.
func BenchmarkInstanceReuse(b *testing.B) {
	addr := common.HexToAddress("0xc0de000000000000000000000000000000000b01")
	for _, pages := range []uint32{1, 2, 17, 64} {
		code := frameModule(pages, (pages-1)<<16)
		if pages == 1 {
			code = frameModule(pages, 0x8000)
		}
		for _, fresh := range []bool{false, true} {
			name := "reused"
			if fresh {
				name = "fresh"
			}
			b.Run(fmt.Sprintf("pages=%d/%s", pages, name), func(b *testing.B) {
				v, err := vm.New(context.Background(), vm.Config{FreshInstances: fresh})
				if err != nil {
					b.Fatal(err)
				}
				defer v.Close(context.Background())
				s := vmtest.New()
				s.SetCode(addr, code)
				e := env(s)
				e.Debug = false
				c := vm.Call{Caller: alice, Contract: addr, Method: "frame", Gas: 100_000}
				if r := v.Call(context.Background(), e, c); r.Err != nil {
					b.Fatal(r.Err)
				}
				benchCalls(b, v, e, c)
			})
		}
	}
}
