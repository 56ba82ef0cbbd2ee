package types

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"pgregory.net/rapid"
)

// validatorTestKeys returns n deterministic secp256k1 keys.
func validatorTestKeys(t testing.TB, n int) []*ecdsa.PrivateKey {
	t.Helper()
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte("wnode validator test key"), seed[:]))
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	return keys
}

// validatorTestSet returns a set of the keys with the given powers, and the keys.
func validatorTestSet(t testing.TB, powers ...uint64) (*ValidatorSet, []*ecdsa.PrivateKey) {
	t.Helper()
	keys := validatorTestKeys(t, len(powers))
	vals := make([]Validator, len(powers))
	for i, k := range keys {
		v, err := NewValidator(crypto.FromECDSAPub(&k.PublicKey), powers[i])
		if err != nil {
			t.Fatal(err)
		}
		vals[i] = v
	}
	vs, err := NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs, keys
}

func TestNewValidatorSetRejects(t *testing.T) {
	keys := validatorTestKeys(t, 2)
	v0, _ := NewValidator(crypto.FromECDSAPub(&keys[0].PublicKey), 5)
	v1, _ := NewValidator(crypto.CompressPubkey(&keys[1].PublicKey), 5)
	if len(v0.PubKey) != PubKeyLen || v0.Address != crypto.PubkeyToAddress(keys[0].PublicKey) {
		t.Fatalf("NewValidator: %x %s", v0.PubKey, v0.Address)
	}
	uncompressed := v0
	uncompressed.PubKey = crypto.FromECDSAPub(&keys[0].PublicKey)
	wrongAddr := v0
	wrongAddr.Address = v1.Address
	zero := v0
	zero.Power = 0
	huge := v1
	huge.Power = MaxTotalPower
	badKey := v0
	badKey.PubKey = append([]byte{0x05}, v0.PubKey[1:]...)
	cases := map[string][]Validator{
		"empty":        nil,
		"uncompressed": {uncompressed},
		"wrong addr":   {wrongAddr},
		"zero power":   {zero},
		"overflow":     {v0, huge},
		"bad key":      {badKey},
		"duplicate":    {v0, v1, v0},
	}
	for name, vals := range cases {
		if _, err := NewValidatorSet(vals); !errors.Is(err, ErrInvalidValidatorSet) {
			t.Errorf("%s: got %v, want ErrInvalidValidatorSet", name, err)
		}
	}
	if _, err := NewValidator([]byte{1, 2, 3}, 1); !errors.Is(err, ErrInvalidValidatorSet) {
		t.Errorf("NewValidator with 3-byte key: %v", err)
	}
}

func TestValidatorSetOrderAndHash(t *testing.T) {
	vs, _ := validatorTestSet(t, 1, 2, 3, 4)
	for i := 1; i < vs.Len(); i++ {
		if a, b := vs.At(i-1).Address, vs.At(i).Address; string(a[:]) >= string(b[:]) {
			t.Fatal("validators not sorted by address")
		}
	}
	vals := vs.Validators()
	rev := []Validator{vals[3], vals[1], vals[2], vals[0]}
	vs2, err := NewValidatorSet(rev)
	if err != nil {
		t.Fatal(err)
	}
	if vs2.Hash() != vs.Hash() {
		t.Fatal("hash depends on input order")
	}
	vals[0].Power++
	vs3, _ := NewValidatorSet(vals)
	if vs3.Hash() == vs.Hash() {
		t.Fatal("hash does not cover power")
	}
	for i, v := range vals {
		if j, ok := vs.Index(v.Address); !ok || j != i {
			t.Fatalf("Index(%s) = %d, %v", v.Address, j, ok)
		}
	}
	if vs.Power(Address{9}) != 0 {
		t.Fatal("power of a non-member")
	}
	if vs.TotalPower() != 10 {
		t.Fatalf("total %d", vs.TotalPower())
	}
}

func TestQuorumArithmetic(t *testing.T) {
	for _, total := range []uint64{1, 2, 3, 4, 5, 6, 7, 10, 100, 101, MaxTotalPower} {
		vs := &ValidatorSet{total: total}
		q := vs.Quorum()
		if !vs.HasQuorum(q) || vs.HasQuorum(q-1) {
			t.Errorf("total %d: quorum %d inconsistent", total, q)
		}
		if 3*q <= 2*total || 3*(q-1) > 2*total {
			t.Errorf("total %d: quorum %d is not the least power above 2/3", total, q)
		}
		if total >= 3 && (vs.HasOneThird(total/3) || !vs.HasOneThird(total/3+1)) {
			t.Errorf("total %d: one-third threshold wrong", total)
		}
	}
	// The classic cases: 3 of 4 and 5 of 7 equal validators, and a quorum of one.
	if q := (&ValidatorSet{total: 4}).Quorum(); q != 3 {
		t.Errorf("4 validators: quorum %d", q)
	}
	if q := (&ValidatorSet{total: 7}).Quorum(); q != 5 {
		t.Errorf("7 validators: quorum %d", q)
	}
	if q := (&ValidatorSet{total: 1}).Quorum(); q != 1 {
		t.Errorf("1 validator: quorum %d", q)
	}
}

func proposerCounts(vs *ValidatorSet, from uint64, slots int) map[int]int {
	counts := map[int]int{}
	for h := from; h < from+uint64(slots); h++ {
		counts[vs.ProposerIndex(h, 0)]++
	}
	return counts
}

func TestProposerWeightedRoundRobin(t *testing.T) {
	vs, _ := validatorTestSet(t, 1, 1, 1, 1)
	seen := map[int]bool{}
	for h := uint64(1); h <= 4; h++ {
		seen[vs.ProposerIndex(h, 0)] = true
	}
	if len(seen) != 4 {
		t.Fatalf("equal powers: 4 consecutive heights had %d proposers", len(seen))
	}

	vs, _ = validatorTestSet(t, 1, 2, 3, 4)
	for from := uint64(1); from < 30; from += 7 {
		c := proposerCounts(vs, from, 10)
		for i := range vs.Len() {
			if uint64(c[i]) != vs.At(i).Power {
				t.Fatalf("powers 1..4, slots from %d: validator with power %d proposed %d times", from, vs.At(i).Power, c[i])
			}
		}
	}
	// Round r+1 of a height has the proposer of round r of the next height.
	for h := uint64(1); h < 20; h++ {
		for r := int32(0); r < 5; r++ {
			if vs.ProposerIndex(h, r+1) != vs.ProposerIndex(h+1, r) {
				t.Fatalf("proposer(%d, %d) != proposer(%d, %d)", h, r+1, h+1, r)
			}
		}
	}
	// Deterministic: a second set built from the same validators agrees.
	vs2, _ := NewValidatorSet(vs.Validators())
	for h := uint64(1); h < 100; h++ {
		if vs.ProposerIndex(h, int32(h%3)) != vs2.ProposerIndex(h, int32(h%3)) {
			t.Fatal("proposer sequence not deterministic")
		}
	}
	// Extreme heights and rounds stay in range.
	_ = vs.Proposer(^uint64(0), 1<<31-1)
	_ = vs.Proposer(0, 0)
}

func TestProposerCycleProperty(t *testing.T) {
	keys := validatorTestKeys(t, 7)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 7).Draw(rt, "n")
		vals := make([]Validator, n)
		var total uint64
		for i := range vals {
			v, _ := NewValidator(crypto.CompressPubkey(&keys[i].PublicKey), rapid.Uint64Range(1, 300).Draw(rt, "power"))
			vals[i] = v
			total += v.Power
		}
		vs, err := NewValidatorSet(vals)
		if err != nil {
			rt.Fatal(err)
		}
		c := proposerCounts(vs, rapid.Uint64Range(1, 1<<40).Draw(rt, "from"), int(total))
		for i := range vs.Len() {
			if uint64(c[i]) != vs.At(i).Power {
				rt.Fatalf("validator %d with power %d proposed %d times in a cycle of %d", i, vs.At(i).Power, c[i], total)
			}
		}
	})
}

func TestProposerScaledPowers(t *testing.T) {
	// Total power above the cycle limit: powers are scaled for proposer selection, every
	// validator still proposes, in proportion to its power.
	vs, _ := validatorTestSet(t, 1, 1<<40, 2<<40, 1<<50)
	_ = vs.Proposer(1, 0) // builds the sequence
	c := proposerCounts(vs, 1, len(vs.seq)+1)
	if len(vs.seq) > maxProposerCycle+vs.Len() {
		t.Fatalf("cycle of %d slots", len(vs.seq))
	}
	for i := range vs.Len() {
		if c[i] == 0 {
			t.Fatalf("validator %d (power %d) never proposes", i, vs.At(i).Power)
		}
	}
	p1, _ := vs.Index(addrWithPower(vs, 1<<40))
	p2, _ := vs.Index(addrWithPower(vs, 2<<40))
	if r := float64(c[p2]) / float64(c[p1]); r < 1.9 || r > 2.1 {
		t.Fatalf("double power proposes %.2f times as often", r)
	}
}

func addrWithPower(vs *ValidatorSet, p uint64) Address {
	for _, v := range vs.vals {
		if v.Power == p {
			return v.Address
		}
	}
	return Address{}
}

func TestVerifySignature(t *testing.T) {
	vs, keys := validatorTestSet(t, 1, 1)
	h := crypto.Keccak256Hash([]byte("x"))
	sig, _ := crypto.Sign(h[:], keys[0])
	a0 := crypto.PubkeyToAddress(keys[0].PublicKey)
	a1 := crypto.PubkeyToAddress(keys[1].PublicKey)
	if err := vs.VerifySignature(a0, h, sig); err != nil {
		t.Fatal(err)
	}
	if err := vs.VerifySignature(a1, h, sig); !errors.Is(err, ErrInvalidSig) {
		t.Fatalf("other validator's signature: %v", err)
	}
	if err := vs.VerifySignature(Address{1}, h, sig); !errors.Is(err, ErrUnknownValidator) {
		t.Fatalf("non-member: %v", err)
	}
}
