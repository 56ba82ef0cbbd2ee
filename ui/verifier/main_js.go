//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"syscall/js"
)

// main installs globalThis.wnodeVerifyCall(root, genesis, bundle, to, method, args) and
// keeps the program alive. genesis and bundle are strings, args a Uint8Array; it returns
// a Promise of the Result as JSON text. Headers between the root and an answer come from
// the page's own node (location.origin + "/", JSON-RPC). The work runs on a goroutine: a js.Func callback
// must not block.
func main() {
	var vs verifiers
	js.Global().Set("wnodeVerifyCall", js.FuncOf(func(_ js.Value, a []js.Value) any {
		req := &Request{}
		if len(a) == 6 {
			req.Root = a[0].String()
			if a[1].Type() == js.TypeString {
				req.Genesis = []byte(a[1].String())
			}
			req.Bundle = []byte(a[2].String())
			req.To, req.Method = a[3].String(), a[4].String()
			req.Args = make([]byte, a[5].Get("length").Int())
			js.CopyBytesToGo(req.Args, a[5])
			req.RPC = js.Global().Get("location").Get("origin").String() + "/"
		}
		var resolve js.Value
		executor := js.FuncOf(func(_ js.Value, p []js.Value) any { resolve = p[0]; return nil })
		promise := js.Global().Get("Promise").New(executor)
		executor.Release()
		go func() {
			var res *Result
			if len(a) != 6 {
				res = &Result{Error: "verification failed", Detail: "wnodeVerifyCall takes 6 arguments"}
			} else {
				res = vs.verify(context.Background(), req)
			}
			out, _ := json.Marshal(res)
			resolve.Invoke(string(out))
		}()
		return promise
	}))
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("wnode-verifier-ready"))
	select {}
}
