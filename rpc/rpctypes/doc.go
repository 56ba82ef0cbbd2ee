// Package rpctypes is what travels on a node's public API, shared by the server (package
// rpc) and its Go client (package client) without either importing the other: the JSON
// shapes of answers and parameters (json.go), the signed-result statement a node signs
// over every call answer and receipt and its verification (signed.go), the stable
// JSON-RPC error codes (codes.go), and the /fn/ gateway's headers and address syntax
// (gateway.go). It depends on types and go-ethereum's encoding packages only.
// docs/rpc.md documents the API these types carry.
package rpctypes
