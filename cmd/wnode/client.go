package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

var (
	transferCommand = &cli.Command{
		Name:      "transfer",
		Usage:     "send native coin to an address and wait for the receipt",
		ArgsUsage: "TO AMOUNT",
		Flags:     flags(clientFlags, sendFlags, []cli.Flag{signerFlag}),
		Action:    transferAction,
	}
	deployCommand = &cli.Command{
		Name:      "deploy",
		Usage:     "deploy a contract (raw or gzipped Wasm; in a project, its build) and wait for its address",
		ArgsUsage: "[FILE.wasm]",
		Flags:     flags(clientFlags, sendFlags, []cli.Flag{deployArgsFlag}, argsFlags, []cli.Flag{signerFlag}),
		Action:    deployAction,
	}
	invokeCommand = &cli.Command{
		Name:      "invoke",
		Usage:     "invoke a contract's method in a transaction, wait for the receipt, print the output",
		ArgsUsage: "ADDRESS METHOD [ARGS]",
		Flags:     flags(clientFlags, sendFlags, argsFlags, []cli.Flag{signerFlag}, verifyFlags),
		Action:    invokeAction,
	}
	callCommand = &cli.Command{
		Name:      "call",
		Usage:     "call a contract's method read-only (no transaction, no fee) and print the output",
		ArgsUsage: "ADDRESS METHOD [ARGS]",
		Flags:     flags(clientFlags, argsFlags, []cli.Flag{fromFlag, valueFlag, gasFlag, heightFlag, outFlag, signerFlag}, verifyFlags),
		Action:    callAction,
	}
	upgradeCommand = &cli.Command{
		Name:      "upgrade",
		Usage:     "replace a contract's code in place, keeping its storage and address (admin only)",
		ArgsUsage: "ADDRESS FILE.wasm",
		Flags:     flags(clientFlags, sendFlags, []cli.Flag{signerFlag}),
		Action:    upgradeAction,
	}
	receiptCommand = &cli.Command{
		Name:      "receipt",
		Usage:     "print a transaction's receipt and check the node's signature on it",
		ArgsUsage: "TXHASH",
		Flags:     flags(clientFlags, []cli.Flag{outFlag, signerFlag}),
		Action:    receiptAction,
	}
	blockCommand = &cli.Command{
		Name:      "block",
		Usage:     "print a block (the latest by default)",
		ArgsUsage: "[HEIGHT|HASH|latest]",
		Flags:     flags(clientFlags, []cli.Flag{fullFlag}),
		Action:    blockAction,
	}
	statusCommand = &cli.Command{
		Name:      "status",
		Usage:     "print the node's chain, head block and peers",
		ArgsUsage: " ",
		Flags:     clientFlags,
		Action:    statusAction,
	}
)

// session is a client command's connection and deadline.
type session struct {
	c      *cli.Context
	p      *printer
	node   *client.Client
	ctx    context.Context
	cancel context.CancelFunc
	// check, when set (--verify), verifies a receipt before send prints it.
	check func(r *rpctypes.ReceiptJSON) error
}

func dial(c *cli.Context) (*session, error) {
	ctx, cancel := context.WithTimeout(c.Context, c.Duration(timeoutFlag.Name))
	s := &session{c: c, p: newPrinter(c), ctx: ctx, cancel: cancel}
	cl, err := client.Dial(ctx, c.String(rpcURLFlag.Name))
	if err != nil {
		cancel()
		return nil, s.wrap(err)
	}
	s.node = cl
	return s, nil
}

func (s *session) close() {
	s.node.Close()
	s.cancel()
}

// wrap turns a timed-out context into a clear message that names --timeout.
func (s *session) wrap(err error) error {
	switch {
	case err == nil || s.ctx.Err() == nil:
		return err
	case errors.Is(err, client.ErrTimeout): // already says how long it waited, and for which URL
		return fmt.Errorf("%w (--timeout %s)", err, s.c.Duration(timeoutFlag.Name))
	}
	return fmt.Errorf("timed out after %s (--timeout): %w", s.c.Duration(timeoutFlag.Name), err)
}

// checkSigner enforces --signer on a signed answer.
func checkSigner(c *cli.Context, signer types.Address) error {
	want := c.String(signerFlag.Name)
	if want == "" {
		return nil
	}
	addr, err := rpctypes.ParseAddress(want)
	if err != nil {
		return usagef("--signer: %v", err)
	}
	if addr != signer {
		return fmt.Errorf("answer signed by %s, not by --signer %s", signer.Hex(), addr.Hex())
	}
	return nil
}

// argBytes returns a call's argument bytes: the positional ARGS as UTF-8 text (or hex
// with --hex), or the content of --args-file.
func argBytes(c *cli.Context, args []string) ([]byte, error) {
	file := c.String(argsFileFlag.Name)
	switch {
	case file != "" && len(args) > 0:
		return nil, usagef("give the arguments either as ARGS or with --args-file, not both")
	case len(args) > 1:
		return nil, usagef("too many arguments: quote ARGS to pass text with spaces")
	case file == "-":
		return readAllLimited(c.App.Reader, types.MaxArgsSize, "standard input")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--args-file: %w", err)
		}
		defer f.Close()
		return readAllLimited(f, types.MaxArgsSize, file)
	case len(args) == 0:
		return nil, nil
	case c.Bool(hexFlag.Name):
		return decodeHex(args[0])
	}
	return []byte(args[0]), nil
}

func decodeHex(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		s = "0x" + s
	}
	if s == "0x" {
		return nil, nil
	}
	b, err := hexutil.Decode(s)
	if err != nil {
		return nil, usagef("--hex: %q is not hex bytes: %v", s, err)
	}
	return b, nil
}

// readCode reads a contract file.
func readCode(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read contract: %w", err)
	}
	defer f.Close()
	b, err := readAllLimited(f, types.MaxCodeSize, path)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("contract %s is empty", path)
	}
	return b, nil
}

// txResult is the JSON result of a command that sent a transaction.
type txResult struct {
	*rpctypes.ReceiptJSON
	From       types.Address `json:"from"`
	Nonce      uint64        `json:"nonce"`
	OutputText *string       `json:"outputText,omitempty"`
}

// send fills in req from the flags, signs it with the sender, sends it, waits for the
// receipt, checks its signature, and prints the result. A failed receipt is an error.
func (s *session) send(req *client.TxRequest, text func(w io.Writer, r *rpctypes.ReceiptJSON)) error {
	c := s.c
	chainID, err := s.node.ChainID(s.ctx)
	if err != nil {
		return s.wrap(err)
	}
	req.ChainID = chainID
	key, err := sender(c, s.p, chainID)
	if err != nil {
		return err
	}
	if v := c.String(valueFlag.Name); v != "" {
		if req.Value, err = parseAmount(v); err != nil {
			return usagef("--value: %v", err)
		}
	}
	if v := c.String(gasPriceFlag.Name); v != "" {
		if req.GasPrice, err = parseAmount(v); err != nil {
			return usagef("--gas-price: %v", err)
		}
	}
	if c.IsSet(nonceFlag.Name) {
		n := c.Uint64(nonceFlag.Name)
		req.Nonce = &n
	}
	req.GasLimit = c.Uint64(gasFlag.Name)
	tx, err := s.node.BuildTx(s.ctx, key, req)
	if err != nil {
		if client.ErrorCode(err) == rpctypes.CodeExecutionFailed {
			return fmt.Errorf("the transaction would fail, not sent: %w (give --gas to send it anyway)", err)
		}
		return s.wrap(err)
	}
	if _, err := s.node.SendTransaction(s.ctx, tx); err != nil {
		return s.wrap(err)
	}
	s.p.note("sent tx %s, waiting for its receipt", tx.Hash().Hex())
	r, err := s.node.WaitReceipt(s.ctx, tx.Hash())
	if err != nil {
		return s.wrap(err)
	}
	if err := client.VerifyReceipt(r); err != nil {
		return err
	}
	if err := checkSigner(c, r.Signer); err != nil {
		return err
	}
	if s.check != nil {
		if err := s.check(r); err != nil {
			return err
		}
	}
	from, _ := tx.Sender()
	res := &txResult{ReceiptJSON: r, From: from, Nonce: tx.Nonce, OutputText: textOrNil(r.Output)}
	if uint64(r.Status) != types.ReceiptSuccess {
		if s.p.json {
			s.p.result(res, nil)
		}
		return fmt.Errorf("tx %s failed in block %d: %s (gas used %d)", r.TxHash.Hex(), uint64(r.Height), r.Error, uint64(r.GasUsed))
	}
	s.p.note("included in block %d, gas used %d, receipt signed by %s", uint64(r.Height), uint64(r.GasUsed), r.Signer.Hex())
	return s.p.result(res, func(w io.Writer) { text(w, r) })
}

// methodMeta returns the method's metadata from the node (wn_getContract), unless the
// user chose the encodings (--hex, --args-file, --out); ok is false without metadata.
func (s *session) methodMeta(to types.Address, method string) (metadata.Method, bool) {
	c := s.c
	if c.Bool(hexFlag.Name) || c.String(argsFileFlag.Name) != "" || c.IsSet(outFlag.Name) {
		return metadata.Method{}, false
	}
	ct, err := s.node.Contract(s.ctx, to, rpctypes.LatestBlock)
	if err != nil || ct == nil {
		return metadata.Method{}, false // an older node, or no contract: the call will say
	}
	return ct.Metadata.Method(method)
}

// metaArgs parses the positional ARGS in the method's declared input format.
func metaArgs(m metadata.Method, positional []string) ([]byte, error) {
	if len(positional) == 0 {
		if m.Input == metadata.None || m.Input == metadata.Bytes || m.Input == metadata.Text {
			return nil, nil
		}
		return nil, usagef("method %s takes an argument (format %s)", m.Name, m.Input)
	}
	b, err := metadata.ParseArg(m.Input, positional[0])
	if err != nil {
		return nil, usagef("ARGS of %s (format %s): %v", m.Name, m.Input, err)
	}
	return b, nil
}

// printResult prints a contract's output in the method's declared output format, or per
// --out without metadata.
func (s *session) printResult(w io.Writer, b []byte, m metadata.Method, hasMeta bool) error {
	if !hasMeta {
		return printOutput(s.c, w, b)
	}
	out, err := metadata.FormatOutput(m.Output, b)
	if err != nil {
		s.p.note("the contract's metadata does not fit its output: %v", err)
		return printOutput(s.c, w, b)
	}
	if out != "" {
		fmt.Fprintln(w, out)
	}
	return nil
}

// printOutput prints a contract's output per --out (nothing for an empty output).
func printOutput(c *cli.Context, w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	s, err := formatOutput(b, c.String(outFlag.Name))
	if err != nil {
		return err
	}
	fmt.Fprintln(w, s)
	return nil
}

func transferAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("want TO AMOUNT")
	}
	to, err := rpctypes.ParseAddress(c.Args().Get(0))
	if err != nil {
		return usagef("TO: %v", err)
	}
	amount, err := parseAmount(c.Args().Get(1))
	if err != nil {
		return usagef("AMOUNT: %v", err)
	}
	if c.IsSet(valueFlag.Name) {
		return usagef("transfer takes the AMOUNT as argument, not --value")
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	return s.send(&client.TxRequest{Kind: types.TxTransfer, To: to, Value: amount}, func(w io.Writer, r *rpctypes.ReceiptJSON) {
		fmt.Fprintln(w, r.TxHash.Hex())
	})
}

func deployAction(c *cli.Context) error {
	var file string
	switch c.NArg() {
	case 0:
		var err error
		if file, err = projectWasm(); err != nil {
			return err
		}
	case 1:
		file = c.Args().First()
	default:
		return usagef("want one FILE.wasm (or none in a project)")
	}
	code, err := readCode(file)
	if err != nil {
		return err
	}
	var initArgs []string
	if c.IsSet(deployArgsFlag.Name) {
		initArgs = []string{c.String(deployArgsFlag.Name)}
	}
	args, err := argBytes(c, initArgs)
	if err != nil {
		return err
	}
	// --args in the format init declares in the code's metadata, unless --hex.
	if data, _ := metadata.Find(code); data != nil && len(initArgs) == 1 && !c.Bool(hexFlag.Name) {
		if md, err := metadata.Parse(data); err == nil {
			if m, ok := md.Method("init"); ok {
				if args, err = metadata.ParseArg(m.Input, initArgs[0]); err != nil {
					return usagef("--args of init (format %s): %v", m.Input, err)
				}
			}
		}
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	return s.send(&client.TxRequest{Kind: types.TxDeploy, Code: code, Args: args}, func(w io.Writer, r *rpctypes.ReceiptJSON) {
		fmt.Fprintln(w, r.ContractAddress.Hex())
	})
}

func invokeAction(c *cli.Context) error {
	if c.NArg() < 2 {
		return usagef("want ADDRESS METHOD [ARGS]")
	}
	to, err := rpctypes.ParseAddress(c.Args().Get(0))
	if err != nil {
		return usagef("ADDRESS: %v", err)
	}
	method := c.Args().Get(1)
	args, err := argBytes(c, c.Args().Slice()[2:])
	if err != nil {
		return err
	}
	if err := checkOutMode(c); err != nil {
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
	meta, hasMeta := s.methodMeta(to, method)
	if hasMeta {
		if args, err = metaArgs(meta, c.Args().Slice()[2:]); err != nil {
			return err
		}
	}
	if vr != nil {
		defer vr.close(s.ctx)
		s.check = func(r *rpctypes.ReceiptJSON) error { return vr.receipt(s, r) }
	}
	var outErr error
	err = s.send(&client.TxRequest{Kind: types.TxInvoke, To: to, Method: method, Args: args}, func(w io.Writer, r *rpctypes.ReceiptJSON) {
		outErr = s.printResult(w, r.Output, meta, hasMeta)
	})
	if err != nil {
		return err
	}
	return outErr
}

func upgradeAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("want ADDRESS FILE.wasm")
	}
	to, err := rpctypes.ParseAddress(c.Args().Get(0))
	if err != nil {
		return usagef("ADDRESS: %v", err)
	}
	code, err := readCode(c.Args().Get(1))
	if err != nil {
		return err
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	return s.send(&client.TxRequest{Kind: types.TxUpgrade, To: to, Code: code}, func(w io.Writer, r *rpctypes.ReceiptJSON) {
		fmt.Fprintln(w, to.Hex())
	})
}

// parseHeight parses --height or a block argument: "latest" or a decimal or hex number.
func parseHeight(s string) (rpctypes.BlockNumber, error) {
	if s == "" || strings.EqualFold(s, "latest") {
		return rpctypes.LatestBlock, nil
	}
	var n rpctypes.BlockNumber
	if err := json.Unmarshal([]byte(strconv.Quote(s)), &n); err == nil {
		return n, nil
	}
	v, err := strconv.ParseUint(s, 10, 62)
	if err != nil {
		return 0, usagef("height %q: want latest or a number", s)
	}
	return rpctypes.BlockNumber(v), nil
}

func callAction(c *cli.Context) error {
	if c.NArg() < 2 {
		return usagef("want ADDRESS METHOD [ARGS]")
	}
	to, err := rpctypes.ParseAddress(c.Args().Get(0))
	if err != nil {
		return usagef("ADDRESS: %v", err)
	}
	args := rpctypes.CallArgs{To: &to, Method: c.Args().Get(1)}
	if args.Args, err = argBytes(c, c.Args().Slice()[2:]); err != nil {
		return err
	}
	if f := c.String(fromFlag.Name); f != "" {
		from, err := rpctypes.ParseAddress(f)
		if err != nil {
			return usagef("--from: %v (a call needs an address, no key)", err)
		}
		args.From = &from
	}
	if v := c.String(valueFlag.Name); v != "" {
		val, err := parseAmount(v)
		if err != nil {
			return usagef("--value: %v", err)
		}
		args.Value = (*hexutil.U256)(val)
	}
	if c.IsSet(gasFlag.Name) {
		g := hexutil.Uint64(c.Uint64(gasFlag.Name))
		args.Gas = &g
	}
	height, err := parseHeight(c.String(heightFlag.Name))
	if err != nil {
		return err
	}
	if err := checkOutMode(c); err != nil {
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
	meta, hasMeta := s.methodMeta(to, args.Method)
	if hasMeta && meta.Kind == metadata.Change {
		s.p.note("%s is a change method: a call runs it read-only and discards its changes (wnode invoke sends it)", meta.Name)
	}
	if hasMeta {
		if args.Args, err = metaArgs(meta, c.Args().Slice()[2:]); err != nil {
			return err
		}
	}
	if vr != nil {
		defer vr.close(s.ctx)
		return vr.call(s, args, height, func(w io.Writer, b []byte) error { return s.printResult(w, b, meta, hasMeta) })
	}
	res, err := s.node.Call(s.ctx, args, height)
	if err != nil {
		return s.wrap(err)
	}
	if err := checkSigner(c, res.Signer); err != nil {
		return err
	}
	out := struct {
		*rpctypes.CallResultJSON
		OutputText *string `json:"outputText,omitempty"`
	}{res, textOrNil(res.Output)}
	var outErr error
	err = s.p.result(out, func(w io.Writer) { outErr = s.printResult(w, res.Output, meta, hasMeta) })
	if err != nil {
		return err
	}
	return outErr
}

func receiptAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want one TXHASH")
	}
	hb, err := hexutil.Decode(c.Args().First())
	if err != nil || len(hb) != 32 {
		return usagef("TXHASH %q: want 0x and 64 hex digits", c.Args().First())
	}
	h := types.Hash(hb)
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	r, err := s.node.Receipt(s.ctx, h)
	if err != nil {
		return s.wrap(err)
	}
	if r == nil {
		tx, err := s.node.Transaction(s.ctx, h)
		if err != nil {
			return s.wrap(err)
		}
		if tx != nil {
			return fmt.Errorf("tx %s is pending: no receipt yet", h.Hex())
		}
		return fmt.Errorf("no transaction %s on this node", h.Hex())
	}
	if err := client.VerifyReceipt(r); err != nil {
		return err
	}
	if err := checkSigner(c, r.Signer); err != nil {
		return err
	}
	res := &txResult{ReceiptJSON: r, OutputText: textOrNil(r.Output)}
	if tx, err := s.node.Transaction(s.ctx, h); err == nil && tx != nil && tx.From != nil {
		res.From, res.Nonce = *tx.From, uint64(tx.Nonce)
	}
	var outErr error
	err = s.p.result(res, func(w io.Writer) {
		status := "success"
		if uint64(r.Status) != types.ReceiptSuccess {
			status = "failed: " + r.Error
		}
		fmt.Fprintf(w, "tx          %s\nstatus      %s\nblock       %d (%s), index %d\nfrom        %s\ngas used    %d\n",
			r.TxHash.Hex(), status, uint64(r.Height), r.BlockHash.Hex(), uint64(r.Index), res.From.Hex(), uint64(r.GasUsed))
		if r.ContractAddress != nil {
			fmt.Fprintf(w, "contract    %s\n", r.ContractAddress.Hex())
		}
		if len(r.Output) > 0 {
			o, err := formatOutput(r.Output, c.String(outFlag.Name))
			if err != nil {
				outErr = err
			}
			fmt.Fprintf(w, "output      %s\n", o)
		}
		for i, e := range r.Events {
			topic := hexutil.Encode(e.Topic)
			if printable(e.Topic) {
				topic = string(e.Topic)
			}
			fmt.Fprintf(w, "event %-5d %s %s %s\n", i, e.Contract.Hex(), topic, hexutil.Encode(e.Data))
		}
		fmt.Fprintf(w, "signed by   %s (verified)\n", r.Signer.Hex())
	})
	if err != nil {
		return err
	}
	return outErr
}

func blockAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return usagef("want at most one HEIGHT or HASH")
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	full := c.Bool(fullFlag.Name)
	arg := c.Args().First()
	var b *client.BlockResult
	if len(arg) == 66 && strings.HasPrefix(arg, "0x") {
		hb, err := hexutil.Decode(arg)
		if err != nil {
			return usagef("block hash %q: %v", arg, err)
		}
		b, err = s.node.BlockByHash(s.ctx, types.Hash(hb), full)
		if err != nil {
			return s.wrap(err)
		}
	} else {
		height, err := parseHeight(arg)
		if err != nil {
			return err
		}
		if b, err = s.node.Block(s.ctx, height, full); err != nil {
			return s.wrap(err)
		}
	}
	if b == nil {
		return fmt.Errorf("no block %s on this node", arg)
	}
	var v any = b.HeaderJSON
	if full {
		v = struct {
			rpctypes.HeaderJSON
			Transactions []*rpctypes.TxJSON `json:"transactions"`
		}{b.HeaderJSON, b.Txs}
	} else {
		hashes := b.TxHashes
		if hashes == nil {
			hashes = []types.Hash{}
		}
		v = struct {
			rpctypes.HeaderJSON
			Transactions []types.Hash `json:"transactions"`
		}{b.HeaderJSON, hashes}
	}
	return s.p.result(v, func(w io.Writer) {
		h := b.HeaderJSON
		fmt.Fprintf(w, "block       %d\nhash        %s\nparent      %s\ntime        %d (unix ms)\nproposer    %s\nstate root  %s\ntxs         %d\n",
			uint64(h.Height), h.Hash.Hex(), h.ParentHash.Hex(), uint64(h.Time), h.Proposer.Hex(), h.StateRoot.Hex(), len(b.TxHashes))
		for i, t := range b.TxHashes {
			line := fmt.Sprintf("  %d %s", i, t.Hex())
			if full {
				tx := b.Txs[i]
				line += " " + tx.Kind
				if tx.Method != "" {
					line += " " + tx.Method
				}
			}
			fmt.Fprintln(w, line)
		}
	})
}

func statusAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("status takes no arguments")
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	info, err := s.node.NodeInfo(s.ctx)
	if err != nil {
		return s.wrap(err)
	}
	return s.p.result(info, func(w io.Writer) {
		kind := "network"
		if info.Dev {
			kind = "dev"
		}
		fmt.Fprintf(w, "node        %s (%s)\nchain       %d (%s)\ngenesis     %s\nheight      %d\nhead        %s\npeers       %d\nvalidator   %v\ngas price   %s (minimum)\n",
			info.Signer.Hex(), info.Name, uint64(info.ChainID), kind, info.GenesisHash.Hex(), uint64(info.Height), info.HeadHash.Hex(),
			uint64(info.Peers), info.Validator, (*uint256.Int)(info.GasPrice).Dec())
		if info.PeerID != "" {
			fmt.Fprintf(w, "peer id     %s\n", info.PeerID)
		}
	})
}
