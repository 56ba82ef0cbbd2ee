package rpctypes

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// Signed answers.
//
// A node signs every call result and every receipt it serves, so that a client can hold
// the node to what it answered (and, with the block's commit certificate, check a receipt
// against the validators). The signed message is
//
//	digest = keccak256(RLP(["wnode-signed-result/1", chainID, kind, height, stateRoot, resultHash]))
//
// signed with the node key as a 65-byte [R || S || V] signature (V in {0, 1}, low S), where
//
//   - kind is KindCall (1) or KindReceipt (2);
//   - for a call, height and stateRoot are those of the state the call ran on, and
//     resultHash = keccak256(RLP([from, to, method, keccak256(args), value, keccak256(output), gasUsed]))
//     (value as a uint256 integer, zero when absent; from is the zero address when absent);
//   - for a receipt, height and stateRoot are those of the block that holds the transaction
//     and resultHash = receipt.Hash() = keccak256(RLP(receipt)), the leaf of the block's
//     receiptRoot.
//
// Only successful calls are signed; a failed call is a JSON-RPC error (or an HTTP error on
// the gateway) and carries no signature.

// Kinds of signed result.
const (
	KindCall    uint64 = 1
	KindReceipt uint64 = 2
)

const signedResultDomain = "wnode-signed-result/1"

// ErrBadResultSignature is returned by VerifySignedResult when the signature does not
// verify, or verifies for another signer than the one claimed.
var ErrBadResultSignature = errors.New("bad result signature")

// SignedResult is what a node's signature covers, plus the signature and the signer.
type SignedResult struct {
	ChainID    uint64
	Kind       uint64
	Height     uint64
	StateRoot  types.Hash
	ResultHash types.Hash
	Signer     types.Address // the node that answered
	Signature  []byte        // 65 bytes [R || S || V]
}

// Digest returns the keccak256 hash that Signature signs.
func (r *SignedResult) Digest() types.Hash {
	b, err := rlp.EncodeToBytes([]any{signedResultDomain, r.ChainID, r.Kind, r.Height, r.StateRoot, r.ResultHash})
	if err != nil {
		panic(fmt.Sprintf("rpc: encode signed result: %v", err)) // fixed-type fields only
	}
	return crypto.Keccak256Hash(b)
}

// CallResultHash is the resultHash of a signed call: keccak256 of the RLP of
// [from, to, method, keccak256(args), value, keccak256(output), gasUsed].
// A nil value is zero.
func CallResultHash(from, to types.Address, method string, args []byte, value *uint256.Int, output []byte, gasUsed uint64) types.Hash {
	if value == nil {
		value = new(uint256.Int)
	}
	b, err := rlp.EncodeToBytes([]any{
		from, to, method, crypto.Keccak256Hash(args), value, crypto.Keccak256Hash(output), gasUsed,
	})
	if err != nil {
		panic(fmt.Sprintf("rpc: encode call result: %v", err))
	}
	return crypto.Keccak256Hash(b)
}

// VerifySignedResult checks that r.Signature is r.Signer's signature over r.Digest(). It
// costs one public-key recovery (about 30 µs). A caller that trusts only some nodes must
// also check r.Signer against its list.
func VerifySignedResult(r *SignedResult) error {
	got, err := types.RecoverAddress(r.Digest(), r.Signature)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadResultSignature, err)
	}
	if got != r.Signer {
		return fmt.Errorf("%w: signed by %s, claims %s", ErrBadResultSignature, got, r.Signer)
	}
	return nil
}
