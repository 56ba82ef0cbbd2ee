//go:build !race

package network

const raceSlowdown = 1
