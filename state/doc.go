// Package state holds wnode's world state: accounts, contract code and contract storage,
// all under one authenticated, versioned Merkle tree stored in Pebble (one version per
// block height) whose root is the block header's stateRoot.
//
// Two layers:
//
//   - StateDB is a journaled, in-memory overlay over a Reader (a committed version). The VM
//     and the chain mutate it while executing a block; Snapshot/RevertToSnapshot undo a
//     failed call precisely; Changes returns the block's sorted write set.
//   - Store is the Pebble-backed tree. Prepare computes the root of the next version from a
//     write set without writing; Commit writes it in one synced batch together with the
//     caller's block data; Reader and Prove serve reads and proofs at recent heights while
//     the next block is prepared and committed.
//
// Store and the Pebble options (store.go, pebble.go) are built only where Pebble builds
// ("!js"); the rest — StateDB, keys, accounts, proofs and their verification — has no
// Pebble in its imports and builds for js/wasm too, for the light client the dashboard
// runs in the browser. A new file that uses Pebble or Store needs the same constraint
// (CI builds the verifier for js/wasm).
//
// # Key layout
//
// Every entry of the state is a key/value pair in one tree:
//
//	account   0x01 || address (20 B)          -> RLP(Account)
//	code      0x02 || keccak256(code) (32 B)  -> original code bytes
//	storage   0x03 || contract (20 B) || key  -> value (key ≤ types.MaxStorageKeySize, value ≤ types.MaxStorageValueSize)
//
// The tree itself addresses a pair by keccak256(key); see the Store documentation for how
// nodes and values are laid out in Pebble.
package state
