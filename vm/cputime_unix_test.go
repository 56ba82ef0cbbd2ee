//go:build unix

package vm_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) the process has used: benchmarks report it
// next to wall time because the machines that run them are shared.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
