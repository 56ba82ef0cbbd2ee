package genesis

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Development chains (`wnode start --dev`, `wnode localnet`) fund one well-known account
// whose private key is public, like Anvil's and Hardhat's account 0 (it is that very key),
// so a newcomer can deploy and invoke with no set-up. Clients must refuse to sign with it
// on any chain id for which IsDevChain is false.
const (
	// DevKeyHex is the public private key of the development account.
	DevKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
	// DevChainID is the chain id of development chains.
	DevChainID uint64 = 1337
)

// DevAddress is the address of DevKeyHex.
var DevAddress = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")

// DevBalance is the genesis balance of the development account: 10^9 coins of 10^18 units.
var DevBalance = new(big.Int).Exp(big.NewInt(10), big.NewInt(27), nil)

// DevGenesisTime is the fixed genesis time of Dev genesis files, so that two dev nodes
// made from the same keys have the same genesis hash.
var DevGenesisTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// IsDevChain reports whether id is a development chain id, on which the public DevKeyHex
// may be used.
func IsDevChain(id uint64) bool { return id == DevChainID }

// DevKey returns the development account's private key.
func DevKey() *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(DevKeyHex)
	if err != nil {
		panic(fmt.Sprintf("genesis: dev key: %v", err)) // a constant
	}
	return k
}

// Dev returns the genesis of a development chain: the given validators with power 10
// each (named validator-0, -1, …), the development account funded with DevBalance,
// default params and DevGenesisTime. The result is valid when at least one validator is
// given and the keys are distinct.
func Dev(chainID uint64, validators ...*ecdsa.PublicKey) *Genesis {
	bal, _ := AmountFromBig(DevBalance)
	g := &Genesis{
		ChainID:     chainID,
		GenesisTime: DevGenesisTime,
		Params:      DefaultParams(),
		Accounts:    []Account{{Address: DevAddress, Balance: bal}},
	}
	for i, pub := range validators {
		g.Validators = append(g.Validators, Validator{
			Address: crypto.PubkeyToAddress(*pub),
			PubKey:  crypto.CompressPubkey(pub),
			Power:   10,
			Name:    fmt.Sprintf("validator-%d", i),
		})
	}
	return g
}
