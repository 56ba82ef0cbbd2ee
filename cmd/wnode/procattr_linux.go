package main

import "syscall"

// childProcAttr puts a localnet node in its own process group, so that the terminal's
// Ctrl-C reaches only the localnet (which stops the nodes once, gracefully), and has
// the kernel send it SIGTERM if the localnet dies without stopping it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
