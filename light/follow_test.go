package light_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/types"
)

// powers is a validator set by test key name.
type powers map[string]uint64

func valSet(t testing.TB, p powers) *types.ValidatorSet {
	t.Helper()
	var vals []types.Validator
	for _, name := range slices.Sorted(maps.Keys(p)) {
		k := testKey(name)
		vals = append(vals, types.Validator{Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: p[name]})
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// genChain is a chain of headers (no state) whose validator set follows a schedule:
// sets[h] signs height h (sets[0], the genesis set, also signs height 1).
type genChain struct {
	chainID uint64
	sets    []powers
	vs      []*types.ValidatorSet
	headers []*types.Header // headers[0] is nil: the genesis header is not needed
	certs   []*light.Certificate
	start   time.Time
}

const genBlockMs = 1000

// newGenChain builds heights 1..len(sets)-1, each signed by every member of its set.
func newGenChain(t testing.TB, sets []powers) *genChain {
	t.Helper()
	return newGenChainAt(t, sets, time.UnixMilli(1_700_000_000_000))
}

// newGenChainAt is newGenChain with the root at start and height h genBlockMs*h later.
func newGenChainAt(t testing.TB, sets []powers, start time.Time) *genChain {
	t.Helper()
	g := &genChain{chainID: testChainID, sets: sets, start: start}
	for _, p := range sets {
		g.vs = append(g.vs, valSet(t, p))
	}
	g.headers = make([]*types.Header, len(sets))
	g.certs = make([]*light.Certificate, len(sets))
	parent := types.Hash{1}
	for h := 1; h < len(sets); h++ {
		next := g.vs[h]
		if h+1 < len(sets) {
			next = g.vs[h+1]
		}
		hdr := &types.Header{ChainID: g.chainID, Height: uint64(h), Time: g.timeOf(uint64(h)), ParentHash: parent,
			StateRoot: types.Hash{byte(h), 2}, ValidatorsHash: g.vs[h].Hash(), NextValidatorsHash: next.Hash()}
		g.headers[h] = hdr
		g.certs[h] = g.sign(t, hdr, g.vs[h], slices.Collect(maps.Keys(sets[h])))
		parent = hdr.Hash()
	}
	return g
}

func (g *genChain) timeOf(h uint64) uint64 { return uint64(g.start.UnixMilli()) + h*genBlockMs }

// now is a clock just after the last header.
func (g *genChain) now() time.Time { return time.UnixMilli(int64(g.timeOf(uint64(len(g.sets))))) }

// sign returns the certificate of hdr with set vs, its commit signed by signers.
func (g *genChain) sign(t testing.TB, hdr *types.Header, vs *types.ValidatorSet, signers []string) *light.Certificate {
	t.Helper()
	c := light.NewCertificate(hdr, signCommit(t, hdr.ChainID, hdr.Height, 0, hdr.Hash(), signers), vs)
	return &c
}

func (g *genChain) root() *light.TrustedState {
	return &light.TrustedState{ChainID: g.chainID, Time: uint64(g.start.UnixMilli()), Validators: g.vs[0], NextValidatorsHash: g.vs[1].Hash()}
}

func (g *genChain) block(t testing.TB, h int) *light.LightBlock {
	t.Helper()
	return decodeCert(t, g.certs[h])
}

func decodeCert(t testing.TB, c *light.Certificate) *light.LightBlock {
	t.Helper()
	lb, err := c.Decode()
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func (g *genChain) state(t testing.TB, h int) *light.TrustedState {
	t.Helper()
	if h == 0 {
		return g.root()
	}
	lb := g.block(t, h)
	return &light.TrustedState{ChainID: g.chainID, Height: uint64(h), Time: lb.Header.Time, Header: lb.Header,
		Validators: lb.Validators, NextValidatorsHash: lb.Header.NextValidatorsHash}
}

// source serves a genChain's certificates, with lies by height, and counts the fetches.
type source struct {
	g       *genChain
	lies    map[uint64]*light.Certificate
	fetched []uint64
}

func (s *source) Certificate(_ context.Context, h uint64) (*light.Certificate, error) {
	s.fetched = append(s.fetched, h)
	if c, ok := s.lies[h]; ok {
		return c, nil
	}
	if h == 0 || h >= uint64(len(s.g.certs)) {
		return nil, fmt.Errorf("no header %d", h)
	}
	return s.g.certs[h], nil
}

func (g *genChain) client(t testing.TB, src light.Source, store light.Store) *light.Client {
	t.Helper()
	c, err := light.NewClient(g.root(), src, light.ClientOptions{Now: g.now, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// repeat returns n copies of p.
func repeat(n int, p powers) []powers {
	out := make([]powers, n)
	for i := range out {
		out[i] = p
	}
	return out
}

var (
	set4    = powers{"v0": 10, "v1": 10, "v2": 10, "v3": 10}
	addV4   = powers{"v0": 10, "v1": 10, "v2": 10, "v3": 10, "v4": 10}
	dropV3  = powers{"v0": 10, "v1": 10, "v2": 10, "v4": 10}
	powerV0 = powers{"v0": 20, "v1": 10, "v2": 10, "v4": 10}
)

// rotation replaces v0..v3 by w0..w3, one every `every` heights: after the fourth step no
// member of the genesis set is left, and each step moves a quarter of the power.
func rotation(every int) []powers { return rotationOf(4, every) }

// rotationOf is rotation of n validators.
func rotationOf(n, every int) []powers {
	cur := powers{}
	for i := range n {
		cur[fmt.Sprintf("v%d", i)] = 10
	}
	sets := repeat(every+1, cur)
	for i := range n {
		cur = maps.Clone(cur)
		delete(cur, fmt.Sprintf("v%d", i))
		cur[fmt.Sprintf("w%d", i)] = 10
		sets = append(sets, repeat(every, cur)...)
	}
	return sets
}

// churn has n validators of equal power and replaces the per oldest of them every
// `every` heights, steps times: with per/n close to 1/3, only headers a step or two apart
// overlap by more than 1/3.
func churn(n, per, steps, every int) []powers {
	next := 0
	var members []string
	for range n {
		members = append(members, fmt.Sprintf("r%d", next))
		next++
	}
	set := func() powers {
		p := powers{}
		for _, m := range members {
			p[m] = 10
		}
		return p
	}
	sets := repeat(every+1, set())
	for range steps {
		members = members[per:]
		for range per {
			members = append(members, fmt.Sprintf("r%d", next))
			next++
		}
		sets = append(sets, repeat(every, set())...)
	}
	return sets
}

// changes is a schedule with an addition, a removal and a power change.
func changes() []powers {
	return slices.Concat(repeat(4, set4), repeat(3, addV4), repeat(3, dropV3), repeat(3, powerV0))
}

// TestVerifyAdjacentAcrossChanges: each header verifies from the one before it across
// additions, removals, power changes and a total rotation.
func TestVerifyAdjacentAcrossChanges(t *testing.T) {
	for name, sets := range map[string][]powers{"changes": changes(), "rotation": rotation(2)} {
		t.Run(name, func(t *testing.T) {
			g := newGenChain(t, sets)
			trusted := g.root()
			for h := 1; h < len(sets); h++ {
				lb := g.block(t, h)
				if err := light.VerifyAdjacent(trusted, lb, g.now(), light.Rules{}); err != nil {
					t.Fatalf("height %d: %v", h, err)
				}
				trusted = g.state(t, h)
			}
		})
	}
}

// TestVerifyNonAdjacent: a header verifies directly from a trusted one when more than
// 1/3 of the trusted power signed it, and asks for bisection (ErrTrustLevel) when not.
func TestVerifyNonAdjacent(t *testing.T) {
	g := newGenChain(t, rotation(3))
	// Heights 1-3: v0-v3; 4-6: w0 v1 v2 v3; 7-9: w0 w1 v2 v3; 10-12: w0 w1 w2 v3; 13-15: w0-w3.
	for _, tc := range []struct {
		from, to int
		want     error
	}{
		{0, 3, nil},                  // the same set
		{0, 6, nil},                  // 3/4 of the genesis power signed
		{2, 9, nil},                  // 1/2
		{2, 12, light.ErrTrustLevel}, // 1/4: not more than 1/3
		{0, 15, light.ErrTrustLevel}, // none
		{7, 12, nil},                 // 3/4
		{8, 15, nil},                 // 1/2
		{4, 15, light.ErrTrustLevel}, // 1/4
	} {
		err := light.VerifyNonAdjacent(g.state(t, tc.from), g.block(t, tc.to), g.now(), light.Rules{})
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%d -> %d: %v, want %v", tc.from, tc.to, err, tc.want)
		}
	}
	// A trust level of 2/3 refuses what 1/3 accepts.
	err := light.VerifyNonAdjacent(g.state(t, 2), g.block(t, 10), g.now(), light.Rules{TrustLevel: light.Fraction{Num: 2, Den: 3}})
	if !errors.Is(err, light.ErrTrustLevel) {
		t.Errorf("2/3 trust level: %v", err)
	}
	if err := light.VerifyNonAdjacent(g.state(t, 2), g.block(t, 10), g.now(), light.Rules{TrustLevel: light.Fraction{Num: 1, Den: 4}}); err == nil {
		t.Error("a trust level below 1/3 was accepted")
	}
	// Adjacent heights are VerifyAdjacent's.
	if err := light.VerifyNonAdjacent(g.state(t, 2), g.block(t, 3), g.now(), light.Rules{}); !errors.Is(err, light.ErrHeight) {
		t.Errorf("adjacent: %v", err)
	}
}

// TestClientSkipping: when the sets overlap enough the client verifies the target
// without fetching anything in between; it then starts from the target.
func TestClientSkipping(t *testing.T) {
	g := newGenChain(t, changes())
	src := &source{g: g}
	c := g.client(t, src, nil)
	top := uint64(len(g.sets) - 1)
	hdr, err := c.VerifyHeaderAt(context.Background(), top)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Hash() != g.headers[top].Hash() {
		t.Fatal("another header")
	}
	if !slices.Equal(src.fetched, []uint64{top}) {
		t.Errorf("fetched %v, want only the target %d", src.fetched, top)
	}
	if l := c.Latest(); l.Height != top || l.Hash() != hdr.Hash() {
		t.Errorf("latest %d %s", l.Height, l.Hash())
	}
}

// TestClientBisection: across a total rotation the client cannot skip from the root and
// bisects, fetching a logarithmic number of headers, not every one.
func TestClientBisection(t *testing.T) {
	g := newGenChain(t, churn(10, 3, 8, 16)) // 145 heights, 3/10 of the power moved every 16
	src := &source{g: g}
	c := g.client(t, src, nil)
	top := uint64(len(g.sets) - 1)
	if err := light.VerifyNonAdjacent(g.root(), g.block(t, int(top)), g.now(), light.Rules{}); !errors.Is(err, light.ErrTrustLevel) {
		t.Fatalf("direct: %v", err)
	}
	hdr, err := c.VerifyHeaderAt(context.Background(), top)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Hash() != g.headers[top].Hash() {
		t.Fatal("another header")
	}
	if n := len(src.fetched); n < 3 || n > 16 {
		t.Errorf("fetched %d headers (%v)", n, src.fetched)
	}
	t.Logf("bisection over %d heights fetched %v", top, src.fetched)
	// A header below the latest starts from the root (or a lower stored height).
	src.fetched = nil
	if _, err := c.VerifyHeaderAt(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	// The height verified is trusted: asked again, nothing is fetched.
	src.fetched = nil
	if _, err := c.VerifyHeaderAt(context.Background(), 30); err != nil || len(src.fetched) != 0 {
		t.Errorf("again: %v, fetched %v", err, src.fetched)
	}
}

// TestClientOffline: without a source the client verifies what it can reach directly
// and names the missing source otherwise.
func TestClientOffline(t *testing.T) {
	g := newGenChain(t, rotation(3))
	c := g.client(t, nil, nil)
	if _, err := c.VerifyCertificate(context.Background(), g.certs[4]); err != nil {
		t.Fatal(err)
	}
	// Of 4's set (w0 v1 v2 v3), only w0 (1/4) is left at 15 (w0-w3).
	if _, err := c.VerifyCertificate(context.Background(), g.certs[15]); !errors.Is(err, light.ErrNoSource) || !errors.Is(err, light.ErrTrustLevel) {
		t.Fatalf("15: %v", err)
	}
	if _, err := c.VerifyHeaderAt(context.Background(), 9); !errors.Is(err, light.ErrNoSource) {
		t.Fatalf("9: %v", err)
	}
}

// forge returns a header at height h that follows the real one at h-1, with the given
// set and next set, signed by signers.
func (g *genChain) forge(t testing.TB, h int, set, next powers, signers []string) *light.Certificate {
	t.Helper()
	vs := valSet(t, set)
	hdr := &types.Header{ChainID: g.chainID, Height: uint64(h), Time: g.timeOf(uint64(h)), ParentHash: g.headers[h-1].Hash(),
		StateRoot: types.Hash{0xba, 0xd}, ValidatorsHash: vs.Hash(), NextValidatorsHash: valSet(t, next).Hash()}
	return g.sign(t, hdr, vs, signers)
}

// TestClientLies: a lying source or answer is refused with the error naming the lie.
func TestClientLies(t *testing.T) {
	g := newGenChain(t, changes()) // 1-3 set4, 4-6 +v4, 7-9 -v3, 10-12 v0 x2
	ctx := context.Background()
	top := len(g.sets) - 1
	evil := powers{"e0": 10, "e1": 10, "e2": 10, "e3": 10}

	tamper := func(h int, mod func(c *light.Certificate)) *light.Certificate {
		c := *g.certs[h]
		c.Validators = slices.Clone(c.Validators)
		mod(&c)
		return &c
	}
	wrongNext := tamper(5, func(c *light.Certificate) {
		hdr, _ := types.DecodeHeader(c.Header)
		hdr.NextValidatorsHash = valSet(t, evil).Hash()
		c.Header = hdr.Encode()
	})
	forgedSet := tamper(5, func(c *light.Certificate) { c.Validators[0].Power += 5 })
	// v3 leaves at height 7: its signature on 7 no longer counts, it is a non-member's.
	removedSigns := func() *light.Certificate {
		hdr := g.headers[7]
		return g.sign(t, hdr, g.vs[7], []string{"v0", "v1", "v2", "v3", "v4"})
	}()
	// The old set (v3 still in) signs a height-7 header of its own.
	oldSetFork := g.forge(t, 7, addV4, addV4, []string{"v0", "v1", "v2", "v3", "v4"})
	// A set of strangers plus v1 (at most 1/4 of any trusted set's power) signs the target.
	minority := g.forge(t, top, powers{"e0": 10, "e1": 10, "e2": 10, "v1": 10}, evil, []string{"e0", "e1", "e2", "v1"})
	// Signed by too little of its own set.
	fewSigners := g.sign(t, g.headers[5], g.vs[5], []string{"v0", "v1", "v2"})
	otherChain := func() *light.Certificate {
		hdr := *g.headers[5]
		hdr.ChainID++
		return g.sign(t, &hdr, g.vs[5], slices.Collect(maps.Keys(g.sets[5])))
	}()
	future := func() *light.Certificate {
		hdr := *g.headers[5]
		hdr.Time = uint64(g.now().Add(time.Hour).UnixMilli())
		return g.sign(t, &hdr, g.vs[5], slices.Collect(maps.Keys(g.sets[5])))
	}()

	for _, tc := range []struct {
		name   string
		height int
		lie    *light.Certificate
		direct bool // verified as the answer's own certificate, not fetched
		want   error
	}{
		{"wrong next validators hash", 5, wrongNext, true, light.ErrBlockHash},
		{"forged set", 5, forgedSet, true, light.ErrValidators},
		{"removed validator signs after its switch", 7, removedSigns, true, light.ErrSignature},
		{"old set signs after the switch (sequential)", 7, oldSetFork, false, light.ErrNextValidators},
		{"minority of the trusted set (bisection)", top, minority, false, light.ErrNextValidators},
		{"minority of the trusted set (offline)", top, minority, true, light.ErrTrustLevel},
		{"too few signers", 5, fewSigners, true, light.ErrPower},
		{"other chain", 5, otherChain, true, light.ErrChain},
		{"from the future", 5, future, true, light.ErrTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.direct {
				var src light.Source
				if tc.want != light.ErrTrustLevel {
					src = &source{g: g}
				}
				_, err = g.client(t, src, nil).VerifyCertificate(ctx, tc.lie)
			} else {
				src := &source{g: g, lies: map[uint64]*light.Certificate{uint64(tc.height): tc.lie}}
				c := g.client(t, src, nil)
				// Trust up to the height before the lie when it is adjacent.
				if tc.height == 7 {
					if _, err := c.VerifyHeaderAt(ctx, 6); err != nil {
						t.Fatal(err)
					}
				}
				_, err = c.VerifyHeaderAt(ctx, uint64(tc.height))
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Header 6 certified the set of 7 in advance: the old set's header at 7 is refused.
	if err := light.VerifyAdjacent(g.state(t, 6), decodeCert(t, oldSetFork), g.now(), light.Rules{}); !errors.Is(err, light.ErrNextValidators) {
		t.Errorf("adjacent old set: %v", err)
	}
}

// TestClientExpired: a trusted state older than the trusting period trusts nothing more.
func TestClientExpired(t *testing.T) {
	g := newGenChain(t, changes())
	opts := light.ClientOptions{Now: func() time.Time { return g.now().Add(time.Hour) }, Rules: light.Rules{TrustingPeriod: time.Minute}}
	c, err := light.NewClient(g.root(), &source{g: g}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyHeaderAt(context.Background(), 5); !errors.Is(err, light.ErrExpired) {
		t.Fatalf("got %v", err)
	}
	opts.Rules.TrustingPeriod = 2 * time.Hour
	if c, err = light.NewClient(g.root(), &source{g: g}, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyHeaderAt(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
}

// TestClientStore: the states a client verified are stored and a new client starts from
// them; a store of another root or a conflicting header is refused.
func TestClientStore(t *testing.T) {
	g := newGenChain(t, rotation(25))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trust.json")
	store := &light.FileStore{Path: path, Root: light.RootID(g.root())}
	top := uint64(len(g.sets) - 1)
	if _, err := g.client(t, &source{g: g}, store).VerifyHeaderAt(ctx, top-1); err != nil {
		t.Fatal(err)
	}
	src := &source{g: g}
	c := g.client(t, src, store)
	if l := c.Latest(); l.Height != top-1 {
		t.Fatalf("a new client starts from %d", l.Height)
	}
	if _, err := c.VerifyHeaderAt(ctx, top); err != nil || len(src.fetched) != 1 {
		t.Fatalf("%v, fetched %v", err, src.fetched)
	}
	// Another header at a stored height is a fork.
	fork := g.forge(t, int(top-1), g.sets[top-1], g.sets[top], slices.Collect(maps.Keys(g.sets[top-1])))
	if _, err := c.VerifyCertificate(ctx, fork); !errors.Is(err, light.ErrFork) {
		t.Fatalf("fork: %v", err)
	}
	// The store is bound to its root.
	other := g.root()
	other.ChainID++
	if _, err := light.NewClient(other, nil, light.ClientOptions{Store: &light.FileStore{Path: path, Root: light.RootID(other)}}); !errors.Is(err, light.ErrTrustStore) {
		t.Fatalf("other root: %v", err)
	}
}

// TestTrustHeight: a root at a trusted height and hash, fetched and checked.
func TestTrustHeight(t *testing.T) {
	g := newGenChain(t, rotation(3))
	ctx := context.Background()
	src := &source{g: g}
	root, err := light.TrustHeight(ctx, src, g.chainID, 9, g.headers[9].Hash())
	if err != nil {
		t.Fatal(err)
	}
	c, err := light.NewClient(root, src, light.ClientOptions{Now: g.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyHeaderAt(ctx, 15); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyHeaderAt(ctx, 8); !errors.Is(err, light.ErrBeforeRoot) {
		t.Fatalf("below the root: %v", err)
	}
	if _, err := light.TrustHeight(ctx, src, g.chainID, 9, g.headers[8].Hash()); !errors.Is(err, light.ErrFork) {
		t.Fatalf("wrong hash: %v", err)
	}
	if _, err := light.TrustHeight(ctx, src, g.chainID+1, 9, g.headers[9].Hash()); !errors.Is(err, light.ErrChain) {
		t.Fatalf("wrong chain: %v", err)
	}
}

// FuzzTrustStore decodes arbitrary trust store files: it never panics, and whatever
// decodes is consistent (each set the one its header names, heights ascending, one
// chain) and encodes back to a file that decodes to the same states.
func FuzzTrustStore(f *testing.F) {
	g := newGenChain(f, changes())
	root := light.RootID(g.root())
	for _, hs := range [][]int{{}, {3}, {2, 5, 12}} {
		var states []*light.TrustedState
		for _, h := range hs {
			states = append(states, g.state(f, h))
		}
		data, err := light.EncodeTrustStore(root, states)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version":1,"root":"0x00","states":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		states, err := light.DecodeTrustStore(data, root)
		if err != nil {
			if !errors.Is(err, light.ErrTrustStore) {
				t.Fatalf("error without ErrTrustStore: %v", err)
			}
			return
		}
		for i, s := range states {
			if s.Header.ValidatorsHash != s.Validators.Hash() || s.Height != s.Header.Height ||
				s.NextValidatorsHash != s.Header.NextValidatorsHash || (i > 0 && s.Height <= states[i-1].Height) {
				t.Fatalf("inconsistent state %d", i)
			}
		}
		again, err := light.EncodeTrustStore(root, states)
		if err != nil {
			t.Fatal(err)
		}
		back, err := light.DecodeTrustStore(again, root)
		if err != nil || len(back) != len(states) {
			t.Fatalf("re-decode: %v", err)
		}
		for i := range back {
			if back[i].Hash() != states[i].Hash() || back[i].Validators.Hash() != states[i].Validators.Hash() {
				t.Fatalf("state %d changed", i)
			}
		}
	})
}

// lockedSource is a source safe for concurrent use.
type lockedSource struct {
	mu sync.Mutex
	s  *source
}

func (l *lockedSource) Certificate(ctx context.Context, h uint64) (*light.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Certificate(ctx, h)
}

// TestClientConcurrent: verifications of many heights at once from one client with a
// store all succeed, and the client ends trusting the highest.
func TestClientConcurrent(t *testing.T) {
	g := newGenChain(t, churn(10, 3, 8, 16))
	store := &light.FileStore{Path: filepath.Join(t.TempDir(), "trust.json"), Root: light.RootID(g.root())}
	c := g.client(t, &lockedSource{s: &source{g: g}}, store)
	top := uint64(len(g.sets) - 1)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			h := top - uint64(i*7)
			hdr, err := c.VerifyHeaderAt(context.Background(), h)
			if err == nil && hdr.Hash() != g.headers[h].Hash() {
				err = fmt.Errorf("height %d: another header", h)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if l := c.Latest(); l.Height != top {
		t.Errorf("latest %d, want %d", l.Height, top)
	}
	states, err := store.Load()
	if err != nil || len(states) != light.MaxTrustedStates || states[len(states)-1].Height != top {
		t.Errorf("stored %d states: %v", len(states), err)
	}
}
