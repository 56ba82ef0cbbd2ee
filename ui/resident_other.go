//go:build !linux

package ui

// dropResident does nothing off Linux (see resident_linux.go): it returns 0.
func dropResident(string) int { return 0 }
