package vm_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/internal/prepare"
)

// TestMemoryGrowPaysPagesAdded: memory.grow pays its base and MemoryGrowPerPage for each
// page actually added. A grow past the memory's maximum adds nothing, pays only the base
// and returns -1, so a contract can observe the refusal of a large request instead of
// running out of gas for pages it never gets (issue 11). On both engines.
func TestMemoryGrowPaysPagesAdded(t *testing.T) {
	perPage := newVM(t, vm.EngineCompiler).Schedule().Instr.MemoryGrowPerPage
	max := prepare.DefaultLimits().MaxMemoryPages // traps.wasm declares no maximum
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) {
			v := newVM(t, e)
			grow := func(pages uint32, gas uint64) (int32, uint64) {
				t.Helper()
				s := world(t)
				r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: trapsAddr, Method: "grow", Input: le32(pages), Gas: gas})
				if r.Err != nil {
					t.Fatalf("grow(%d) with %d gas: %v", pages, gas, r.Err)
				}
				return int32(binary.LittleEndian.Uint32(r.Output)), r.GasUsed
			}
			size, g0 := grow(0, testGas) // adds no page: the base only
			if size <= 0 || uint32(size) >= max {
				t.Fatalf("initial size %d pages, max %d", size, max)
			}
			room := max - uint32(size)
			for _, c := range []struct {
				pages uint32
				want  int32  // grow's result
				added uint64 // pages paid for
			}{
				{1, size, 1},
				{room, size, uint64(room)},            // up to the maximum exactly
				{room + 1, -1, 0},                     // one page too many: refused, nothing paid
				{65535, -1, 0},                        // 4 GiB
				{0xFFFF_FFFF, -1, 0},                  // not even a valid page count
				{1 << 16, -1, 0},                      // 2^16 pages
				{room + 1<<15, -1, 0},                 // far past it
				{uint32(max) * 2, -1, 0},              // twice the maximum
				{0x8000_0000, -1, 0},                  // negative as an i32
				{uint32(1<<32 - uint64(size)), -1, 0}, // wraps size + delta to 0
			} {
				got, used := grow(c.pages, testGas)
				if want := g0 + c.added*perPage; got != c.want || used != want {
					t.Errorf("grow(%d): result %d, gas %d; want %d, gas %d", c.pages, got, used, c.want, want)
				}
			}
			// The refusal is observable with only the gas of a grow of nothing: before
			// the fix, a refused grow of 65535 pages asked for 524 M gas.
			if got, used := grow(65535, g0); got != -1 || used != g0 {
				t.Errorf("grow(65535) with %d gas: result %d, gas %d", g0, got, used)
			}
			// A grow that would succeed but cannot be paid runs out of gas.
			s := world(t)
			r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: trapsAddr, Method: "grow", Input: le32(room), Gas: g0 + uint64(room)*perPage - 1})
			if r.Err != vm.ErrOutOfGas {
				t.Errorf("grow(%d) one gas short: %v", room, r.Err)
			}
		})
	}
}
