package vmtest

import (
	"testing"

	"github.com/holiman/uint256"
	"pgregory.net/rapid"

	"github.com/wnode/wnode/types"
)

// TestJournal: after any sequence of changes and snapshots, reverting to a snapshot
// restores exactly the state that held when it was taken.
func TestJournal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New()
		addrs := []types.Address{{1}, {2}, {3}}
		for _, a := range addrs {
			s.SetBalance(a, uint256.NewInt(1000))
		}
		type snap struct {
			id   int
			copy *State
		}
		var snaps []snap
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			a := addrs[rapid.IntRange(0, 2).Draw(t, "addr")]
			key := []byte{byte(rapid.IntRange(0, 3).Draw(t, "key"))}
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0:
				s.SetStorage(a, key, []byte(rapid.String().Draw(t, "value")))
			case 1:
				s.DeleteStorage(a, key)
			case 2:
				s.AddBalance(a, uint256.NewInt(uint64(rapid.IntRange(0, 50).Draw(t, "add"))))
			case 3:
				if s.GetBalance(a).Uint64() >= 10 {
					s.SubBalance(a, uint256.NewInt(10))
				}
			case 4:
				snaps = append(snaps, snap{s.Snapshot(), s.Copy()})
			case 5:
				if len(snaps) > 0 {
					k := rapid.IntRange(0, len(snaps)-1).Draw(t, "revert")
					s.RevertToSnapshot(snaps[k].id)
					if !s.Equal(snaps[k].copy) {
						t.Fatalf("revert to snapshot %d did not restore the state", k)
					}
					snaps = snaps[:k]
				}
			}
		}
		if len(snaps) > 0 {
			s.RevertToSnapshot(snaps[0].id)
			if !s.Equal(snaps[0].copy) {
				t.Fatal("final revert did not restore the state")
			}
		}
	})
}

func TestCodeAndAbsent(t *testing.T) {
	s := New()
	a := types.Address{9}
	if s.GetCodeHash(a) != (types.Hash{}) || s.GetCode(types.Hash{1}) != nil || !s.GetBalance(a).IsZero() {
		t.Fatal("absent account not empty")
	}
	h := s.SetCode(a, []byte{0, 'a', 's', 'm'})
	if s.GetCodeHash(a) != h || string(s.GetCode(h)) != "\x00asm" {
		t.Fatal("code not stored")
	}
	if _, ok := s.GetStorage(a, []byte("k")); ok {
		t.Fatal("absent key found")
	}
	s.SetStorage(a, []byte("k"), nil)
	if v, ok := s.GetStorage(a, []byte("k")); !ok || len(v) != 0 {
		t.Fatal("empty value must exist")
	}
}
