package vm_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/internal/prepare"
)

// abiDoc is the contract ABI's specification, whose host-function table this test holds
// to the code.
const abiDoc = "../docs/spec/abi.md"

// docPrices names, for the host functions whose price is not one gas.Host field of the
// same name, the fields whose figures the table cells list (cold before warm).
var docPrices = map[string][]string{
	"storage_read": {"StorageRead", "StorageReadWarm"},
	"balance":      {"Balance", "BalanceWarm"},
	"transfer":     {"Transfer", "Balance", "BalanceWarm"},
}

var numberRE = regexp.MustCompile(`[0-9][0-9,]*`)

// numbers returns the integers written in s (with thousands commas), in order.
func numbers(t *testing.T, s string) []uint64 {
	t.Helper()
	var out []uint64
	for _, m := range numberRE.FindAllString(s, -1) {
		n, err := strconv.ParseUint(strings.ReplaceAll(m, ",", ""), 10, 64)
		if err != nil {
			t.Fatalf("number %q: %v", m, err)
		}
		out = append(out, n)
	}
	return out
}

// camel turns a host function's name into its gas.Host field: storage_read ->
// StorageRead.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// normSig writes a signature of the doc, "(i32, i32) -> i64" or "() -> ()", the way
// wasm.FuncType.String does: "(i32, i32) -> (i64)".
func normSig(s string) string {
	params, results, _ := strings.Cut(s, "->")
	results = strings.TrimSpace(results)
	if !strings.HasPrefix(results, "(") {
		results = "(" + results + ")"
	}
	return strings.TrimSpace(params) + " -> " + results
}

// TestABIDocMatchesCode fails when docs/spec/abi.md's table of host functions no longer
// says what the code does: a function missing or extra, a Wasm signature other than
// prepare.HostFuncs's, or a base or per-KiB price other than gas.Default()'s. Every
// function must also have its own paragraph.
func TestABIDocMatchesCode(t *testing.T) {
	b, err := os.ReadFile(abiDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, table, ok := strings.Cut(doc, "\n## Host functions\n")
	if !ok {
		t.Fatalf("%s has no \"Host functions\" section", abiDoc)
	}
	prices := reflect.ValueOf(gas.Default().Host)
	field := func(name string) gas.Linear {
		f := prices.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("gas.Host has no field %s", name)
		}
		return f.Interface().(gas.Linear)
	}

	seen := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "| `") || len(cells) != 4 {
			continue
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		name, sig, base, perKiB := cells[0], cells[1], cells[2], cells[3]
		seen[name] = true
		ft, ok := prepare.HostFuncs[name]
		if !ok {
			t.Errorf("%s documents %s, which is not in ABI v1 (prepare.HostFuncs)", abiDoc, name)
			continue
		}
		if got, want := normSig(sig), ft.String(); got != want {
			t.Errorf("%s: %s is documented as %s, the code has %s", abiDoc, name, got, want)
		}
		fields := docPrices[name]
		if fields == nil {
			fields = []string{camel(name)}
		}
		var wantBase, wantKiB []uint64
		for _, f := range fields {
			l := field(f)
			wantBase = append(wantBase, l.Base)
			if l.PerKiB != 0 {
				wantKiB = append(wantKiB, l.PerKiB)
			}
		}
		if got := numbers(t, base); !slices.Equal(got, wantBase) {
			t.Errorf("%s: %s base gas documented as %v, gas.Default() has %v (%v)", abiDoc, name, got, wantBase, fields)
		}
		if got := numbers(t, perKiB); !slices.Equal(got, wantKiB) {
			t.Errorf("%s: %s per-KiB gas documented as %v, gas.Default() has %v (%v)", abiDoc, name, got, wantKiB, fields)
		}
		if !strings.Contains(doc, "**`"+name+"(") {
			t.Errorf("%s: %s has no paragraph (**`%s(...)`**)", abiDoc, name, name)
		}
	}
	for name := range prepare.HostFuncs {
		if !seen[name] {
			t.Errorf("%s does not document host function %s", abiDoc, name)
		}
	}
}

var sizeRE = regexp.MustCompile(`([0-9][0-9,]*)\s*(KiB|MiB)?`)

// sizes returns the sizes written in s: numbers, scaled when followed by KiB or MiB.
func sizes(t *testing.T, s string) []uint64 {
	t.Helper()
	var out []uint64
	for _, m := range sizeRE.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseUint(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil {
			t.Fatalf("number %q: %v", m[1], err)
		}
		switch m[2] {
		case "KiB":
			n <<= 10
		case "MiB":
			n <<= 20
		}
		out = append(out, n)
	}
	return out
}

// TestABIDocLimitsMatchCode fails when the code limits docs/spec/abi.md lists differ from
// prepare.DefaultLimits (and the tx's code size limit).
func TestABIDocLimitsMatchCode(t *testing.T) {
	b, err := os.ReadFile(abiDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n### Code limits\n")
	if !ok {
		t.Fatalf("%s has no \"Code limits\" section", abiDoc)
	}
	l := prepare.DefaultLimits()
	u := func(v ...uint32) []uint64 {
		out := make([]uint64, len(v))
		for i, x := range v {
			out[i] = uint64(x)
		}
		return out
	}
	want := map[string][]uint64{
		"code, uncompressed":                                 u(l.MaxCodeSize),
		"code, gzip-compressed as sent":                      {uint64(l.MaxCompressedSize), types.MaxCodeSize},
		"types / params / results of a type":                 u(l.MaxTypes, l.MaxParams, l.MaxResults),
		"imports / functions (imported + defined) / exports": u(l.MaxImports, l.MaxFunctions, l.MaxExports),
		"import or export name":                              u(l.MaxNameLength),
		"locals of a function (params included)":             u(l.MaxLocals),
		"globals":                                            u(l.MaxGlobals),
		"table: initial size / element segments":             u(l.MaxTableSize, l.MaxElemSegments),
		"memory: initial and maximum pages (64 KiB)":         {uint64(l.MaxMemoryPages), uint64(l.MaxMemoryPages) << 16, uint64(l.MaxMemoryPages)},
		"data segments / total data":                         u(l.MaxDataSegments, l.MaxDataSize),
		"one function body":                                  u(l.MaxFunctionSize),
		"nesting of block/loop/if":                           u(l.MaxNesting),
		"control instructions per function":                  u(l.MaxBlocks),
		"br_table targets":                                   u(l.MaxBrTableTargets),
		"stack height":                                       u(l.MaxStackHeight),
	}
	seen := 0
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "| ") || len(cells) != 2 {
			continue
		}
		label, value := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		if label == "limit" || strings.HasPrefix(label, "---") {
			continue
		}
		w, ok := want[label]
		if !ok {
			t.Errorf("%s: code limit %q is not checked by this test: add it here", abiDoc, label)
			continue
		}
		seen++
		if got := sizes(t, value); !slices.Equal(got, w) {
			t.Errorf("%s: %s documented as %v, the code has %v", abiDoc, label, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("%s lists %d of the %d code limits", abiDoc, seen, len(want))
	}
}

// TestABIDocDeployGasMatchesCode fails when the deploy and upgrade prices docs/spec/abi.md
// lists differ from gas.Default().Tx.
func TestABIDocDeployGasMatchesCode(t *testing.T) {
	b, err := os.ReadFile(abiDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Deploy and upgrade\n")
	if !ok {
		t.Fatalf("%s has no \"Deploy and upgrade\" section", abiDoc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	tx := gas.Default().Tx
	want := map[string][]uint64{
		"every tx":                    {tx.Base, tx.PerByte},
		"code stored":                 {tx.DeployPerCodeByte},
		"code validated and compiled": {tx.CompilePerCodeByte},
		"compilation":                 {tx.CompilePerBlock},
	}
	seen := 0
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "| ") || len(cells) != 2 {
			continue
		}
		label, price := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		w, ok := want[label]
		if !ok {
			continue // the header row
		}
		seen++
		// Only the figures before any parenthesis are prices.
		price, _, _ = strings.Cut(price, "(")
		if got := numbers(t, price); !slices.Equal(got, w) {
			t.Errorf("%s: deploy price %q documented as %v, gas.Default().Tx has %v", abiDoc, label, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("%s lists %d of the %d deploy prices", abiDoc, seen, len(want))
	}
}
