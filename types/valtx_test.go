package types

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

func testChange(t testing.TB) *ValidatorChange {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("valtx test")))
	if err != nil {
		t.Fatal(err)
	}
	return &ValidatorChange{Op: ValidatorAdd, Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: 7}
}

func TestValidatorChangeCheck(t *testing.T) {
	good := testChange(t)
	for name, ch := range map[string]*ValidatorChange{
		"add":    good,
		"remove": {Op: ValidatorRemove, Address: good.Address},
		"power":  {Op: ValidatorPower, Address: good.Address, Power: MaxTotalPower},
	} {
		got, err := DecodeValidatorChange(ch.Encode())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Encode(), ch.Encode()) {
			t.Fatalf("%s: round trip differs", name)
		}
	}
	bad := map[string]ValidatorChange{
		"unknown op":         {Op: 4, Address: good.Address, Power: 1},
		"add wrong address":  {Op: ValidatorAdd, Address: Address{1}, PubKey: good.PubKey, Power: 1},
		"add no key":         {Op: ValidatorAdd, Address: good.Address, Power: 1},
		"add zero power":     {Op: ValidatorAdd, Address: good.Address, PubKey: good.PubKey},
		"add bad key":        {Op: ValidatorAdd, Address: good.Address, PubKey: append([]byte{5}, good.PubKey[1:]...), Power: 1},
		"remove with power":  {Op: ValidatorRemove, Address: good.Address, Power: 1},
		"remove with key":    {Op: ValidatorRemove, Address: good.Address, PubKey: good.PubKey},
		"power with key":     {Op: ValidatorPower, Address: good.Address, PubKey: good.PubKey, Power: 1},
		"power zero":         {Op: ValidatorPower, Address: good.Address},
		"power over the max": {Op: ValidatorPower, Address: good.Address, Power: MaxTotalPower + 1},
	}
	for name, ch := range bad {
		if _, err := DecodeValidatorChange(ch.Encode()); !errors.Is(err, ErrInvalidTxField) {
			t.Errorf("%s: %v, want ErrInvalidTxField", name, err)
		}
	}
	if _, err := DecodeValidatorChange(append(good.Encode(), 0x80)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := DecodeValidatorVote((&ValidatorVote{}).Encode()); err == nil {
		t.Error("proposal id 0 accepted")
	}
}

func TestValidatorTxFields(t *testing.T) {
	ch := testChange(t)
	ok := []*Tx{
		{ChainID: 1, Kind: TxValidatorPropose, Args: ch.Encode()},
		{ChainID: 1, Kind: TxValidatorVote, Args: (&ValidatorVote{ProposalID: 3}).Encode()},
	}
	for _, tx := range ok {
		if err := tx.CheckFields(1); err != nil {
			t.Fatalf("%s: %v", tx.Kind, err)
		}
	}
	bad := []*Tx{
		{ChainID: 1, Kind: TxValidatorPropose, Args: ch.Encode(), To: Address{1}},
		{ChainID: 1, Kind: TxValidatorPropose, Args: ch.Encode(), Method: "m"},
		{ChainID: 1, Kind: TxValidatorPropose, Args: ch.Encode(), Value: uint256.NewInt(1)},
		{ChainID: 1, Kind: TxValidatorPropose, Args: ch.Encode(), Code: []byte{1}},
		{ChainID: 1, Kind: TxValidatorPropose, Args: (&ValidatorVote{ProposalID: 3}).Encode()},
		{ChainID: 1, Kind: TxValidatorVote, Args: ch.Encode()},
		{ChainID: 1, Kind: TxValidatorVote},
	}
	for i, tx := range bad {
		if err := tx.CheckFields(1); !errors.Is(err, ErrInvalidTxField) {
			t.Errorf("bad %d: %v", i, err)
		}
	}
}

func FuzzDecodeValidatorChange(f *testing.F) {
	ch := testChange(f)
	f.Add(ch.Encode())
	f.Add((&ValidatorChange{Op: ValidatorRemove, Address: ch.Address}).Encode())
	f.Add((&ValidatorChange{Op: ValidatorPower, Address: ch.Address, Power: 1 << 40}).Encode())
	f.Add((&ValidatorVote{ProposalID: 1}).Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := DecodeValidatorChange(b); err == nil {
			if !bytes.Equal(c.Encode(), b) || c.Check() != nil {
				t.Fatalf("accepted %x, not canonical or not valid", b)
			}
		}
		if v, err := DecodeValidatorVote(b); err == nil {
			if !bytes.Equal(v.Encode(), b) || v.ProposalID == 0 {
				t.Fatalf("accepted vote %x", b)
			}
		}
	})
}
