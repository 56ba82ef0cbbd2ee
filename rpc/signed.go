package rpc

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// ResultSigner signs results with the node key. It is safe for concurrent use.
//
// Signatures are deterministic (RFC 6979 nonces), so the same statement always gets the
// same signature: a small cache of recent digests spares the 30–50 µs of a signature
// when clients repeat a call at the same height, the common case of a hot function.
type ResultSigner struct {
	key     *ecdsa.PrivateKey
	addr    types.Address
	hex     string // addr with its EIP-55 checksum
	chainID uint64

	mu    sync.Mutex
	cache map[types.Hash][]byte
	order []types.Hash // FIFO of cache keys
	next  int
}

// signatureCacheSize bounds the cache of recent signatures (about 100 B each).
const signatureCacheSize = 4096

// NewResultSigner returns a signer for results of chain chainID with key.
func NewResultSigner(key *ecdsa.PrivateKey, chainID uint64) *ResultSigner {
	addr := crypto.PubkeyToAddress(key.PublicKey)
	return &ResultSigner{key: key, addr: addr, hex: addr.Hex(), chainID: chainID,
		// The map grows with use (a node that signs no answer keeps it empty): sized for
		// signatureCacheSize from the start it held ~0.5 MB of every node's heap.
		cache: make(map[types.Hash][]byte), order: make([]types.Hash, signatureCacheSize)}
}

// Address is the signer's address.
func (s *ResultSigner) Address() types.Address { return s.addr }

// Sign fills in and signs an rpctypes.SignedResult. It costs one secp256k1 signature (about
// 20–50 µs) unless the same statement was signed recently.
func (s *ResultSigner) Sign(kind, height uint64, stateRoot, resultHash types.Hash) (*rpctypes.SignedResult, error) {
	r := &rpctypes.SignedResult{
		ChainID: s.chainID, Kind: kind, Height: height, StateRoot: stateRoot,
		ResultHash: resultHash, Signer: s.addr,
	}
	digest := r.Digest()
	s.mu.Lock()
	sig, ok := s.cache[digest]
	s.mu.Unlock()
	if !ok {
		var err error
		if sig, err = crypto.Sign(digest.Bytes(), s.key); err != nil {
			return nil, fmt.Errorf("sign result: %w", err)
		}
		s.mu.Lock()
		if _, ok := s.cache[digest]; !ok {
			delete(s.cache, s.order[s.next])
			s.order[s.next] = digest
			s.next = (s.next + 1) % len(s.order)
			s.cache[digest] = sig
		}
		s.mu.Unlock()
	}
	r.Signature = bytes.Clone(sig)
	return r, nil
}
