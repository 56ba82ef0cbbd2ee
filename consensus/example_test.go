package consensus_test

import (
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/types"
)

// A gossip validator decodes a consensus message strictly and verifies it against the
// validator set before relaying it.
func ExampleDecodeMessage() {
	key, _ := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	val, _ := types.NewValidator(crypto.CompressPubkey(&key.PublicKey), 10)
	vals, _ := types.NewValidatorSet([]types.Validator{val})
	const chainID = 7

	vote := &types.Vote{Type: types.PrevoteType, Height: 1, Round: 0, BlockHash: types.Hash{0xab}, Validator: val.Address}
	if err := vote.Sign(chainID, key); err != nil {
		panic(err)
	}
	wire, _ := consensus.EncodeMessage(&consensus.Message{Vote: vote})

	m, err := consensus.DecodeMessage(wire)
	fmt.Println(m.Kind(), m.Height(), err)
	fmt.Println(consensus.VerifyMessage(chainID, vals, m))
	_, err = consensus.DecodeMessage(wire[:len(wire)-1])
	fmt.Println(err != nil)
	// Output:
	// vote 1 <nil>
	// <nil>
	// true
}
