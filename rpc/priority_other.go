//go:build !linux

package rpc

// lowerThreadPriority is a no-op outside Linux, where a thread's priority cannot be set
// alone.
func lowerThreadPriority() {}
