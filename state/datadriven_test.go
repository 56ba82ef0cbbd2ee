package state

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// TestDataDriven runs testdata/statedb: StateDB operations, journal snapshots and reverts,
// write sets, commits into a Store, reads at heights and proofs. Roots are printed in
// full, so the file also pins the tree's hashing. Addresses are written as short names
// (alice, ctr) and are the name's bytes right-aligned in 20 bytes.
func TestDataDriven(t *testing.T) {
	var (
		s   *Store
		sdb *StateDB
	)
	names := map[types.Address]string{}
	addr := func(t *testing.T, d *datadriven.TestData) types.Address {
		var n string
		d.ScanArgs(t, "addr", &n)
		a := common.BytesToAddress([]byte(n))
		names[a] = n
		return a
	}
	fresh := func() {
		h, _ := s.Latest()
		v, err := s.Reader(h)
		if err != nil {
			t.Fatal(err)
		}
		sdb = NewStateDB(v)
	}
	datadriven.RunTest(t, "testdata/statedb", func(t *testing.T, d *datadriven.TestData) string {
		switch d.Cmd {
		case "reset":
			s = newTestStore(t, t, Options{KeepVersions: 2})
			sdb = NewStateDB(mapReader{})
			return ""
		case "balance":
			a := addr(t, d)
			var n uint64
			if d.MaybeScanArgs(t, "add", &n) {
				sdb.AddBalance(a, uint256.NewInt(n))
			}
			if d.MaybeScanArgs(t, "sub", &n) {
				sdb.SubBalance(a, uint256.NewInt(n))
			}
			return sdb.GetBalance(a).Dec()
		case "nonce":
			a := addr(t, d)
			var n uint64
			if d.MaybeScanArgs(t, "set", &n) {
				sdb.SetNonce(a, n)
			}
			return fmt.Sprint(sdb.GetNonce(a))
		case "code":
			a := addr(t, d)
			var c string
			if d.MaybeScanArgs(t, "set", &c) {
				sdb.SetCode(a, []byte(c))
			}
			h := sdb.GetCodeHash(a)
			return fmt.Sprintf("%s %q", h, sdb.GetCode(h))
		case "admin":
			a := addr(t, d)
			var n string
			if d.MaybeScanArgs(t, "set", &n) {
				admin := common.BytesToAddress([]byte(n))
				names[admin] = n
				sdb.SetAdmin(a, admin)
			}
			return name(names, sdb.GetAdmin(a))
		case "storage":
			a := addr(t, d)
			var k, v string
			d.ScanArgs(t, "key", &k)
			switch {
			case d.MaybeScanArgs(t, "set", &v):
				sdb.SetStorage(a, []byte(k), []byte(v))
			case d.HasArg("delete"):
				sdb.DeleteStorage(a, []byte(k))
			}
			got, ok := sdb.GetStorage(a, []byte(k))
			if !ok {
				return "<absent>"
			}
			return fmt.Sprintf("%q", got)
		case "exists":
			return fmt.Sprint(sdb.Exists(addr(t, d)))
		case "snapshot":
			return fmt.Sprint(sdb.Snapshot())
		case "revert":
			var id int
			d.ScanArgs(t, "id", &id)
			sdb.RevertToSnapshot(id)
			return ""
		case "changes":
			return formatChanges(names, sdb.Changes())
		case "commit":
			if err := sdb.Err(); err != nil {
				return "error: " + err.Error()
			}
			h := uint64(0)
			if s.Initialized() {
				h, _ = s.Latest()
				h++
			}
			root := commit(t, s, sdb.Changes())
			fresh()
			return fmt.Sprintf("height %d root %s", h, root)
		case "read":
			// read height=H addr=A [key=K]: the raw tree value at a height, with its proof checked.
			var h uint64
			d.ScanArgs(t, "height", &h)
			v, err := s.Reader(h)
			if err != nil {
				return "error: " + err.Error()
			}
			a := addr(t, d)
			key := AccountKey(a)
			var k string
			if d.MaybeScanArgs(t, "key", &k) {
				key = StorageKey(a, []byte(k))
			}
			got, err := v.Get(key)
			if err != nil {
				return "error: " + err.Error()
			}
			p, err := v.Prove(key)
			if err != nil {
				return "error: " + err.Error()
			}
			if err := VerifyProof(v.Root(), key, got, p); err != nil {
				return "proof error: " + err.Error()
			}
			if got == nil {
				return fmt.Sprintf("<absent> (proof of absence: %d siblings)", len(p.Siblings))
			}
			return fmt.Sprintf("%s (proof: %d siblings)", formatValue(names, key, got), len(p.Siblings))
		case "err":
			if err := sdb.Err(); err != nil {
				return err.Error()
			}
			return "<nil>"
		}
		t.Fatalf("unknown command %s", d.Cmd)
		return ""
	})
}

func name(names map[types.Address]string, a types.Address) string {
	if a == (types.Address{}) {
		return "-"
	}
	if n, ok := names[a]; ok {
		return n
	}
	return a.Hex()
}

func formatValue(names map[types.Address]string, key, value []byte) string {
	if key[0] == AccountPrefix {
		acc, err := DecodeAccount(value)
		if err != nil {
			return "corrupt account"
		}
		code := "-"
		if acc.CodeHash != (types.Hash{}) {
			code = acc.CodeHash.TerminalString()
		}
		return fmt.Sprintf("nonce=%d balance=%s code=%s admin=%s", acc.Nonce, acc.Balance.Dec(), code, name(names, acc.Admin))
	}
	if key[0] == CodePrefix {
		return fmt.Sprintf("%d bytes", len(value))
	}
	return fmt.Sprintf("%q", value)
}

func formatChanges(names map[types.Address]string, cs []Change) string {
	if !sort.SliceIsSorted(cs, func(i, j int) bool { return bytes.Compare(cs[i].Key, cs[j].Key) < 0 }) {
		return "unsorted changes"
	}
	var b strings.Builder
	for _, c := range cs {
		switch c.Key[0] {
		case AccountPrefix:
			fmt.Fprintf(&b, "account %s", name(names, common.BytesToAddress(c.Key[1:21])))
		case CodePrefix:
			fmt.Fprintf(&b, "code %s", common.BytesToHash(c.Key[1:]).TerminalString())
		case StoragePrefix:
			fmt.Fprintf(&b, "storage %s %q", name(names, common.BytesToAddress(c.Key[1:21])), c.Key[21:])
		}
		if c.Value == nil {
			b.WriteString(" deleted\n")
		} else {
			fmt.Fprintf(&b, " = %s\n", formatValue(names, c.Key, c.Value))
		}
	}
	if b.Len() == 0 {
		return "<none>"
	}
	return b.String()
}
