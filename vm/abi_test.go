package vm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

func mustOK(t *testing.T, r *vm.Result) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("unexpected error: %v", r.Err)
	}
}

func mustErr(t *testing.T, r *vm.Result, target error, text string) {
	t.Helper()
	if !errors.Is(r.Err, target) {
		t.Fatalf("error = %v, want %v", r.Err, target)
	}
	if text != "" && r.Err.Error() != text {
		t.Fatalf("error text = %q, want %q", r.Err.Error(), text)
	}
}

func amount32(x uint64) []byte {
	b := uint256.NewInt(x).Bytes32()
	return b[:]
}

// callInput encodes the input of abi.wat's call method.
func callInput(to types.Address, value uint64, gasLimit uint64, method string, args []byte) []byte {
	g := binary.LittleEndian.AppendUint64(nil, gasLimit)
	return cat(to[:], amount32(value), g, le32(uint32(len(method))), []byte(method), args)
}

func TestABI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) { testABI(t, newVM(t, e)) })
	}
}

func testABI(t *testing.T, v *vm.VM) {
	t.Run("echo", func(t *testing.T) {
		s := world(t)
		r := call(t, v, s, abiAddr, "echo", []byte("hello"))
		mustOK(t, r)
		if string(r.Output) != "hello" || r.GasUsed == 0 || r.GasUsed >= testGas {
			t.Fatalf("output %q gas %d", r.Output, r.GasUsed)
		}
		r = call(t, v, s, abiAddr, "nothing", nil)
		mustOK(t, r)
		if len(r.Output) != 0 {
			t.Fatalf("output %q", r.Output)
		}
	})
	t.Run("revert", func(t *testing.T) {
		s := world(t)
		r := call(t, v, s, abiAddr, "fail", []byte("no way"))
		var rev *vm.RevertError
		if !errors.As(r.Err, &rev) || rev.Msg != "no way" || r.Err.Error() != "revert: no way" {
			t.Fatalf("err = %v", r.Err)
		}
		if r.Output != nil || r.GasUsed == 0 || r.GasUsed >= testGas {
			t.Fatalf("output %q gas %d", r.Output, r.GasUsed)
		}
	})
	t.Run("trap", func(t *testing.T) {
		r := call(t, v, world(t), abiAddr, "trap", nil)
		mustErr(t, r, vm.ErrTrap, "trap: unreachable")
	})
	t.Run("missing method or code", func(t *testing.T) {
		s := world(t)
		for _, m := range []string{"nope", "_hidden", "", "memory"} {
			r := call(t, v, s, abiAddr, m, nil)
			mustErr(t, r, vm.ErrMethodNotFound, "")
			if r.GasUsed != 0 {
				t.Fatalf("%q: gas %d", m, r.GasUsed)
			}
		}
		mustErr(t, call(t, v, s, bob, "echo", nil), vm.ErrNoCode, "")
	})
	t.Run("storage", func(t *testing.T) {
		s := world(t)
		read := func(addr types.Address, key string) (int64, string) {
			r := call(t, v, s, addr, "sread", []byte(key))
			mustOK(t, r)
			return int64(binary.LittleEndian.Uint64(r.Output)), string(r.Output[8:])
		}
		if n, _ := read(abiAddr, "k"); n != -1 {
			t.Fatalf("absent key: %d", n)
		}
		mustOK(t, call(t, v, s, abiAddr, "swrite", cat(le32(1), []byte("k"), []byte("value-1"))))
		if n, val := read(abiAddr, "k"); n != 7 || val != "value-1" {
			t.Fatalf("read %d %q", n, val)
		}
		if got, _ := s.GetStorage(abiAddr, []byte("k")); string(got) != "value-1" {
			t.Fatalf("state has %q", got)
		}
		// Another contract's storage is separate.
		if n, _ := read(abiAddr2, "k"); n != -1 {
			t.Fatalf("storage leaked to another contract: %d", n)
		}
		// An empty value exists.
		mustOK(t, call(t, v, s, abiAddr, "swrite", cat(le32(1), []byte("e"))))
		if n, _ := read(abiAddr, "e"); n != 0 {
			t.Fatalf("empty value: %d", n)
		}
		// Only vcap (256) bytes are copied, the full length is returned.
		big := bytes.Repeat([]byte{7}, 1000)
		mustOK(t, call(t, v, s, abiAddr, "swrite", cat(le32(1), []byte("b"), big)))
		if n, val := read(abiAddr, "b"); n != 1000 || val != string(big[:256]) {
			t.Fatalf("big read %d %d", n, len(val))
		}
		mustOK(t, call(t, v, s, abiAddr, "sdelete", []byte("k")))
		if n, _ := read(abiAddr, "k"); n != -1 {
			t.Fatalf("deleted key: %d", n)
		}
		// A failing call's writes are undone.
		before := s.Copy()
		r := call(t, v, s, abiAddr, "swrite_fail", cat(le32(1), []byte("x"), []byte("y")))
		var rev *vm.RevertError
		if !errors.As(r.Err, &rev) || !s.Equal(before) {
			t.Fatalf("err %v, state changed %v", r.Err, !s.Equal(before))
		}
	})
	t.Run("env", func(t *testing.T) {
		s := world(t)
		r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "env",
			Value: uint256.NewInt(1234), Gas: testGas})
		mustOK(t, r)
		o := r.Output
		if len(o) != 108 || types.Address(o[0:20]) != alice || types.Address(o[20:40]) != alice ||
			types.Address(o[40:60]) != abiAddr || !bytes.Equal(o[60:92], amount32(1234)) ||
			binary.LittleEndian.Uint64(o[92:]) != 42 || binary.LittleEndian.Uint64(o[100:]) != 1_700_000_000_123 {
			t.Fatalf("env output %x", o)
		}
		if !s.GetBalance(abiAddr).Eq(uint256.NewInt(1234)) || !s.GetBalance(alice).Eq(uint256.NewInt(1_000_000-1234)) {
			t.Fatal("value not moved")
		}
	})
	t.Run("value and balances", func(t *testing.T) {
		s := world(t)
		r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "nothing",
			Value: uint256.NewInt(2_000_000), Gas: testGas})
		mustErr(t, r, vm.ErrInsufficientBalance, "")
		if !s.GetBalance(alice).Eq(uint256.NewInt(1_000_000)) {
			t.Fatal("balance changed")
		}
		s.SetBalance(abiAddr, uint256.NewInt(500))
		r = call(t, v, s, abiAddr, "balance", abiAddr[:])
		mustOK(t, r)
		if !bytes.Equal(r.Output, amount32(500)) {
			t.Fatalf("balance %x", r.Output)
		}
		r = call(t, v, s, abiAddr, "transfer", cat(bob[:], amount32(200)))
		mustOK(t, r)
		if !bytes.Equal(r.Output, le32(0)) || !s.GetBalance(bob).Eq(uint256.NewInt(200)) ||
			!s.GetBalance(abiAddr).Eq(uint256.NewInt(300)) {
			t.Fatalf("transfer: %x bob %v", r.Output, s.GetBalance(bob))
		}
		r = call(t, v, s, abiAddr, "transfer", cat(bob[:], amount32(301)))
		mustOK(t, r)
		if !bytes.Equal(r.Output, le32(1)) || !s.GetBalance(abiAddr).Eq(uint256.NewInt(300)) {
			t.Fatalf("overdraft transfer: %x", r.Output)
		}
		// A transfer in a trapping call is undone, with the call's value.
		before := s.Copy()
		r = v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "transfer_fail",
			Input: cat(bob[:], amount32(100)), Value: uint256.NewInt(77), Gas: testGas})
		mustErr(t, r, vm.ErrTrap, "trap: unreachable")
		if !s.Equal(before) {
			t.Fatal("failed call changed balances")
		}
	})
	t.Run("events", func(t *testing.T) {
		s := world(t)
		r := call(t, v, s, abiAddr, "emit", cat(le32(5), []byte("topicdata!")))
		mustOK(t, r)
		if len(r.Events) != 1 || r.Events[0].Contract != abiAddr || string(r.Events[0].Topic) != "topic" ||
			string(r.Events[0].Data) != "data!" {
			t.Fatalf("events %+v", r.Events)
		}
		r = call(t, v, s, abiAddr, "emit_n", le32(10))
		mustOK(t, r)
		if len(r.Events) != 10 || binary.LittleEndian.Uint32(r.Events[9].Data) != 9 {
			t.Fatalf("%d events", len(r.Events))
		}
		r = call(t, v, s, abiAddr, "emit_n", le32(vm.MaxEvents+1))
		mustErr(t, r, vm.ErrTrap, "trap: more than 1024 events")
		if len(r.Events) != 0 {
			t.Fatal("events of a failed call kept")
		}
		r = call(t, v, s, abiAddr, "emit", cat(le32(vm.MaxTopicSize+1), make([]byte, vm.MaxTopicSize+1)))
		mustErr(t, r, vm.ErrTrap, "trap: event topic of 257 bytes exceeds 256")

		// The events' bytes are bounded per top-level call, across frames: 31 events of
		// 3 + 64 KiB bytes in the callee and 31 in the caller fit in MaxEventBytes, 33 + 33
		// do not (the caller's 31st event crosses it).
		const size = 3 + vm.MaxEventDataSize
		if 62*size > vm.MaxEventBytes || 64*size <= vm.MaxEventBytes {
			t.Fatal("test sizes no longer straddle MaxEventBytes")
		}
		big := func(method string, in []byte) *vm.Result {
			return v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: method,
				Input: in, Gas: 200_000_000})
		}
		r = big("emit_big_twice", cat(abiAddr2[:], le32(31, vm.MaxEventDataSize)))
		mustOK(t, r)
		if len(r.Events) != 62 || r.Events[0].Contract != abiAddr2 || r.Events[61].Contract != abiAddr {
			t.Fatalf("%d events", len(r.Events))
		}
		r = big("emit_big_twice", cat(abiAddr2[:], le32(33, vm.MaxEventDataSize)))
		mustErr(t, r, vm.ErrTrap, "trap: events of more than 4194304 bytes")
		if len(r.Events) != 0 {
			t.Fatal("events of a failed call kept")
		}
		r = big("emit_big", le32(64, vm.MaxEventDataSize))
		mustErr(t, r, vm.ErrTrap, "trap: events of more than 4194304 bytes")
	})
	t.Run("hashes", func(t *testing.T) {
		s := world(t)
		for _, in := range [][]byte{nil, []byte("abc"), bytes.Repeat([]byte("x"), 5000)} {
			r := call(t, v, s, abiAddr, "sha256", in)
			mustOK(t, r)
			if want := sha256.Sum256(in); !bytes.Equal(r.Output, want[:]) {
				t.Fatalf("sha256 %x", r.Output)
			}
			r = call(t, v, s, abiAddr, "keccak256", in)
			mustOK(t, r)
			if want := crypto.Keccak256(in); !bytes.Equal(r.Output, want) {
				t.Fatalf("keccak256 %x", r.Output)
			}
		}
	})
	t.Run("ecrecover", func(t *testing.T) { testEcrecover(t, v) })
	t.Run("gas_left", func(t *testing.T) {
		r := call(t, v, world(t), abiAddr, "gas", nil)
		mustOK(t, r)
		left := binary.LittleEndian.Uint64(r.Output)
		if left == 0 || left >= testGas || left <= testGas-r.GasUsed {
			t.Fatalf("gas_left %d, used %d", left, r.GasUsed)
		}
	})
	t.Run("log", func(t *testing.T) {
		s := world(t)
		r := call(t, v, s, abiAddr, "log", []byte("debug line"))
		mustOK(t, r)
		if len(r.Logs) != 1 || r.Logs[0] != "debug line" {
			t.Fatalf("logs %q", r.Logs)
		}
		e := env(s)
		e.Debug = false
		r2 := v.Call(context.Background(), e, vm.Call{Caller: alice, Contract: abiAddr, Method: "log", Input: []byte("debug line"), Gas: testGas})
		mustOK(t, r2)
		if r2.Logs != nil || r2.GasUsed != r.GasUsed {
			t.Fatalf("logs %q gas %d vs %d", r2.Logs, r2.GasUsed, r.GasUsed)
		}
	})
	t.Run("limits", func(t *testing.T) {
		s := world(t)
		r := call(t, v, s, abiAddr, "raw_return", le32(0, vm.MaxOutputSize+1))
		mustErr(t, r, vm.ErrTrap, "trap: return data of 1048577 bytes exceeds 1048576")
		// Storage limits are the state's (256-byte keys, 64 KiB values): larger keys and
		// values trap here, before the StateDB could refuse them.
		const keyTrap = "trap: storage key of 257 bytes exceeds 256"
		r = call(t, v, s, abiAddr, "raw_storage_write", le32(0, types.MaxStorageKeySize+1, 0, 1))
		mustErr(t, r, vm.ErrTrap, keyTrap)
		r = call(t, v, s, abiAddr, "raw_storage_write", le32(0, 1, 0, types.MaxStorageValueSize+1))
		mustErr(t, r, vm.ErrTrap, "trap: storage value of 65537 bytes exceeds 65536")
		r = call(t, v, s, abiAddr, "raw_storage_read", le32(0, types.MaxStorageKeySize+1, 0, 0))
		mustErr(t, r, vm.ErrTrap, keyTrap)
		r = call(t, v, s, abiAddr, "raw_storage_delete", le32(0, types.MaxStorageKeySize+1))
		mustErr(t, r, vm.ErrTrap, keyTrap)
		// At the limits, all three succeed.
		mustOK(t, call(t, v, s, abiAddr, "raw_storage_write", le32(0, types.MaxStorageKeySize, 0, types.MaxStorageValueSize)))
		mustOK(t, call(t, v, s, abiAddr, "raw_storage_read", le32(0, types.MaxStorageKeySize, 0, 0)))
		mustOK(t, call(t, v, s, abiAddr, "raw_storage_delete", le32(0, types.MaxStorageKeySize)))
		r = v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: abiAddr, Method: "echo",
			Input: make([]byte, vm.MaxInputSize+1), Gas: testGas})
		mustErr(t, r, vm.ErrTrap, "trap: input of 1048577 bytes exceeds 1048576")
	})
	t.Run("bad pointers", func(t *testing.T) { testBadPointers(t, v) })
	t.Run("calls", func(t *testing.T) { testCalls(t, v) })
}

func testEcrecover(t *testing.T, v *vm.VM) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	hash := crypto.Keccak256([]byte("message"))
	sig, err := crypto.Sign(hash, key)
	if err != nil {
		t.Fatal(err)
	}
	s := world(t)
	check := func(sig []byte, wantRC uint32, wantAddr types.Address) {
		t.Helper()
		r := call(t, v, s, abiAddr, "ecrecover", cat(hash, sig))
		mustOK(t, r)
		if rc := binary.LittleEndian.Uint32(r.Output); rc != wantRC {
			t.Fatalf("rc %d, want %d", rc, wantRC)
		}
		if wantRC == 0 && types.Address(r.Output[4:]) != wantAddr {
			t.Fatalf("recovered %x, want %x", r.Output[4:], wantAddr)
		}
	}
	check(sig, 0, signer)
	v27 := append([]byte{}, sig...)
	v27[64] += 27
	check(v27, 0, signer)
	// The high-S twin of a valid signature is refused.
	n := uint256.MustFromHex("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	sv := new(uint256.Int).SetBytes32(sig[32:64])
	hi := new(uint256.Int).Sub(n, sv).Bytes32()
	high := cat(sig[:32], hi[:], []byte{sig[64] ^ 1})
	check(high, 1, types.Address{})
	bad := append([]byte{}, sig...)
	bad[64] = 5
	check(bad, 1, types.Address{})
	check(make([]byte, 65), 1, types.Address{})
}

func testBadPointers(t *testing.T, v *vm.VM) {
	const oob = "trap: out of bounds memory access"
	far := uint32(0xFFFFFFF0)
	end := uint32(2 * 65536) // memory is 2 pages: the first byte past it
	cases := []struct {
		method string
		args   []uint32
	}{
		{"raw_input_read", []uint32{end - 3}}, // the 4-byte input does not fit
		{"raw_return", []uint32{far, 1}},
		{"raw_return", []uint32{0xFFFFFFFF, 2}}, // ptr+len wraps in 32 bits
		{"raw_return", []uint32{end - 1, 2}},
		{"raw_revert", []uint32{far, 1}},
		{"raw_storage_read", []uint32{far, 1, 0, 0}},
		{"raw_storage_write", []uint32{0, 1, far, 1}},
		{"raw_storage_write", []uint32{far, 1, 0, 1}},
		{"raw_storage_delete", []uint32{far, 1}},
		{"raw_caller", []uint32{end - 19}},
		{"raw_origin", []uint32{far}},
		{"raw_self_address", []uint32{far}},
		{"raw_value", []uint32{end - 31}},
		{"raw_balance", []uint32{far, 0}},
		{"raw_balance", []uint32{0, end - 31}},
		{"raw_transfer", []uint32{far, 0}},
		{"raw_transfer", []uint32{0, far}},
		{"raw_emit", []uint32{far, 1, 0, 0}},
		{"raw_emit", []uint32{0, 0, far, 1}},
		{"raw_call", []uint32{far, 0, 0, 0, 0, 0}},
		{"raw_call", []uint32{0, far, 1, 0, 0, 0}},
		{"raw_call", []uint32{0, 0, 0, far, 1, 0}},
		{"raw_call", []uint32{0, 0, 0, 0, 0, far}},
		{"raw_sha256", []uint32{far, 1, 0}},
		{"raw_sha256", []uint32{0, 1, end - 31}},
		{"raw_keccak256", []uint32{0, end + 1, 0}},
		{"raw_keccak256", []uint32{0, 1, far}},
		{"raw_ecrecover", []uint32{far, 0, 0}},
		{"raw_ecrecover", []uint32{0, end - 64, 0}},
		{"raw_log", []uint32{far, 1}},
	}
	for _, c := range cases {
		s := world(t)
		s.SetBalance(abiAddr, uint256.NewInt(10))
		before := s.Copy()
		r := call(t, v, s, abiAddr, c.method, le32(c.args...))
		if r.Err == nil || r.Err.Error() != oob || !errors.Is(r.Err, vm.ErrTrap) {
			t.Errorf("%s%v: err %v", c.method, c.args, r.Err)
		}
		if !s.Equal(before) || len(r.Events) != 0 {
			t.Errorf("%s%v: state changed", c.method, c.args)
		}
	}
	// Zero-length reads at the very end of memory are in bounds.
	mustOK(t, call(t, v, world(t), abiAddr, "raw_return", le32(end, 0)))
	// A storage read whose value is absent writes nothing, so its buffer is not checked.
	mustOK(t, call(t, v, world(t), abiAddr, "raw_storage_read", le32(0, 1, far, 100)))
	// result_read of an empty result at a bad pointer writes nothing.
	mustOK(t, call(t, v, world(t), abiAddr, "raw_result_read", le32(far+20)))
	r := call(t, v, world(t), abiAddr, "result_size_fresh", nil)
	mustOK(t, r)
	if !bytes.Equal(r.Output, le32(0)) {
		t.Fatalf("result_size before a call: %x", r.Output)
	}
}

func testCalls(t *testing.T, v *vm.VM) {
	// callAs runs abiAddr.call(to, value, gas, method, args) and returns the code and result.
	callAs := func(t *testing.T, s *vmtest.State, method string, to types.Address, value uint64, m string, args []byte) (uint32, []byte, *vm.Result) {
		t.Helper()
		r := call(t, v, s, abiAddr, method, callInput(to, value, 0, m, args))
		if method != "call" {
			return 0, nil, r
		}
		mustOK(t, r)
		return binary.LittleEndian.Uint32(r.Output), r.Output[4:], r
	}
	t.Run("ok", func(t *testing.T) {
		s := world(t)
		rc, out, r := callAs(t, s, "call", abiAddr2, 0, "echo", []byte("ping"))
		if rc != 0 || string(out) != "ping" {
			t.Fatalf("rc %d out %q", rc, out)
		}
		// The callee sees the caller contract as caller and alice as origin.
		rc, out, _ = callAs(t, s, "call", abiAddr2, 0, "env", nil)
		if rc != 0 || types.Address(out[0:20]) != abiAddr || types.Address(out[20:40]) != alice ||
			types.Address(out[40:60]) != abiAddr2 {
			t.Fatalf("callee env %x", out)
		}
		// The callee's gas is charged to the caller.
		direct := call(t, v, s, abiAddr2, "sha256", make([]byte, 4096))
		_, _, viaCall := callAs(t, s, "call", abiAddr2, 0, "sha256", make([]byte, 4096))
		if viaCall.GasUsed <= direct.GasUsed {
			t.Fatalf("caller paid %d, callee alone %d", viaCall.GasUsed, direct.GasUsed)
		}
		_ = r
	})
	t.Run("value", func(t *testing.T) {
		s := world(t)
		s.SetBalance(abiAddr, uint256.NewInt(1000))
		rc, _, _ := callAs(t, s, "call", abiAddr2, 400, "nothing", nil)
		if rc != 0 || !s.GetBalance(abiAddr2).Eq(uint256.NewInt(400)) || !s.GetBalance(abiAddr).Eq(uint256.NewInt(600)) {
			t.Fatalf("rc %d balances %v %v", rc, s.GetBalance(abiAddr), s.GetBalance(abiAddr2))
		}
		rc, _, _ = callAs(t, s, "call", abiAddr2, 601, "nothing", nil)
		if rc != 6 || !s.GetBalance(abiAddr).Eq(uint256.NewInt(600)) {
			t.Fatalf("rc %d", rc)
		}
		// A failing callee's value comes back.
		rc, _, _ = callAs(t, s, "call", abiAddr2, 100, "trap", nil)
		if rc != 2 || !s.GetBalance(abiAddr).Eq(uint256.NewInt(600)) || !s.GetBalance(abiAddr2).Eq(uint256.NewInt(400)) {
			t.Fatalf("rc %d balances %v %v", rc, s.GetBalance(abiAddr), s.GetBalance(abiAddr2))
		}
	})
	t.Run("failures", func(t *testing.T) {
		s := world(t)
		for _, c := range []struct {
			to     types.Address
			method string
			args   []byte
			rc     uint32
			out    string
		}{
			{abiAddr2, "fail", []byte("nope"), 1, "nope"},
			{abiAddr2, "trap", nil, 2, ""},
			{advAddr, "loop", nil, 3, ""},
			{abiAddr2, "missing", nil, 5, ""},
			{abiAddr2, "init", nil, 5, ""},
			{bob, "echo", nil, 5, ""},
		} {
			rc, out, _ := callAs(t, s, "call", c.to, 0, c.method, c.args)
			if rc != c.rc || string(out) != c.out {
				t.Errorf("%s: rc %d out %q, want %d %q", c.method, rc, out, c.rc, c.out)
			}
		}
	})
	t.Run("revert semantics", func(t *testing.T) {
		s := world(t)
		w := cat(le32(1), []byte("k"), []byte("v"))
		// A failed callee's writes are undone, the caller's call succeeds.
		before := s.Copy()
		rc, _, _ := callAs(t, s, "call", abiAddr2, 0, "swrite_fail", w)
		if rc != 1 || !s.Equal(before) {
			t.Fatalf("rc %d, state changed %v", rc, !s.Equal(before))
		}
		// A successful callee's writes and events stay.
		rc, _, r := callAs(t, s, "call", abiAddr2, 0, "emit", cat(le32(1), []byte("te")))
		if rc != 0 || len(r.Events) != 1 || r.Events[0].Contract != abiAddr2 {
			t.Fatalf("rc %d events %+v", rc, r.Events)
		}
		rc, _, _ = callAs(t, s, "call", abiAddr2, 0, "swrite", w)
		if got, _ := s.GetStorage(abiAddr2, []byte("k")); rc != 0 || string(got) != "v" {
			t.Fatalf("rc %d value %q", rc, got)
		}
		// A caller that fails after a successful callee undoes both, events included.
		s2 := world(t)
		before = s2.Copy()
		_, _, r = callAs(t, s2, "call_then_fail", abiAddr2, 0, "swrite", w)
		if !errors.As(r.Err, new(*vm.RevertError)) || !s2.Equal(before) || len(r.Events) != 0 {
			t.Fatalf("err %v changed %v events %d", r.Err, !s2.Equal(before), len(r.Events))
		}
		_, _, r = callAs(t, s2, "call_then_fail", abiAddr2, 0, "emit", cat(le32(1), []byte("te")))
		if len(r.Events) != 0 || s2.JournalLen() != 0 {
			t.Fatalf("events %d journal %d", len(r.Events), s2.JournalLen())
		}
	})
	t.Run("gas forwarding", func(t *testing.T) {
		s := world(t)
		// A callee looping forever burns at most 63/64 of the caller's gas; the caller
		// finishes with the rest.
		r := call(t, v, s, abiAddr, "call", callInput(advAddr, 0, 0, "loop", nil))
		mustOK(t, r)
		if rc := binary.LittleEndian.Uint32(r.Output); rc != 3 || r.GasUsed >= testGas || r.GasUsed < testGas*63/64 {
			t.Fatalf("rc %d gas %d", rc, r.GasUsed)
		}
		// An explicit smaller gas limit bounds the callee.
		r = call(t, v, s, abiAddr, "call", callInput(advAddr, 0, 50_000, "loop", nil))
		mustOK(t, r)
		if r.GasUsed > 50_000+40_000 {
			t.Fatalf("gas %d", r.GasUsed)
		}
	})
}

func TestLogsOfFailedCallKept(t *testing.T) {
	v := newVM(t, vm.EngineCompiler)
	s := world(t)
	r := call(t, v, s, abiAddr, "call_then_fail", callInput(abiAddr2, 0, 0, "log", []byte("from callee")))
	if r.Err == nil || len(r.Logs) != 1 || !strings.Contains(r.Logs[0], "from callee") {
		t.Fatalf("err %v logs %q", r.Err, r.Logs)
	}
}
