package rpc_test

import (
	"encoding/binary"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// BenchmarkSignResult is what signing costs a gateway answer: a new statement each time
// (a secp256k1 signature), against the same statement again (the signer's cache).
func BenchmarkSignResult(b *testing.B) {
	key, _ := crypto.GenerateKey()
	s := rpc.NewResultSigner(key, 7)
	root := types.Hash{1}
	b.Run("new", func(b *testing.B) {
		var h types.Hash
		for i := range b.N {
			binary.BigEndian.PutUint64(h[:], uint64(i))
			if _, err := s.Sign(rpctypes.KindCall, 1, root, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repeated", func(b *testing.B) {
		for range b.N {
			if _, err := s.Sign(rpctypes.KindCall, 1, root, types.Hash{2}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
