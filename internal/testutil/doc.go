// Package testutil holds the helpers the tests of several packages share: keys and
// signed transactions, a genesis with funded accounts and validators, an in-memory
// chain, commit certificates, waiting on a condition with a deadline, and loopback
// listeners whose port stays reserved. Only tests import it.
package testutil
