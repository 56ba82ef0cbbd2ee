package light_test

import (
	"errors"
	"testing"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// storeFetch returns a ProvenReader's Fetch serving reads of the store's genesis as a
// node does: the value and its proof (chain.StateProof, as light.NewReadOf encodes it).
func storeFetch(t *testing.T, st *state.Store) func(key []byte) (*light.StateRead, error) {
	return func(key []byte) (*light.StateRead, error) {
		view, err := st.Reader(0)
		if err != nil {
			return nil, err
		}
		val, err := view.Get(key)
		if err != nil {
			return nil, err
		}
		p, err := view.Prove(key)
		if err != nil {
			return nil, err
		}
		r := light.NewReadOf(&chain.StateProof{Key: key, Value: val, Proof: p})
		return &r, nil
	}
}

// TestProvenStateDBConformance runs vm.StateDB's conformance suite on the StateDB a light
// client executes on: state.StateDB over a ProvenReader, every read proven against the
// committed world's root before use.
func TestProvenStateDBConformance(t *testing.T) {
	statetest.RunStateDB(t, func(t *testing.T, w *statetest.World) vm.StateDB {
		st, _ := statetest.NewStore(t, state.Options{})
		statetest.Genesis(t, st, statetest.WorldChanges(t, w))
		_, root := st.Latest()
		return state.NewStateDB(&light.ProvenReader{Root: root, Fetch: storeFetch(t, st)})
	})
}

// TestProvenReaderRefusesLies: a fetch that proves another value, another key, or lies
// about the root fails the read.
func TestProvenReaderRefusesLies(t *testing.T) {
	st, _ := statetest.NewStore(t, state.Options{})
	w := &statetest.World{Code: map[types.Address][]byte{{0xc0}: []byte("\x00asm")}}
	statetest.Genesis(t, st, statetest.WorldChanges(t, w))
	_, root := st.Latest()
	honest := storeFetch(t, st)
	key := state.AccountKey(types.Address{0xc0})
	for _, c := range []struct {
		name  string
		fetch func(k []byte) (*light.StateRead, error)
		want  error
	}{
		{"value", func(k []byte) (*light.StateRead, error) {
			r, err := honest(k)
			v := append([]byte{}, *r.Value...)
			v[len(v)-1] ^= 1
			*r.Value = v
			return r, err
		}, light.ErrProof},
		{"absent", func(k []byte) (*light.StateRead, error) { r, err := honest(k); r.Value = nil; return r, err }, light.ErrProof},
		{"another key", func(k []byte) (*light.StateRead, error) { return honest(state.AccountKey(types.Address{0xc1})) }, light.ErrQuestion},
	} {
		r := &light.ProvenReader{Root: root, Fetch: c.fetch}
		if _, err := r.Get(key); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	r := &light.ProvenReader{Root: root, Fetch: honest}
	if v, err := r.Get(key); err != nil || v == nil {
		t.Fatalf("honest read: %x %v", v, err)
	}
}
