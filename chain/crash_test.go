package chain

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

const crashDirEnv = "WNODE_CHAIN_CRASH_DIR"

// TestCrashChild is the child of TestCrashSafety: with crashDirEnv set it opens the
// chain in that directory and commits workload blocks until killed, printing each
// committed height. Without the variable it returns at once.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	n := openNode(t, dir, newVM(t, vm.EngineCompiler), testGenesis(nil), Options{})
	var last *types.Commit
	if n.c.Head().Height > 0 {
		cm, err := n.c.CommitAt(LatestHeight)
		if err != nil {
			t.Fatal(err)
		}
		last = cm
	}
	for range 10_000 {
		b, cm := produce(t, n, workload(t, n.c), last)
		last = cm
		fmt.Printf("committed %d\n", b.Height())
	}
}

// emulatorEnv names the command that runs this test binary when the machine cannot
// (CI runs the arm64 build under qemu-aarch64 on amd64): a test that re-executes its own
// binary must go through it too, since the kernel may not know the binary's format.
const emulatorEnv = "WNODE_TEST_EMULATOR"

// selfCommand returns a command running this test binary with args, through the
// emulator named by emulatorEnv when set.
func selfCommand(args ...string) *exec.Cmd {
	if emu := os.Getenv(emulatorEnv); emu != "" {
		return exec.Command(emu, append([]string{os.Args[0]}, args...)...)
	}
	return exec.Command(os.Args[0], args...)
}

// TestCrashSafety kills a process committing blocks at random moments (SIGKILL, no
// shutdown) and checks after each kill that the reopened chain is consistent: its head
// and state root match, every committed block has its txs, receipts and commit, and the
// blocks are exactly those an uninterrupted reference chain produces.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	machine := newVM(t, vm.EngineCompiler)
	ref := openNode(t, "", machine, testGenesis(nil), Options{})
	defer ref.close()
	var refBlocks []*types.Block
	var refLast *types.Commit
	var lastHeight uint64

	for round := range rounds {
		cmd := selfCommand("-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it commit a few blocks, then kill it at a random moment, most likely in
		// the middle of executing or writing a block.
		target := lastHeight + 2 + uint64(rng.IntN(4))
		sc := bufio.NewScanner(out)
		deadline := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
		for sc.Scan() {
			if h, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				if n, _ := strconv.ParseUint(h, 10, 64); n >= target {
					break
				}
			}
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond) // the kill point, not synchronisation
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		deadline.Stop()

		n := openNode(t, dir, machine, testGenesis(nil), Options{})
		head := n.c.Head()
		if head.Height < target {
			n.close()
			t.Fatalf("round %d: head %d below the %d blocks the child reported", round, head.Height, target)
		}
		// Extend the reference to the same height and compare every block.
		for uint64(len(refBlocks)) < head.Height {
			b, cm := produce(t, ref, workload(t, ref.c), refLast)
			refBlocks, refLast = append(refBlocks, b), cm
		}
		for h := uint64(1); h <= head.Height; h++ {
			b, err := n.c.BlockByNumber(h)
			if err != nil {
				t.Fatalf("round %d: block %d: %v", round, h, err)
			}
			if b.Hash() != refBlocks[h-1].Hash() || len(b.Txs) != len(refBlocks[h-1].Txs) {
				t.Fatalf("round %d: block %d differs from the reference", round, h)
			}
			rs, err := n.c.Receipts(h)
			if err != nil || len(rs) != len(b.Txs) || types.ReceiptRoot(rs) != b.Header.ReceiptRoot {
				t.Fatalf("round %d: receipts of block %d: %d of %d, %v", round, h, len(rs), len(b.Txs), err)
			}
			if _, err := n.c.CommitAt(h); err != nil {
				t.Fatalf("round %d: commit of block %d: %v", round, h, err)
			}
		}
		if _, err := n.c.BlockByNumber(head.Height + 1); err == nil {
			t.Fatalf("round %d: a block above the head is stored", round)
		}
		t.Logf("round %d: killed at head %d (reported %d)", round, head.Height, target)
		lastHeight = head.Height
		n.close()
	}
}
