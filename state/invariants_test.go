package state

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// walk calls onNode for every stored node of the tree whose root is root, with its key, and
// onLeaf for every leaf (held in its parent, or the root record's lone leaf).
func walk(s *Store, root rootRecord, onNode func(key []byte, n *node), onLeaf func(lf *leaf)) error {
	switch root.kind {
	case rootEmpty:
		return nil
	case rootLeaf:
		onLeaf(root.leaf())
		return nil
	}
	var rec func(version uint64, depth int, path types.Hash) error
	rec = func(version uint64, depth int, path types.Hash) error {
		k := nodeKey(version, depth, &path, s.r)
		n, err := s.loadNode(k)
		if err != nil {
			return err
		}
		onNode(k, n)
		if len(n.children) != bits.OnesCount16(n.present) || int(n.size) != s.r.size() {
			return fmt.Errorf("node %x holds %d children of %016b", k, len(n.children), n.present)
		}
		for i := range s.r.size() {
			if n.present&(1<<i) == 0 {
				continue
			}
			c := n.child(i)
			switch {
			case c.isLeaf != (n.leaves&(1<<i) != 0):
				return fmt.Errorf("leaf child %d of node %x not in the leaves bitmap", i, k)
			case c.isLeaf:
				if c.hash != LeafHash(c.keyHash, c.valueHash) || s.r.withDigit(c.keyHash, depth, i) != c.keyHash {
					return fmt.Errorf("bad leaf child %d of node %x", i, k)
				}
				onLeaf(c.asLeaf())
			default:
				if err := rec(c.version, depth+1, s.r.withDigit(path, depth, i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rec(root.version, 0, types.Hash{})
}

// checkNoGarbage verifies the pruning invariants of a non-archive store: every stored node
// and value record is reachable from a readable version or awaits pruning in the stale
// index at a readable version; every stale entry of an unreadable version is gone; root
// records exist exactly for the readable heights. It also checks the node invariant: every
// internal node has at least two leaves below it.
func checkNoGarbage(s *Store) error {
	latest, _ := s.Latest()
	oldest := s.Oldest()
	allowed := map[string]bool{}
	latestLeaves := map[types.Hash]*leaf{}
	for h := oldest; h <= latest; h++ {
		v, err := s.Reader(h)
		if err != nil {
			return err
		}
		err = walk(s, v.root, func(k []byte, n *node) {
			allowed[string(k)] = true
		}, func(n *leaf) {
			allowed[string(valueKey(&n.keyHash, n.valueVersion))] = true
			if h == latest {
				latestLeaves[n.keyHash] = n
			}
		})
		if err != nil {
			return fmt.Errorf("walk %d: %w", h, err)
		}
		if err := checkTwoLeaves(s, v.root); err != nil {
			return fmt.Errorf("height %d: %w", h, err)
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{KeyPrefix}, UpperBound: []byte{KeyPrefix + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	// The stale index ('x') sorts after nodes and values: collect it first.
	for ok := it.SeekGE([]byte{KeyPrefix, tagStale}); ok && it.Key()[1] == tagStale; ok = it.Next() {
		ver := binary.BigEndian.Uint64(it.Key()[2:10])
		if ver <= min(oldest, latest-1) && latest > 0 {
			return fmt.Errorf("stale entry of version %d survived pruning to %d", ver, oldest)
		}
		allowed[string(it.Key()[10:])] = true
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		switch k[1] {
		case tagNode, tagValue:
			if !allowed[string(k)] {
				return fmt.Errorf("garbage %c entry %x", k[1], k)
			}
		case tagLatest:
			var kh types.Hash
			copy(kh[:], k[2:])
			n := latestLeaves[kh]
			v := it.Value()
			if n == nil || len(v) < 8 || binary.BigEndian.Uint64(v) != n.valueVersion || crypto.Keccak256Hash(v[8:]) != n.valueHash {
				return fmt.Errorf("latest value record %x does not match the latest tree", k)
			}
			delete(latestLeaves, kh)
		case tagRoot:
			if h := binary.BigEndian.Uint64(k[2:]); h < oldest || h > latest {
				return fmt.Errorf("root record of %d outside [%d, %d]", h, oldest, latest)
			}
		}
	}
	if len(latestLeaves) != 0 {
		return fmt.Errorf("%d keys of the latest tree have no latest value record", len(latestLeaves))
	}
	return it.Error()
}

// checkTwoLeaves verifies that every internal node has at least two leaves below it.
func checkTwoLeaves(s *Store, root rootRecord) error {
	if root.kind != rootInternal {
		return nil
	}
	var count func(version uint64, depth int, path types.Hash) (int, error)
	count = func(version uint64, depth int, path types.Hash) (int, error) {
		n, err := s.loadNode(nodeKey(version, depth, &path, s.r))
		if err != nil {
			return 0, err
		}
		total := 0
		for i := range s.r.size() {
			if n.leaves&(1<<i) != 0 {
				total++
			} else if n.present&(1<<i) != 0 {
				c := n.child(i)
				k, err := count(c.version, depth+1, s.r.withDigit(path, depth, i))
				if err != nil {
					return 0, err
				}
				total += k
			}
		}
		if total < 2 {
			return 0, fmt.Errorf("internal node at depth %d version %d has %d leaves", depth, version, total)
		}
		return total, nil
	}
	_, err := count(root.version, 0, types.Hash{})
	return err
}
