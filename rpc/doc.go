// Package rpc is a node's public API server: JSON-RPC 2.0 over HTTP and WebSocket (the
// wn_* methods and subscriptions, served through go-ethereum's rpc server), the /fn/
// gateway for plain HTTP calls of contract methods, and /metrics. It also defines what
// travels on that API: the JSON shapes of answers and parameters (json.go), the stable
// error codes (errors.go), the signed-result statement a node signs over every call answer
// and receipt (signed.go), and the gateway's headers (gateway.go).
//
// The server reads the chain through the Backend interface, which the node implements.
// The Go client of this API is package client; docs/rpc.md documents the API itself.
package rpc
