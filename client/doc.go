// Package client is the Go client of a wnode node's public API: a typed JSON-RPC client
// (over HTTP or WebSocket; subscriptions need WebSocket), the /fn/ gateway, and a
// transaction builder that fills in the chain id, nonce, gas price and an estimated gas
// limit, signs, sends and waits for the receipt. Every signed answer (call result, gateway
// answer, receipt) is checked against its signer before it is returned.
//
// It is to package rpc (the server) what go-ethereum's ethclient is to its node: both
// share the wire types of package rpc/rpctypes, and the client does not import the
// server, so a program that only talks to nodes links neither the node's storage nor its
// execution engine. The transport is go-ethereum's rpc client.
package client
