//go:build !js

package state

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// Cursor reads the values of one view through one Pebble iterator kept open across
// reads, for a goroutine that reads many keys at one height (a block's execution, one
// cursor per worker): View.Get sets up Pebble's read path afresh for each key, which is
// most of a read's cost when the blocks it needs are cached. A Cursor implements Reader
// and gives the same answers as its View's Get. Not safe for concurrent use; Close it.
//
// Consistency: the iterator reads the database as it was when the cursor was opened, so
// a commit or pruning that runs meanwhile changes nothing it sees (it also keeps the
// files of that moment from being deleted until Close: keep a cursor for a block, not for
// ever). As for View.Get, a read fails with ErrPruned once the view's height has left the
// retention window.
type Cursor struct {
	v   *View
	it  *pebble.Iterator
	k   crypto.KeccakState
	kh  types.Hash
	key []byte // latestKey or valueKey of the key read
}

// Cursor opens a cursor on the view's values.
func (v *View) Cursor() (*Cursor, error) {
	if err := v.s.checkReadable(v.height); err != nil {
		return nil, err
	}
	it, err := v.s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{KeyPrefix, tagLatest},
		UpperBound: []byte{KeyPrefix, tagValue + 1}, // 'l' < 'n' < 'v'
	})
	if err != nil {
		return nil, fmt.Errorf("state: cursor at %d: %w", v.height, err)
	}
	return &Cursor{v: v, it: it, k: crypto.NewKeccakState(), key: make([]byte, 0, valueKeyLen)}, nil
}

// Get returns the value of key at the cursor's height, as View.Get: nil when absent, a
// non-nil slice when present. The caller may keep the result.
func (c *Cursor) Get(key []byte) ([]byte, error) {
	c.kh = keccakTo(c.k, &c.kh, key)
	out, err := c.get()
	if err != nil {
		return nil, fmt.Errorf("state: get %x at %d: %w", key, c.v.height, err)
	}
	if err := c.v.s.checkReadable(c.v.height); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Cursor) get() ([]byte, error) {
	// The latest value: an exact key, found through the Bloom filters (SeekPrefixGE).
	c.key = append(append(c.key[:0], KeyPrefix, tagLatest), c.kh[:]...)
	if c.it.SeekPrefixGE(c.key) && bytes.Equal(c.it.Key(), c.key) {
		val, err := c.it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		if out, ok, err := latestValue(val, c.v.height); ok || err != nil {
			return out, err
		}
	} else if err := c.it.Error(); err != nil {
		return nil, err
	}
	// Written after the view's height, or deleted: the newest value record at or below
	// the height (View.getAt).
	c.key = appendValueKey(c.key[:0], &c.kh, c.v.height)
	if !c.it.SeekGE(c.key) {
		return nil, c.it.Error()
	}
	k := c.it.Key()
	if len(k) != valueKeyLen || !bytes.Equal(k[:2+32], c.key[:2+32]) {
		return nil, nil // no record of this key at or below the height
	}
	rec, err := c.it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	return recordValue(k, rec)
}

// Close releases the cursor's iterator.
func (c *Cursor) Close() error { return c.it.Close() }
