package rpctypes

import (
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/types"
)

// Error codes of the proof methods (wn_getProof, wn_getCommit, wn_getValidators,
// wn_getReceiptProof, wn_callWitness).
const (
	// CodePruned: the state of the height asked is no longer kept, so nothing about it
	// can be proven; the error's data is {"oldest": the oldest provable height}.
	CodePruned = -32030
	// CodeNoCommit: the height has no commit certificate (height 0, the genesis header).
	CodeNoCommit = -32031
	// CodeWitnessTooLarge: the call read more state keys than a witness may hold
	// (chain.MaxWitnessKeys).
	CodeWitnessTooLarge = -32032
	// CodeProofsUnsupported: the node serves no proofs.
	CodeProofsUnsupported = -32033
)

// HeaderWitness is the /fn/ request header that asks for the call's witness bundle
// instead of its raw output (as does the query parameter witness=1).
const HeaderWitness = "X-Wnode-Witness"

// MaxProofStorageKeys bounds the storage keys of one wn_getProof.
const MaxProofStorageKeys = 256

// CommitJSON is the answer of wn_getCommit: the header and the commit certificate that
// decided it, both as their canonical RLP (the bytes hashed and signed), with the
// header's height, hash and time for readers.
type CommitJSON struct {
	Height hexutil.Uint64 `json:"height"`
	Hash   types.Hash     `json:"hash"`
	Time   hexutil.Uint64 `json:"time"`
	Header hexutil.Bytes  `json:"header"`
	Commit hexutil.Bytes  `json:"commit"`
}

// ValidatorJSON is a member of a validator set.
type ValidatorJSON struct {
	Address types.Address  `json:"address"`
	PubKey  hexutil.Bytes  `json:"pubKey"`
	Power   hexutil.Uint64 `json:"power"`
}

// ValidatorsJSON is the answer of wn_getValidators: the set that signs the block at
// Height, whose hash (Hash) that header carries.
type ValidatorsJSON struct {
	Height     hexutil.Uint64  `json:"height"`
	Hash       types.Hash      `json:"hash"`
	Validators []ValidatorJSON `json:"validators"`
}

// ValidatorProposalJSON is an open validator set change proposal, as
// wn_getValidatorProposals lists it.
type ValidatorProposalJSON struct {
	ID       hexutil.Uint64  `json:"id"`
	Proposer types.Address   `json:"proposer"`
	Op       string          `json:"op"` // "add", "remove" or "power"
	Address  types.Address   `json:"address"`
	PubKey   hexutil.Bytes   `json:"pubKey,omitempty"` // add only
	Power    hexutil.Uint64  `json:"power"`            // add and power; 0 for remove
	Height   hexutil.Uint64  `json:"height"`           // the block it was proposed in
	Expires  hexutil.Uint64  `json:"expires"`          // the last height at which it can pass
	Voters   []types.Address `json:"voters"`           // in vote order, the proposer first
	// VotedPower is the power of its voters in the set of the next height, TotalPower that
	// set's; it passes when a vote makes 3 × VotedPower > 2 × TotalPower.
	VotedPower hexutil.Uint64 `json:"votedPower"`
	TotalPower hexutil.Uint64 `json:"totalPower"`
}
