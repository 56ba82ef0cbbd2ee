package types

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

func testTx(t testing.TB) (*Tx, Address) {
	t.Helper()
	key, err := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	tx := &Tx{
		ChainID: 7, Nonce: 3, GasPrice: uint256.NewInt(1), GasLimit: 100000, Kind: TxInvoke,
		To: Address{1, 2, 3}, Value: uint256.NewInt(5), Method: "hello", Args: []byte("world"),
	}
	if err := tx.Sign(key); err != nil {
		t.Fatal(err)
	}
	return tx, crypto.PubkeyToAddress(key.PublicKey)
}

func TestTxRoundTrip(t *testing.T) {
	tx, from := testTx(t)
	enc := tx.Encode()
	got, err := DecodeTx(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != tx.Hash() || !bytes.Equal(got.Encode(), enc) {
		t.Fatal("round trip changed the tx")
	}
	if err := got.ValidateBasic(7); err != nil {
		t.Fatal(err)
	}
	sender, _ := got.Sender()
	if sender != from {
		t.Fatalf("sender %s, want %s", sender, from)
	}
	if err := got.ValidateBasic(8); !errors.Is(err, ErrWrongChainID) {
		t.Fatalf("wrong chain id: got %v", err)
	}
}

func TestTxRejects(t *testing.T) {
	tx, _ := testTx(t)
	enc := tx.Encode()

	if _, err := DecodeTx(append(append([]byte{}, enc...), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := DecodeTx(enc[:len(enc)-1]); err == nil {
		t.Error("truncated tx accepted")
	}
	if _, err := DecodeTx(make([]byte, MaxTxSize+1)); !errors.Is(err, ErrTxTooLarge) {
		t.Errorf("oversized: %v", err)
	}

	// A tampered field changes the recovered sender, or fails recovery.
	tampered, _ := DecodeTx(enc)
	tampered.Nonce++
	tampered2, _ := DecodeTx(tampered.Encode())
	orig, _ := tx.Sender()
	if s, err := tampered2.Sender(); err == nil && s == orig {
		t.Error("tampered tx still recovers the original sender")
	}

	// High-S: the same signature with s' = N - s and v flipped is valid ECDSA but malleable.
	hs, _ := DecodeTx(enc)
	s := new(big.Int).SetBytes(hs.Sig[32:64])
	s.Sub(crypto.S256().Params().N, s)
	sig := append([]byte{}, hs.Sig...)
	s.FillBytes(sig[32:64])
	sig[64] ^= 1
	hs.Sig = sig
	hs2, _ := DecodeTx(hs.Encode())
	if _, err := hs2.Sender(); !errors.Is(err, ErrInvalidSig) {
		t.Errorf("high-S signature: %v", err)
	}

	bad := []*Tx{
		{Kind: 9, Sig: make([]byte, 65)},
		{Kind: TxDeploy, To: Address{1}, Code: []byte{0}, Sig: make([]byte, 65)},
		{Kind: TxDeploy, Sig: make([]byte, 65)},
		{Kind: TxInvoke, To: Address{1}, Sig: make([]byte, 65)},
		{Kind: TxTransfer, To: Address{1}, Method: "x", Sig: make([]byte, 65)},
		{Kind: TxUpgrade, Code: []byte{1}, Sig: make([]byte, 65)},
		{Kind: TxInvoke, To: Address{1}, Method: "m", Sig: make([]byte, 64)},
	}
	for i, b := range bad {
		if _, err := DecodeTx(b.Encode()); err == nil {
			t.Errorf("bad tx %d accepted", i)
		}
	}
}

func TestContractAddress(t *testing.T) {
	a := ContractAddress(Address{1}, 0)
	if a == ContractAddress(Address{1}, 1) || a == ContractAddress(Address{2}, 0) {
		t.Fatal("contract addresses collide")
	}
}

func FuzzDecodeTx(f *testing.F) {
	tx, _ := testTx(f)
	f.Add(tx.Encode())
	key, err := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{0xc0})
	for _, v := range []*Tx{
		{ChainID: 1, Kind: TxValidatorPropose, Args: testChange(f).Encode()},
		{ChainID: 1, Kind: TxValidatorVote, Args: (&ValidatorVote{ProposalID: 1}).Encode()},
	} {
		if err := v.Sign(key); err != nil {
			f.Fatal(err)
		}
		f.Add(v.Encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encode(), b) {
			t.Fatal("decoded tx does not re-encode to the same bytes")
		}
		_, _ = tx.Sender()
	})
}

// TestRecoverAddressBounds holds RecoverAddress to go-ethereum's crypto.ValidateSignatureValues
// (homestead rules: low S) followed by crypto.SigToPub, both ways, at and around every edge
// of r and s: what go-ethereum refuses is refused, what it recovers gives the same address.
func TestRecoverAddressBounds(t *testing.T) {
	key, _ := crypto.GenerateKey()
	signer := crypto.PubkeyToAddress(key.PublicKey)
	hash := crypto.Keccak256Hash([]byte("bounds"))
	good, err := crypto.Sign(hash[:], key)
	if err != nil {
		t.Fatal(err)
	}
	n := crypto.S256().Params().N
	half := new(big.Int).Rsh(n, 1)
	one := big.NewInt(1)
	edges := []*big.Int{big.NewInt(0), one, new(big.Int).Sub(half, one), half, new(big.Int).Add(half, one),
		new(big.Int).Sub(n, one), n, new(big.Int).Add(n, one), new(big.Int).Lsh(one, 256-1)}
	for _, r := range append(edges, new(big.Int).SetBytes(good[:32])) {
		for _, s := range append(edges, new(big.Int).SetBytes(good[32:64])) {
			for _, v := range []byte{0, 1, 2, 27} {
				sig := make([]byte, SignatureLen)
				r.FillBytes(sig[:32])
				s.FillBytes(sig[32:64])
				sig[64] = v
				got, err := RecoverAddress(Hash(hash), sig)
				// The reference: go-ethereum's bounds, then its recovery.
				var want common.Address
				ok := crypto.ValidateSignatureValues(v, r, s, true)
				if ok {
					pub, perr := crypto.SigToPub(hash[:], sig)
					if ok = perr == nil; ok {
						want = crypto.PubkeyToAddress(*pub)
					}
				}
				switch {
				case !ok && !errors.Is(err, ErrInvalidSig):
					t.Errorf("r=%x s=%x v=%d: %v, want ErrInvalidSig", r, s, v, err)
				case ok && (err != nil || got != want):
					t.Errorf("r=%x s=%x v=%d: %s, %v; go-ethereum recovers %s", r, s, v, got, err, want)
				}
			}
		}
	}
	got, err := RecoverAddress(Hash(hash), good)
	if err != nil || got != signer {
		t.Fatalf("good signature: %s, %v; want %s", got, err, signer)
	}
}
