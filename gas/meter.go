package gas

import "errors"

// ErrOutOfGas is returned by Meter.Charge when a charge exceeds the gas remaining.
var ErrOutOfGas = errors.New("gas: out of gas")

// Meter counts gas used against a fixed limit. The zero Meter has a limit of 0. A Meter is
// not safe for concurrent use; each execution frame owns one.
type Meter struct {
	limit uint64
	used  uint64
}

// NewMeter returns a meter with the given limit and nothing used.
func NewMeter(limit uint64) *Meter { return &Meter{limit: limit} }

// Charge adds amount to the gas used. When amount exceeds the gas remaining, Charge uses up
// everything that remains (Used == Limit, like an EVM out-of-gas) and returns ErrOutOfGas.
// It never overflows, whatever amount is. It costs a comparison and an addition.
func (m *Meter) Charge(amount uint64) error {
	if amount > m.limit-m.used {
		m.used = m.limit
		return ErrOutOfGas
	}
	m.used += amount
	return nil
}

// Refund gives back up to amount of gas used (for instance the unused part of gas
// forwarded to a callee that was charged in full up front). Used never goes below zero.
func (m *Meter) Refund(amount uint64) {
	if amount > m.used {
		amount = m.used
	}
	m.used -= amount
}

// Used returns the gas used so far; it is never above Limit.
func (m *Meter) Used() uint64 { return m.used }

// Remaining returns Limit - Used.
func (m *Meter) Remaining() uint64 { return m.limit - m.used }

// Limit returns the meter's limit.
func (m *Meter) Limit() uint64 { return m.limit }
