package ui

import (
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// shown is a byte string as a page shows it: as text when it is printable UTF-8, else as
// hex, cut at MaxShownBytes. Templates print Text, which html/template escapes: contract
// output and event data never become markup.
type shown struct {
	Len    int
	IsText bool
	Text   string // the text, or the 0x hex
	Cut    bool   // only the first MaxShownBytes are shown
}

func showBytes(b []byte) shown {
	s := shown{Len: len(b)}
	if len(b) > MaxShownBytes {
		b, s.Cut = b[:MaxShownBytes], true
	}
	if len(b) > 0 && printable(b) {
		s.IsText, s.Text = true, string(b)
	} else {
		s.Text = hexutil.Encode(b)
	}
	return s
}

// printable reports whether b is UTF-8 text without control characters other than tab
// and newlines.
func printable(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		if r != '\n' && r != '\t' && r != '\r' && !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
		b = b[n:]
	}
	return true
}

// short abbreviates a hash or address: 0x1234…cdef.
func short(v any) string {
	var s string
	switch x := v.(type) {
	case types.Hash:
		s = x.Hex()
	case types.Address:
		s = x.Hex()
	case *types.Address:
		if x == nil {
			return ""
		}
		s = x.Hex()
	case string:
		s = x
	default:
		return ""
	}
	if len(s) <= 14 {
		return s
	}
	return s[:8] + "…" + s[len(s)-6:]
}

// fmtTime formats a block time (unix milliseconds) in UTC.
func fmtTime(ms uint64) string {
	return time.UnixMilli(int64(ms)).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func u256Str(v *uint256.Int) string {
	if v == nil {
		return "0"
	}
	return v.Dec()
}

func uint256FromU64(v uint64) *uint256.Int { return uint256.NewInt(v) }

func pct(a, b uint64) string {
	if b == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(a)*100/float64(b), 'f', 1, 64) + "%"
}

// sizeStr formats a byte count (negative: unknown).
func sizeStr(n int64) string {
	switch {
	case n < 0:
		return "unknown"
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
}

// showText is a decoded value (metadata.FormatOutput's text) as a page shows it: as text,
// cut at MaxShownBytes on a character boundary.
func showText(s string) shown {
	v := shown{Len: len(s), IsText: true, Text: s}
	if len(s) > MaxShownBytes {
		n := MaxShownBytes
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		v.Text, v.Cut = s[:n], true
	}
	return v
}
