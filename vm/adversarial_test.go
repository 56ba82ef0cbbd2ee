package vm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestAdversarial runs code that tries to hang, crash or exhaust the node; each case must
// end with its expected deterministic outcome on both engines.
func TestAdversarial(t *testing.T) {
	const oog, stack, trap = "out of gas", "stack overflow", "trap"
	cases := []struct {
		name   string
		addr   string // "adv" (adversarial.wat) or "traps" (vm/testdata/c/traps.wasm)
		method string
		input  []byte
		gas    uint64
		err    string // exact error text; "" = success
		out    []byte // expected output on success (nil: not checked)
	}{
		{"infinite loop", "adv", "loop", nil, 1_000_000, oog, nil},
		{"infinite loop C", "traps", "infinite", nil, 1_000_000, oog, nil},
		{"unbounded recursion", "adv", "recurse", nil, 1_000_000, stack, nil},
		{"recursion with big frames", "adv", "recurse_locals", nil, 1_000_000, stack, nil},
		{"deep recursion C", "traps", "recurse", le64(1_000_000), 100_000_000, stack, nil},
		{"shallow recursion C", "traps", "recurse", le64(5), 1_000_000, "", le64(121)},
		{"exponential recursion", "adv", "fib", nil, 1_000_000, oog, nil},
		{"call_indirect recursion", "adv", "indirect", nil, 1_000_000, stack, nil},
		{"exponential call_indirect", "adv", "fib_indirect", nil, 1_000_000, oog, nil},
		{"memory.grow 4 GiB, little gas: refused, pays no pages", "adv", "grow_max", nil, 1_000_000, "", le32(0xFFFFFFFF)},
		{"memory.grow 4 GiB, refused", "adv", "grow_max", nil, 600_000_000, "", le32(0xFFFFFFFF)},
		{"memory.grow beyond the limit C", "traps", "grow", le32(1000), 10_000_000, "", le32(0xFFFFFFFF)},
		{"memory.grow within the limit C", "traps", "grow", le32(2), 10_000_000, "", le32(2)},
		{"memory.grow loop", "adv", "grow_loop", nil, 10_000_000, oog, nil},
		{"memory.fill 4 GiB, little gas", "adv", "fill_huge", nil, 1_000_000, oog, nil},
		{"memory.fill 4 GiB, out of bounds", "adv", "fill_huge", nil, 300_000_000, "trap: out of bounds memory access", nil},
		{"memory.copy 4 GiB, little gas", "adv", "copy_huge", nil, 1_000_000, oog, nil},
		{"memory.copy 4 GiB, out of bounds", "adv", "copy_huge", nil, 300_000_000, "trap: out of bounds memory access", nil},
		{"memory.fill loop", "adv", "fill_loop", nil, 1_000_000, oog, nil},
		{"huge return", "adv", "return_huge", le32(19), 100_000_000, "trap: return data of 1310720 bytes exceeds 1048576", nil},
		{"huge return, little gas", "adv", "return_huge", le32(15), 1_000_000, oog, nil},
		{"event flood, little gas", "adv", "emit_flood", nil, 1_000_000, oog, nil},
		{"event flood", "adv", "emit_flood", nil, 100_000_000, "trap: more than 1024 events", nil},
		{"storage write flood", "adv", "write_flood", nil, 1_000_000, oog, nil},
		{"cross-contract recursion", "adv", "recurse_depth", le32(0), 10_000_000, "", le32(64)},
		{"cross-contract recursion, failure climbs up", "adv", "recurse_trap", nil, 10_000_000, "trap: unreachable", nil},
		{"frames holding 16 MiB each", "adv", "grow_recurse", le32(0), 100_000_000, "", le32(5)},
		{"divide by zero", "adv", "div_zero", nil, 100_000, "trap: integer divide by zero", nil},
		{"integer overflow", "adv", "int_overflow", nil, 100_000, "trap: integer overflow", nil},
		{"bad conversion", "adv", "bad_conversion", nil, 100_000, "trap: invalid conversion to integer", nil},
		{"out of bounds load", "adv", "oob_load", nil, 100_000, "trap: out of bounds memory access", nil},
		{"out of bounds store", "adv", "oob_store", nil, 100_000, "trap: out of bounds memory access", nil},
		{"out of bounds C", "traps", "oob", nil, 100_000, "trap: out of bounds memory access", nil},
		{"table out of bounds", "adv", "table_oob", nil, 100_000, "trap: invalid table access", nil},
		{"indirect type mismatch", "adv", "type_mismatch", nil, 100_000, "trap: indirect call type mismatch", nil},
		{"unreachable C", "traps", "unreachable", nil, 100_000, "trap: unreachable", nil},
		{"return then trap C", "traps", "return_then_trap", nil, 100_000, "trap: unreachable", nil},
		{"div zero C", "traps", "div_zero", nil, 100_000, "trap: integer divide by zero", nil},
	}
	for _, e := range engines {
		v := newVM(t, e)
		t.Run(e.String(), func(t *testing.T) {
			for _, c := range cases {
				s := world(t)
				addr := advAddr
				if c.addr == "traps" {
					addr = trapsAddr
				}
				before := s.Copy()
				start := time.Now()
				r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: addr, Method: c.method, Input: c.input, Gas: c.gas})
				elapsed := time.Since(start)
				switch {
				case c.err == "" && r.Err != nil:
					t.Errorf("%s: err %v", c.name, r.Err)
				case c.err != "" && (r.Err == nil || !errorMatches(r.Err, c.err)):
					t.Errorf("%s: err %v, want %s", c.name, r.Err, c.err)
				case c.out != nil && string(r.Output) != string(c.out):
					t.Errorf("%s: output %x, want %x", c.name, r.Output, c.out)
				}
				if c.err == oog && r.GasUsed != c.gas {
					t.Errorf("%s: out of gas used %d of %d", c.name, r.GasUsed, c.gas)
				}
				if r.GasUsed > c.gas {
					t.Errorf("%s: used %d > limit %d", c.name, r.GasUsed, c.gas)
				}
				if c.err != "" && (!s.Equal(before) || len(r.Events) != 0 || r.Output != nil) {
					t.Errorf("%s: a failed call left changes", c.name)
				}
				t.Logf("%-45s gas %11d  %v  %v", c.name, r.GasUsed, elapsed.Round(time.Microsecond), r.Err)
			}
		})
	}
}

// errorMatches accepts the sentinel names for the bare sentinels and exact text otherwise.
func errorMatches(err error, want string) bool {
	switch want {
	case "out of gas":
		return errors.Is(err, vm.ErrOutOfGas) && err.Error() == want
	case "stack overflow":
		return errors.Is(err, vm.ErrStackOverflow) && err.Error() == want
	}
	return errors.Is(err, vm.ErrTrap) && err.Error() == want
}

func le64(x uint64) []byte { return binary.LittleEndian.AppendUint64(nil, x) }

// TestCancel: a canceled context stops code that has gas to burn for hours: at its next
// host call by default, at once (even in a tight loop) with Config.Interruptible.
func TestCancel(t *testing.T) {
	type tc struct {
		interruptible bool
		contract      types.Address
		method        string
		input         []byte
	}
	cases := []tc{
		{false, advAddr, "host_loop", nil},
		{false, abiAddr, "call", callInput(advAddr, 0, 0, "host_loop", nil)},
		{true, advAddr, "loop", nil},
		{true, abiAddr, "call", callInput(advAddr, 0, 0, "loop", nil)},
	}
	for _, e := range engines {
		for _, c := range cases {
			v, err := vm.New(context.Background(), vm.Config{Engine: e, Interruptible: c.interruptible})
			if err != nil {
				t.Fatal(err)
			}
			s := world(t)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			start := time.Now()
			r := v.Call(ctx, env(s), vm.Call{Caller: alice, Contract: c.contract, Method: c.method, Input: c.input, Gas: 1 << 62})
			cancel()
			if !errors.Is(r.Err, vm.ErrCanceled) || !errors.Is(r.Err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
				t.Errorf("%v %+v: err %v after %v", e, c, r.Err, time.Since(start))
			}
			// A context already done runs nothing.
			r = v.Call(ctx, env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "echo", Gas: 1000})
			if !errors.Is(r.Err, vm.ErrCanceled) {
				t.Errorf("done context: %v", r.Err)
			}
			v.Close(context.Background())
		}
	}
}
