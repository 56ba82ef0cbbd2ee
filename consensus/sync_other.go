//go:build !linux

package consensus

import "os"

// syncData makes f's data durable (fsync; Linux uses fdatasync, see sync_linux.go).
func syncData(f *os.File) error { return f.Sync() }
