package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/cockroachdb/datadriven"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestScenarios runs the datadriven scenarios in testdata/*.txt. Commands:
//
//	genesis [gas-limit=N] [min-price=N]         new chain (alice, bob, carol funded; validators v0 v1 v2)
//	tx FROM transfer TO AMOUNT [opts]           queue a signed tx; opts: gas= price= nonce= chain= value= args= as=
//	tx FROM deploy CODE [as=NAME] [opts]        CODE names a contract file (see contractFiles)
//	tx FROM invoke CONTRACT METHOD [opts]
//	tx FROM upgrade CONTRACT CODE [opts]
//	resend N                                     queue again the exact bytes of the N-th tx queued
//	block [proposer=vN]                          build, commit; a follower validates and commits it too
//	receipt I                                    receipt of tx I of the last block
//	balance NAME | nonce NAME | admin NAME
//	storage CONTRACT KEY                         KEY: text or 0x hex
//	call CONTRACT METHOD [args=] [from=]         read-only call at the head
//	supply                                       sum of all known balances (must stay constant)
//
// args values: parts joined by '|': 0xHEX, addr:NAME, u64be:N, u64le:N, u256:N, or text.
// Addresses of known names are printed as names.
//
// Each scenario runs three times: leader and follower executing in order, then one of
// them executing in parallel (4 workers, every block) — the follower's validation
// compares the state and receipt roots, and the expected output pins receipts and gas.
func TestScenarios(t *testing.T) {
	machine := newVM(t, vm.EngineCompiler)
	for _, mode := range []struct {
		name             string
		leader, follower int
	}{{"sequential", 1, 1}, {"parallel-leader", 4, 1}, {"parallel-follower", 1, 4}} {
		t.Run(mode.name, func(t *testing.T) {
			datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
				s := &scenario{t: t, vm: machine, workers: [2]int{mode.leader, mode.follower}}
				defer s.close()
				datadriven.RunTest(t, path, s.run)
			})
		})
	}
}

type scenario struct {
	t         *testing.T
	vm        *vm.VM
	workers   [2]int // ExecWorkers of the leader and the follower
	leader    *node
	follower  *node
	names     map[types.Address]string
	contracts map[string]types.Address
	pending   []*types.Tx
	queued    []*types.Tx
	last      *types.Block
	receipts  []*types.Receipt
	lastCm    *types.Commit
}

func (s *scenario) close() {
	if s.leader != nil {
		s.leader.close()
		s.follower.close()
	}
}

func (s *scenario) run(t *testing.T, td *datadriven.TestData) string {
	if td.Cmd != "genesis" && s.leader == nil {
		t.Fatalf("%s: no genesis yet", td.Pos)
	}
	out, err := s.exec(t, td)
	if err != nil {
		out += "error: " + err.Error() + "\n"
	}
	return s.names2text(out)
}

// names2text replaces known addresses (any case) by their names.
func (s *scenario) names2text(out string) string {
	addrs := make([]types.Address, 0, len(s.names))
	for a := range s.names {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return bytes.Compare(addrs[i][:], addrs[j][:]) < 0 })
	for _, a := range addrs {
		out = strings.ReplaceAll(out, a.Hex(), s.names[a])
		out = strings.ReplaceAll(out, strings.ToLower(a.Hex()), s.names[a])
	}
	return out
}

func (s *scenario) addr(t *testing.T, name string) types.Address {
	if a, ok := s.contracts[name]; ok {
		return a
	}
	for a, n := range s.names {
		if n == name {
			return a
		}
	}
	if strings.HasPrefix(name, "0x") {
		b, err := hex.DecodeString(name[2:])
		if err == nil && len(b) == 20 {
			return types.Address(b)
		}
	}
	t.Fatalf("unknown name %q", name)
	return types.Address{}
}

func (s *scenario) exec(t *testing.T, td *datadriven.TestData) (string, error) {
	ctx := context.Background()
	pos := func(i int) string {
		if i >= len(td.CmdArgs) || len(td.CmdArgs[i].Vals) != 0 {
			t.Fatalf("%s: missing positional argument %d", td.Pos, i)
		}
		return td.CmdArgs[i].Key
	}
	opt := func(key, def string) string {
		for _, a := range td.CmdArgs {
			if a.Key == key && len(a.Vals) > 0 {
				return a.Vals[0]
			}
		}
		return def
	}
	optU := func(key string, def uint64) uint64 {
		v, err := strconv.ParseUint(opt(key, strconv.FormatUint(def, 10)), 10, 64)
		if err != nil {
			t.Fatalf("%s: %s: %v", td.Pos, key, err)
		}
		return v
	}

	switch td.Cmd {
	case "genesis":
		s.close()
		g := testGenesis(func(g *genesis.Genesis) {
			g.Params.BlockGasLimit = optU("gas-limit", g.Params.BlockGasLimit)
			g.Params.MinGasPrice = genesis.AmountOf(optU("min-price", 1))
		})
		s.leader = openNode(t, "", s.vm, g, Options{ExecWorkers: s.workers[0]})
		s.follower = openNode(t, "", s.vm, testGenesis(func(g2 *genesis.Genesis) { *g2 = *g }), Options{ExecWorkers: s.workers[1]})
		s.leader.c.minParallel, s.follower.c.minParallel = 1, 1
		s.names = map[types.Address]string{}
		for _, n := range append(append([]string{"dave"}, testAccounts...), testValidators...) {
			s.names[addrOf(n)] = n
		}
		s.contracts = map[string]types.Address{}
		s.pending, s.queued, s.last, s.lastCm = nil, nil, nil, nil
		return fmt.Sprintf("height 0, %d validators\n", s.leader.c.Validators().Len()), nil

	case "tx":
		from, kind := pos(0), pos(1)
		tx := &types.Tx{GasLimit: optU("gas", 5_000_000), GasPrice: uint256.NewInt(optU("price", 1)),
			ChainID: optU("chain", testChainID), Value: s.amount(t, opt("value", "0"))}
		tx.Args = s.args(t, opt("args", ""))
		label := ""
		switch kind {
		case "transfer":
			tx.Kind, tx.To, tx.Value = types.TxTransfer, s.addr(t, pos(2)), s.amount(t, pos(3))
		case "deploy":
			tx.Kind, tx.Code = types.TxDeploy, readContract(t, pos(2))
			label = opt("as", pos(2))
		case "invoke":
			tx.Kind, tx.To, tx.Method = types.TxInvoke, s.addr(t, pos(2)), pos(3)
		case "upgrade":
			tx.Kind, tx.To, tx.Code = types.TxUpgrade, s.addr(t, pos(2)), readContract(t, pos(3))
		default:
			t.Fatalf("%s: unknown tx kind %q", td.Pos, kind)
		}
		tx.Nonce = optU("nonce", s.nextNonce(t, from))
		signTx(t, from, tx)
		if label != "" {
			a := types.ContractAddress(addrOf(from), tx.Nonce)
			s.contracts[label], s.names[a] = a, label
		}
		s.pending = append(s.pending, tx)
		s.queued = append(s.queued, tx)
		return fmt.Sprintf("queued tx %d (nonce %d)\n", len(s.queued)-1, tx.Nonce), nil

	case "resend":
		i, _ := strconv.Atoi(pos(0))
		tx, err := types.DecodeTx(s.queued[i].Encode())
		if err != nil {
			return "", err
		}
		s.pending = append(s.pending, tx)
		s.queued = append(s.queued, tx)
		return fmt.Sprintf("queued tx %d (copy of tx %d)\n", len(s.queued)-1, i), nil

	case "block":
		return s.block(t, s.addr(t, opt("proposer", "v0")))

	case "receipt":
		i, _ := strconv.Atoi(pos(0))
		if i >= len(s.receipts) {
			return "", fmt.Errorf("the last block has %d receipts", len(s.receipts))
		}
		r := s.receipts[i]
		var b strings.Builder
		fmt.Fprintf(&b, "status: %s\ngas used: %d\n", status(r), r.GasUsed)
		if len(r.Output) > 0 {
			fmt.Fprintf(&b, "output: %s\n", show(r.Output))
		}
		if r.Error != "" {
			fmt.Fprintf(&b, "error: %s\n", r.Error)
		}
		if r.ContractAddress != (types.Address{}) {
			fmt.Fprintf(&b, "contract: %s\n", r.ContractAddress.Hex())
		}
		for _, e := range r.Events {
			fmt.Fprintf(&b, "event: %s %s %s\n", e.Contract.Hex(), show(e.Topic), show(e.Data))
		}
		return b.String(), nil

	case "balance":
		a, err := s.leader.c.Account(s.addr(t, pos(0)), LatestHeight)
		if err != nil {
			return "", err
		}
		return a.Balance.Dec() + "\n", nil

	case "nonce":
		a, err := s.leader.c.Account(s.addr(t, pos(0)), LatestHeight)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d\n", a.Nonce), nil

	case "admin":
		a, err := s.leader.c.Account(s.addr(t, pos(0)), LatestHeight)
		if err != nil {
			return "", err
		}
		return a.Admin.Hex() + "\n", nil

	case "storage":
		key := s.args(t, pos(1))
		v, ok, err := s.leader.c.Storage(s.addr(t, pos(0)), key, LatestHeight)
		if err != nil {
			return "", err
		}
		if !ok {
			return "absent\n", nil
		}
		return show(v) + "\n", nil

	case "call":
		res, err := s.leader.c.Call(ctx, CallMsg{
			From: s.addr(t, opt("from", "alice")), To: s.addr(t, pos(0)), Method: pos(1),
			Args: s.args(t, opt("args", "")), Value: s.amount(t, opt("value", "0")),
		}, LatestHeight)
		if err != nil {
			return "", err
		}
		if res.Err != nil {
			return fmt.Sprintf("failed: %v\n", res.Err), nil
		}
		return fmt.Sprintf("output: %s\n", show(res.Output)), nil

	case "supply":
		total := new(uint256.Int)
		addrs := make([]types.Address, 0, len(s.names))
		for a := range s.names {
			addrs = append(addrs, a)
		}
		for _, a := range addrs {
			acc, err := s.leader.c.Account(a, LatestHeight)
			if err != nil {
				return "", err
			}
			total.Add(total, acc.Balance)
		}
		return total.Dec() + "\n", nil
	}
	t.Fatalf("%s: unknown command %q", td.Pos, td.Cmd)
	return "", nil
}

// nextNonce is the sender's state nonce plus its txs still pending.
func (s *scenario) nextNonce(t *testing.T, from string) uint64 {
	a, err := s.leader.c.Account(addrOf(from), LatestHeight)
	if err != nil {
		t.Fatal(err)
	}
	n := a.Nonce
	for _, tx := range s.pending {
		if snd, _ := tx.Sender(); snd == addrOf(from) && tx.Nonce >= n {
			n = tx.Nonce + 1
		}
	}
	return n
}

func (s *scenario) block(t *testing.T, proposer types.Address) (string, error) {
	// A bound, so that a VM whose metering misses a loop fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, f := s.leader.c, s.follower.c
	blk, err := l.BuildBlock(ctx, s.pending, l.Head().Time+1000, proposer, s.lastCm)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	included := map[*types.Tx]bool{}
	for _, tx := range blk.Txs {
		included[tx] = true
	}
	// Replay the proposal on the follower's state to show why each dropped tx was dropped.
	e, err := f.newExecutor(ctx, &types.Header{Height: blk.Height(), Time: blk.Header.Time, Proposer: proposer})
	if err != nil {
		return "", err
	}
	for _, tx := range s.pending {
		sender, size, perr := e.precheck(tx)
		if included[tx] != (perr == nil) {
			t.Fatalf("tx %s: included %v but precheck says %v", tx.Hash(), included[tx], perr)
		}
		if perr == nil {
			if err := e.apply(tx, sender, size); err != nil {
				return "", err
			}
			continue
		}
		idx := -1
		for i, q := range s.queued {
			if q == tx {
				idx = i
			}
		}
		fmt.Fprintf(&b, "dropped tx %d: %v\n", idx, perr)
	}
	cm := commitFor(t, blk)
	// The follower receives the encoded block, validates and commits it.
	dec, err := types.DecodeBlock(blk.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ValidateBlock(ctx, dec); err != nil {
		t.Fatalf("follower rejects the block: %v", err)
	}
	if err := f.CommitBlock(ctx, dec, cm); err != nil {
		t.Fatal(err)
	}
	if err := l.CommitBlock(ctx, blk, cm); err != nil {
		return "", err
	}
	if l.HeadHash() != f.HeadHash() {
		t.Fatal("leader and follower disagree on the head")
	}
	receipts, err := l.Receipts(blk.Height())
	if err != nil {
		return "", err
	}
	s.pending, s.last, s.receipts, s.lastCm = nil, blk, receipts, cm
	var gasUsed uint64
	for _, r := range receipts {
		gasUsed += r.GasUsed
	}
	fmt.Fprintf(&b, "block %d: %d txs, gas used %d\n", blk.Height(), len(blk.Txs), gasUsed)
	for i, r := range receipts {
		line := fmt.Sprintf("  %d: %s gas=%d", i, status(r), r.GasUsed)
		if r.Error != "" {
			line += " error=" + r.Error
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

func status(r *types.Receipt) string {
	if r.Succeeded() {
		return "ok"
	}
	return "failed"
}

// show prints printable text as "text", otherwise 0x hex.
func show(b []byte) string {
	for _, r := range string(b) {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return "0x" + hex.EncodeToString(b)
		}
	}
	return strconv.Quote(string(b))
}

func (s *scenario) amount(t *testing.T, v string) *uint256.Int {
	a, err := uint256.FromDecimal(v)
	if err != nil {
		t.Fatalf("amount %q: %v", v, err)
	}
	return a
}

func (s *scenario) args(t *testing.T, v string) []byte {
	if v == "" {
		return nil
	}
	var out []byte
	for _, part := range strings.Split(v, "|") {
		kind, val, ok := strings.Cut(part, ":")
		switch {
		case strings.HasPrefix(part, "0x"):
			b, err := hex.DecodeString(part[2:])
			if err != nil {
				t.Fatalf("args %q: %v", part, err)
			}
			out = append(out, b...)
		case ok && kind == "addr":
			a := s.addr(t, val)
			out = append(out, a[:]...)
		case ok && kind == "u64be":
			n, _ := strconv.ParseUint(val, 10, 64)
			out = binary.BigEndian.AppendUint64(out, n)
		case ok && kind == "u64le":
			n, _ := strconv.ParseUint(val, 10, 64)
			out = binary.LittleEndian.AppendUint64(out, n)
		case ok && kind == "u256":
			b := s.amount(t, val).Bytes32()
			out = append(out, b[:]...)
		case ok && kind == "u8":
			n, _ := strconv.ParseUint(val, 10, 8)
			out = append(out, byte(n))
		default:
			out = append(out, part...)
		}
	}
	return out
}
