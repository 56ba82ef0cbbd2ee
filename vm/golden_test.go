package vm_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/holiman/uint256"
	"pgregory.net/rapid"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
	"github.com/wnode/wnode/vm/internal/wasm"
	"github.com/wnode/wnode/vm/internal/wasmgen"
	"github.com/wnode/wnode/vm/vmtest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden/corpus.txt from this run")

const goldenFile = "testdata/golden/corpus.txt"

// Sizes of the golden corpus: generated programs, each called at every gas limit of
// programGas, and blocks of contract calls on a persistent state.
const (
	goldenPrograms   = 400
	goldenBlocks     = 100
	goldenBlockCalls = 20
)

// programGas is enough gas for every generated program.
const programGas = 10_000_000

// TestGoldenCorpus runs a few thousand contract calls (generated programs and the example
// and test contracts on a persistent state) and compares every outcome (gas used,
// output, events, error) and every resulting state root with testdata/golden/corpus.txt,
// on both engines. CI also runs it on arm64 under qemu: the recorded outcomes are the
// same on every CPU. After an intended change of execution or gas, regenerate the file
// with go test ./vm -run TestGoldenCorpus -update and review its diff.
func TestGoldenCorpus(t *testing.T) {
	var want []string
	if !*updateGolden {
		b, err := os.ReadFile(goldenFile)
		if err != nil {
			t.Fatalf("%v (generate it with -update)", err)
		}
		want = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	for _, e := range engines {
		t.Run(e.String(), func(t *testing.T) {
			got := goldenRun(t, newVM(t, e))
			if *updateGolden {
				if e != engines[0] {
					compareGolden(t, got, want)
					return
				}
				writeGolden(t, got)
				want = got
				return
			}
			compareGolden(t, got, want)
		})
	}
}

func writeGolden(t *testing.T, lines []string) {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	fmt.Fprintln(w, "# Golden corpus of vm.TestGoldenCorpus (go test ./vm -run TestGoldenCorpus -update).")
	fmt.Fprintln(w, "# prog <n> <module sha256/8>: generated program n. Call lines: <id> <gas limit> <gas used>")
	fmt.Fprintln(w, "# <output: hex, or #sha256/8 when over 16 bytes> <events: count#sha256/8> <error or ok>;")
	fmt.Fprintln(w, "# ids p<n>.m (run_memory), p<n>.0 (run), p<n>.1-3 (run with its gas - 1, /2, /4),")
	fmt.Fprintln(w, "# b<height>.<i>/<contract>.<method>. root <height> <state root> after each block.")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d lines, %d bytes", goldenFile, len(lines), b.Len())
}

func compareGolden(t *testing.T, got, want []string) {
	t.Helper()
	var filtered []string
	for _, l := range want {
		if !strings.HasPrefix(l, "#") {
			filtered = append(filtered, l)
		}
	}
	want = filtered
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			hint := ""
			if strings.HasPrefix(want[i], "prog ") {
				hint = " (the generator changed, not the VM: regenerate with -update)"
			}
			t.Fatalf("golden line %d differs%s:\n got  %s\n want %s", i+1, hint, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("golden corpus: %d lines, the file has %d", len(got), len(want))
	}
}

// goldenRun executes the corpus on v and returns its lines.
func goldenRun(t *testing.T, v *vm.VM) []string {
	var lines []string
	lines = runPrograms(t, v, lines)
	lines = goldenContracts(t, v, lines)
	return lines
}

func short(b []byte) string {
	if len(b) <= 16 {
		if len(b) == 0 {
			return "-"
		}
		return hex.EncodeToString(b)
	}
	h := sha256.Sum256(b)
	return "#" + hex.EncodeToString(h[:8])
}

func eventsDigest(evs []types.Event) string {
	if len(evs) == 0 {
		return "0"
	}
	h := sha256.New()
	for _, e := range evs {
		h.Write(e.Contract[:])
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(e.Topic))))
		h.Write(e.Topic)
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(e.Data))))
		h.Write(e.Data)
	}
	return fmt.Sprintf("%d#%x", len(evs), h.Sum(nil)[:8])
}

func resultLine(id string, gas uint64, r *vm.Result) string {
	status := "ok"
	if r.Err != nil {
		status = r.Err.Error()
	}
	return fmt.Sprintf("%s %d %d %s %s %s", id, gas, r.GasUsed, short(r.Output), eventsDigest(r.Events), status)
}

var programAddr = types.Address{0x9e, 0x9e}

// runPrograms runs the generated programs: each is wrapped into a contract whose
// method run calls the program and returns its results, its globals and the sha256 of
// its memory, and is called at every gas limit of programGas.
func runPrograms(t *testing.T, v *vm.VM, lines []string) []string {
	gen := rapid.Custom(func(rt *rapid.T) *wasm.Module { return wasmgen.Program(rt, false) })
	for i := range goldenPrograms {
		code := wasm.Encode(wrapProgram(gen.Example(i)))
		sum := sha256.Sum256(code)
		lines = append(lines, fmt.Sprintf("prog %d %x", i, sum[:8]))
		s := vmtestState(programAddr, code)
		call := func(id, method string, gas uint64) *vm.Result {
			r := v.Call(context.Background(), env(s), vm.Call{Caller: alice, Contract: programAddr, Method: method, Gas: gas})
			if errors.Is(r.Err, vm.ErrInternal) || errors.Is(r.Err, vm.ErrCanceled) || errors.Is(r.Err, vm.ErrInvalidCode) {
				t.Fatalf("program %d: %v", i, r.Err)
			}
			lines = append(lines, resultLine(fmt.Sprintf("p%d.%s", i, id), gas, r))
			return r
		}
		call("m", "run_memory", programGas)
		// Then run at its exact gas less one (out of gas at the last charge) and at
		// fractions of it: metering must stop every program at the same point.
		used := call("0", "run", programGas).GasUsed
		for j, g := range []uint64{used - 1, used / 2, used / 4} {
			call(fmt.Sprint(j+1), "run", g)
		}
	}
	return lines
}

// wrapProgram makes a generated module a contract: it imports return_data and sha256
// (every function index moves up by two) and exports a method run that calls _run,
// stores its results and the four globals as i64s at scratch, hashes the whole memory
// after them and returns both.
func wrapProgram(m *wasm.Module) *wasm.Module {
	const imported = 2
	typeOf := func(ft wasm.FuncType) uint32 {
		for i, t := range m.Types {
			if t.String() == ft.String() {
				return uint32(i)
			}
		}
		m.Types = append(m.Types, ft)
		return uint32(len(m.Types) - 1)
	}
	i32 := wasm.I32
	rd := typeOf(wasm.FuncType{Params: []wasm.ValType{i32, i32}})
	sh := typeOf(wasm.FuncType{Params: []wasm.ValType{i32, i32, i32}})
	m.Imports = append([]wasm.Import{
		{Module: "wnode", Name: "return_data", Kind: wasm.KindFunc, Func: rd},
		{Module: "wnode", Name: "sha256", Kind: wasm.KindFunc, Func: sh},
	}, m.Imports...)
	for i := range m.Code {
		for j := range m.Code[i].Body {
			if m.Code[i].Body[j].Op == wasm.OpCall {
				m.Code[i].Body[j].Imm += imported
			}
		}
	}
	for i := range m.Elements {
		for j := range m.Elements[i].Funcs {
			m.Elements[i].Funcs[j] += imported
		}
	}
	for i := range m.Exports {
		if m.Exports[i].Kind == wasm.KindFunc {
			m.Exports[i].Index += imported
		}
	}
	results := m.Types[m.Funcs[0]].Results
	var locals []wasm.LocalDecl
	for _, rt := range results {
		locals = append(locals, wasm.LocalDecl{Count: 1, Type: rt})
	}
	for _, hashMemory := range []bool{false, true} {
		m.Funcs = append(m.Funcs, typeOf(wasm.FuncType{}))
		m.Code = append(m.Code, wasm.Code{Locals: locals, Body: runBody(results, hashMemory)})
		name := "run"
		if hashMemory {
			name = "run_memory"
		}
		m.Exports = append(m.Exports, wasm.Export{Name: name, Kind: wasm.KindFunc, Index: uint32(imported + len(m.Code) - 1)})
	}
	return m
}

// runBody is the body of run (and run_memory, which also hashes the memory: a sha256 of
// 64 KiB costs more gas than most programs, so run leaves it out and is the one cut by
// small gas limits): call _run, store its results and the globals as i64s at scratch,
// return them.
func runBody(results []wasm.ValType, hashMemory bool) []wasm.Instr {
	const imported = 2
	const scratch = 0xF000 // in the first page, which every generated memory has
	var body []wasm.Instr
	emit := func(in ...wasm.Instr) { body = append(body, in...) }
	emit(wasm.Instr{Op: wasm.OpCall, Imm: imported}) // _run, function 0 before the imports
	for k := len(results) - 1; k >= 0; k-- {
		emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(k)})
	}
	store := func(slot int, load wasm.Instr, t wasm.ValType) {
		emit(wasm.I32Const(int32(scratch+8*slot)), load)
		switch t {
		case wasm.I32:
			emit(wasm.Instr{Op: wasm.OpI64ExtendI32U})
		case wasm.F32:
			emit(wasm.Instr{Op: wasm.OpI32ReinterpretF}, wasm.Instr{Op: wasm.OpI64ExtendI32U})
		case wasm.F64:
			emit(wasm.Instr{Op: wasm.OpI64ReinterpretF})
		}
		emit(wasm.Instr{Op: wasm.OpI64Store, Imm: 0, Imm2: 3})
	}
	for k, rt := range results {
		store(k, wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(k)}, rt)
	}
	for g, gt := range wasmgen.Globals {
		store(len(results)+g, wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(g)}, gt)
	}
	n := int32(8 * (len(results) + len(wasmgen.Globals)))
	if hashMemory { // sha256(0, memory.size << 16, scratch+n)
		emit(wasm.I32Const(0), wasm.Instr{Op: wasm.OpMemorySize}, wasm.I32Const(16), wasm.Instr{Op: wasm.OpI32Shl},
			wasm.I32Const(scratch+n), wasm.Instr{Op: wasm.OpCall, Imm: 1})
		n += 32
	}
	return append(body, wasm.I32Const(scratch), wasm.I32Const(n), wasm.Instr{Op: wasm.OpCall, Imm: 0}, // return_data
		wasm.Instr{Op: wasm.OpEnd})
}

// goldenContracts runs blocks of calls of the example and test contracts, drawn from a
// fixed seed, on a Pebble-backed state committed after every block, and records each
// call and each block's state root.
func goldenContracts(t *testing.T, v *vm.VM, lines []string) []string {
	users := []types.Address{alice, bob, {0x03}, {0x04}}
	type contract struct {
		addr types.Address
		path string
	}
	var cs []contract
	add := func(path string) {
		cs = append(cs, contract{types.Address{0xcc, byte(len(cs) + 1)}, path})
	}
	for _, p := range []string{"token/token.wasm", "token/rust/token.wasm", "token/as/token.wasm",
		"counter/counter.wasm", "counter/c/counter.wasm", "counter/as/counter.wasm",
		"hello/hello.wasm", "hello/rust/hello.wasm", "hello/as/hello.wasm"} {
		add("../examples/" + p)
	}
	add("testdata/wat/abi.wasm")
	add("testdata/c/traps.wasm")
	w := &statetest.World{Balances: map[types.Address]*uint256.Int{}, Code: map[types.Address][]byte{}}
	for _, u := range users {
		w.Balances[u] = uint256.NewInt(1_000_000_000)
	}
	for _, c := range cs {
		w.Code[c.addr] = wasmFile(t, c.path)
	}
	st, _ := statetest.NewStore(t, state.Options{})
	statetest.Genesis(t, st, statetest.WorldChanges(t, w))
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(n int) int { return rng.IntN(n) }
	bytesN := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	amount := func() []byte {
		a := make([]byte, 32)
		binary.BigEndian.PutUint64(a[24:], uint64(rng.IntN(3))*uint64(rng.IntN(600_000)))
		return a
	}
	// call draws one call of contract c.
	call := func(c contract) (string, []byte) {
		who := users[pick(len(users))]
		switch {
		case strings.Contains(c.path, "token"):
			switch pick(4) {
			case 0, 1:
				return "transfer", cat(who[:], amount())
			case 2:
				return "balance_of", who[:]
			default:
				return "total_supply", nil
			}
		case strings.Contains(c.path, "counter"):
			return []string{"increment", "get"}[pick(2)], nil
		case strings.Contains(c.path, "hello"):
			return "hello", bytesN(pick(40))
		case strings.Contains(c.path, "traps"):
			switch pick(4) {
			case 0:
				return "grow", le32(uint32(pick(300)))
			case 1:
				return "recurse", binary.LittleEndian.AppendUint64(nil, uint64(pick(2000)))
			case 2:
				return "div_zero", bytesN(pick(2))
			default:
				return "oob", nil
			}
		}
		key := bytesN(1 + pick(3))
		key[0] %= 8 // few keys, so reads, overwrites and deletes meet
		switch pick(9) {
		case 0, 1:
			return "swrite", cat(le32(uint32(len(key))), key, bytesN(pick(100)))
		case 2:
			return "sread", key
		case 3:
			return "sdelete", key
		case 4:
			topic := bytesN(pick(10))
			return "emit", cat(le32(uint32(len(topic))), topic, bytesN(pick(60)))
		case 5:
			return "transfer", cat(who[:], amount())
		case 6:
			return []string{"sha256", "keccak256", "echo"}[pick(3)], bytesN(pick(200))
		case 7:
			return "env", nil
		default:
			return "emit_n", le32(uint32(pick(5)))
		}
	}
	// Deploy: init of each token mints to alice.
	sdb := state.NewStateDB(mustReader(t, st, 0))
	for _, c := range cs {
		if strings.Contains(c.path, "token") {
			r := v.Call(context.Background(), goldenEnv(sdb, 1, alice), vm.Call{Caller: alice, Contract: c.addr, Method: "init", Input: binary.BigEndian.AppendUint64(nil, 1_000_000), Gas: 5_000_000})
			lines = append(lines, resultLine("init/"+c.path, 5_000_000, r))
		}
	}
	for h := uint64(1); h <= goldenBlocks; h++ {
		for i := range goldenBlockCalls {
			c := cs[pick(len(cs))]
			method, input := call(c)
			caller := users[pick(len(users))]
			gas := uint64(5_000_000)
			if pick(5) == 0 {
				gas = uint64(1_000 + pick(150_000)) // runs out in the middle of some calls
			}
			var value *uint256.Int
			if pick(6) == 0 {
				value = uint256.NewInt(uint64(pick(1_000)))
			}
			sdb.Finalise()
			r := v.Call(context.Background(), goldenEnv(sdb, h, caller), vm.Call{Caller: caller, Contract: c.addr, Method: method, Input: input, Value: value, Gas: gas})
			if err := sdb.Err(); err != nil {
				t.Fatalf("block %d call %d: state: %v", h, i, err)
			}
			lines = append(lines, resultLine(fmt.Sprintf("b%d.%d/%s.%s", h, i, strings.TrimSuffix(c.path[strings.LastIndex(c.path, "/")+1:], ".wasm"), method), gas, r))
		}
		u, err := st.Prepare(h, sdb.Changes())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(u, nil); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("root %d %s", h, u.Root()))
		sdb = state.NewStateDB(mustReader(t, st, h))
	}
	return lines
}

func goldenEnv(s vm.StateDB, height uint64, origin types.Address) *vm.Env {
	return &vm.Env{
		State: s,
		Block: vm.BlockContext{ChainID: 7, Height: height, Time: 1_700_000_000_000 + 1_000*height},
		Tx:    vm.TxContext{Origin: origin, TxHash: types.Hash{byte(height)}},
	}
}

func mustReader(t *testing.T, st *state.Store, h uint64) state.Reader {
	t.Helper()
	r, err := st.Reader(h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// vmtestState is an in-memory state holding one contract, with alice funded.
func vmtestState(addr types.Address, code []byte) *vmtest.State {
	s := vmtest.New()
	s.SetCode(addr, code)
	s.SetBalance(alice, uint256.NewInt(1_000_000))
	return s
}
