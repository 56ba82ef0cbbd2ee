package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/rpc/rpctypes"
)

var genesisCommand = &cli.Command{
	Name:  "genesis",
	Usage: "write, check and hash genesis files",
	Subcommands: []*cli.Command{
		{
			Name:      "new",
			Usage:     "write a genesis: validators (node pub keys, from `wnode init`) and funded accounts",
			ArgsUsage: " ",
			Flags:     genesisNewFlags,
			Action:    genesisNew,
		},
		{
			Name:      "validate",
			Usage:     "check a genesis file and print its hash",
			ArgsUsage: "FILE",
			Flags:     []cli.Flag{jsonFlag},
			Action:    genesisValidate,
		},
		{
			Name:      "hash",
			Usage:     "print the hash of a genesis file (nodes of one network have the same)",
			ArgsUsage: "FILE",
			Action: func(c *cli.Context) error {
				g, err := loadValidGenesis(c)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.App.Writer, g.Hash().Hex())
				return nil
			},
		},
	},
}

func loadValidGenesis(c *cli.Context) (*genesis.Genesis, error) {
	if c.NArg() != 1 {
		return nil, usagef("want one genesis FILE")
	}
	g, err := genesis.Load(c.Args().First())
	if err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

func genesisValidate(c *cli.Context) error {
	g, err := loadValidGenesis(c)
	if err != nil {
		return err
	}
	return newPrinter(c).result(map[string]any{"valid": true, "chainId": g.ChainID, "hash": g.Hash(), "validators": len(g.Validators)},
		func(w io.Writer) {
			fmt.Fprintf(w, "valid genesis of chain %d, %d validators, hash %s\n", g.ChainID, len(g.Validators), g.Hash().Hex())
		})
}

func genesisNew(c *cli.Context) error {
	g := &genesis.Genesis{
		ChainID: c.Uint64(genesisChainIDFlag.Name), GenesisTime: time.Now().UTC().Truncate(time.Second), Params: genesis.DefaultParams(),
	}
	for i, v := range c.StringSlice(genesisValidatorFlag.Name) {
		pubHex, powStr, hasPow := strings.Cut(v, ":")
		pub, err := hexutil.Decode(pubHex)
		if err != nil {
			return usagef("--validator %q: pub key: %v", v, err)
		}
		pk, err := crypto.DecompressPubkey(pub)
		if err != nil {
			return usagef("--validator %q: not a compressed secp256k1 public key: %v", v, err)
		}
		power := uint64(10)
		if hasPow {
			if power, err = strconv.ParseUint(powStr, 10, 64); err != nil {
				return usagef("--validator %q: power: %v", v, err)
			}
		}
		g.Validators = append(g.Validators, genesis.Validator{
			Address: crypto.PubkeyToAddress(*pk), PubKey: pub, Power: power, Name: fmt.Sprintf("validator-%d", i),
		})
	}
	for _, f := range c.StringSlice(genesisFundFlag.Name) {
		addrStr, amtStr, ok := strings.Cut(f, "=")
		if !ok {
			return usagef("--fund %q: want ADDRESS=AMOUNT", f)
		}
		addr, err := rpctypes.ParseAddress(addrStr)
		if err != nil {
			return usagef("--fund %q: %v", f, err)
		}
		amt, err := parseAmount(amtStr)
		if err != nil {
			return usagef("--fund %q: %v", f, err)
		}
		a, err := genesis.AmountFromBig(amt.ToBig())
		if err != nil {
			return err
		}
		g.Accounts = append(g.Accounts, genesis.Account{Address: addr, Balance: a})
	}
	if err := g.Validate(); err != nil {
		return err
	}
	data, err := g.Marshal()
	if err != nil {
		return err
	}
	if out := c.String(genesisOutFlag.Name); out != "" {
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s, chain %d, hash %s\n", out, g.ChainID, g.Hash().Hex())
		return nil
	}
	_, err = c.App.Writer.Write(append(data, '\n'))
	return err
}
