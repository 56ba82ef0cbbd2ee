package consensus

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/wnode/wnode/types"
)

// TestSimulationValidatorChanges runs the simulation of sim_test.go with the validator
// set changing underneath: validators are added (from nodes that follow the chain from
// genesis), removed and re-weighted while partitions, crashes and an equivocating
// validator do their work. The simulated application decides a change in a block of
// height h, effective at h+2, as the chain does, and checks the chain's rules at proposal
// and validation: a change that would move more than 1/3 of the power (one is requested
// in every seed, and the Byzantine validator proposes blocks carrying it) is refused. On
// top of the simulation's checks after every event (agreement, no double signing, no
// honest message refused), every honest node must derive the same set for every height,
// and liveness holds after the chaos with the changed set.
func TestSimulationValidatorChanges(t *testing.T) {
	seeds := 20
	if raceEnabled {
		seeds = 4
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			p := randomSimParams(seed + 1_000_000)
			p.extra, p.changes = 2, 3
			s := runSimulationWith(t, seed+1_000_000, p)
			c := &s.changes
			if !c.badRefused {
				s.fatalf("the change moving more than 1/3 of the power was never refused")
			}
			if testing.Verbose() {
				t.Logf("%s: %d changes applied, %d refused; final set %d validators", p, c.appliedN, c.refusedN, s.honest()[0].app.set(s.honest()[0].app.height()).Len())
			}
		})
	}
}

// simChange is a validator set change carried by a simulated block: op 1 adds key Index
// with Power, 2 removes it, 3 sets its power.
type simChange struct {
	Op    uint8
	Index uint64
	Power uint64
}

func (c *simChange) encode() []byte {
	b, err := rlp.EncodeToBytes(c)
	if err != nil {
		panic(err)
	}
	return b
}

func decodeSimChange(b []byte) (*simChange, error) {
	c := new(simChange)
	if err := rlp.DecodeBytes(b, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *simChange) String() string {
	return fmt.Sprintf("%s key %d power %d", [...]string{"?", "add", "remove", "power"}[min(c.Op, 3)], c.Index, c.Power)
}

// apply returns base changed by c under the chain's rules: the member exists (or, for an
// add, does not), the set is not empty, and at most 1/3 of base's power moves.
func (c *simChange) apply(s *sim, base *types.ValidatorSet) (*types.ValidatorSet, error) {
	if c.Index >= uint64(len(s.keys)) {
		return nil, errors.New("unknown key")
	}
	k := s.keys[c.Index]
	addr := crypto.PubkeyToAddress(k.PublicKey)
	vals := base.Validators()
	i, member := base.Index(addr)
	switch {
	case c.Op == 1 && !member && c.Power > 0:
		v, err := types.NewValidator(crypto.CompressPubkey(&k.PublicKey), c.Power)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	case c.Op == 2 && member:
		vals = slices.Delete(vals, i, i+1)
	case c.Op == 3 && member && c.Power > 0 && c.Power != vals[i].Power:
		vals[i].Power = c.Power
	default:
		return nil, errors.New("not applicable")
	}
	if len(vals) == 0 {
		return nil, errors.New("empty set")
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		return nil, err
	}
	var moved uint64
	for i := range base.Len() {
		v := base.At(i)
		moved += max(v.Power, vs.Power(v.Address)) - min(v.Power, vs.Power(v.Address))
	}
	for i := range vs.Len() {
		if _, ok := base.Index(vs.At(i).Address); !ok {
			moved += vs.At(i).Power
		}
	}
	if 3*moved > base.TotalPower() {
		return nil, errMovesTooMuch
	}
	return vs, nil
}

var errMovesTooMuch = errors.New("moves more than 1/3 of the power")

// simChanges is the queue of requested changes, as the mempool of validator
// transactions: honest proposers include the first request in their block if it
// applies, and drop it when it does not; the Byzantine proposer sometimes includes the
// request that moves too much.
type simChanges struct {
	queue      []*simChange
	bad        *simChange
	badRefused bool
	appliedN   int
	refusedN   int
}

func (c *simChanges) forBlock(a *simApp, h uint64, fake bool) *simChange {
	s := a.n.s
	if a.n.byz {
		if c.bad != nil && s.rng.IntN(3) == 0 {
			return c.bad
		}
		if fake {
			return nil
		}
	}
	for len(c.queue) > 0 {
		ch := c.queue[0]
		_, err := ch.apply(s, a.set(h+1))
		if err == nil {
			return ch
		}
		c.queue = c.queue[1:]
		c.refusedN++
		if ch == c.bad {
			c.badRefused = errors.Is(err, errMovesTooMuch)
		}
		s.logf("node %d refuses change %v at height %d: %v", a.n.i, ch, h, err)
	}
	return nil
}

func (c *simChanges) applied(a *simApp, ch *simChange, h uint64) {
	if len(c.queue) > 0 && *c.queue[0] == *ch {
		c.queue = c.queue[1:]
		c.appliedN++
		a.n.s.logf("change %v decided at %d, effective at %d", ch, h, h+2)
	}
}

// scheduleChanges requests p.changes changes at random times of the chaos, each drawn
// against the set then known to the first honest node, keeping the Byzantine
// validator below a third of the power; and, first, one that moves too much.
func (s *sim) scheduleChanges() {
	rng := rand.New(rand.NewPCG(s.seed, 0xc4a9))
	byz := uint64(0)
	if s.p.byzantine >= 0 {
		byz = s.p.powers[s.p.byzantine]
	}
	s.after(time.Duration(rng.Int64N(int64(simChaos/4))), func() {
		vs := s.honest()[0].app.set(s.honest()[0].app.height() + 2)
		// Remove validators of more than a third of the power, in one change: the
		// heaviest one does not always suffice, so take the whole set but one.
		var idx uint64
		for i, k := range s.keys {
			if vs.Power(crypto.PubkeyToAddress(k.PublicKey)) > 0 {
				idx = uint64(i)
			}
		}
		s.changes.bad = &simChange{Op: 3, Index: idx, Power: vs.Power(crypto.PubkeyToAddress(s.keys[idx].PublicKey)) + vs.TotalPower()}
		s.changes.queue = append(s.changes.queue, s.changes.bad)
		s.logf("request (too much): %v", s.changes.bad)
	})
	for range s.p.changes {
		at := time.Duration(rng.Int64N(int64(simChaos)))
		s.after(at, func() {
			vs := s.honest()[0].app.set(s.honest()[0].app.height() + 2)
			total := vs.TotalPower()
			var ch *simChange
			for range 20 {
				i := uint64(rng.IntN(len(s.keys)))
				if int(i) == s.p.byzantine {
					continue
				}
				pw := vs.Power(crypto.PubkeyToAddress(s.keys[i].PublicKey))
				switch op := rng.IntN(3); {
				case pw == 0:
					add := 1 + uint64(rng.Int64N(int64(max(1, total/3))))
					ch = &simChange{Op: 1, Index: i, Power: add}
				case op == 0 && vs.Len() > 2 && 3*pw <= total && 3*byz < total-pw:
					ch = &simChange{Op: 2, Index: i}
				default:
					np := max(1, pw+uint64(rng.IntN(int(max(1, total/3))+1))-uint64(rng.IntN(int(pw))))
					if np != pw && 3*byz < total-pw+np {
						ch = &simChange{Op: 3, Index: i, Power: np}
					}
				}
				if ch != nil {
					break
				}
			}
			if ch != nil {
				s.changes.queue = append(s.changes.queue, ch)
				s.logf("request: %v", ch)
			}
		})
	}
}
