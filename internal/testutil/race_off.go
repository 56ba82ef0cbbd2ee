//go:build !race

package testutil

// RaceSlowdown scales the deadlines and consensus timing of tests (4 under the race
// detector).
const RaceSlowdown = 1
