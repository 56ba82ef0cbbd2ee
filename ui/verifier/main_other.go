//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main: the verifier runs in a browser. Elsewhere, `wnode verify` checks a saved answer.
func main() {
	fmt.Fprintln(os.Stderr, "verifier: build with GOOS=js GOARCH=wasm and load it in the dashboard (go generate ./ui); use wnode verify elsewhere")
	os.Exit(2)
}
