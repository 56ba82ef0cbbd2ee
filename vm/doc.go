// Package vm runs wnode contracts: it validates, instruments (gas, stack, NaN), compiles
// and caches Wasm code with wazero, and executes methods against a StateDB through the
// host ABI v1 (module "wnode", specified in docs/spec/abi.md).
//
// One VM holds one wazero runtime with the compiler engine pinned (or the interpreter,
// for cross-checks), the host module, and a bounded cache of compiled modules keyed by
// code hash. Every Call instantiates the contract's compiled module fresh, so no state
// leaks between calls, runs one method with a gas limit, and undoes every change of the
// call when it fails. A VM is safe for concurrent use: read-only calls may run on many
// goroutines alongside block execution, each with its own StateDB.
//
// Everything a Call returns — output, gas used, error text, events — is a deterministic
// function of the code, the state, the environment and the call, identical on every
// engine and CPU; the tests check this by running every contract on both engines.
package vm
