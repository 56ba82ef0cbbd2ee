package state

import "github.com/wnode/wnode/types"

type journalKind uint8

const (
	jAccount journalKind = iota // acc holds the account's previous value
	jStorage                    // val/exists hold the slot's previous value
	jCode                       // code under hash was added
)

// journalEntry records how to undo one write. A flat struct (rather than an interface
// per kind as in go-ethereum) keeps the journal one allocation-free slice.
type journalEntry struct {
	kind   journalKind
	addr   types.Address
	acc    accountData
	key    string
	val    []byte
	exists bool
	hash   types.Hash
}

func (e *journalEntry) revert(s *StateDB) {
	switch e.kind {
	case jAccount:
		s.accounts[e.addr].cur = e.acc
	case jStorage:
		sl := s.storage[e.key]
		sl.cur, sl.curExists = e.val, e.exists
	case jCode:
		delete(s.newCode, e.hash)
		delete(s.code, e.hash)
	}
}
