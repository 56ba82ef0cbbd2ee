package vm_test

import (
	"context"
	"testing"

	"github.com/wnode/wnode/vm"
)

// fuzzMethods are the methods FuzzCall picks from: every ABI exercise, including those
// that take raw pointers and lengths from the input, plus some adversarial ones.
var fuzzMethods = []string{
	"echo", "fail", "sread", "swrite", "sdelete", "env", "balance", "transfer", "emit", "emit_n", "call",
	"sha256", "keccak256", "ecrecover", "gas", "log", "raw_input_read", "raw_return", "raw_revert",
	"raw_storage_read", "raw_storage_write", "raw_storage_delete", "raw_caller", "raw_value", "raw_balance",
	"raw_transfer", "raw_emit", "raw_call", "raw_result_read", "raw_sha256", "raw_keccak256",
	"raw_ecrecover", "raw_log", "missing",
}

// FuzzCall feeds arbitrary inputs (pointers, lengths, nested call targets, gas) to the ABI
// test contract. Every call must end without a Go panic, the same way on the compiler and
// the interpreter, and a failed call must leave the state and events untouched.
func FuzzCall(f *testing.F) {
	f.Add(uint8(0), []byte("hello"), uint32(100_000))
	f.Add(uint8(9), le32(5000), uint32(1_000_000))
	f.Add(uint8(10), callInput(abiAddr, 0, 0, "call", callInput(abiAddr2, 0, 0, "echo", []byte("x"))), uint32(2_000_000))
	f.Add(uint8(17), le32(0xFFFFFFFF, 2), uint32(100_000))
	f.Add(uint8(27), le32(0, 0, 0, 0, 0, 0), uint32(1_000_000))
	f.Add(uint8(4), cat(le32(3), []byte("keyvalue")), uint32(50_000))
	comp := newVM(f, vm.EngineCompiler)
	interp := newVM(f, vm.EngineInterpreter)
	f.Fuzz(func(t *testing.T, m uint8, input []byte, gasLimit uint32) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		var digests [2]string
		for i, v := range []*vm.VM{comp, interp} {
			s := world(t)
			s.SetBalance(abiAddr, uint256From(1000))
			before := s.Copy()
			r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: method, Input: input, Gas: uint64(gasLimit)})
			if r.Err != nil && (!s.Equal(before) || len(r.Events) != 0 || r.Output != nil) {
				t.Fatalf("%s: failed call (%v) left changes", method, r.Err)
			}
			if r.GasUsed > uint64(gasLimit) {
				t.Fatalf("%s: used %d > %d", method, r.GasUsed, gasLimit)
			}
			digests[i] = digest(r)
		}
		if digests[0] != digests[1] {
			t.Fatalf("%s(%x): engines differ:\n%s\n%s", method, input, digests[0], digests[1])
		}
	})
}
