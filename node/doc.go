// Package node wires wnode's parts into a running node: the Pebble database, the VM, the
// chain, the mempool, Tendermint consensus (a quorum of one on a `--dev` chain), the RPC
// server and, on a network of several validators, the p2p layer (see Network). It owns
// the data dir, the configuration (defaults, config.toml; cmd/wnode adds environment
// and flags), the lifecycle — New opens, Start runs, Close stops gracefully — the logs
// (slog), the Prometheus metrics, and the layout of local test networks (OpenLocalnet).
//
// # Data dir
//
//	keystore/        account keys, Web3 Secret Storage (go-ethereum accounts/keystore)
//	node.key         the node key, hex: libp2p identity, validator key, result signer
//	db/              Pebble: state tree, blocks, commits, receipts, tx index
//	wasm-cache/      compiled contracts (a cache: safe to delete while stopped)
//	consensus.wal    consensus write-ahead log of the recent heights (up to 16 MiB)
//	consensus.guard  double-sign guard: the last message signed (a sparse file)
//	genesis.json     the chain's genesis
//	config.toml      optional configuration (see Config)
//	peers.json       peers this node was connected to, dialled at start (p2p.PeerStore)
//
// # Crash safety
//
// A block, its state changes, receipts and commit are written in one synced Pebble
// batch; consensus writes what it signs to the WAL and the guard (fsync) before sending
// it. After a crash at any point the node restarts at the last committed height and
// replays the WAL, so no block is lost once its receipt was served and no vote is
// signed twice.
package node
