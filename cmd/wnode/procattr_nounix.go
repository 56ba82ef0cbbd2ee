//go:build !unix

package main

import "syscall"

// childProcAttr: no process-group control off Unix.
func childProcAttr() *syscall.SysProcAttr { return nil }
