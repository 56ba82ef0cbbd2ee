package state

import (
	"encoding/binary"

	"github.com/wnode/wnode/types"
)

// Pebble layout. Every key of the state starts with KeyPrefix, so the state shares one
// Pebble database with the chain's block store, which must not use keys starting with it.
//
//	's' 'n' version(8) depth(2) path             internal tree node written at version (leaves are held in it); path = first depth*b bits of the key hash, zero padded to bytes
//	's' 'v' keyHash(32) ^version(8)              value record: 0x01 || value, or 0x00 (deleted at version)
//	's' 'l' keyHash(32)                          latest value: version(8) || value; absent when deleted
//	's' 'x' staleSince(8) key                    stale index: key (a node or value record) is not part of versions >= staleSince
//	's' 'r' version(8)                           root record of version: kind(1) || nodeVersion(8) || hash(32) [|| keyHash(32) || valueHash(32) for a lone leaf, whose nodeVersion is its value's version]
//	's' 'm'                                      metadata: format(1) || radixBits(1)
//	's' 'R'                                      a snapshot restore is in progress (empty value; see Restore)
//
// Versions are big-endian so a version's nodes are one contiguous, append-only key range
// (cheap for an LSM: new nodes never overlap old sstables). Value records store the
// complemented version, so a read at version v is one SeekGE(keyHash || ^v): it lands on
// the newest record at or below v. The latest value of each present key is also kept under
// an exact key, so that most reads (at the latest height, or of a key not written since the
// height read) are one Bloom-filtered point lookup instead of a seek in every LSM level.
const KeyPrefix byte = 's'

const (
	tagNode   = 'n'
	tagValue  = 'v'
	tagLatest = 'l'
	tagStale  = 'x'
	tagRoot   = 'r'
	tagMeta   = 'm'
)

// pathBytes returns the number of bytes of a path of depth nibbles of b bits.
func pathBytes(depth, b int) int { return (depth*b + 7) / 8 }

// nodeKey returns the Pebble key of the node at (version, depth) on keyHash's path.
func nodeKey(version uint64, depth int, keyHash *types.Hash, r radix) []byte {
	return appendNodeKey(make([]byte, 0, nodeKeyLen(depth, r)), version, depth, keyHash, r)
}

// nodeKeyLen returns the length of the key of a node at depth.
func nodeKeyLen(depth int, r radix) int { return 2 + 8 + 2 + pathBytes(depth, r.b) }

// appendNodeKey appends nodeKey(version, depth, keyHash, r) to k.
func appendNodeKey(k []byte, version uint64, depth int, keyHash *types.Hash, r radix) []byte {
	nb := pathBytes(depth, r.b)
	k = append(k, KeyPrefix, tagNode)
	k = binary.BigEndian.AppendUint64(k, version)
	k = binary.BigEndian.AppendUint16(k, uint16(depth))
	k = append(k, keyHash[:nb]...)
	if rem := (depth * r.b) % 8; rem != 0 {
		k[len(k)-1] &= byte(0xff << (8 - rem))
	}
	return k
}

// valueKey returns the Pebble key of keyHash's value record written at version.
func valueKey(keyHash *types.Hash, version uint64) []byte {
	return appendValueKey(make([]byte, 0, valueKeyLen), keyHash, version)
}

const valueKeyLen = 2 + 32 + 8

// appendValueKey appends valueKey(keyHash, version) to k.
func appendValueKey(k []byte, keyHash *types.Hash, version uint64) []byte {
	k = append(k, KeyPrefix, tagValue)
	k = append(k, keyHash[:]...)
	return binary.BigEndian.AppendUint64(k, ^version)
}

// latestKey returns the Pebble key of keyHash's latest value.
func latestKey(keyHash *types.Hash) []byte {
	k := make([]byte, 0, 2+32)
	k = append(k, KeyPrefix, tagLatest)
	return append(k, keyHash[:]...)
}

// staleKey returns the stale-index key recording that key leaves the tree at version.
func staleKey(version uint64, key []byte) []byte {
	return appendStaleKey(make([]byte, 0, 2+8+len(key)), version, key)
}

// appendStaleKey appends staleKey(version, key) to k.
func appendStaleKey(k []byte, version uint64, key []byte) []byte {
	k = append(k, KeyPrefix, tagStale)
	k = binary.BigEndian.AppendUint64(k, version)
	return append(k, key...)
}

func rootKey(version uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{KeyPrefix, tagRoot}, version)
}

var metaKey = []byte{KeyPrefix, tagMeta}

// withDigit returns h with the digit at depth set to d (the bits after it keep their value,
// which nodeKey ignores).
func (r radix) withDigit(h types.Hash, depth, d int) types.Hash {
	off := depth * r.b
	shift := 8 - r.b - (off & 7)
	mask := byte((1<<r.b)-1) << shift
	h[off>>3] = h[off>>3]&^mask | byte(d)<<shift
	return h
}

// Root record kinds.
const (
	rootEmpty    = 0
	rootLeaf     = 1
	rootInternal = 2
)

// rootRecord is a version's root: the stored node at depth 0 (if any) and its hash, or
// the tree's only leaf, which no node holds.
type rootRecord struct {
	kind    uint8
	version uint64 // version of the stored root node; of the value for a lone leaf
	hash    types.Hash

	keyHash, valueHash types.Hash // rootLeaf
}

// leafRoot returns the root record of a tree that is the single leaf s.
func leafRoot(s sub) rootRecord {
	return rootRecord{kind: rootLeaf, version: s.leaf.valueVersion, hash: s.hash, keyHash: s.leaf.keyHash, valueHash: s.leaf.valueHash}
}

// leaf returns the leaf of a rootLeaf record.
func (r rootRecord) leaf() *leaf {
	return &leaf{keyHash: r.keyHash, valueHash: r.valueHash, valueVersion: r.version}
}

func (r rootRecord) encode() []byte {
	b := make([]byte, 0, 105)
	b = append(b, r.kind)
	b = binary.BigEndian.AppendUint64(b, r.version)
	b = append(b, r.hash[:]...)
	if r.kind == rootLeaf {
		b = append(b, r.keyHash[:]...)
		b = append(b, r.valueHash[:]...)
	}
	return b
}

func decodeRoot(b []byte) (rootRecord, error) {
	if len(b) < 41 || b[0] > rootInternal || (b[0] == rootLeaf) != (len(b) == 105) || (b[0] != rootLeaf && len(b) != 41) {
		return rootRecord{}, errBadNode
	}
	r := rootRecord{kind: b[0], version: binary.BigEndian.Uint64(b[1:9])}
	copy(r.hash[:], b[9:41])
	if r.kind == rootLeaf {
		copy(r.keyHash[:], b[41:73])
		copy(r.valueHash[:], b[73:105])
	}
	return r, nil
}
