package types

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

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
	f.Add([]byte{0xc0})
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
