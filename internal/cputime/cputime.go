// Package cputime reads the CPU time the process has used, user and system together.
// Benchmarks report it next to wall time: on a shared machine the wall time of a run
// also measures the other processes' load, its CPU time much less so.
package cputime

import "time"

// Process returns the CPU time (user + system) the process has used so far, or 0 where
// the platform does not tell.
func Process() time.Duration { return process() }
