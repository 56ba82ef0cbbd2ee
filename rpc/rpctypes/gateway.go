package rpctypes

import (
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/wnode/wnode/types"
)

// Gateway header names.
const (
	HeaderHeight    = "X-Wnode-Height"
	HeaderStateRoot = "X-Wnode-State-Root"
	HeaderGasUsed   = "X-Wnode-Gas-Used"
	HeaderChainID   = "X-Wnode-Chain-Id"
	HeaderSigner    = "X-Wnode-Signer"
	HeaderSignature = "X-Wnode-Signature"
	HeaderError     = "X-Wnode-Error"
	// HeaderFormat is the output format the method declares in the contract's metadata
	// (docs/spec/metadata.md), absent when it declares none.
	HeaderFormat = "X-Wnode-Format"
)

// ParseAddress parses a 0x-prefixed 20-byte hex address. An address in mixed case must
// carry a valid EIP-55 checksum; all-lower and all-upper hex are accepted as is.
func ParseAddress(s string) (types.Address, error) {
	if !common.IsHexAddress(s) || !(strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) {
		return types.Address{}, fmt.Errorf("bad address %q: want 0x and 40 hex digits", truncate(s, 60))
	}
	a := common.HexToAddress(s)
	hex := s[2:]
	if hex != strings.ToLower(hex) && hex != strings.ToUpper(hex) && a.Hex() != "0x"+hex {
		return types.Address{}, fmt.Errorf("bad address %q: wrong EIP-55 checksum (want %s)", s, a.Hex())
	}
	return a, nil
}
