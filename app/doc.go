// Package app is the consensus application of a node: App builds, validates and commits
// blocks over the node's chain and mempool (consensus.Application), and Accounts is the
// mempool's view of the chain's latest state. A dev node (one validator, no network)
// and a networked node use the same App.
package app
