package wnodetest_test

import (
	"fmt"
	"os"

	"github.com/wnode/wnode/wnodetest"
)

// exampleT stands for the *testing.T a real test passes to New.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper()                        {}
func (t *exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// The hello example: deploy it and call it read-only.
func Example() {
	t := &exampleT{} // in a test: wnodetest.New(t) with the test's *testing.T
	defer t.done()
	code, err := os.ReadFile("../examples/hello/hello.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := wnodetest.New(t)
	hello := c.Deploy(c.Account(0), code, nil)
	fmt.Printf("%s\n", c.MustCall(hello, "hello", []byte("world")))
	// Output: hello, world
}

// A transaction in a block: the counter's increment, its receipt and the storage it
// wrote.
func ExampleChain_Invoke() {
	t := &exampleT{}
	defer t.done()
	code, err := os.ReadFile("../examples/counter/counter.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := wnodetest.New(t)
	counter := c.Deploy(c.Account(0), code, nil)
	r := c.Invoke(c.Account(1), counter, "increment", nil)
	stored, _ := c.Storage(counter, []byte("count"))
	fmt.Printf("status %d, output %x, height %d, storage %x\n", r.Status, r.Output, r.Height, stored)
	// Output: status 1, output 0000000000000001, height 2, storage 0000000000000001
}
