//go:build race

package network

// raceSlowdown scales the consensus timing of the tests: the race detector makes the
// in-process network several times slower (libp2p signs and verifies every gossip
// message in pure Go).
const raceSlowdown = 4
