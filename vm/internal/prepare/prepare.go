package prepare

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
	"github.com/wnode/wnode/vm/metadata"
)

// Module is a validated and instrumented contract.
type Module struct {
	// Original is the uncompressed code: what the chain stores and hashes.
	Original []byte
	// Instrumented is the module to compile with wazero.
	Instrumented []byte
	// Methods are the exported functions callable by invoke, sorted: every exported
	// function whose name does not start with "_", except init and migrate.
	Methods []string
	// HasInit and HasMigrate report the optional init and migrate exports.
	HasInit, HasMigrate bool
	// Imports are the names of the host functions (module "wnode") the code imports,
	// sorted, without duplicates.
	Imports []string
	// Blocks counts the control instructions (block, loop, if, else, br, br_if,
	// br_table) of the code. wazero's compile time follows this count much more closely
	// than the code size (12–50 µs each, against 0.4–9 µs per byte depending on the
	// code); charge gas.Schedule.CompileGas(Blocks) for the compilation.
	Blocks uint64
	// Metadata is the parsed metadata section (metadata.SectionName), nil when the module
	// has none. Every method it describes is an exported method, init or migrate.
	Metadata *metadata.Metadata
}

var gzipMagic = []byte{0x1f, 0x8b}

// Prepare gunzips code if it is gzip (bounded: a size limit on raw AND compressed, no
// gzip bombs), validates it, and instruments it. It returns an *Error naming the broken
// rule when the code is refused. The output depends only on (code, s, l): the same input
// gives the same bytes on every machine. Prepare does not modify code.
//
// Cost: linear in the code size, about 5–7 ms of CPU and 3.5 MB of allocations per
// 100 KiB of compiler output (BenchmarkPrepare); the output is about 1.4 times the input
// (at most 6 times, BenchmarkPrepareWorstCase).
func Prepare(code []byte, s *gas.Schedule, l Limits) (*Module, error) {
	return prepare(code, s, l, allPasses)
}

// passes selects instrumentation passes; everything but tests uses allPasses.
type passes struct{ nan bool }

var allPasses = passes{nan: true}

func prepare(code []byte, s *gas.Schedule, l Limits, p passes) (*Module, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	raw, err := gunzip(code, &l)
	if err != nil {
		return nil, err
	}
	m, err := wasm.Decode(raw)
	if err != nil {
		return nil, decodeError(err)
	}
	mi, err := validate(m, &l, false)
	if err != nil {
		return nil, err
	}
	out := &Module{Original: raw}
	for _, ex := range m.Exports {
		if ex.Kind != wasm.KindFunc || strings.HasPrefix(ex.Name, "_") {
			continue
		}
		switch ex.Name {
		case "init":
			out.HasInit = true
		case "migrate":
			out.HasMigrate = true
		default:
			out.Methods = append(out.Methods, ex.Name)
		}
	}
	sort.Strings(out.Methods)
	seen := map[string]bool{}
	for _, name := range mi.hostNames {
		if !seen[name] {
			seen[name] = true
			out.Imports = append(out.Imports, name)
		}
	}
	sort.Strings(out.Imports)
	out.Blocks = mi.blocks
	if out.Metadata, err = checkMetadata(m, out); err != nil {
		return nil, err
	}
	instrument(mi, s, &l, p)
	out.Instrumented = wasm.Encode(m)
	return out, nil
}

// gunzip returns code itself, or its decompression when it starts with the gzip magic,
// enforcing MaxCompressedSize and MaxCodeSize without ever holding more than
// MaxCodeSize+1 decompressed bytes.
func gunzip(code []byte, l *Limits) ([]byte, error) {
	if !bytes.HasPrefix(code, gzipMagic) {
		if uint64(len(code)) > uint64(l.MaxCodeSize) {
			return nil, errorf(RuleCodeSize, "module", "code of %d bytes exceeds limit %d", len(code), l.MaxCodeSize)
		}
		return code, nil
	}
	if uint64(len(code)) > uint64(l.MaxCompressedSize) {
		return nil, errorf(RuleCompressedSize, "module", "compressed code of %d bytes exceeds limit %d", len(code), l.MaxCompressedSize)
	}
	zr, err := gzip.NewReader(bytes.NewReader(code))
	if err != nil {
		return nil, &Error{Rule: RuleGzip, Where: "module", Msg: "bad gzip: " + err.Error(), Err: err}
	}
	raw, err := io.ReadAll(io.LimitReader(zr, int64(l.MaxCodeSize)+1))
	if err != nil {
		return nil, &Error{Rule: RuleGzip, Where: "module", Msg: "bad gzip: " + err.Error(), Err: err}
	}
	if uint64(len(raw)) > uint64(l.MaxCodeSize) {
		return nil, errorf(RuleCodeSize, "module", "decompressed code exceeds limit %d bytes", l.MaxCodeSize)
	}
	// Below the limit, ReadAll stopped at the gzip reader's EOF, which it returns only
	// after checking the trailer (CRC-32 and length) of every member.
	return raw, nil
}

func decodeError(err error) error {
	var ue *wasm.UnsupportedError
	if errors.As(err, &ue) {
		where := ue.Context
		if where == "" {
			where = "module"
		}
		return &Error{Rule: RuleFeature, Where: where, Msg: fmt.Sprintf("%s not allowed: %s (offset 0x%x)", ue.Feature, ue.What, ue.Offset), Err: err}
	}
	var de *wasm.DecodeError
	if errors.As(err, &de) {
		where := de.Context
		if where == "" {
			where = "module"
		}
		return &Error{Rule: RuleMalformed, Where: where, Msg: fmt.Sprintf("malformed: %s (offset 0x%x)", de.Msg, de.Offset), Err: err}
	}
	return &Error{Rule: RuleMalformed, Where: "module", Msg: err.Error(), Err: err}
}

// checkMetadata parses the module's metadata section, when it has one, and checks that it
// describes only functions the module exports as methods, init or migrate.
func checkMetadata(m *wasm.Module, out *Module) (*metadata.Metadata, error) {
	var data []byte
	found := false
	for _, c := range m.Customs {
		if c.Name != metadata.SectionName {
			continue
		}
		if found {
			return nil, errorf(RuleMetadata, "section "+metadata.SectionName, "more than one metadata section")
		}
		found, data = true, c.Data
	}
	if !found {
		return nil, nil
	}
	md, err := metadata.Parse(data)
	if err != nil {
		return nil, &Error{Rule: RuleMetadata, Where: "section " + metadata.SectionName, Msg: strings.TrimPrefix(err.Error(), "metadata: "), Err: err}
	}
	for _, meth := range md.Methods {
		ok := (meth.Name == "init" && out.HasInit) || (meth.Name == "migrate" && out.HasMigrate)
		if !ok {
			i := sort.SearchStrings(out.Methods, meth.Name)
			ok = i < len(out.Methods) && out.Methods[i] == meth.Name
		}
		if !ok {
			return nil, errorf(RuleMetadata, "section "+metadata.SectionName, "describes method %q, which the module does not export (exports: %s)", meth.Name, strings.Join(out.Methods, ", "))
		}
	}
	return md, nil
}
