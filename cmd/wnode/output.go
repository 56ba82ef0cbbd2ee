package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v2"
)

// printer writes a command's result: JSON with --json, text otherwise. Results go to
// stdout; narration (what happened, for people) goes to stderr and is left out with
// --json, so `x=$(wnode call …)` captures just the result.
type printer struct {
	json   bool
	stdout io.Writer
	stderr io.Writer
}

func newPrinter(c *cli.Context) *printer {
	return &printer{json: c.Bool(jsonFlag.Name), stdout: c.App.Writer, stderr: c.App.ErrWriter}
}

// result prints v as JSON (--json) or calls text.
func (p *printer) result(v any, text func(w io.Writer)) error {
	if p.json {
		enc := json.NewEncoder(p.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(p.stdout)
	return nil
}

// note prints a line of narration to stderr (not with --json).
func (p *printer) note(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.stderr, format+"\n", args...)
	}
}

// formatOutput renders a contract's output bytes as --out asks.
func formatOutput(b []byte, mode string) (string, error) {
	switch mode {
	case "", "auto":
		if printable(b) {
			return string(b), nil
		}
		return hexutil.Encode(b), nil
	case "text":
		return string(b), nil
	case "hex":
		return hexutil.Encode(b), nil
	case "u64":
		if len(b) != 8 {
			return "", fmt.Errorf("--out u64: output is %d bytes, not 8 (%s)", len(b), hexutil.Encode(b))
		}
		return fmt.Sprint(binary.BigEndian.Uint64(b)), nil
	}
	return "", usagef("--out %q: want auto, text, hex or u64", mode)
}

// checkOutMode checks --out before anything is sent.
func checkOutMode(c *cli.Context) error {
	switch m := c.String(outFlag.Name); m {
	case "", "auto", "text", "hex", "u64":
		return nil
	default:
		return usagef("--out %q: want auto, text, hex or u64", m)
	}
}

// printable reports whether b is UTF-8 text without control characters (but newlines
// and tabs).
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// textOrNil returns b as a string when it is printable text, for the "outputText"
// field of JSON results.
func textOrNil(b []byte) *string {
	if len(b) == 0 || !printable(b) {
		return nil
	}
	s := string(b)
	return &s
}

// parseAmount parses an amount of base units: a decimal integer, 0x hex, or
// scientific notation with an integer result ("1e18", "2.5e18").
func parseAmount(s string) (*uint256.Int, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	if s == "" {
		return nil, fmt.Errorf("empty amount")
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := uint256.FromHex(s)
		if err != nil {
			return nil, fmt.Errorf("amount %q: %v", s, err)
		}
		return v, nil
	}
	if strings.ContainsAny(s, "eE") {
		f, ok := new(big.Float).SetPrec(512).SetString(s)
		if !ok || f.Sign() < 0 {
			return nil, fmt.Errorf("amount %q: not a non-negative number", s)
		}
		i, acc := f.Int(nil)
		if acc != big.Exact {
			return nil, fmt.Errorf("amount %q: not a whole number of base units", s)
		}
		v, overflow := uint256.FromBig(i)
		if overflow {
			return nil, fmt.Errorf("amount %q: larger than 2^256-1", s)
		}
		return v, nil
	}
	v, err := uint256.FromDecimal(s)
	if err != nil {
		return nil, fmt.Errorf("amount %q: want a non-negative integer (e.g. 1000, 1e18, 0x3e8): %v", s, err)
	}
	return v, nil
}
