package vm_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

var _ vm.StateDB = (*vmtest.State)(nil)

var engines = []vm.Engine{vm.EngineCompiler, vm.EngineInterpreter}

// Test accounts.
var (
	alice     = common.HexToAddress("0xa11ce00000000000000000000000000000000001")
	bob       = common.HexToAddress("0xb0b0000000000000000000000000000000000002")
	abiAddr   = common.HexToAddress("0xc0de000000000000000000000000000000000a01")
	abiAddr2  = common.HexToAddress("0xc0de000000000000000000000000000000000a02")
	advAddr   = common.HexToAddress("0xc0de000000000000000000000000000000000ad1")
	fltAddr   = common.HexToAddress("0xc0de000000000000000000000000000000000f01")
	benAddr   = common.HexToAddress("0xc0de000000000000000000000000000000000be1")
	trapsAddr = common.HexToAddress("0xc0de000000000000000000000000000000000c01")
)

func wasmFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newVM(t testing.TB, e vm.Engine) *vm.VM {
	t.Helper()
	v, err := vm.New(context.Background(), vm.Config{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) })
	return v
}

// world returns a state with the test contracts deployed and alice funded.
func world(t testing.TB) *vmtest.State {
	t.Helper()
	s := vmtest.New()
	s.SetCode(abiAddr, wasmFile(t, "testdata/wat/abi.wasm"))
	s.SetCode(abiAddr2, wasmFile(t, "testdata/wat/abi.wasm"))
	s.SetCode(advAddr, wasmFile(t, "testdata/wat/adversarial.wasm"))
	s.SetCode(fltAddr, wasmFile(t, "testdata/wat/floats.wasm"))
	s.SetCode(benAddr, wasmFile(t, "testdata/wat/bench.wasm"))
	s.SetCode(trapsAddr, wasmFile(t, "testdata/c/traps.wasm"))
	s.SetBalance(alice, uint256.NewInt(1_000_000))
	return s
}

func env(s vm.StateDB) *vm.Env {
	return &vm.Env{
		State: s,
		Block: vm.BlockContext{ChainID: 7, Height: 42, Time: 1_700_000_000_123},
		Tx:    vm.TxContext{Origin: alice, TxHash: common.HexToHash("0x1234")},
		Debug: true,
	}
}

const testGas = 10_000_000

func call(t testing.TB, v *vm.VM, s vm.StateDB, to types.Address, method string, input []byte) *vm.Result {
	t.Helper()
	return v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: to, Method: method, Input: input, Gas: testGas})
}

func le32(vals ...uint32) []byte {
	var b []byte
	for _, x := range vals {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func uint256From(x uint64) *uint256.Int { return uint256.NewInt(x) }
