package light

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wnode/wnode/types"
)

// Source gives the certificate of a height: its header, the commit that decided it and
// the validator set that signed it. A source need not be honest: the client checks all
// of it. client.Client is one (wn_getCommit and wn_getValidators).
type Source interface {
	Certificate(ctx context.Context, height uint64) (*Certificate, error)
}

// ClientOptions tune a Client. The zero value is usable.
type ClientOptions struct {
	Rules
	// Verifier tunes the verification of answers (Client.Verify…).
	Verifier Options
	// GasScheduleVersion is the chain's gas schedule (its genesis params); 0 means the
	// default schedule.
	GasScheduleVersion uint32
	// Store keeps the trusted states across runs; nil keeps them in memory only.
	Store Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxFetches bounds the headers one verification fetches while bisecting; 0 means
	// DefaultMaxFetches.
	MaxFetches int
}

// DefaultMaxFetches is the default ClientOptions.MaxFetches: bisection fetches about
// log2(gap) headers per change of more than 2/3 of the power, so 256 covers any honest
// chain; a source that makes it fetch more is stalling.
const DefaultMaxFetches = 256

// MaxTrustedStates is how many verified heights a client keeps (the highest), besides
// its root.
const MaxTrustedStates = 16

// Client is a light client: from a trust root it verifies headers of later heights,
// following the validator set as it changes, fetching the headers it needs from a
// Source, and remembers the heights it verified (in its Store) to start from them next
// time. It verifies answers (bundles) at any height it can reach. It is safe for
// concurrent use.
type Client struct {
	root  *TrustedState
	src   Source
	rules Rules
	now   func() time.Time
	store Store
	max   int
	v     *Verifier

	mu     sync.Mutex
	states []*TrustedState // verified, ascending height, above the root
}

// NewClient returns a client trusting root, fetching from src (nil: only what the
// answers it verifies carry), and loads the states of opts.Store.
func NewClient(root *TrustedState, src Source, opts ClientOptions) (*Client, error) {
	if root == nil || root.Validators == nil {
		return nil, errors.New("light: trust root without a validator set")
	}
	rules, err := opts.Rules.withDefaults()
	if err != nil {
		return nil, err
	}
	v, err := New(Trust{ValidatorsHash: root.Validators.Hash(), ChainID: root.ChainID, GasScheduleVersion: opts.GasScheduleVersion}, opts.Verifier)
	if err != nil {
		return nil, err
	}
	c := &Client{root: root, src: src, rules: rules, now: opts.Now, store: opts.Store, max: opts.MaxFetches, v: v}
	if c.now == nil {
		c.now = time.Now
	}
	if c.max <= 0 {
		c.max = DefaultMaxFetches
	}
	if c.store != nil {
		states, err := c.store.Load()
		if err != nil {
			return nil, err
		}
		for _, s := range states {
			if s.ChainID != root.ChainID && root.ChainID != 0 || s.Height <= root.Height {
				return nil, fmt.Errorf("%w: it holds height %d of chain %d, the root is height %d of chain %d",
					ErrTrustStore, s.Height, s.ChainID, root.Height, root.ChainID)
			}
		}
		c.states = states
	}
	return c, nil
}

// TrustHeight returns the trust root at a height the user trusts by its header hash (as
// CometBFT's trust options): the certificate of height from src, whose header must hash
// to hash and be signed by more than 2/3 of the set it names. chainID 0 accepts the
// header's chain id.
func TrustHeight(ctx context.Context, src Source, chainID, height uint64, hash types.Hash) (*TrustedState, error) {
	if height == 0 {
		return nil, fmt.Errorf("%w: a trusted height is above 0 (trust the genesis for height 0)", ErrHeight)
	}
	lb, err := fetch(ctx, src, height)
	if err != nil {
		return nil, err
	}
	if h := lb.Header.Hash(); h != hash {
		return nil, fmt.Errorf("%w: header %d hashes to %s, trusted %s", ErrFork, height, h, hash)
	}
	if chainID != 0 && lb.Header.ChainID != chainID {
		return nil, fmt.Errorf("%w: header is of chain %d, trusted chain is %d", ErrChain, lb.Header.ChainID, chainID)
	}
	if err := checkBlock(lb); err != nil {
		return nil, err
	}
	if _, err := verifyCommit(lb, nil, Fraction{}); err != nil {
		return nil, err
	}
	return lb.state(), nil
}

// Close releases the VM the client's verifier created.
func (c *Client) Close(ctx context.Context) error { return c.v.Close(ctx) }

// Root is the client's trust root.
func (c *Client) Root() *TrustedState { return c.root }

// Latest is the highest trusted state: the root or a height verified since.
func (c *Client) Latest() *TrustedState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.states) == 0 {
		return c.root
	}
	return c.states[len(c.states)-1]
}

// best is the highest trusted state at or below height, nil below the root.
func (c *Client) best(height uint64) *TrustedState {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.states) - 1; i >= 0; i-- {
		if c.states[i].Height <= height {
			return c.states[i]
		}
	}
	if c.root.Height <= height {
		return c.root
	}
	return nil
}

// VerifyHeaderAt returns the header at height, verified from the trust root through the
// validator set changes on the way: from the highest trusted height below it, directly
// when enough of that set signed it, else by bisection, fetching the headers from the
// source. The height becomes trusted (and stored). This is the API state sync uses to
// certify a snapshot's height.
func (c *Client) VerifyHeaderAt(ctx context.Context, height uint64) (*types.Header, error) {
	if s := c.best(height); s != nil && s.Height == height && s.Header != nil {
		h := *s.Header
		return &h, nil
	}
	if c.src == nil {
		return nil, fmt.Errorf("%w: header %d is not trusted yet", ErrNoSource, height)
	}
	lb, err := fetch(ctx, c.src, height)
	if err != nil {
		return nil, err
	}
	if err := c.verifyTo(ctx, lb); err != nil {
		return nil, err
	}
	h := *lb.Header
	return &h, nil
}

// VerifyCertificate verifies a certificate an answer carries as VerifyHeaderAt verifies
// a fetched one, and returns its header.
func (c *Client) VerifyCertificate(ctx context.Context, cert *Certificate) (*types.Header, error) {
	lb, err := cert.Decode()
	if err != nil {
		return nil, err
	}
	if err := c.verifyTo(ctx, lb); err != nil {
		return nil, err
	}
	return lb.Header, nil
}

// verifyTo verifies target from the highest trusted state below it and remembers it.
func (c *Client) verifyTo(ctx context.Context, target *LightBlock) error {
	th := target.Header.Height
	start := c.best(th)
	if start == nil {
		return fmt.Errorf("%w: header %d, the root is height %d", ErrBeforeRoot, th, c.root.Height)
	}
	if start.Height == th {
		// Already trusted (a stored height, or the root): the same header or a fork.
		if start.Header == nil {
			return fmt.Errorf("%w: header at the genesis height", ErrHeight)
		}
		if h := target.Header.Hash(); h != start.Hash() {
			return fmt.Errorf("%w: header %d hashes to %s, the trusted one to %s", ErrFork, th, h, start.Hash())
		}
		return checkBlock(target)
	}
	trusted := start
	pending := []*LightBlock{target}
	fetches := 0
	for len(pending) > 0 {
		lb := pending[len(pending)-1]
		err := verify(trusted, lb, c.now(), c.rules)
		if err == nil {
			trusted = lb.state()
			pending = pending[:len(pending)-1]
			continue
		}
		if !errors.Is(err, ErrTrustLevel) {
			return fmt.Errorf("header %d from trusted %d: %w", lb.Header.Height, trusted.Height, err)
		}
		if c.src == nil {
			return fmt.Errorf("%w to bisect from trusted %d: %w", ErrNoSource, trusted.Height, err)
		}
		if fetches >= c.max {
			return fmt.Errorf("gave up after %d headers: %w", fetches, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pivot := trusted.Height + (lb.Header.Height-trusted.Height)/2
		p, err := fetch(ctx, c.src, pivot)
		if err != nil {
			return err
		}
		fetches++
		pending = append(pending, p)
	}
	return c.remember(trusted)
}

// fetch gets and decodes the certificate of height from src.
func fetch(ctx context.Context, src Source, height uint64) (*LightBlock, error) {
	cert, err := src.Certificate(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("light: fetch header %d: %w", height, err)
	}
	lb, err := cert.Decode()
	if err != nil {
		return nil, fmt.Errorf("header %d: %w", height, err)
	}
	if lb.Header.Height != height {
		return nil, fmt.Errorf("%w: asked for header %d, got %d", ErrHeight, height, lb.Header.Height)
	}
	return lb, nil
}

// remember adds a verified state, keeps the MaxTrustedStates highest and saves them.
func (c *Client) remember(s *TrustedState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, found := slices.BinarySearchFunc(c.states, s.Height, func(x *TrustedState, h uint64) int {
		switch {
		case x.Height < h:
			return -1
		case x.Height > h:
			return 1
		}
		return 0
	})
	if found {
		return nil
	}
	c.states = slices.Insert(c.states, i, s)
	if n := len(c.states); n > MaxTrustedStates {
		c.states = slices.Clone(c.states[n-MaxTrustedStates:])
	}
	if c.store == nil {
		return nil
	}
	if err := c.store.Save(c.states); err != nil {
		return fmt.Errorf("%w: save: %w", ErrTrustStore, err)
	}
	return nil
}

// VerifyCall is Verifier.VerifyCall with the header verified by the client.
func (c *Client) VerifyCall(ctx context.Context, b *CallBundle, want *Call) (*CallResult, *Verified, error) {
	return c.v.verifyCall(ctx, b, want, c.header(ctx))
}

// VerifyAccount is Verifier.VerifyAccount with the header verified by the client.
func (c *Client) VerifyAccount(ctx context.Context, b *AccountBundle, addr types.Address) (*Account, *Verified, error) {
	return c.v.verifyAccount(b, addr, c.header(ctx))
}

// VerifyReceipt is Verifier.VerifyReceipt with the header verified by the client.
func (c *Client) VerifyReceipt(ctx context.Context, b *ReceiptBundle, txHash types.Hash) (*types.Receipt, *Verified, error) {
	return c.v.verifyReceipt(b, txHash, c.header(ctx))
}

// Verify is Verifier.Verify with the header verified by the client.
func (c *Client) Verify(ctx context.Context, bundle any) (any, *Verified, error) {
	return c.v.verify(ctx, bundle, c.header(ctx))
}

func (c *Client) header(ctx context.Context) headerFunc {
	return func(cert *Certificate) (*types.Header, error) { return c.VerifyCertificate(ctx, cert) }
}
