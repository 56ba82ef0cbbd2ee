// Package network connects a node's chain, mempool and consensus engine to its peers
// over package p2p. (The consensus Application over the chain is package app.)
//
// Three parts:
//
//   - The p2p handler: a gossiped transaction is decoded, checked (chain id, fields,
//     signature) and added to the mempool before it is relayed; a consensus message is
//     decoded, checked for its height and verified against the validator set before it
//     is relayed and delivered to consensus. Malformed or forged input is rejected (the
//     sender's gossip score drops); stale, duplicate or unusable input is ignored.
//     Status and blocks with their commit certificates are served from the chain.
//   - Gossip out: the transactions the mempool accepts and this validator's consensus
//     messages (Network is the consensus.Broadcaster) are published.
//   - Block sync (Network is the consensus.Syncer): peers' status is polled every
//     Config.SyncInterval and whenever consensus or gossip shows this node is behind;
//     missing blocks are fetched in batches from a peer that is ahead and handed with
//     their commit certificates to consensus (Consensus.ApplySyncedBlock), which verifies
//     the certificate, re-executes the block (its state root must match) and commits it.
//     Consensus moves on with every synced block, so it takes over by itself once the
//     node has caught up.
//
// # Wiring
//
// Consensus needs the Broadcaster and Syncer when it is built, and the Network needs
// consensus to deliver to, so a Network is made in two steps: New (host listening,
// serving status and blocks, taking transactions), then Start once the runner exists:
//
//	pool := mempool.New(mcfg, app.Accounts{Chain: c, Logger: log})
//	nw, err := network.New(ctx, network.Config{Listen: listen, Bootnodes: boot, Logger: log}, nodeKey, c, pool)
//	runner, err := consensus.NewRunner(ccfg, consensus.Deps{
//		App:         app.NewApp(c, pool, validatorAddr, app.AppOptions{Logger: log}),
//		Broadcaster: nw, Syncer: nw,
//		Signer: consensus.NewKeySigner(nodeKey), Guard: guard, WAL: wal, Logger: log,
//	}, head.Height, lastCommit)
//	err = nw.Start(runner)
//	go runner.Run(ctx)
//	// the node also calls runner.TxsAvailable() for every tx the pool accepts
//	...
//	cancel()   // stop consensus first,
//	nw.Close() // then the network
//
// A node that builds consensus before the network may pass a forwarding proxy as
// Broadcaster and Syncer and call New and Start later (package node does).
package network
