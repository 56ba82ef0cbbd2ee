package rpc

import "golang.org/x/sys/unix"

// lowerThreadPriority sets the calling OS thread's nice value to execNice, so that under
// CPU contention the kernel prefers the node's other threads (block execution, consensus)
// to read-only work. Raising a thread's nice value needs no privilege.
func lowerThreadPriority() {
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), execNice)
}
