package vm_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/vm"
)

// TestExamples runs the example contracts (examples/) as a user would, on both engines.
func TestExamples(t *testing.T) {
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) {
			v := newVM(t, e)
			s := fullWorld(t)
			ok := func(to [20]byte, m string, in []byte) []byte {
				t.Helper()
				r := call(t, v, s, to, m, in)
				mustOK(t, r)
				return r.Output
			}
			if out := ok(exHello, "hello", []byte("wnode")); string(out) != "hello, wnode" {
				t.Fatalf("hello: %q", out)
			}
			if out := ok(exHello, "hello", nil); string(out) != "hello, world" {
				t.Fatalf("hello: %q", out)
			}
			for i := uint64(1); i <= 3; i++ {
				if out := ok(exCount, "increment", nil); !bytes.Equal(out, le64be(i)) {
					t.Fatalf("increment %d: %x", i, out)
				}
			}
			if out := ok(exCount, "get", nil); !bytes.Equal(out, le64be(3)) {
				t.Fatalf("get: %x", out)
			}
			// token: init mints to the deployer (the caller), transfer moves and emits.
			r := call(t, v, s, exToken, "init", le64be(1000))
			mustOK(t, r)
			if len(r.Events) != 1 || string(r.Events[0].Topic) != "transfer" {
				t.Fatalf("init events %+v", r.Events)
			}
			r = call(t, v, s, exToken, "init", le64be(1000))
			var rev *vm.RevertError
			if !errors.As(r.Err, &rev) || rev.Msg != "already initialized" {
				t.Fatalf("second init: %v", r.Err)
			}
			r = call(t, v, s, exToken, "transfer", cat(bob[:], le64be(250)))
			mustOK(t, r)
			if len(r.Events) != 1 || !bytes.Equal(r.Events[0].Data, cat(alice[:], bob[:], amount32(250))) {
				t.Fatalf("transfer events %+v", r.Events)
			}
			bal := func(who [20]byte) *uint256.Int {
				return new(uint256.Int).SetBytes(ok(exToken, "balance_of", who[:]))
			}
			if bal(alice).Uint64() != 750 || bal(bob).Uint64() != 250 {
				t.Fatalf("balances %v %v", bal(alice), bal(bob))
			}
			before := s.Copy()
			r = call(t, v, s, exToken, "transfer", cat(bob[:], le64be(751)))
			if !errors.As(r.Err, &rev) || rev.Msg != "insufficient balance" || !s.Equal(before) || len(r.Events) != 0 {
				t.Fatalf("overdraft: %v", r.Err)
			}
			if out := ok(exToken, "total_supply", nil); new(uint256.Int).SetBytes(out).Uint64() != 1000 {
				t.Fatalf("supply %x", out)
			}
		})
	}
}
