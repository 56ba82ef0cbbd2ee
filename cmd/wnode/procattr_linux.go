package main

import "syscall"

// childProcAttr puts a localnet node in its own process group, so that the terminal's
// Ctrl-C reaches only the localnet (which stops the nodes once, gracefully), and has
// the kernel kill it if the localnet dies without stopping it. SIGKILL, not SIGTERM:
// the kernel sends the parent-death signal again each time the child is handed to
// another thread of the dying (multi-threaded) parent, and `wnode start` takes a second
// SIGTERM as "stop now" anyway; a node loses nothing committed to a kill.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
