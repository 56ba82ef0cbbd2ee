package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

var (
	verifyCommand = &cli.Command{
		Name:  "verify",
		Usage: "check a saved answer bundle offline (from --save or /fn/…?witness=1) against the trust root",
		Description: "Checks the bundle's header by its commit certificate (more than 2/3 of the trusted validator set's\n" +
			"power, signatures over the chain id, height and round), its proofs against the header's roots, and for\n" +
			"a call re-executes it on the proven state and compares output, gas, error and events. No node is needed.",
		ArgsUsage: "FILE",
		Flags:     flags(trustFlags, []cli.Flag{outFlag, jsonFlag, rpcURLFlag, timeoutFlag}),
		Action:    verifyAction,
	}
)

// verifier checks answers for --verify and wnode verify.
type verifier struct {
	v      checker                                    // nil until opened
	open   func(ctx context.Context) (checker, error) // opens v (a height root needs the node)
	src    *nodeSource
	store  string // the trust store file, "" when off
	p      *printer
	c      *cli.Context
	maxAge time.Duration
	save   string
}

// checker verifies answers: a light.Client following the chain from the genesis, or a
// staticChecker trusting one validator set hash.
type checker interface {
	VerifyCall(ctx context.Context, b *light.CallBundle, want *light.Call) (*light.CallResult, *light.Verified, error)
	VerifyAccount(ctx context.Context, b *light.AccountBundle, addr types.Address) (*light.Account, *light.Verified, error)
	VerifyReceipt(ctx context.Context, b *light.ReceiptBundle, txHash types.Hash) (*types.Receipt, *light.Verified, error)
	Verify(ctx context.Context, bundle any) (any, *light.Verified, error)
	Close(ctx context.Context) error
}

// staticChecker is a light.Verifier of one validator set (--validators-hash).
type staticChecker struct{ *light.Verifier }

func (s staticChecker) VerifyAccount(_ context.Context, b *light.AccountBundle, addr types.Address) (*light.Account, *light.Verified, error) {
	return s.Verifier.VerifyAccount(b, addr)
}

func (s staticChecker) VerifyReceipt(_ context.Context, b *light.ReceiptBundle, txHash types.Hash) (*types.Receipt, *light.Verified, error) {
	return s.Verifier.VerifyReceipt(b, txHash)
}

// nodeSource is the node the command talks to as the light client's source of the
// headers between its trusted height and an answer's; wnode verify dials --rpc only when
// it needs one.
type nodeSource struct {
	node *client.Client
	url  string
}

func (n *nodeSource) Certificate(ctx context.Context, height uint64) (*light.Certificate, error) {
	if n.node == nil {
		if n.url == "" {
			return nil, fmt.Errorf("%w: too little of the trusted validator set signed the answer's block to reach it directly; give --rpc URL, a node to fetch the headers in between from", light.ErrNoSource)
		}
		cl, err := client.Dial(ctx, n.url)
		if err != nil {
			return nil, fmt.Errorf("the headers between the trusted height and the answer's come from a node (--rpc): %w", err)
		}
		n.node = cl
	}
	return n.node.Certificate(ctx, height)
}

func (n *nodeSource) close() {
	if n.node != nil && n.url != "" {
		n.node.Close()
	}
}

// newVerifier returns the command's verifier, or nil without --verify.
func newVerifier(c *cli.Context) (*verifier, error) {
	if !c.Bool(verifyFlag.Name) {
		for _, f := range []cli.Flag{trustGenesisFlag, trustValidatorsFlag, trustChainIDFlag, maxAgeFlag, saveFlag, trustStoreFlag, trustingPeriodFlag, trustHeightFlag, trustHashFlag} {
			if c.IsSet(f.Names()[0]) {
				return nil, usagef("--%s is for --verify", f.Names()[0])
			}
		}
		return nil, nil
	}
	return openVerifier(c, "")
}

// openVerifier builds a verifier on the trust root the user gave: never one the node
// supplies. rpcURL is the node wnode verify may fetch headers from ("" for the commands
// that talk to a node: they attach it with use).
func openVerifier(c *cli.Context, rpcURL string) (*verifier, error) {
	g, vh := c.String(trustGenesisFlag.Name), c.String(trustValidatorsFlag.Name)
	if c.IsSet(trustChainIDFlag.Name) && vh == "" {
		return nil, usagef("--chain-id is for --validators-hash (a genesis file names its chain)")
	}
	vr := &verifier{p: newPrinter(c), c: c, maxAge: c.Duration(maxAgeFlag.Name), save: c.String(saveFlag.Name), src: &nodeSource{url: rpcURL}}
	switch {
	case g != "" && vh != "":
		return nil, usagef("give one trust root: --genesis or --validators-hash, not both")
	case g != "":
		gen, err := genesis.Load(g)
		if err != nil {
			return nil, fmt.Errorf("--genesis: %w", err)
		}
		root, err := light.GenesisState(gen)
		if err != nil {
			return nil, fmt.Errorf("--genesis %s: %w", g, err)
		}
		atHeight := c.IsSet(trustHeightFlag.Name)
		if atHeight != c.IsSet(trustHashFlag.Name) {
			return nil, usagef("--trust-height and --trust-hash go together: a height and the hash of its header")
		}
		var hash types.Hash
		if atHeight {
			b, err := hexutil.Decode(c.String(trustHashFlag.Name))
			if err != nil || len(b) != 32 {
				return nil, usagef("--trust-hash %q: want 0x and 64 hex digits", c.String(trustHashFlag.Name))
			}
			hash = types.Hash(b)
		}
		opts := light.ClientOptions{GasScheduleVersion: gen.Params.GasScheduleVersion,
			Rules: light.Rules{TrustingPeriod: c.Duration(trustingPeriodFlag.Name)}}
		vr.store = c.String(trustStoreFlag.Name)
		if vr.store == "off" {
			vr.store = ""
		}
		defaultStore := vr.store == "" && !c.IsSet(trustStoreFlag.Name)
		vr.open = func(ctx context.Context) (checker, error) {
			if atHeight {
				h := c.Uint64(trustHeightFlag.Name)
				if root, err = light.TrustHeight(ctx, vr.src, gen.ChainID, h, hash); err != nil {
					return nil, fmt.Errorf("--trust-height %d: %w", h, err)
				}
			}
			if defaultStore {
				vr.store = defaultTrustStore(g, root)
			}
			if vr.store != "" {
				opts.Store = &light.FileStore{Path: vr.store, Root: light.RootID(root)}
			}
			lc, err := light.NewClient(root, vr.src, opts)
			if err != nil {
				return nil, fmt.Errorf("--trust-store: %w", err)
			}
			return lc, nil
		}
		if !atHeight {
			// Open now: a bad trust store is a usage error before anything is asked.
			if vr.v, err = vr.open(c.Context); err != nil {
				return nil, err
			}
		}
		return vr, nil
	case vh != "":
		for _, f := range []cli.Flag{trustStoreFlag, trustingPeriodFlag, trustHeightFlag, trustHashFlag} {
			if c.IsSet(f.Names()[0]) {
				return nil, usagef("--%s is for --genesis: --validators-hash trusts one set and follows no changes", f.Names()[0])
			}
		}
		b, err := hexutil.Decode(vh)
		if err != nil || len(b) != 32 {
			return nil, usagef("--validators-hash %q: want 0x and 64 hex digits", vh)
		}
		v, err := light.New(light.Trust{ValidatorsHash: types.Hash(b), ChainID: c.Uint64(trustChainIDFlag.Name)}, light.Options{})
		if err != nil {
			return nil, err
		}
		vr.v = staticChecker{v}
		return vr, nil
	}
	return nil, usagef("verification needs a trust root you hold: --genesis FILE (the chain's genesis file, e.g. <datadir>/genesis.json) or --validators-hash HASH")
}

// defaultTrustStore is the trust store of a genesis file: beside it, so that a data dir
// made anew (a dev chain restarted from the same genesis) does not keep the old chain's
// headers.
func defaultTrustStore(genesisFile string, root *light.TrustedState) string {
	id := light.RootID(root)
	return filepath.Join(filepath.Dir(genesisFile), "light", fmt.Sprintf("trust-%d-%x.json", root.ChainID, id[:6]))
}

// use makes the node of s the source of the headers the light client needs.
func (vr *verifier) use(s *session) {
	if vr.src.node == nil {
		vr.src.node = s.node
	}
}

// explain adds what to do about the errors of following the chain.
func (vr *verifier) explain(err error) error {
	switch {
	case errors.Is(err, light.ErrFork) && vr.store != "":
		return fmt.Errorf("%w (the trust store %s holds another header at that height: a chain restarted from the same genesis? remove the file, or pass --trust-store off)", err, vr.store)
	case errors.Is(err, light.ErrTrustStore):
		return fmt.Errorf("%w (choose another file with --trust-store FILE, or none with --trust-store off)", err)
	case errors.Is(err, light.ErrExpired):
		return fmt.Errorf("%w (--trusting-period %s)", err, vr.c.Duration(trustingPeriodFlag.Name))
	}
	return err
}

// checker returns the opened checker: a root at a trusted height is fetched from the
// node when first needed.
func (vr *verifier) checker(ctx context.Context) (checker, error) {
	if vr.v == nil {
		v, err := vr.open(ctx)
		if err != nil {
			return nil, err
		}
		vr.v = v
	}
	return vr.v, nil
}

func (vr *verifier) close(ctx context.Context) {
	if vr.v != nil {
		vr.v.Close(ctx)
	}
	vr.src.close()
}

// verifiedJSON is what a verified answer states about itself.
type verifiedJSON struct {
	ChainID   hexutil.Uint64 `json:"chainId"`
	Height    hexutil.Uint64 `json:"height"`
	Time      hexutil.Uint64 `json:"time"` // block time, unix ms
	BlockHash types.Hash     `json:"blockHash"`
}

// accept checks freshness and narrates what the answer was verified against.
func (vr *verifier) accept(info *light.Verified, what string) (*verifiedJSON, error) {
	if err := light.CheckFresh(info, vr.maxAge, time.Now()); err != nil {
		return nil, fmt.Errorf("%s: %w (--max-age %s)", what, err, vr.maxAge)
	}
	t := time.UnixMilli(int64(info.Time)).UTC()
	vr.p.note("verified %s: block %d of chain %d, %s (%s ago), hash %s", what, info.Height, info.ChainID,
		t.Format(time.RFC3339), time.Since(t).Round(time.Second), info.BlockHash.Hex())
	return &verifiedJSON{ChainID: hexutil.Uint64(info.ChainID), Height: hexutil.Uint64(info.Height),
		Time: hexutil.Uint64(info.Time), BlockHash: info.BlockHash}, nil
}

// atHeight checks that an answer is for the height asked: a proof of another block,
// however valid, answers another question. Latest is checked by --max-age only.
func atHeight(info *light.Verified, asked rpctypes.BlockNumber) error {
	if asked >= 0 && info.Height != uint64(asked) {
		return fmt.Errorf("%w: asked for block %d, the answer is for block %d", light.ErrQuestion, uint64(asked), info.Height)
	}
	return nil
}

// nodeBundle saves (--save) and decodes a node's answer, which must be a bundle of type
// T, described as what ("a call") in the error otherwise.
func nodeBundle[T any](vr *verifier, raw []byte, what string) (T, error) {
	var zero T
	if err := vr.saveBundle(raw); err != nil {
		return zero, err
	}
	b, err := light.Decode(raw)
	if err != nil {
		return zero, fmt.Errorf("the node's answer does not verify: %w", err)
	}
	t, ok := b.(T)
	if !ok {
		return zero, fmt.Errorf("the node's answer does not verify: %w: a %T, not %s bundle", light.ErrMalformed, b, what)
	}
	return t, nil
}

func (vr *verifier) saveBundle(raw []byte) error {
	if vr.save == "" {
		return nil
	}
	if err := os.WriteFile(vr.save, raw, 0o644); err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	return nil
}

// callOutput is the printed result of a verified call.
type callOutput struct {
	Output     hexutil.Bytes  `json:"output"`
	OutputText *string        `json:"outputText,omitempty"`
	GasUsed    hexutil.Uint64 `json:"gasUsed"`
	Error      string         `json:"error,omitempty"`
	Verified   *verifiedJSON  `json:"verified"`
}

// call runs a witnessed call and verifies it; a verified failure is still an error.
func (vr *verifier) call(s *session, args rpctypes.CallArgs, height rpctypes.BlockNumber, print func(io.Writer, []byte) error) error {
	if args.Gas == nil {
		// Ask for the default cap explicitly: a contract can read the gas it has left, so
		// an answer is only the answer to our question if it ran with the gas we chose,
		// not with whatever limit the node picked.
		g := hexutil.Uint64(gas.DefaultCallCap)
		args.Gas = &g
	}
	raw, err := s.node.CallBundle(s.ctx, args, height)
	if err != nil {
		return s.wrap(err)
	}
	cb, err := nodeBundle[*light.CallBundle](vr, raw, "a call")
	if err != nil {
		return err
	}
	want := &light.Call{To: *args.To, Method: args.Method, Args: args.Args, Value: args.Value}
	if args.From != nil {
		want.From = *args.From
	}
	if args.Gas != nil {
		want.Gas = *args.Gas
	}
	vr.use(s)
	v, err := vr.checker(s.ctx)
	if err != nil {
		return err
	}
	res, info, err := v.VerifyCall(s.ctx, cb, want)
	if err == nil {
		err = atHeight(info, height)
	}
	if err != nil {
		return fmt.Errorf("the node's answer does not verify: %w", vr.explain(err))
	}
	return vr.printCall(res, info, print)
}

// printCall prints a verified call's output with print.
func (vr *verifier) printCall(res *light.CallResult, info *light.Verified, print func(io.Writer, []byte) error) error {
	vj, err := vr.accept(info, "call")
	if err != nil {
		return err
	}
	out := &callOutput{Output: nonNilHex(res.Output), OutputText: textOrNil(res.Output), GasUsed: hexutil.Uint64(res.GasUsed),
		Error: res.Err, Verified: vj}
	if res.Err != "" {
		if vr.p.json {
			vr.p.result(out, nil)
		}
		return fmt.Errorf("call failed (verified): %s (gas used %d)", res.Err, res.GasUsed)
	}
	var outErr error
	if err := vr.p.result(out, func(w io.Writer) { outErr = print(w, res.Output) }); err != nil {
		return err
	}
	return outErr
}

func nonNilHex(b []byte) hexutil.Bytes {
	if b == nil {
		return hexutil.Bytes{}
	}
	return b
}

// receipt verifies the receipt a node signed by its Merkle proof and the block's commit:
// the proven receipt must say what the signed one says.
func (vr *verifier) receipt(s *session, r *rpctypes.ReceiptJSON) error {
	raw, err := s.node.ReceiptBundle(s.ctx, r.TxHash)
	if err != nil {
		return s.wrap(err)
	}
	if raw == nil {
		return fmt.Errorf("the node's answer does not verify: it serves no receipt proof of %s", r.TxHash.Hex())
	}
	rb, err := nodeBundle[*light.ReceiptBundle](vr, raw, "a receipt")
	if err != nil {
		return err
	}
	vr.use(s)
	v, err := vr.checker(s.ctx)
	if err != nil {
		return err
	}
	got, info, err := v.VerifyReceipt(s.ctx, rb, r.TxHash)
	if err != nil {
		return fmt.Errorf("the node's answer does not verify: %w", vr.explain(err))
	}
	// Every field printed must be the proven one: the whole receipt (events included) by
	// its hash, and the block it names.
	if got.Hash() != r.Receipt().Hash() || r.BlockHash != info.BlockHash ||
		r.StateRoot != info.StateRoot || uint64(r.ChainID) != info.ChainID {
		return fmt.Errorf("the node's answer does not verify: %w: the signed receipt differs from the proven one", light.ErrProof)
	}
	_, err = vr.accept(info, "receipt")
	return err
}

// accountOutput is the printed account.
type accountOutput struct {
	Address  types.Address  `json:"address"`
	Nonce    hexutil.Uint64 `json:"nonce"`
	Balance  *hexutil.U256  `json:"balance"`
	CodeHash types.Hash     `json:"codeHash"`
	Admin    types.Address  `json:"admin"`
	Height   hexutil.Uint64 `json:"height"`
	Verified *verifiedJSON  `json:"verified,omitempty"`
}

func (a *accountOutput) text(w io.Writer) {
	fmt.Fprintf(w, "address   %s\nnonce     %d\nbalance   %s\n", a.Address.Hex(), uint64(a.Nonce), (*uint256.Int)(a.Balance).Dec())
	if a.CodeHash != (types.Hash{}) {
		fmt.Fprintf(w, "code hash %s\n", a.CodeHash.Hex())
	}
	if a.Admin != (types.Address{}) {
		fmt.Fprintf(w, "admin     %s\n", a.Admin.Hex())
	}
	fmt.Fprintf(w, "height    %d\n", uint64(a.Height))
}

func accountShowAction(c *cli.Context) error {
	addr, height, err := addressAt(c, "want ADDRESS, or a subcommand: new, list, import")
	if err != nil {
		return err
	}
	vr, err := newVerifier(c)
	if err != nil {
		return err
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	if vr == nil {
		a, err := s.node.Account(s.ctx, addr, height)
		if err != nil {
			return s.wrap(err)
		}
		out := &accountOutput{Address: a.Address, Nonce: a.Nonce, Balance: a.Balance, CodeHash: a.CodeHash, Admin: a.Admin, Height: a.Height}
		return s.p.result(out, func(w io.Writer) { out.text(w) })
	}
	defer vr.close(s.ctx)
	raw, err := s.node.ProofBundle(s.ctx, addr, nil, height)
	if err != nil {
		return s.wrap(err)
	}
	ab, err := nodeBundle[*light.AccountBundle](vr, raw, "an account")
	if err != nil {
		return err
	}
	vr.use(s)
	v, err := vr.checker(s.ctx)
	if err != nil {
		return err
	}
	a, info, err := v.VerifyAccount(s.ctx, ab, addr)
	if err == nil {
		err = atHeight(info, height)
	}
	if err != nil {
		return fmt.Errorf("the node's answer does not verify: %w", vr.explain(err))
	}
	return vr.printAccount(a, info)
}

func (vr *verifier) printAccount(a *light.Account, info *light.Verified) error {
	vj, err := vr.accept(info, "account")
	if err != nil {
		return err
	}
	out := &accountOutput{Address: a.Address, Nonce: hexutil.Uint64(a.Nonce), Balance: (*hexutil.U256)(a.Balance),
		CodeHash: a.CodeHash, Admin: a.Admin, Height: hexutil.Uint64(info.Height), Verified: vj}
	return vr.p.result(out, func(w io.Writer) { out.text(w) })
}

func verifyAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want one FILE")
	}
	if err := checkOutMode(c); err != nil {
		return err
	}
	var rpcURL string
	if c.IsSet(rpcURLFlag.Name) {
		rpcURL = c.String(rpcURLFlag.Name)
	}
	vr, err := openVerifier(c, rpcURL)
	if err != nil {
		return err
	}
	defer vr.close(c.Context)
	raw, err := readLimited(c.Args().First(), light.MaxBundleSize)
	if err != nil {
		return err
	}
	b, err := light.Decode(raw)
	if err != nil {
		return fmt.Errorf("%s does not verify: %w", c.Args().First(), err)
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration(timeoutFlag.Name))
	defer cancel()
	v, err := vr.checker(ctx)
	if err != nil {
		return err
	}
	got, info, err := v.Verify(ctx, b)
	if err != nil {
		return fmt.Errorf("%s does not verify: %w", c.Args().First(), vr.explain(err))
	}
	if cb, ok := b.(*light.CallBundle); ok {
		// A saved call answer is only meaningful with its question: say which call it is.
		q := cb.Call
		vr.p.note("the bundle answers %s.%s(%s) from %s, value %s, gas %d", q.To.Hex(), q.Method, q.Args, q.From.Hex(),
			valueString(q.Value), uint64(q.Gas))
	}
	switch x := got.(type) {
	case *light.CallResult:
		return vr.printCall(x, info, func(w io.Writer, b []byte) error { return printOutput(c, w, b) })
	case *light.Account:
		return vr.printAccount(x, info)
	case *types.Receipt:
		vj, err := vr.accept(info, "receipt")
		if err != nil {
			return err
		}
		out := struct {
			TxHash   types.Hash     `json:"txHash"`
			Status   hexutil.Uint64 `json:"status"`
			GasUsed  hexutil.Uint64 `json:"gasUsed"`
			Output   hexutil.Bytes  `json:"output"`
			Error    string         `json:"error,omitempty"`
			Verified *verifiedJSON  `json:"verified"`
		}{x.TxHash, hexutil.Uint64(x.Status), hexutil.Uint64(x.GasUsed), nonNilHex(x.Output), x.Error, vj}
		var outErr error
		err = vr.p.result(out, func(w io.Writer) {
			fmt.Fprintf(w, "tx %s: status %d, gas used %d\n", x.TxHash.Hex(), x.Status, x.GasUsed)
			if x.Error != "" {
				fmt.Fprintf(w, "error: %s\n", x.Error)
			}
			outErr = printOutput(c, w, x.Output)
		})
		if err != nil {
			return err
		}
		return outErr
	}
	return fmt.Errorf("%s: unknown bundle %T", c.Args().First(), got)
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: no bundle is", path, limit)
	}
	return b, nil
}

// valueString formats a call's value, absent meaning zero.
func valueString(v *hexutil.U256) string {
	if v == nil {
		return "0"
	}
	return (*uint256.Int)(v).Dec()
}
