package state_test

import (
	"fmt"
	"log"

	"github.com/cockroachdb/pebble/v2"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// Executing, committing and proving two blocks: the chain does this for every block.
func Example() {
	db, err := state.OpenMemPebble() // a node uses state.OpenPebble(<datadir>/db)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	st, err := state.New(db, state.Options{KeepVersions: 128})
	if err != nil {
		log.Fatal(err)
	}
	alice, bob := types.Address{0xa1}, types.Address{0xb0}

	// Genesis (height 0): execute against an overlay over the (empty) state.
	sdb := state.NewStateDB(state.Empty)
	sdb.AddBalance(alice, uint256.NewInt(100))
	u, err := st.Prepare(0, sdb.Changes())
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Commit(u, nil); err != nil {
		log.Fatal(err)
	}

	// Height 1: a transfer, committed with the block's own data in the same batch.
	view, _ := st.Reader(0)
	sdb = state.NewStateDB(view)
	sdb.SubBalance(alice, uint256.NewInt(30))
	sdb.AddBalance(bob, uint256.NewInt(30))
	if sdb.Err() != nil {
		log.Fatal(sdb.Err())
	}
	u, err = st.Prepare(1, sdb.Changes())
	if err != nil {
		log.Fatal(err)
	}
	// u.Root() goes into the block header before the block is committed.
	err = st.Commit(u, func(b *pebble.Batch) error {
		return b.Set([]byte("c/block/1"), []byte("block bytes"), nil)
	})
	if err != nil {
		log.Fatal(err)
	}

	// Anyone holding the root can check a value with a proof and no database.
	height, root := st.Latest()
	view, _ = st.Reader(height)
	enc, _ := view.Get(state.AccountKey(bob))
	proof, _ := view.Prove(state.AccountKey(bob))
	wire := proof.Encode()
	p, _ := state.DecodeProof(wire)
	acc, _ := state.DecodeAccount(enc)
	fmt.Println("height", height, "bob has", acc.Balance, "proof ok:", state.VerifyProof(root, state.AccountKey(bob), enc, p) == nil)

	// Absence is provable too.
	carol := state.AccountKey(types.Address{0xca})
	p, _ = view.Prove(carol)
	fmt.Println("carol absent:", state.VerifyProof(root, carol, nil, p) == nil)
	// Output:
	// height 1 bob has 30 proof ok: true
	// carol absent: true
}
