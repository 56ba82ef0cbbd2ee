//go:build race

package testutil

// RaceSlowdown scales the deadlines and consensus timing of tests: the race detector
// makes an in-process network several times slower (libp2p signs and verifies every
// gossip message in pure Go).
const RaceSlowdown = 4
