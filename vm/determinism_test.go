package vm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

// More contracts: vm/testdata/c (by the contracts helper) and the examples.
var (
	cFloats  = common.HexToAddress("0xc0de000000000000000000000000000000000c02")
	cLoop    = common.HexToAddress("0xc0de000000000000000000000000000000000c03")
	cSha     = common.HexToAddress("0xc0de000000000000000000000000000000000c04")
	cSort    = common.HexToAddress("0xc0de000000000000000000000000000000000c05")
	cStorage = common.HexToAddress("0xc0de000000000000000000000000000000000c06")
	cCalls   = common.HexToAddress("0xc0de000000000000000000000000000000000c07")
	cCalls2  = common.HexToAddress("0xc0de000000000000000000000000000000000c08")
	cEcho    = common.HexToAddress("0xc0de000000000000000000000000000000000c09")
	cHost    = common.HexToAddress("0xc0de000000000000000000000000000000000c0a")
	exHello  = common.HexToAddress("0xe0000000000000000000000000000000000000e1")
	exCount  = common.HexToAddress("0xe0000000000000000000000000000000000000e2")
	exToken  = common.HexToAddress("0xe0000000000000000000000000000000000000e3")
)

// fullWorld is world plus every C test contract and example.
func fullWorld(t testing.TB) *vmtest.State {
	s := world(t)
	for addr, path := range map[types.Address]string{
		cFloats: "testdata/c/floats.wasm", cLoop: "testdata/c/loop.wasm", cSha: "testdata/c/sha256.wasm",
		cSort: "testdata/c/sort.wasm", cStorage: "testdata/c/storage.wasm", cCalls: "testdata/c/calls.wasm",
		cCalls2: "testdata/c/calls.wasm", cEcho: "testdata/c/echo.wasm", cHost: "testdata/c/host.wasm",
		exHello: "../examples/hello/hello.wasm", exCount: "../examples/counter/counter.wasm",
		exToken: "../examples/token/token.wasm",
	} {
		s.SetCode(addr, wasmFile(t, path))
	}
	return s
}

type detCase struct {
	to     types.Address
	method string
	input  []byte
	gas    uint64
	value  uint64
}

func f64s(vals ...float64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func bits64(vals ...uint64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func bits32(vals ...uint32) []byte { return le32(vals...) }

// detCases is a sequence of calls over every test contract, run in order on one state.
func detCases() []detCase {
	const g = 5_000_000
	nanPay := uint64(0x7ff4000000000001) // signaling NaN with payload
	negNan := uint64(0xfff8000000000000) // x86's default NaN
	nanPay32 := uint32(0x7fa00001)
	var cs []detCase
	add := func(to types.Address, m string, in []byte) {
		cs = append(cs, detCase{to: to, method: m, input: in, gas: g})
	}
	// floats, ours and the C ones, over NaN payloads, infinities, zeros
	add(fltAddr, "nans", nil)
	for _, ab := range [][]byte{
		f64s(1.5, 2.25), f64s(0, 0), f64s(math.Inf(1), math.Inf(-1)), f64s(-1, 0), f64s(math.Copysign(0, -1), 0),
		bits64(nanPay, 0x3ff0000000000000), bits64(negNan, negNan), bits64(0x3ff0000000000000, nanPay),
	} {
		add(fltAddr, "arith", ab)
		add(cFloats, "binops64", ab)
		add(cFloats, "unops64", ab[:8])
	}
	add(cFloats, "run", nil)
	add(cFloats, "run", []byte{1})
	for _, ab := range [][]uint32{{0x3fc00000, 0x40100000}, {0, 0}, {nanPay32, 0x3f800000}, {0xffc00000, 0x7f800000}, {0x7f800000, 0xff800000}} {
		add(cFloats, "binops32", bits32(ab...))
		add(cFloats, "unops32", bits32(ab[0]))
	}
	// CPU workloads
	add(cLoop, "run", le64(1000))
	add(benAddr, "loop", le32(1000))
	add(benAddr, "sort", le32(200))
	add(cSha, "run", le64(20))
	add(cSha, "run_host", le64(20))
	add(cSort, "run", cat(le64(7), le64(300)))
	add(cSort, "run", cat(le64(7), le64(200_000)))
	add(cEcho, "echo", []byte("echo me"))
	// storage
	add(cStorage, "writes", le64(20))
	add(cStorage, "reads", le64(20))
	add(cStorage, "reads", cat(le64(5), le64(100)))
	add(cStorage, "deletes", cat(le64(10), le64(5)))
	add(cStorage, "reads", cat(le64(3), le64(7)))
	// host functions through host.wasm and abi.wat
	for _, m := range []string{"caller", "origin", "self_address", "value", "block_height", "block_time", "gas_left", "return_then_revert"} {
		add(cHost, m, nil)
	}
	add(cHost, "balance", alice[:])
	add(cHost, "emit", cat([]byte{3}, []byte("topdata")))
	add(cHost, "log", []byte("hello log"))
	add(cHost, "sha256", []byte("abc"))
	add(cHost, "keccak256", []byte("abc"))
	add(cHost, "revert", []byte("bye"))
	add(cHost, "storage_write", cat([]byte{2}, []byte("kk"), []byte("vvv")))
	add(cHost, "storage_read", cat(le32(2), []byte("kk")))
	add(cHost, "storage_delete", []byte("kk"))
	add(cHost, "ecrecover", make([]byte, 97))
	add(abiAddr, "env", nil)
	add(abiAddr, "emit_n", le32(5))
	add(abiAddr, "swrite", cat(le32(1), []byte("a"), []byte("b")))
	add(abiAddr, "sread", []byte("a"))
	add(abiAddr, "call", callInput(abiAddr2, 0, 0, "emit_n", le32(3)))
	add(abiAddr, "call", callInput(abiAddr2, 0, 0, "fail", []byte("x")))
	add(abiAddr, "call", callInput(advAddr, 0, 100_000, "loop", nil))
	// cross-contract calls in C
	fwd := func(to types.Address, m string, args []byte) []byte {
		return cat(to[:], []byte{byte(len(m))}, []byte(m), args)
	}
	add(cCalls, "forward", fwd(cCalls2, "set", cat([]byte{1}, []byte("k"), []byte("v"))))
	add(cCalls, "forward", fwd(cCalls2, "get", []byte("k")))
	add(cCalls, "try_forward", fwd(cCalls2, "fail_after_write", nil))
	add(cCalls, "forward", fwd(cCalls2, "fail_after_write", nil))
	add(cCalls, "forward", fwd(cCalls2, "forward", fwd(cEcho, "echo", []byte("deep"))))
	add(cCalls, "depth", le64(1000))
	// examples
	add(exHello, "hello", nil)
	add(exHello, "hello", []byte("wnode"))
	add(exCount, "increment", nil)
	add(exCount, "increment", nil)
	add(exCount, "get", nil)
	cs = append(cs, detCase{to: exToken, method: "init", input: le64be(1_000_000), gas: g})
	add(exToken, "transfer", cat(bob[:], le64be(250)))
	add(exToken, "transfer", cat(bob[:], le64be(2_000_000)))
	add(exToken, "balance_of", alice[:])
	add(exToken, "balance_of", bob[:])
	add(exToken, "total_supply", nil)
	// adversarial, with small gas so the interpreter stays quick
	for _, m := range []string{"loop", "recurse", "recurse_locals", "fib", "indirect", "fib_indirect", "grow_max", "fill_huge",
		"copy_huge", "fill_loop", "emit_flood", "write_flood", "recurse_trap", "div_zero", "int_overflow", "bad_conversion",
		"oob_load", "oob_store", "table_oob", "type_mismatch", "unreachable"} {
		cs = append(cs, detCase{to: advAddr, method: m, gas: 300_000})
	}
	cs = append(cs, detCase{to: advAddr, method: "recurse_depth", input: le32(0), gas: g})
	cs = append(cs, detCase{to: advAddr, method: "return_huge", input: le32(3), gas: g})
	for _, m := range []string{"unreachable", "div_zero", "oob", "return_then_trap"} {
		add(trapsAddr, m, nil)
	}
	add(trapsAddr, "recurse", le64(100_000))
	add(trapsAddr, "grow", le32(3))
	// value transfers
	cs = append(cs, detCase{to: abiAddr, method: "nothing", gas: g, value: 100})
	cs = append(cs, detCase{to: abiAddr, method: "nothing", gas: g, value: 1 << 40})
	return cs
}

func le64be(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// digest renders everything observable of a result, to compare runs.
func digest(r *vm.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "out=%x gas=%d err=%v events=[", r.Output, r.GasUsed, r.Err)
	for _, e := range r.Events {
		fmt.Fprintf(&b, "{%x %x %x}", e.Contract, e.Topic, e.Data)
	}
	fmt.Fprintf(&b, "] logs=%q", r.Logs)
	return b.String()
}

func runSequence(t *testing.T, v *vm.VM) []string {
	s := fullWorld(t)
	var out []string
	for _, c := range detCases() {
		r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: c.to, Method: c.method, Input: c.input,
			Gas: c.gas, Value: uint256.NewInt(c.value)})
		out = append(out, digest(r))
	}
	return out
}

// TestDeterminism runs every test contract over many inputs on the compiler and the
// interpreter, twice each, and requires identical output, gas, error text, events and
// logs everywhere.
func TestDeterminism(t *testing.T) {
	cases := detCases()
	comp := newVM(t, vm.EngineCompiler)
	interp := newVM(t, vm.EngineInterpreter)
	runs := [][]string{runSequence(t, comp), runSequence(t, interp), runSequence(t, comp), runSequence(t, interp)}
	failures := 0
	for i, c := range cases {
		for k := 1; k < len(runs); k++ {
			if runs[k][i] != runs[0][i] {
				failures++
				t.Errorf("%x.%s(%x): run %d differs:\n  %s\n  %s", c.to[18:], c.method, c.input, k, runs[0][i], runs[k][i])
			}
		}
	}
	if testing.Verbose() {
		for i, c := range cases {
			t.Logf("%x.%-14s %s", c.to[18:], c.method, runs[0][i])
		}
	}
	// Some failures and successes must be among them, or the table tests nothing.
	var ok, failed int
	for _, d := range runs[0] {
		if strings.Contains(d, "err=<nil>") {
			ok++
		} else {
			failed++
		}
	}
	if ok < 40 || failed < 20 {
		t.Fatalf("%d successes, %d failures: the table lost its cases", ok, failed)
	}
}

// TestCanonicalNaN: NaN results are the canonical positive quiet NaN whatever the
// operands' payloads and the CPU's native NaN.
func TestCanonicalNaN(t *testing.T) {
	for _, e := range engines {
		v := newVM(t, e)
		s := fullWorld(t)
		r := call(t, v, s, cFloats, "run", nil)
		mustOK(t, r)
		want := cat(bits32(0x7fc00000, 0x7fc00000, 0x7fc00000), bits64(0x7ff8000000000000, 0x7ff8000000000000, 0x7ff8000000000000))
		if !bytes.Equal(r.Output, want) {
			t.Fatalf("%v: NaN bits %x, want %x", e, r.Output, want)
		}
		r = call(t, v, s, fltAddr, "nans", nil)
		mustOK(t, r)
		for i := 0; i < 64; i += 8 {
			if got := binary.LittleEndian.Uint64(r.Output[i:]); got != 0x7ff8000000000000 {
				t.Errorf("%v: nans[%d] = %#x", e, i/8, got)
			}
		}
	}
}
