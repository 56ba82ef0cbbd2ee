// Package consensus is wnode's BFT consensus: Tendermint (Buchman, Kwon, Milosevic, "The
// latest gossip on BFT consensus", 2018, Algorithm 1) as an explicit, deterministic state
// machine that orders opaque blocks.
//
// A State is driven by inputs — messages (HandleMessage), timeouts (HandleTimeout),
// pending-transaction notices (TxsAvailable) and blocks from block sync
// (ApplySyncedBlock) — and performs every effect through interfaces (Deps): the
// Application builds, re-executes and commits blocks; the Signer signs through a
// persisted double-sign guard (SignGuard over a GuardStore); the WAL records inputs and
// own messages for replay after a crash; the Broadcaster gossips; the Clock tells time
// and delivers timeouts; the Syncer fetches blocks the State cannot decide by itself.
// The same code runs in the deterministic simulation of the tests (virtual clock, lossy
// network, crashes, a Byzantine validator) and in the node, where a Runner drives it on
// one goroutine with wall-clock timers.
//
// Safety holds while validators holding less than 1/3 of the voting power are faulty:
// no two different blocks are decided at one height. Liveness holds once the network
// delivers messages within the (growing) round timeouts. A node sends a message only
// after persisting it (the guard file keeps the last one whole, synced; the WAL all of
// them, a precommit synced), so it never signs two conflicting messages across crashes,
// and it re-sends its current messages periodically because gossip drops them.
//
// Wire format: EncodeMessage/DecodeMessage (RLP [kind, body, resend], strict, bounded by
// MaxMessageSize); VerifyMessage checks signatures statelessly for gossip validators.
package consensus
