// Package rpc is a node's public API server: JSON-RPC 2.0 over HTTP and WebSocket (the
// wn_* methods and subscriptions, served through go-ethereum's rpc server), the /fn/
// gateway for plain HTTP calls of contract methods, and /metrics. The server reads the
// chain through the Backend interface, which the node implements, converts what it reads
// into the wire shapes of package rpc/rpctypes, maps the backend's errors to stable codes,
// and signs every call answer and receipt with the node key (ResultSigner).
//
// The Go client of this API is package client; docs/rpc.md documents the API itself.
package rpc
