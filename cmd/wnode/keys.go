package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
	"golang.org/x/term"
)

// keystoreDir is the keystore of the data dir given by --datadir.
func keystoreDir(c *cli.Context) string {
	return filepath.Join(c.String(dataDirFlag.Name), node.KeystoreDir)
}

// sender resolves --from into a private key for a chain:
//
//   - none: the dev account on a dev chain, an error elsewhere;
//   - "dev": the dev account (dev chains only);
//   - an address: that account of the keystore, decrypted with the password;
//   - a path: a keystore JSON file (decrypted with the password) or a hex key file.
//
// The public dev key is refused on any chain that is not a dev chain.
func sender(c *cli.Context, p *printer, chainID uint64) (*ecdsa.PrivateKey, error) {
	from := strings.TrimSpace(c.String(fromFlag.Name))
	var key *ecdsa.PrivateKey
	switch {
	case from == "" || strings.EqualFold(from, "dev"):
		if !genesis.IsDevChain(chainID) {
			if from == "" {
				return nil, usagef("no --from given: on chain %d give an account of the keystore (`wnode account list`) or a key file", chainID)
			}
			return nil, fmt.Errorf("refusing the public dev key on chain %d: it is for dev chains (id %d) only", chainID, genesis.DevChainID)
		}
		if from == "" {
			p.note("from: dev account %s (dev chain %d)", genesis.DevAddress.Hex(), chainID)
		}
		return genesis.DevKey(), nil
	case strings.HasPrefix(from, "0x") || strings.HasPrefix(from, "0X"):
		addr, err := rpctypes.ParseAddress(from)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		if key, err = keystoreKey(c, addr); err != nil {
			return nil, err
		}
	default:
		var err error
		if key, err = keyFile(c, from); err != nil {
			return nil, err
		}
	}
	if crypto.PubkeyToAddress(key.PublicKey) == genesis.DevAddress && !genesis.IsDevChain(chainID) {
		return nil, fmt.Errorf("refusing the public dev key on chain %d: it is for dev chains (id %d) only", chainID, genesis.DevChainID)
	}
	return key, nil
}

// keystoreKey finds addr in the keystore and decrypts its key.
func keystoreKey(c *cli.Context, addr types.Address) (*ecdsa.PrivateKey, error) {
	dir := keystoreDir(c)
	ks := keystore.NewKeyStore(dir, keystore.StandardScryptN, keystore.StandardScryptP)
	acc, err := ks.Find(accounts.Account{Address: addr})
	if err != nil {
		return nil, fmt.Errorf("--from %s: no such account in %s (see `wnode account list`, or give a key file)", addr.Hex(), dir)
	}
	data, err := os.ReadFile(acc.URL.Path)
	if err != nil {
		return nil, fmt.Errorf("read key of %s: %w", addr.Hex(), err)
	}
	return decryptKey(c, data, addr.Hex())
}

// keyFile reads a key file: keystore JSON or a hex private key.
func keyFile(c *cli.Context, path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--from: %w (want an address of the keystore or a key file)", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		return decryptKey(c, data, path)
	}
	k, err := crypto.HexToECDSA(strings.TrimPrefix(string(data), "0x"))
	if err != nil {
		return nil, fmt.Errorf("key file %s: not a keystore file nor a hex private key: %v", path, err)
	}
	return k, nil
}

func decryptKey(c *cli.Context, data []byte, what string) (*ecdsa.PrivateKey, error) {
	pass, err := password(c, "Password for "+what+": ", false)
	if err != nil {
		return nil, err
	}
	k, err := keystore.DecryptKey(data, pass)
	if errors.Is(err, keystore.ErrDecrypt) {
		return nil, fmt.Errorf("wrong password for %s", what)
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt key %s: %w", what, err)
	}
	return k.PrivateKey, nil
}

// password returns the keystore password from --password-file, WNODE_PASSWORD or a
// terminal prompt (twice when confirm is set).
func password(c *cli.Context, prompt string, confirm bool) (string, error) {
	if f := c.String(passwordFileFlag.Name); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	if p, ok := os.LookupEnv("WNODE_PASSWORD"); ok {
		return p, nil
	}
	in, ok := c.App.Reader.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", usagef("a password is needed: give --password-file FILE or set WNODE_PASSWORD")
	}
	read := func(p string) (string, error) {
		fmt.Fprint(c.App.ErrWriter, p)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(c.App.ErrWriter)
		return string(b), err
	}
	pass, err := read(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if confirm {
		again, err := read("Repeat password: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if again != pass {
			return "", errors.New("passwords do not match")
		}
	}
	return pass, nil
}

// readAllLimited reads r up to limit bytes, failing beyond.
func readAllLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, limit)
	}
	return b, nil
}
