//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
			req.post = fetchPost(req.RPC)
		}
		var resolve js.Value
		executor := js.FuncOf(func(_ js.Value, p []js.Value) any { resolve = p[0]; return nil })
		promise := js.Global().Get("Promise").New(executor)
		executor.Release()
		go func() {
			var res *Result
			// A panic would end the program and leave this promise, and every later
			// one, unanswered: answer it as a failed check instead.
			defer func() {
				if p := recover(); p != nil {
					out, _ := json.Marshal(&Result{Error: "verification failed", Detail: fmt.Sprint("verifier panic: ", p)})
					resolve.Invoke(string(out))
				}
			}()
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

// fetchPost returns a function that POSTs a JSON body to url with the browser's fetch and
// returns the answer's text (cut after maxRPCAnswer+1 bytes) and status.
func fetchPost(url string) func(ctx context.Context, body []byte) ([]byte, int, error) {
	return func(ctx context.Context, body []byte) ([]byte, int, error) {
		opts := map[string]any{"method": "POST", "body": string(body), "cache": "no-store",
			"headers": map[string]any{"Content-Type": "application/json"}}
		resp, err := await(ctx, js.Global().Call("fetch", url, opts))
		if err != nil {
			return nil, 0, err
		}
		text, err := await(ctx, resp.Call("text"))
		if err != nil {
			return nil, 0, err
		}
		if n := text.Get("length").Int(); n > maxRPCAnswer {
			return nil, 0, errors.New("answer too large")
		}
		return []byte(text.String()), resp.Get("status").Int(), nil
	}
}

// await waits for a JavaScript promise. The callbacks stay registered if ctx ends first
// (releasing them then would make the promise call a released function).
func await(ctx context.Context, p js.Value) (js.Value, error) {
	ok, fail := make(chan js.Value, 1), make(chan error, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, a []js.Value) any { ok <- a[0]; return nil })
	catch = js.FuncOf(func(_ js.Value, a []js.Value) any { fail <- errors.New(a[0].Call("toString").String()); return nil })
	p.Call("then", then, catch)
	select {
	case v := <-ok:
		then.Release()
		catch.Release()
		return v, nil
	case err := <-fail:
		then.Release()
		catch.Release()
		return js.Value{}, err
	case <-ctx.Done():
		return js.Value{}, ctx.Err()
	}
}
