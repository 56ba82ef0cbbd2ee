package vm_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ethereum/go-ethereum/common"

	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/vmtest"
)

// Deploy the hello example into an in-memory state and call it.
func Example() {
	ctx := context.Background()
	machine, err := vm.New(ctx, vm.Config{}) // compiler engine, default gas schedule
	if err != nil {
		fmt.Println(err)
		return
	}
	defer machine.Close(ctx)

	code, err := os.ReadFile("../examples/hello/hello.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	prepared, err := machine.Prepare(ctx, code) // what a deploy does: validate, instrument, compile
	if err != nil {
		fmt.Println(err)
		return
	}
	state := vmtest.New()
	contract := common.HexToAddress("0x00000000000000000000000000000000000000c1")
	state.SetCode(contract, prepared.Original)

	res := machine.Call(ctx, &vm.Env{State: state}, vm.Call{
		Contract: contract,
		Method:   "hello",
		Input:    []byte("wnode"),
		Gas:      100_000,
	})
	fmt.Printf("%s, err=%v, methods=%v\n", res.Output, res.Err, prepared.Methods)
	// Output: hello, wnode, err=<nil>, methods=[hello]
}
