// Package loadgen loads a running wnode node or network from the outside, the way its
// users do, and measures it. It is what `wnode bench` runs:
//
//   - Run (wnode bench): signed counter increments from many funded senders, spread over
//     every node of a network, at a fixed rate (open loop) or with a fixed number in
//     flight raised step by step until the committed rate stops growing (closed loop). It
//     reports committed tx/s, the latency from submission to finality and the block
//     interval, and checks that the counter moved by exactly the committed increments.
//   - Fn (wnode bench fn): the /fn/ gateway under concurrent read-only calls, against the
//     same call on an in-process VM measured in the same run as the baseline.
//   - Tx (wnode bench tx): one node's submit → receipt latency, one transaction at a
//     time, then the sustained rate of increments with a window in flight per sender.
//
// A run has four parts, each its own function: setup (connect, deploy or check the
// counter, fund the senders), sign (every transaction before the clock starts), run
// (submit and follow finality) and report (figures as JSON and text). Figures are
// reported, never asserted: the caller compares them with a baseline of the same run.
package loadgen
