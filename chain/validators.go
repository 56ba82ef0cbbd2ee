//go:build !js

package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// Validator set changes by vote (docs/rationale/validators.md, the wire format in
// docs/spec/wire.md#validator-set-changes).
//
// The sets and the open proposals live in the storage of types.ValidatorsAccount, under
// the state root:
//
//	"set/0" … "set/2" RLP [effectiveHeight, [[pubKey, power], …]]: the three newest sets;
//	                  the set of height h is the one with the greatest effectiveHeight ≤ h
//	"nextid"          8-byte big-endian id of the next proposal (absent: 1)
//	"open"            RLP [id, …] of the open proposals, ascending
//	"p/" id(8)        RLP of a ValidatorProposal
//
// A change that passes while block H executes takes effect at height H+2, so the state
// after block H names the sets of H (which signed it), H+1 and H+2, which header H+1
// carries as ValidatorsHash and NextValidatorsHash: everything a node that starts from
// that state (state sync) needs to verify and build the next blocks. The chain also keeps every set with the height
// it took effect at in its block store (tag 'V'), for ValidatorsAt at any height.

// Limits of validator set change proposals.
const (
	// MaxOpenProposals bounds the open proposals of one validator, so the open list (and
	// the work of purging it) is bounded by MaxValidators × MaxOpenProposals.
	MaxOpenProposals = 4
	// ValidatorSwitchDelay is the number of heights between the block in which a change
	// passes and the first height its set signs.
	ValidatorSwitchDelay = 2
)

// Event topics of validator transactions (contract types.ValidatorsAccount). Their data
// is RLP, see docs/spec/wire.md#validator-set-changes.
const (
	TopicValidatorProposed = "validator/proposed" // [id, op, address, power, expires]
	TopicValidatorVoted    = "validator/voted"    // [id, voter, votedPower, totalPower]
	TopicValidatorPassed   = "validator/passed"   // [id, effectiveHeight, setHash]
)

// Fixed receipt errors of validator transactions (consensus data).
const (
	errTextNotValidator   = "sender is not a validator"
	errTextTooManyOpen    = "too many open proposals"
	errTextDuplicate      = "the same change is already proposed"
	errTextNoProposal     = "no open proposal with this id"
	errTextAlreadyVoted   = "already voted"
	errTextAlreadyMember  = "already a validator"
	errTextNotMember      = "not a validator"
	errTextPowerUnchanged = "power unchanged"
	errTextEmptySet       = "the validator set would be empty"
	errTextTooManyVals    = "the validator set would exceed the maximum number of validators"
	errTextTooMuchPower   = "the validator set would exceed the maximum total power"
	errTextMovesTooMuch   = "the change would move more than 1/3 of the voting power"
)

var (
	keySets   = [numSetSlots][]byte{[]byte("set/0"), []byte("set/1"), []byte("set/2")}
	keyNextID = []byte("nextid")
	keyOpen   = []byte("open")
)

func proposalKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte("p/"), id) }

// ValidatorProposal is an open proposal to change the validator set.
type ValidatorProposal struct {
	ID       uint64
	Proposer types.Address
	Change   types.ValidatorChange
	Height   uint64          // the block it was proposed in
	Expires  uint64          // the last height at which it can pass
	Voters   []types.Address // in vote order, the proposer first
}

type proposalRLP struct {
	ID       uint64
	Proposer types.Address
	Change   changeRLP
	Height   uint64
	Expires  uint64
	Voters   []types.Address
}

type changeRLP struct {
	Op      uint8
	Address types.Address
	PubKey  []byte
	Power   uint64
}

func (p *ValidatorProposal) encode() []byte {
	b, err := rlp.EncodeToBytes(&proposalRLP{p.ID, p.Proposer,
		changeRLP{uint8(p.Change.Op), p.Change.Address, p.Change.PubKey, p.Change.Power},
		p.Height, p.Expires, p.Voters})
	if err != nil {
		panic(fmt.Sprintf("chain: encode proposal: %v", err))
	}
	return b
}

func decodeProposal(b []byte) (*ValidatorProposal, error) {
	var w proposalRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("chain: decode proposal: %w", err)
	}
	return &ValidatorProposal{ID: w.ID, Proposer: w.Proposer,
		Change: types.ValidatorChange{Op: types.ValidatorOp(w.Change.Op), Address: w.Change.Address,
			PubKey: w.Change.PubKey, Power: w.Change.Power},
		Height: w.Height, Expires: w.Expires, Voters: w.Voters}, nil
}

// storedSet is a validator set as kept in the state: without addresses (each is derived
// from its key), so the largest set (1000 validators) fits one storage value.
type storedSet struct {
	Effective uint64
	Vals      []storedVal
}

type storedVal struct {
	PubKey []byte
	Power  uint64
}

func encodeStoredSet(effective uint64, vs *types.ValidatorSet) []byte {
	s := storedSet{Effective: effective, Vals: make([]storedVal, vs.Len())}
	for i := range vs.Len() {
		v := vs.At(i)
		s.Vals[i] = storedVal{v.PubKey, v.Power}
	}
	b, err := rlp.EncodeToBytes(&s)
	if err != nil {
		panic(fmt.Sprintf("chain: encode validator set: %v", err))
	}
	return b
}

// setCache keeps decoded validator sets: decoding derives every address from its key
// (about 30 µs each), and a validator tx reads the stored sets of the state, so without
// it a tx that pays a transfer's gas would cost the decoding of up to three sets of
// MaxValidators. Stored sets are found by their encoding (raw: a byte comparison, no
// decoding or hashing), history sets by the height they took effect at (hist, the
// least recently used dropped first): a history entry is written once, by the block
// that passed its change, except by openSets when a store is opened, which forgets it.
// A lookup of a cached history set costs the seek of its entry, without hashing or
// comparing its value.
type setCache struct {
	mu       sync.Mutex
	raw      []rawSet // the most recently decoded stored sets, oldest first
	hist     map[uint64]*types.ValidatorSet
	histLRU  []uint64   // the heights of hist, least recently used first
	decoding sync.Mutex // held while a history set is decoded: one at a time
}

type rawSet struct {
	b         []byte
	effective uint64
	vs        *types.ValidatorSet
}

const (
	// maxHistorySets bounds the decoded history sets kept: up to about 230 KB each
	// with MaxValidators (7 MB).
	maxHistorySets = 32
	maxRawSets     = 8 // the three slots of a few states (proposals at one height)
)

// history returns the cached history set that took effect at effective, or nil.
func (sc *setCache) history(effective uint64) *types.ValidatorSet {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	vs := sc.hist[effective]
	if vs != nil {
		if i := slices.Index(sc.histLRU, effective); i >= 0 && i < len(sc.histLRU)-1 {
			sc.histLRU = append(slices.Delete(sc.histLRU, i, i+1), effective)
		}
	}
	return vs
}

func (sc *setCache) putHistory(effective uint64, vs *types.ValidatorSet) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.hist == nil {
		sc.hist = make(map[uint64]*types.ValidatorSet, maxHistorySets)
	}
	if _, ok := sc.hist[effective]; ok {
		sc.hist[effective] = vs
		return
	}
	if len(sc.histLRU) >= maxHistorySets {
		delete(sc.hist, sc.histLRU[0])
		sc.histLRU = slices.Delete(sc.histLRU, 0, 1)
	}
	sc.hist[effective] = vs
	sc.histLRU = append(sc.histLRU, effective)
}

// forgetHistory drops the cached history set of effective (its entry was rewritten).
func (sc *setCache) forgetHistory(effective uint64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if _, ok := sc.hist[effective]; ok {
		delete(sc.hist, effective)
		sc.histLRU = slices.DeleteFunc(sc.histLRU, func(h uint64) bool { return h == effective })
	}
}

func (sc *setCache) decode(b []byte) (uint64, *types.ValidatorSet, error) {
	sc.mu.Lock()
	for _, r := range sc.raw {
		if bytes.Equal(r.b, b) {
			sc.mu.Unlock()
			return r.effective, r.vs, nil
		}
	}
	sc.mu.Unlock()
	var s storedSet
	if err := rlp.DecodeBytes(b, &s); err != nil {
		return 0, nil, fmt.Errorf("chain: decode validator set: %w", err)
	}
	vals := make([]types.Validator, len(s.Vals))
	for i, v := range s.Vals {
		x, err := types.NewValidator(v.PubKey, v.Power)
		if err != nil {
			return 0, nil, fmt.Errorf("chain: decode validator set: %w", err)
		}
		vals[i] = x
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		return 0, nil, fmt.Errorf("chain: decode validator set: %w", err)
	}
	sc.mu.Lock()
	if len(sc.raw) >= maxRawSets {
		sc.raw = slices.Delete(sc.raw, 0, 1)
	}
	sc.raw = append(sc.raw, rawSet{b: bytes.Clone(b), effective: s.Effective, vs: vs})
	sc.mu.Unlock()
	return s.Effective, vs, nil
}

// numSetSlots is the number of sets the state keeps: those of H, H+1 and H+2.
const numSetSlots = 3

// setSlot is one of the stored sets.
type setSlot struct {
	effective uint64
	vs        *types.ValidatorSet
}

// storedSets reads the set slots of a state (a slot may be empty).
func (c *Chain) storedSets(get func(key []byte) ([]byte, bool)) ([numSetSlots]setSlot, error) {
	var out [numSetSlots]setSlot
	for i, k := range keySets {
		b, ok := get(k)
		if !ok {
			continue
		}
		eff, vs, err := c.sets.decode(b)
		if err != nil {
			return out, err
		}
		out[i] = setSlot{eff, vs}
	}
	return out, nil
}

// slotAt returns the index of the set of height h among the slots, the one with the
// greatest effective height ≤ h, or -1.
func slotAt(slots [numSetSlots]setSlot, h uint64) int {
	best := -1
	for i, s := range slots {
		if s.vs != nil && s.effective <= h && (best < 0 || s.effective > slots[best].effective) {
			best = i
		}
	}
	return best
}

// setAt returns the set of height h among the slots, or nil.
func setAt(slots [numSetSlots]setSlot, h uint64) *types.ValidatorSet {
	if i := slotAt(slots, h); i >= 0 {
		return slots[i].vs
	}
	return nil
}

// valTx executes a validator transaction of block height on sdb. It returns the events,
// the tx's failure (a fixed receipt text; the caller undoes sdb's changes) and an error
// only for a state that cannot be read (the node's fault, not the tx's).
func (c *Chain) valTx(sdb *state.StateDB, height uint64, kind types.TxKind, from types.Address, args []byte) (events []types.Event, failure, fault error) {
	fail := func(text string) ([]types.Event, error, error) { return nil, errors.New(text), nil }
	get := func(k []byte) ([]byte, bool) { return sdb.GetStorage(types.ValidatorsAccount, k) }
	slots, err := c.storedSets(get)
	if err != nil {
		return nil, nil, err
	}
	cur, next := setAt(slots, height), setAt(slots, height+1)
	if cur == nil || next == nil {
		return nil, nil, errors.New("chain: validator sets missing from the state")
	}
	if _, ok := cur.Index(from); !ok {
		return fail(errTextNotValidator)
	}
	open, err := c.purgeExpired(sdb, height)
	if err != nil {
		return nil, nil, err
	}
	var p *ValidatorProposal
	switch kind {
	case types.TxValidatorPropose:
		ch, err := types.DecodeValidatorChange(args)
		if err != nil {
			return nil, err, nil // CheckFields refused it already: never in a block
		}
		mine := 0
		for _, id := range open {
			q, err := c.proposal(sdb, id)
			if err != nil {
				return nil, nil, err
			}
			if q.Proposer == from {
				mine++
			}
			if q.Change.Op == ch.Op && q.Change.Address == ch.Address && q.Change.Power == ch.Power {
				return fail(errTextDuplicate)
			}
		}
		if mine >= MaxOpenProposals {
			return fail(errTextTooManyOpen)
		}
		// Refuse now what could not pass on the current sets.
		if _, err := applyChange(setAt(slots, height+ValidatorSwitchDelay), next, ch); err != nil {
			return nil, err, nil
		}
		id := uint64(1)
		if b, ok := get(keyNextID); ok && len(b) == 8 {
			id = binary.BigEndian.Uint64(b)
		}
		sdb.SetStorage(types.ValidatorsAccount, keyNextID, binary.BigEndian.AppendUint64(nil, id+1))
		p = &ValidatorProposal{ID: id, Proposer: from, Change: *ch, Height: height,
			Expires: height + c.params.ValidatorProposalBlocks - 1, Voters: []types.Address{from}}
		open = append(open, id)
		c.writeOpen(sdb, open)
		events = append(events, valEvent(TopicValidatorProposed, p.ID, uint8(ch.Op), ch.Address, ch.Power, p.Expires))
	case types.TxValidatorVote:
		v, err := types.DecodeValidatorVote(args)
		if err != nil {
			return nil, err, nil
		}
		if !slices.Contains(open, v.ProposalID) {
			return fail(errTextNoProposal)
		}
		if p, err = c.proposal(sdb, v.ProposalID); err != nil {
			return nil, nil, err
		}
		if slices.Contains(p.Voters, from) {
			return fail(errTextAlreadyVoted)
		}
		p.Voters = append(p.Voters, from)
	default:
		return nil, nil, fmt.Errorf("chain: %s is not a validator transaction", kind)
	}
	var power uint64
	for _, a := range p.Voters {
		power += cur.Power(a)
	}
	events = append(events, valEvent(TopicValidatorVoted, p.ID, from, power, cur.TotalPower()))
	if !cur.HasQuorum(power) {
		sdb.SetStorage(types.ValidatorsAccount, proposalKey(p.ID), p.encode())
		return events, nil, nil
	}
	// Passed: the change applies to the newest set and takes effect at height+2.
	eff := height + ValidatorSwitchDelay
	newSet, err := applyChange(setAt(slots, eff), next, &p.Change)
	if err != nil {
		return nil, err, nil
	}
	sdb.SetStorage(types.ValidatorsAccount, keySets[freeSlot(slots, height)], encodeStoredSet(eff, newSet))
	sdb.DeleteStorage(types.ValidatorsAccount, proposalKey(p.ID))
	open = slices.DeleteFunc(open, func(id uint64) bool { return id == p.ID })
	c.writeOpen(sdb, open)
	if p.Change.Op == types.ValidatorAdd {
		// A validator (re-)added starts with no votes: those it cast before it left the
		// set must not count again with the power it comes back with.
		if err := c.dropVotes(sdb, open, p.Change.Address); err != nil {
			return nil, nil, err
		}
	}
	events = append(events, valEvent(TopicValidatorPassed, p.ID, eff, newSet.Hash()))
	return events, nil, nil
}

// freeSlot returns the slot a set passed in block height goes to: the one an earlier
// tx of the block filled for height+2, else one holding neither the set of height nor
// that of height+1 (of three slots, at least one is free).
func freeSlot(slots [numSetSlots]setSlot, height uint64) int {
	for i, s := range slots {
		if s.vs != nil && s.effective == height+ValidatorSwitchDelay {
			return i
		}
	}
	a, b := slotAt(slots, height), slotAt(slots, height+1)
	free := -1
	for i, s := range slots {
		if i == a || i == b {
			continue
		}
		if free < 0 || s.vs == nil || (slots[free].vs != nil && s.effective < slots[free].effective) {
			free = i
		}
	}
	return free
}

func valEvent(topic string, fields ...any) types.Event {
	b, err := rlp.EncodeToBytes(fields)
	if err != nil {
		panic(fmt.Sprintf("chain: encode event: %v", err))
	}
	return types.Event{Contract: types.ValidatorsAccount, Topic: []byte(topic), Data: b}
}

// dropVotes removes addr's votes from the open proposals ids (at most MaxOpenProposals
// per validator, so a bounded number).
func (c *Chain) dropVotes(sdb *state.StateDB, ids []uint64, addr types.Address) error {
	for _, id := range ids {
		q, err := c.proposal(sdb, id)
		if err != nil {
			return err
		}
		if i := slices.Index(q.Voters, addr); i >= 0 {
			q.Voters = slices.Delete(q.Voters, i, i+1)
			sdb.SetStorage(types.ValidatorsAccount, proposalKey(id), q.encode())
		}
	}
	return nil
}

func (c *Chain) proposal(sdb *state.StateDB, id uint64) (*ValidatorProposal, error) {
	b, ok := sdb.GetStorage(types.ValidatorsAccount, proposalKey(id))
	if !ok {
		return nil, fmt.Errorf("chain: open proposal %d missing from the state", id)
	}
	return decodeProposal(b)
}

func readOpen(b []byte) ([]uint64, error) {
	var ids []uint64
	if len(b) == 0 {
		return nil, nil
	}
	if err := rlp.DecodeBytes(b, &ids); err != nil {
		return nil, fmt.Errorf("chain: decode open proposals: %w", err)
	}
	return ids, nil
}

func (c *Chain) writeOpen(sdb *state.StateDB, ids []uint64) {
	if len(ids) == 0 {
		sdb.DeleteStorage(types.ValidatorsAccount, keyOpen)
		return
	}
	b, err := rlp.EncodeToBytes(ids)
	if err != nil {
		panic(fmt.Sprintf("chain: encode open proposals: %v", err))
	}
	sdb.SetStorage(types.ValidatorsAccount, keyOpen, b)
}

// purgeExpired deletes the open proposals whose last height is before height and
// returns the ids still open.
func (c *Chain) purgeExpired(sdb *state.StateDB, height uint64) ([]uint64, error) {
	b, _ := sdb.GetStorage(types.ValidatorsAccount, keyOpen)
	ids, err := readOpen(b)
	if err != nil {
		return nil, err
	}
	kept := ids[:0:0]
	for _, id := range ids {
		p, err := c.proposal(sdb, id)
		if err != nil {
			return nil, err
		}
		if p.Expires < height {
			sdb.DeleteStorage(types.ValidatorsAccount, proposalKey(id))
			continue
		}
		kept = append(kept, id)
	}
	if len(kept) != len(ids) {
		c.writeOpen(sdb, kept)
	}
	return kept, nil
}

// applyChange returns base with ch applied, checked against the safety rules: the
// member must (add: must not) be in base, the set is not empty, within MaxValidators and
// MaxTotalPower, and differs from prev (the set it follows, which signs the header
// naming it) by at most 1/3 of prev's power.
func applyChange(base, prev *types.ValidatorSet, ch *types.ValidatorChange) (*types.ValidatorSet, error) {
	vals := base.Validators()
	i, member := base.Index(ch.Address)
	switch ch.Op {
	case types.ValidatorAdd:
		if member {
			return nil, errors.New(errTextAlreadyMember)
		}
		vals = append(vals, types.Validator{Address: ch.Address, PubKey: bytes.Clone(ch.PubKey), Power: ch.Power})
	case types.ValidatorRemove:
		if !member {
			return nil, errors.New(errTextNotMember)
		}
		vals = slices.Delete(vals, i, i+1)
	case types.ValidatorPower:
		if !member {
			return nil, errors.New(errTextNotMember)
		}
		if vals[i].Power == ch.Power {
			return nil, errors.New(errTextPowerUnchanged)
		}
		vals[i].Power = ch.Power
	default:
		return nil, fmt.Errorf("%w: validator change op %d", types.ErrInvalidTxField, ch.Op)
	}
	switch {
	case len(vals) == 0:
		return nil, errors.New(errTextEmptySet)
	case len(vals) > types.MaxValidators:
		return nil, errors.New(errTextTooManyVals)
	}
	var total uint64
	for _, v := range vals {
		total += v.Power // each ≤ MaxTotalPower: no overflow over MaxValidators of them
		if total > types.MaxTotalPower {
			return nil, errors.New(errTextTooMuchPower)
		}
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		return nil, err
	}
	if 3*MovedPower(prev, vs) > prev.TotalPower() {
		return nil, errors.New(errTextMovesTooMuch)
	}
	return vs, nil
}

// MovedPower is the voting power that changes hands between two sets: the sum over
// every validator of either of |power in b − power in a|. A change may move at most a
// third of the old set's power, so that more than a third of it (hence, with fewer than
// a third faulty, some honest power) signs in both sets.
func MovedPower(a, b *types.ValidatorSet) uint64 {
	var moved uint64
	diff := func(x, y uint64) uint64 {
		if x > y {
			return x - y
		}
		return y - x
	}
	for i := range a.Len() {
		v := a.At(i)
		moved += diff(v.Power, b.Power(v.Address))
	}
	for i := range b.Len() {
		v := b.At(i)
		if _, ok := a.Index(v.Address); !ok {
			moved += v.Power
		}
	}
	return moved
}

// Validator set history in the block store: 'c' 'V' height(8) → RLP [[address, pubKey,
// power], …] of the set that took effect at height (the genesis set at 0).
const tagValidators = 'V'

func encodeHistorySet(vs *types.ValidatorSet) []byte {
	b, err := rlp.EncodeToBytes(vs.Validators())
	if err != nil {
		panic(fmt.Sprintf("chain: encode validator set: %v", err))
	}
	return b
}

func writeHistorySet(b *pebble.Batch, effective uint64, vs *types.ValidatorSet) error {
	return b.Set(heightKey(tagValidators, effective), encodeHistorySet(vs), nil)
}

// historyAt reads the set of height h from the block store: the entry with the
// greatest height ≤ h.
func (c *Chain) historyAt(h uint64) (*types.ValidatorSet, error) {
	it, err := c.db.NewIter(&pebble.IterOptions{
		LowerBound: heightKey(tagValidators, 0),
		UpperBound: heightKey(tagValidators, h+1),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: no validator set recorded at or below height %d (before a state sync's base?)", ErrNotFound, h)
	}
	effective := binary.BigEndian.Uint64(it.Key()[len(it.Key())-8:])
	if vs := c.sets.history(effective); vs != nil {
		return vs, nil
	}
	// One decoding at a time (about 30 ms for MaxValidators): lookups of many past sets
	// (RPC, light blocks for state sync) use at most one core however many callers
	// there are, and callers waiting for the same set find it decoded.
	c.sets.decoding.Lock()
	defer c.sets.decoding.Unlock()
	if vs := c.sets.history(effective); vs != nil {
		return vs, nil
	}
	var vals []types.Validator
	if err := rlp.DecodeBytes(it.Value(), &vals); err != nil {
		return nil, fmt.Errorf("chain: decode validator set history at %d: %w", h, err)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		return nil, fmt.Errorf("chain: validator set history at %d: %w", h, err)
	}
	c.sets.putHistory(effective, vs)
	return vs, nil
}

// openSets reads the sets of head, head+1 and head+2 from the state at head (opening an
// existing store) and adds to the history those it lacks: a store whose state was
// restored from a snapshot (state sync, WriteSyncBase) has no history below the
// snapshot, and ValidatorsAt answers ErrNotFound there.
func (c *Chain) openSets(hdr *types.Header) ([3]*types.ValidatorSet, error) {
	var out [3]*types.ValidatorSet
	view, err := c.st.Reader(hdr.Height)
	if err != nil {
		return out, err
	}
	sdb := state.NewStateDB(view)
	slots, err := c.storedSets(func(k []byte) ([]byte, bool) { return sdb.GetStorage(types.ValidatorsAccount, k) })
	if err != nil {
		return out, err
	}
	if err := sdb.Err(); err != nil {
		return out, err
	}
	for i := range out {
		if out[i] = setAt(slots, hdr.Height+uint64(i)); out[i] == nil {
			return out, fmt.Errorf("chain: the state of %d has no validator set for %d", hdr.Height, hdr.Height+uint64(i))
		}
	}
	if out[0].Hash() != hdr.ValidatorsHash || out[1].Hash() != hdr.NextValidatorsHash {
		return out, fmt.Errorf("chain: the validator sets of the state of %d disagree with its header", hdr.Height)
	}
	b := c.db.NewBatch()
	defer b.Close()
	var written []uint64
	for _, s := range slots {
		if s.vs == nil || s.effective > hdr.Height+ValidatorSwitchDelay {
			continue
		}
		if vs, err := c.historyAt(s.effective); err == nil && vs.Hash() == s.vs.Hash() {
			continue
		}
		if err := writeHistorySet(b, s.effective, s.vs); err != nil {
			return out, err
		}
		written = append(written, s.effective)
	}
	if !b.Empty() {
		if err := b.Commit(pebble.Sync); err != nil {
			return out, fmt.Errorf("chain: write validator set history: %w", err)
		}
	}
	for _, e := range written {
		c.sets.forgetHistory(e)
	}
	return out, nil
}

// ValidatorsAt returns the validator set of height: the set that signs the block at
// height (its header's ValidatorsHash). Heights up to head+2 are known: the head's state
// decides the sets of head+1 and head+2 (head+1's is certified by the head's
// NextValidatorsHash; head+2's by header head+1 once it is committed). Higher heights
// give ErrNotFound. O(log) in the number of set changes; decoded sets are cached.
func (c *Chain) ValidatorsAt(height uint64) (*types.ValidatorSet, error) {
	hi := c.head.Load()
	switch {
	case height == LatestHeight:
		height = hi.header.Height
	case height > hi.header.Height+ValidatorSwitchDelay:
		return nil, fmt.Errorf("%w: validator set of height %d (head %d; known up to %d)", ErrNotFound, height, hi.header.Height, hi.header.Height+ValidatorSwitchDelay)
	}
	switch height {
	case hi.header.Height:
		return hi.last, nil
	case hi.header.Height + 1:
		return hi.vals, nil
	case hi.header.Height + 2:
		return hi.next, nil
	}
	return c.historyAt(height)
}

// ValidatorProposals returns the open validator set change proposals at the head with
// an id above after, in id order, at most max of them (max ≥ 1): those not yet passed
// and not expired at the next height. The open list holds at most MaxOpenProposals per
// proposer, but proposals of validators removed since stay open until they expire, so
// it can hold more than MaxOpenProposals × MaxValidators: callers page through it.
func (c *Chain) ValidatorProposals(after uint64, max int) ([]*ValidatorProposal, error) {
	if max < 1 {
		return nil, fmt.Errorf("chain: validator proposals: max %d, want at least 1", max)
	}
	hi := c.head.Load()
	view, err := c.st.Reader(hi.header.Height)
	if err != nil {
		return nil, err
	}
	sdb := state.NewStateDB(view)
	b, _ := sdb.GetStorage(types.ValidatorsAccount, keyOpen)
	ids, err := readOpen(b)
	if err != nil {
		return nil, err
	}
	i, _ := slices.BinarySearch(ids, after+1)
	if after == ^uint64(0) {
		i = len(ids)
	}
	var out []*ValidatorProposal
	for _, id := range ids[i:] {
		if len(out) == max {
			break
		}
		p, err := c.proposal(sdb, id)
		if err != nil {
			return nil, err
		}
		if p.Expires > hi.header.Height {
			out = append(out, p)
		}
	}
	return out, sdb.Err()
}

// passedSet returns the set that a block of height made effective at height+2, found in
// the block's write set, or nil when no change passed.
func (c *Chain) passedSet(height uint64, changes []state.Change) (*types.ValidatorSet, error) {
	var keys [numSetSlots][]byte
	for i, k := range keySets {
		keys[i] = state.StorageKey(types.ValidatorsAccount, k)
	}
	for _, ch := range changes {
		if ch.Value == nil || !slices.ContainsFunc(keys[:], func(k []byte) bool { return bytes.Equal(ch.Key, k) }) {
			continue
		}
		eff, vs, err := c.sets.decode(ch.Value)
		if err != nil {
			return nil, err
		}
		if eff == height+ValidatorSwitchDelay {
			return vs, nil
		}
	}
	return nil, nil
}
