package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/urfave/cli/v2"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// validatorSendFlags are sendFlags without --value: validator transactions move no coin.
var validatorSendFlags = []cli.Flag{dataDirFlag, fromFlag, passwordFileFlag, gasFlag, gasPriceFlag, nonceFlag, outFlag}

var validatorCommand = &cli.Command{
	Name:  "validator",
	Usage: "change the validator set by vote of the validators, list the set and the open proposals",
	Description: "A validator proposes adding a validator, removing one or changing a power; the others vote;\n" +
		"a proposal passes with more than 2/3 of the power and takes effect two blocks later.\n" +
		"The sender is the node key of --datadir unless --from names another key.",
	Subcommands: []*cli.Command{
		{
			Name:  "propose",
			Usage: "propose a validator set change (as a validator) and wait for its receipt",
			Subcommands: []*cli.Command{
				{
					Name:      "add",
					Usage:     "propose adding a validator: its public key (`wnode init` prints it; the address is derived) and --power",
					ArgsUsage: "PUBKEY",
					Flags:     flags(clientFlags, validatorSendFlags, []cli.Flag{signerFlag, powerFlag}),
					Action:    proposeAddAction,
				},
				{
					Name:      "remove",
					Usage:     "propose removing a validator",
					ArgsUsage: "ADDRESS",
					Flags:     flags(clientFlags, validatorSendFlags, []cli.Flag{signerFlag}),
					Action:    proposeRemoveAction,
				},
				{
					Name:      "power",
					Usage:     "propose changing a validator's voting power",
					ArgsUsage: "ADDRESS POWER",
					Flags:     flags(clientFlags, validatorSendFlags, []cli.Flag{signerFlag}),
					Action:    proposePowerAction,
				},
			},
		},
		{
			Name:      "vote",
			Usage:     "vote (as a validator) for an open proposal and wait for the receipt",
			ArgsUsage: "ID",
			Flags:     flags(clientFlags, validatorSendFlags, []cli.Flag{signerFlag}),
			Action:    voteAction,
		},
		{
			Name:      "list",
			Usage:     "print the validator set of a height (default: the latest block's)",
			ArgsUsage: " ",
			Flags:     flags(clientFlags, []cli.Flag{heightFlag}),
			Action:    validatorListAction,
		},
		{
			Name:      "proposals",
			Usage:     "print the open proposals with their votes",
			ArgsUsage: " ",
			Flags:     clientFlags,
			Action:    proposalsAction,
		},
	},
}

func proposeAddAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want PUBKEY (33-byte compressed or 65-byte secp256k1 public key, 0x hex)")
	}
	b, err := hexutil.Decode(c.Args().Get(0))
	if err != nil {
		return usagef("PUBKEY: %v", err)
	}
	if !c.IsSet(powerFlag.Name) {
		return usagef("give the new validator's --power")
	}
	v, err := types.NewValidator(b, c.Uint64(powerFlag.Name))
	if err != nil {
		return usagef("PUBKEY: %v", err)
	}
	return propose(c, &types.ValidatorChange{Op: types.ValidatorAdd, Address: v.Address, PubKey: v.PubKey, Power: v.Power})
}

func proposeRemoveAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want ADDRESS")
	}
	addr, err := rpctypes.ParseAddress(c.Args().Get(0))
	if err != nil {
		return usagef("ADDRESS: %v", err)
	}
	return propose(c, &types.ValidatorChange{Op: types.ValidatorRemove, Address: addr})
}

func proposePowerAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("want ADDRESS POWER")
	}
	addr, err := rpctypes.ParseAddress(c.Args().Get(0))
	if err != nil {
		return usagef("ADDRESS: %v", err)
	}
	power, err := strconv.ParseUint(c.Args().Get(1), 10, 64)
	if err != nil {
		return usagef("POWER: %v", err)
	}
	return propose(c, &types.ValidatorChange{Op: types.ValidatorPower, Address: addr, Power: power})
}

// propose sends a validator change and prints the new proposal's id (and whether it
// passed at once).
func propose(c *cli.Context, ch *types.ValidatorChange) error {
	if err := ch.Check(); err != nil {
		return usagef("%v", err)
	}
	return sendValidatorTx(c, types.TxValidatorPropose, ch.Encode())
}

func voteAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want the proposal ID")
	}
	id, err := strconv.ParseUint(c.Args().Get(0), 10, 64)
	if err != nil || id == 0 {
		return usagef("ID: want a proposal id (1, 2, …; `wnode validator proposals` lists them)")
	}
	return sendValidatorTx(c, types.TxValidatorVote, (&types.ValidatorVote{ProposalID: id}).Encode())
}

// sendValidatorTx sends a validator tx signed by --from, by default the node key of
// --datadir, and prints what its events say.
func sendValidatorTx(c *cli.Context, kind types.TxKind, args []byte) error {
	if !c.IsSet(fromFlag.Name) {
		keyFile := filepath.Join(c.String(dataDirFlag.Name), node.NodeKeyFile)
		if _, err := os.Stat(keyFile); err == nil {
			if err := c.Set(fromFlag.Name, keyFile); err != nil {
				return err
			}
		}
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	return s.send(&client.TxRequest{Kind: kind, Args: args}, func(w io.Writer, r *rpctypes.ReceiptJSON) {
		for _, e := range r.Events {
			fmt.Fprintln(w, describeValidatorEvent(string(e.Topic), e.Data))
		}
	})
}

// describeValidatorEvent renders a validator event of a receipt as a line of text.
func describeValidatorEvent(topic string, data []byte) string {
	switch topic {
	case chain.TopicValidatorProposed:
		var ev struct {
			ID      uint64
			Op      uint8
			Address types.Address
			Power   uint64
			Expires uint64
		}
		if rlp.DecodeBytes(data, &ev) == nil {
			return fmt.Sprintf("proposal %d: %s %s power %d, open until height %d", ev.ID, types.ValidatorOp(ev.Op), ev.Address.Hex(), ev.Power, ev.Expires)
		}
	case chain.TopicValidatorVoted:
		var ev struct {
			ID    uint64
			Voter types.Address
			Power uint64
			Total uint64
		}
		if rlp.DecodeBytes(data, &ev) == nil {
			return fmt.Sprintf("proposal %d: vote of %s counted, %d of %d power (passes above 2/3)", ev.ID, ev.Voter.Hex(), ev.Power, ev.Total)
		}
	case chain.TopicValidatorPassed:
		var ev struct {
			ID, Effective uint64
			Hash          types.Hash
		}
		if rlp.DecodeBytes(data, &ev) == nil {
			return fmt.Sprintf("proposal %d passed: the new set %s signs from height %d", ev.ID, ev.Hash.Hex(), ev.Effective)
		}
	}
	return fmt.Sprintf("event %s %x", topic, data)
}

func validatorListAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("list takes no arguments (--height H)")
	}
	height, err := parseHeight(c.String(heightFlag.Name))
	if err != nil {
		return err
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	vs, err := s.node.Validators(s.ctx, height)
	if err != nil {
		return s.wrap(err)
	}
	return s.p.result(vs, func(w io.Writer) {
		var total uint64
		for _, v := range vs.Validators {
			total += uint64(v.Power)
		}
		fmt.Fprintf(w, "height %d: %d validators, power %d, hash %s\n", uint64(vs.Height), len(vs.Validators), total, vs.Hash.Hex())
		for _, v := range vs.Validators {
			fmt.Fprintf(w, "%s  power %-6d  %s\n", v.Address.Hex(), uint64(v.Power), hexutil.Encode(v.PubKey))
		}
	})
}

func proposalsAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("proposals takes no arguments")
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	ps, err := s.node.ValidatorProposals(s.ctx)
	if err != nil {
		return s.wrap(err)
	}
	return s.p.result(ps, func(w io.Writer) {
		if len(ps) == 0 {
			fmt.Fprintln(w, "no open proposals")
		}
		for _, p := range ps {
			fmt.Fprintf(w, "%d  %s %s", uint64(p.ID), p.Op, p.Address.Hex())
			if p.Op != types.ValidatorRemove.String() {
				fmt.Fprintf(w, " power %d", uint64(p.Power))
			}
			fmt.Fprintf(w, "  by %s at %d, open until %d, votes %d (%d of %d power)\n", p.Proposer.Hex(), uint64(p.Height),
				uint64(p.Expires), len(p.Voters), uint64(p.VotedPower), uint64(p.TotalPower))
		}
	})
}
