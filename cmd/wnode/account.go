package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/genesis"
)

var accountCommand = &cli.Command{
	Name:      "account",
	Usage:     "print an account (ADDRESS, with --verify proven), or manage the keystore's accounts (<datadir>/keystore)",
	ArgsUsage: "ADDRESS",
	Flags:     flags(clientFlags, []cli.Flag{heightFlag}, verifyFlags),
	Action:    accountShowAction,
	Subcommands: []*cli.Command{
		{
			Name:      "new",
			Usage:     "create an account: a new key, encrypted with a password",
			ArgsUsage: " ",
			Flags:     []cli.Flag{dataDirFlag, passwordFileFlag, lightKDFFlag, jsonFlag},
			Action:    accountNew,
		},
		{
			Name:      "list",
			Usage:     "list the accounts of the keystore",
			ArgsUsage: " ",
			Flags:     []cli.Flag{dataDirFlag, jsonFlag},
			Action:    accountList,
		},
		{
			Name:      "import",
			Usage:     "import a hex private key from KEYFILE, encrypted with a password",
			ArgsUsage: "KEYFILE",
			Flags:     []cli.Flag{dataDirFlag, passwordFileFlag, lightKDFFlag, jsonFlag},
			Action:    accountImport,
		},
	},
}

func openKeystore(c *cli.Context) *keystore.KeyStore {
	n, p := keystore.StandardScryptN, keystore.StandardScryptP
	if c.Bool(lightKDFFlag.Name) {
		n, p = keystore.LightScryptN, keystore.LightScryptP
	}
	return keystore.NewKeyStore(keystoreDir(c), n, p)
}

func accountNew(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("account new takes no arguments")
	}
	p := newPrinter(c)
	pass, err := password(c, "Password for the new account: ", true)
	if err != nil {
		return err
	}
	acc, err := openKeystore(c).NewAccount(pass)
	if err != nil {
		return fmt.Errorf("new account: %w", err)
	}
	return p.result(map[string]any{"address": acc.Address, "file": acc.URL.Path}, func(w io.Writer) {
		fmt.Fprintln(w, acc.Address.Hex())
		p.note("key file %s (keep it and its password: without both the account is lost)", acc.URL.Path)
	})
}

func accountList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("account list takes no arguments")
	}
	p := newPrinter(c)
	dir := keystoreDir(c)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		p.note("no keystore in %s (create an account with `wnode account new`)", dir)
	}
	type entry struct {
		Address string `json:"address"`
		File    string `json:"file"`
		Dev     bool   `json:"dev"`
	}
	list := []entry{}
	for _, a := range openKeystore(c).Accounts() {
		list = append(list, entry{Address: a.Address.Hex(), File: a.URL.Path, Dev: a.Address == genesis.DevAddress})
	}
	return p.result(list, func(w io.Writer) {
		for _, e := range list {
			if e.Dev {
				fmt.Fprintf(w, "%s  %s  (public dev key)\n", e.Address, e.File)
			} else {
				fmt.Fprintf(w, "%s  %s\n", e.Address, e.File)
			}
		}
	})
}

func accountImport(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want one KEYFILE (a hex private key)")
	}
	p := newPrinter(c)
	key, err := keyFile(c, c.Args().First())
	if err != nil {
		return err
	}
	pass, err := password(c, "Password for the imported account: ", true)
	if err != nil {
		return err
	}
	acc, err := openKeystore(c).ImportECDSA(key, pass)
	if errors.Is(err, keystore.ErrAccountAlreadyExists) {
		return fmt.Errorf("account %s is already in the keystore", crypto.PubkeyToAddress(key.PublicKey).Hex())
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return p.result(map[string]any{"address": acc.Address, "file": acc.URL.Path}, func(w io.Writer) {
		fmt.Fprintln(w, acc.Address.Hex())
		p.note("key file %s", acc.URL.Path)
	})
}
