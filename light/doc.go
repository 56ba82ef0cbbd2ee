// Package light verifies wnode's answers without trusting the node that gave them: a
// light client. It needs no node and no database, only a trust root (the chain's genesis
// file, or a validator set hash the user trusts).
//
// An answer carries its evidence as a bundle (a JSON document; docs/rpc.md describes
// it): the header of the height it speaks for, that block's commit certificate and
// validator set (a Certificate), and Merkle proofs of the data against the header's
// roots. Verification
//
//   - checks the header by its commit: the validator set is the trusted one and the one
//     the header names, its members holding more than 2/3 of the power signed precommits
//     for this header's hash at its height, over the right chain id;
//   - checks account, storage and receipt proofs against the header's state and receipt
//     roots (state.VerifyProof, types.VerifyMerkleProof);
//   - for a read-only call, re-executes it with the same VM and call code as a node
//     (chain.ExecCall) on a state made only of the proven keys the node says the call
//     read (its witness), failing on any key missing from it, and compares the output,
//     the gas used, the error and the events with the node's claim.
//
// A Verifier trusts one validator set. A Client follows the chain as its validator set
// changes by vote, the way CometBFT's light client does: from a TrustedState (the
// genesis, GenesisState, or a height and header hash the user trusts, TrustHeight) it
// verifies a later header sequentially (VerifyAdjacent: the set must be the one the
// trusted header named in NextValidatorsHash) or by skipping (VerifyNonAdjacent: signed
// by more than 2/3 of its own set and by trusted validators holding more than a trust
// level, 1/3, of the trusted set's power), bisecting through headers fetched from a
// Source (client.Client is one) when the sets overlap too little. It remembers the
// heights it verified in a Store (FileStore) so the next run starts from them.
// Client.VerifyHeaderAt is the entry point of state sync; Client.Verify verifies answers.
//
// Every failure wraps one of the sentinel errors below (and in follow.go and store.go),
// which names what disagreed.
package light

import "errors"

// Verification errors. Each failure wraps exactly one (an ErrNoSource also wraps the
// ErrTrustLevel that made a source necessary); callers branch with errors.Is.
var (
	// ErrMalformed: the bundle or a part of it does not decode, or breaks a limit.
	ErrMalformed = errors.New("light: malformed bundle")
	// ErrChain: the header is of another chain id than the trusted one.
	ErrChain = errors.New("light: wrong chain")
	// ErrHeight: parts of the bundle speak for different heights.
	ErrHeight = errors.New("light: height mismatch")
	// ErrValidators: the validator set is not the trusted one, or not the one the header
	// names.
	ErrValidators = errors.New("light: validator set mismatch")
	// ErrBlockHash: the commit certificate is for another block than the header.
	ErrBlockHash = errors.New("light: commit is for another block")
	// ErrSignature: a commit signature is invalid or by a non-member.
	ErrSignature = errors.New("light: bad commit signature")
	// ErrPower: the signers hold no more than 2/3 of the voting power.
	ErrPower = errors.New("light: not enough voting power")
	// ErrRoot: a root the answer claims is not the header's.
	ErrRoot = errors.New("light: root mismatch")
	// ErrProof: a Merkle proof does not prove the claimed value under the header's root.
	ErrProof = errors.New("light: bad proof")
	// ErrWitnessMissing: the re-executed call read a key the witness does not hold.
	ErrWitnessMissing = errors.New("light: witness lacks a key the call reads")
	// ErrOutput: the re-executed call returned other bytes than the node claimed.
	ErrOutput = errors.New("light: output mismatch")
	// ErrGas: the re-executed call used other gas than the node claimed.
	ErrGas = errors.New("light: gas mismatch")
	// ErrCallError: the re-executed call failed differently (or succeeded, or failed)
	// from the node's claim.
	ErrCallError = errors.New("light: call error mismatch")
	// ErrEvents: the re-executed call emitted other events than the node claimed.
	ErrEvents = errors.New("light: events mismatch")
	// ErrQuestion: the answer is for another question than the one asked (another call,
	// address, key or transaction).
	ErrQuestion = errors.New("light: answer to another question")
	// ErrStale: the answer is older than the caller accepts (CheckFresh).
	ErrStale = errors.New("light: answer too old")
)
