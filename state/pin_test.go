package state

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// pinBlocks is a deterministic history: a genesis of 6000 keys, then blocks mixing updates,
// inserts and deletes (some deleting most of a subtree, so leaves move up), one block that
// only deletes absent keys and one empty block.
func pinBlocks() [][]Change {
	rng := rand.New(rand.NewPCG(15, 2026))
	key := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte("pin"), i) }
	val := func() []byte {
		v := make([]byte, 1+rng.IntN(80))
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		return v
	}
	var blocks [][]Change
	var g []Change
	for i := range uint64(6000) {
		g = append(g, Change{Key: key(i), Value: val()})
	}
	blocks = append(blocks, g)
	next := uint64(6000)
	for h := range 10 {
		seen := map[uint64]bool{}
		var cs []Change
		for range 200 + 300*h {
			var k uint64
			switch r := rng.IntN(10); {
			case r < 2:
				k = next
				next++
			default:
				k = rng.Uint64N(next)
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			c := Change{Key: key(k)}
			if rng.IntN(10) >= 3 { // 30 % deletes (of present or absent keys)
				c.Value = val()
			}
			cs = append(cs, c)
		}
		blocks = append(blocks, cs)
	}
	// Delete every key whose hash starts with 0x0: that subtree empties.
	var del []Change
	for i := range next {
		if k := key(i); crypto.Keccak256(k)[0]>>4 == 0 {
			del = append(del, Change{Key: k})
		}
	}
	blocks = append(blocks, del)
	blocks = append(blocks, []Change{{Key: []byte("never written")}})
	blocks = append(blocks, nil)
	return blocks
}

// pinnedRoots are the roots of pinBlocks' heights as computed by the tree code before its
// commit path was optimized (issue 15); pinnedProofs is keccak256 of the concatenated
// encoded proofs of pinProofKeys at the last height and at height 5. Any change to them is a
// consensus change.
var (
	pinnedRoots = []string{
		"0x9b773b97e9e2ca86a93db334728360e4d142a366344113bb12283247e531dfbf",
		"0xd54d29e7ae96ee9157af700863d46599906a34b1e222badbc12ff3ecf3051785",
		"0x7bbe863506ad511ebb8823240075e3edce9938a3f56dff5b29abb24ab3f1a93c",
		"0x7c644dad5da9082db2c2d85732a05db16eb453e9cd136e47de13cdb99f98cffb",
		"0x010006fb7a0de88d8e891efeada12b40ef0d098acc1f5c38bec9a7cfea91bac0",
		"0x880dbd8771def47a174443245e5bfd4478dd5f75e8c230282fd47176129dd0c8",
		"0x244179aa7a0ee9abc9a45b8f7edb822f9e28f2a981db6d614dd93efeb81c72a6",
		"0x6586399fea68f96eaf07f40340050a00746f7dee64a04f2bf4d1c44141e56d1c",
		"0x4460dfa8274a401654e0655e4fba4c894c3b1d36385ed513a40843bddf0f360c",
		"0x7f40a1d680e0b1321be754060a5738a3930e69f1a1f5d03cc3552fd66a9ebb83",
		"0x85b44292139297e9b0980f74c95993234facbf0e4a06fa84e29a898471d2a7bd",
		"0xc289104b2f0e55c04d31ac11fa6f1a8d31c5ea446fa431e189f90f7d3d2a51ff",
		"0xc289104b2f0e55c04d31ac11fa6f1a8d31c5ea446fa431e189f90f7d3d2a51ff",
		"0xc289104b2f0e55c04d31ac11fa6f1a8d31c5ea446fa431e189f90f7d3d2a51ff",
	}
	pinnedProofs      = "0xc984ee0d872c2395b893a3c6a09baaf60aac8fa772d8cf00b911d3c96b0c9ac1"
	pinnedProofsOld   = "0x0377d7a42b22022f6027c917a27738b70d841445bd1f3df1efc0e99153fff425"
	pinnedProofSample = "0163cc8f12dbd0dee57d670e3af85bca327ba96317963e79984ad7f957bd8448b1c11f570aa8d649672ecf7d018500e153c6e94ccaf88814429c17839535e1d5640010fffbcfd6752dd11fa6be5bb8e88b3c17b30b815e9ec88a24309f151bddff7c890f89569953eb89aab304418194203810231c928f6a0fc100a4ee3a91580375efbfcf5457d3fc1b71df3a97b870f90f8dabb10b159bb9a43052ff638e7e9c61be3a0511e43eef8e6c9834c7ad73e680fec60fbe64d740bcacda67a1a6835d76f58b02e78050819db49f97f148ba2ee1dc976f67e1eb45b55d15651921ec300dc9a39e00acac45b6f13518aa4006c0d90acae5fccb04b785c51de9593f24c70ab9b7b3f3ed1cb7bd6c195a727252e628dd97697a9264d2348d024834cd6a6d423d326e3739617be7221c76ade06d617e5614fab81567de7e4e95d4358e38d8e75f85e5d8753bf5ffc3237211915f90758345e2d3ca578411a534b400f158fa3b916c56f682e9b5f8c47f12faeacbf5ed1cea70a32f8a003227e4105da97376517775d2ec1768074e18f71f6f40f75771ff3bfbe5cc14067d0e1d0c8ffb5689b0c7940aaf79402d18af91eeaa8b62aad3a2084a61762823e06a4bc015ec79cadb1b39f76a22963dcc91f26ecadf78b82981b18be5ff5840ffc4fd769fff9c9e06765803054be10e212f091b5bf4b3ec417fe401542305d454af12a00a62b284f5bceadecd2acdb101879c72c1cd961d8a3ebc64ed9cc0c24bded21945613f0424c559c9"
)

// pinProofKeys: present, deleted and never-written keys.
func pinProofKeys() [][]byte {
	var ks [][]byte
	for i := uint64(0); i < 9000; i += 97 {
		ks = append(ks, binary.BigEndian.AppendUint64([]byte("pin"), i))
	}
	return append(ks, []byte("never written"), []byte(""))
}

// TestPinnedRoots replays pinBlocks for every stored radix, with and without the node
// cache, with and without the concurrent update, and checks the roots and proofs against
// the values pinned from the original code.
func TestPinnedRoots(t *testing.T) {
	blocks := pinBlocks()
	model := map[string][]byte{}
	for _, cs := range blocks {
		model = applyModel(model, cs)
	}
	if got := refRoot(model).Hex(); got != pinnedRoots[len(pinnedRoots)-1] {
		t.Fatalf("reference model's root %s, pinned %s", got, pinnedRoots[len(pinnedRoots)-1])
	}
	for _, o := range []Options{
		{},
		{serial: true, NodeCacheBytes: -1},
		{radixBits: 1, KeepVersions: 3},
		{radixBits: 2, Archive: true},
	} {
		s := newTestStore(t, t, o)
		var roots []string
		for _, cs := range blocks {
			r := commit(t, s, cs)
			roots = append(roots, r.Hex())
		}
		h, _ := s.Latest()
		digest := func(height uint64) (string, string) {
			k := crypto.NewKeccakState()
			var sample string
			for i, key := range pinProofKeys() {
				p, err := s.Prove(height, key)
				if err != nil {
					t.Fatal(err)
				}
				enc := p.Encode()
				k.Write(enc)
				if i == 3 {
					sample = hex.EncodeToString(enc)
				}
			}
			var out types.Hash
			k.Read(out[:])
			return out.Hex(), sample
		}
		proofs, sample := digest(h)
		var proofsOld string
		if o.Archive || o.KeepVersions == 0 {
			proofsOld, _ = digest(5)
		}
		if len(roots) != len(pinnedRoots) {
			t.Fatalf("%d roots, %d pinned", len(roots), len(pinnedRoots))
		}
		for i := range roots {
			if roots[i] != pinnedRoots[i] {
				t.Fatalf("options %+v: height %d root %s, pinned %s", o, i, roots[i], pinnedRoots[i])
			}
		}
		if proofs != pinnedProofs || sample != pinnedProofSample {
			t.Fatalf("options %+v: proofs at the last height differ from the pinned ones", o)
		}
		if proofsOld != "" && proofsOld != pinnedProofsOld {
			t.Fatalf("options %+v: proofs at height 5 differ from the pinned ones", o)
		}
	}
}
