package consensus

import (
	"errors"
	"fmt"
	"time"
)

// Config fixes the chain a State takes part in and its timing. Every duration must be
// positive unless said otherwise; DefaultConfig and DevConfig give working values.
type Config struct {
	// ChainID goes into every sign bytes, so votes cannot be replayed on another chain.
	// The validator set of each height comes from the Application.
	ChainID uint64

	// Round timeouts grow linearly with the round: base + round*delta, capped at
	// MaxTimeout, so that after the network settles some round lasts long enough for every
	// honest validator to hear from every other.
	TimeoutPropose        time.Duration // wait for the proposal (default 1 s + 500 ms per round)
	TimeoutProposeDelta   time.Duration
	TimeoutPrevote        time.Duration // wait for more prevotes after 2/3+ of any (500 ms + 250 ms)
	TimeoutPrevoteDelta   time.Duration
	TimeoutPrecommit      time.Duration // wait for more precommits after 2/3+ of any (500 ms + 250 ms)
	TimeoutPrecommitDelta time.Duration
	MaxTimeout            time.Duration // cap of any round timeout (default 60 s)

	// Block cadence. After a height is decided the round-0 proposer of the next height
	// proposes as soon as transactions are pending but not before MinBlockInterval has
	// passed since the previous height started (zero allowed): it bounds the block rate,
	// it is not a pause after each commit. With nothing pending the proposer proposes an
	// empty block once Heartbeat has passed since this height started. Other validators
	// wait Heartbeat + TimeoutPropose before giving up on the round-0 proposer.
	MinBlockInterval time.Duration // default 200 ms; DevConfig 1 ms
	Heartbeat        time.Duration // default 2 s

	// RebroadcastInterval is the period at which a validator re-sends its proposal and
	// votes of the current round and the commit of the previous height, because gossip
	// drops messages and nodes restart (default 1 s).
	RebroadcastInterval time.Duration

	// MaxEvidence bounds the kept list of equivocation evidence (default 1024; oldest
	// dropped first).
	MaxEvidence int
}

// DefaultConfig returns the timing for a network of validators: timeouts like CometBFT's
// scaled for small fast networks, a 200 ms minimum block interval and a 2 s heartbeat.
func DefaultConfig(chainID uint64) Config {
	return Config{
		ChainID:               chainID,
		TimeoutPropose:        1000 * time.Millisecond,
		TimeoutProposeDelta:   500 * time.Millisecond,
		TimeoutPrevote:        500 * time.Millisecond,
		TimeoutPrevoteDelta:   250 * time.Millisecond,
		TimeoutPrecommit:      500 * time.Millisecond,
		TimeoutPrecommitDelta: 250 * time.Millisecond,
		MaxTimeout:            60 * time.Second,
		MinBlockInterval:      200 * time.Millisecond,
		Heartbeat:             2 * time.Second,
		RebroadcastInterval:   1 * time.Second,
		MaxEvidence:           1024,
	}
}

// DevConfig returns DefaultConfig with a 1 ms minimum block interval, for a
// single-validator development chain: a transaction is in a block about 1 ms after it
// reaches the mempool (plus execution and fsyncs).
func DevConfig(chainID uint64) Config {
	c := DefaultConfig(chainID)
	c.MinBlockInterval = time.Millisecond
	return c
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("invalid consensus config")

func (c *Config) validate() error {
	// Checked in a fixed order (a slice, not a map), so the error always names the same
	// field.
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"TimeoutPropose", c.TimeoutPropose}, {"TimeoutPrevote", c.TimeoutPrevote},
		{"TimeoutPrecommit", c.TimeoutPrecommit}, {"MaxTimeout", c.MaxTimeout},
		{"Heartbeat", c.Heartbeat}, {"RebroadcastInterval", c.RebroadcastInterval},
	} {
		if f.d <= 0 {
			return fmt.Errorf("%w: %s must be positive, is %v", ErrConfig, f.name, f.d)
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"TimeoutProposeDelta", c.TimeoutProposeDelta}, {"TimeoutPrevoteDelta", c.TimeoutPrevoteDelta},
		{"TimeoutPrecommitDelta", c.TimeoutPrecommitDelta}, {"MinBlockInterval", c.MinBlockInterval},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s must not be negative, is %v", ErrConfig, f.name, f.d)
		}
	}
	if c.MinBlockInterval > c.Heartbeat {
		return fmt.Errorf("%w: MinBlockInterval %v exceeds Heartbeat %v", ErrConfig, c.MinBlockInterval, c.Heartbeat)
	}
	if c.MaxEvidence <= 0 {
		return fmt.Errorf("%w: MaxEvidence must be positive", ErrConfig)
	}
	return nil
}

// timeout returns base + round*delta capped at MaxTimeout, without overflow.
func (c *Config) timeout(base, delta time.Duration, round int32) time.Duration {
	if round > 0 && delta > 0 && time.Duration(round) > (c.MaxTimeout-base)/delta {
		return c.MaxTimeout
	}
	return min(base+time.Duration(round)*delta, c.MaxTimeout)
}

// ProposeTimeout is how long a validator waits for the proposal of round.
func (c *Config) ProposeTimeout(round int32) time.Duration {
	return c.timeout(c.TimeoutPropose, c.TimeoutProposeDelta, round)
}

// PrevoteTimeout is how long a validator waits after seeing 2/3+ prevotes of any kind.
func (c *Config) PrevoteTimeout(round int32) time.Duration {
	return c.timeout(c.TimeoutPrevote, c.TimeoutPrevoteDelta, round)
}

// PrecommitTimeout is how long a validator waits after seeing 2/3+ precommits of any kind.
func (c *Config) PrecommitTimeout(round int32) time.Duration {
	return c.timeout(c.TimeoutPrecommit, c.TimeoutPrecommitDelta, round)
}
