// Package metadata reads and writes a contract's interface description: the custom section
// "wnode.meta" that the SDKs emit, declaring for each method its kind (view or change),
// the format of its input and output, and a one-line doc, and for each event topic the
// format of its data. The format is specified in docs/spec/metadata.md.
//
// The section is text, one record per line, each record carrying its version, because
// linkers concatenate the pieces of a section in an unspecified order: a C or Rust SDK
// emits one record per method macro, and wasm-ld or rustc joins them into one section.
//
//	v1 method hello view text text Returns "hello, " followed by the input.
//	v1 event greeted text The name greeted.
//
// Parse refuses everything that is not exactly this shape; the deploy pipeline
// (vm/internal/prepare) also refuses a record naming a method the module does not export.
package metadata

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// SectionName is the name of the custom section holding the metadata.
const SectionName = "wnode.meta"

// Limits of the section. A deploy pays for the section's bytes like for the rest of the
// code; these bound the work of parsing it and what the node serves per contract.
const (
	MaxSize        = 16 << 10 // bytes of the whole section
	MaxMethods     = 256      // records
	MaxNameLength  = 256      // bytes of a method name (prepare's MaxNameLength for exports)
	MaxDocLength   = 256      // bytes of one doc
	MaxTopicLength = 256      // bytes of an event's topic (the VM's vm.MaxTopicSize)
)

// Version is the record version this package writes and the only one it reads.
const Version = 1

// Kind tells whether a method changes state.
type Kind string

// The kinds of a method. A view method is meant to be called read-only (wnode call, GET
// /fn/); a change method through a transaction. The VM does not enforce the difference:
// it is a declaration for tools, like a Solidity "view" seen through an ABI.
const (
	View   Kind = "view"
	Change Kind = "change"
)

// Format is how a method's input or output bytes are to be read.
type Format string

// The formats. Numbers are big-endian, like the examples' storage and outputs.
const (
	None    Format = "none"    // empty
	Bytes   Format = "bytes"   // any bytes (tools show them as hex)
	Text    Format = "text"    // UTF-8 text
	JSON    Format = "json"    // a JSON value
	U64     Format = "u64"     // 8 bytes, big-endian unsigned
	U256    Format = "u256"    // 32 bytes, big-endian unsigned
	Address Format = "address" // 20 bytes
)

var formats = map[Format]bool{None: true, Bytes: true, Text: true, JSON: true, U64: true, U256: true, Address: true}

// Formats returns every format, sorted.
func Formats() []Format {
	out := make([]Format, 0, len(formats))
	for f := range formats {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ContentType returns the HTTP media type of bytes in format f.
func (f Format) ContentType() string {
	switch f {
	case Text:
		return "text/plain; charset=utf-8"
	case JSON:
		return "application/json"
	}
	return "application/octet-stream"
}

// Method describes one exported method.
type Method struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Input  Format `json:"input"`
	Output Format `json:"output"`
	Doc    string `json:"doc"`
}

// Event describes the events of one topic: how their data is to be read.
type Event struct {
	Topic string `json:"topic"` // the topic's bytes, as text
	Data  Format `json:"data"`
	Doc   string `json:"doc"`
}

// Metadata is a parsed section: the described methods, sorted by name, and events,
// sorted by topic.
type Metadata struct {
	Version int      `json:"version"`
	Methods []Method `json:"methods"`
	Events  []Event  `json:"events,omitempty"`
}

// Event returns the description of the events of topic.
func (md *Metadata) Event(topic []byte) (Event, bool) {
	if md == nil {
		return Event{}, false
	}
	i := sort.Search(len(md.Events), func(i int) bool { return md.Events[i].Topic >= string(topic) })
	if i < len(md.Events) && md.Events[i].Topic == string(topic) {
		return md.Events[i], true
	}
	return Event{}, false
}

// Method returns the description of the named method.
func (md *Metadata) Method(name string) (Method, bool) {
	if md == nil {
		return Method{}, false
	}
	i := sort.Search(len(md.Methods), func(i int) bool { return md.Methods[i].Name >= name })
	if i < len(md.Methods) && md.Methods[i].Name == name {
		return md.Methods[i], true
	}
	return Method{}, false
}

// Encode returns the section's bytes: one record per method, in name order, then one per
// event, in topic order. Parse(Encode) gives md back.
func (md *Metadata) Encode() []byte {
	var b bytes.Buffer
	for _, m := range md.Methods {
		b.WriteString(Record(m))
	}
	for _, e := range md.Events {
		b.WriteString(EventRecord(e))
	}
	return b.Bytes()
}

// EventRecord returns the one-line record of e, with its newline.
func EventRecord(e Event) string {
	s := fmt.Sprintf("v%d event %s %s", Version, e.Topic, e.Data)
	if e.Doc != "" {
		s += " " + e.Doc
	}
	return s + "\n"
}

// Record returns the one-line record of m, with its newline.
func Record(m Method) string {
	s := fmt.Sprintf("v%d method %s %s %s %s", Version, m.Name, m.Kind, m.Input, m.Output)
	if m.Doc != "" {
		s += " " + m.Doc
	}
	return s + "\n"
}

// Error is a section Parse refuses: the record (line, from 1; 0 for the whole section)
// and what is wrong with it.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return "metadata: " + e.Msg
	}
	return fmt.Sprintf("metadata: record %d: %s", e.Line, e.Msg)
}

func errorf(line int, format string, args ...any) *Error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse decodes a section's bytes. Errors are *Error. Its cost is linear in len(data),
// which it checks against MaxSize first.
func Parse(data []byte) (*Metadata, error) {
	if len(data) > MaxSize {
		return nil, errorf(0, "section of %d bytes exceeds limit %d", len(data), MaxSize)
	}
	if len(data) == 0 {
		return nil, errorf(0, "empty section (leave it out instead)")
	}
	if !utf8.Valid(data) {
		return nil, errorf(0, "not valid UTF-8")
	}
	if data[len(data)-1] != '\n' {
		return nil, errorf(0, "last record does not end with a newline")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if len(lines) > MaxMethods {
		return nil, errorf(0, "%d records exceed limit %d", len(lines), MaxMethods)
	}
	md := &Metadata{Version: Version, Methods: make([]Method, 0, len(lines))}
	for i, line := range lines {
		m, e, err := parseRecord(line)
		if err != nil {
			return nil, errorf(i+1, "%s", err)
		}
		if e != nil {
			md.Events = append(md.Events, *e)
		} else {
			md.Methods = append(md.Methods, m)
		}
	}
	sort.Slice(md.Methods, func(i, j int) bool { return md.Methods[i].Name < md.Methods[j].Name })
	for i := 1; i < len(md.Methods); i++ {
		if md.Methods[i].Name == md.Methods[i-1].Name {
			return nil, errorf(0, "method %q described twice", md.Methods[i].Name)
		}
	}
	sort.Slice(md.Events, func(i, j int) bool { return md.Events[i].Topic < md.Events[j].Topic })
	for i := 1; i < len(md.Events); i++ {
		if md.Events[i].Topic == md.Events[i-1].Topic {
			return nil, errorf(0, "event %q described twice", md.Events[i].Topic)
		}
	}
	return md, nil
}

// parseRecord parses one record: a method, or an event (e not nil).
func parseRecord(line string) (m Method, e *Event, err error) {
	f := strings.SplitN(line, " ", 5)
	if len(f) >= 2 && f[1] == "event" {
		if err := checkLine(line, f); err != nil {
			return Method{}, nil, err
		}
		e, err := parseEvent(line, f)
		return Method{}, e, err
	}
	m, err = parseMethod(line)
	return m, nil, err
}

// checkLine checks what every record shares: no control characters, the version.
func checkLine(line string, f []string) error {
	for _, r := range line {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %q", r)
		}
	}
	if v, ok := strings.CutPrefix(f[0], "v"); !ok || v == "" || v[0] == '0' || !isDigits(v) {
		return fmt.Errorf("bad version %q (want v1)", clip(f[0]))
	} else if n, err := strconv.Atoi(v); err != nil || n != Version {
		return fmt.Errorf("unsupported version %q (this node reads v1)", clip(f[0]))
	}
	return nil
}

// parseEvent parses "v1 event TOPIC FORMAT[ DOC]", split in f.
func parseEvent(line string, f []string) (*Event, error) {
	if len(f) < 4 {
		return nil, fmt.Errorf("want \"v1 event TOPIC FORMAT [DOC]\", got %q", clip(line))
	}
	e := &Event{Topic: f[2], Data: Format(f[3])}
	if len(f) == 5 {
		e.Doc = f[4]
		if e.Doc == "" {
			return nil, fmt.Errorf("empty doc after a space")
		}
	}
	switch {
	case e.Topic == "":
		return nil, fmt.Errorf("empty event topic")
	case len(e.Topic) > MaxTopicLength:
		return nil, fmt.Errorf("event topic of %d bytes exceeds limit %d", len(e.Topic), MaxTopicLength)
	case !formats[e.Data]:
		return nil, fmt.Errorf("event %s: unknown data format %q (one of %s)", clip(e.Topic), clip(string(e.Data)), formatList())
	case len(e.Doc) > MaxDocLength:
		return nil, fmt.Errorf("event %s: doc of %d bytes exceeds limit %d", clip(e.Topic), len(e.Doc), MaxDocLength)
	}
	return e, nil
}

func parseMethod(line string) (Method, error) {
	f := strings.SplitN(line, " ", 7)
	if err := checkLine(line, f); err != nil {
		return Method{}, err
	}
	if len(f) < 2 {
		return Method{}, fmt.Errorf("want \"v1 method NAME KIND INPUT OUTPUT [DOC]\", got %q", clip(line))
	}
	if f[1] != "method" {
		return Method{}, fmt.Errorf("unknown record type %q (want method or event)", clip(f[1]))
	}
	if len(f) < 6 {
		return Method{}, fmt.Errorf("want \"v1 method NAME KIND INPUT OUTPUT [DOC]\", got %q", clip(line))
	}
	m := Method{Name: f[2], Kind: Kind(f[3]), Input: Format(f[4]), Output: Format(f[5])}
	if len(f) == 7 {
		m.Doc = f[6]
		if m.Doc == "" {
			return Method{}, fmt.Errorf("empty doc after a space")
		}
	}
	switch {
	case m.Name == "":
		return Method{}, fmt.Errorf("empty method name")
	case len(m.Name) > MaxNameLength:
		return Method{}, fmt.Errorf("method name of %d bytes exceeds limit %d", len(m.Name), MaxNameLength)
	case m.Kind != View && m.Kind != Change:
		return Method{}, fmt.Errorf("method %s: kind %q is not view or change", m.Name, clip(string(m.Kind)))
	case !formats[m.Input]:
		return Method{}, fmt.Errorf("method %s: unknown input format %q (one of %s)", m.Name, clip(string(m.Input)), formatList())
	case !formats[m.Output]:
		return Method{}, fmt.Errorf("method %s: unknown output format %q (one of %s)", m.Name, clip(string(m.Output)), formatList())
	case len(m.Doc) > MaxDocLength:
		return Method{}, fmt.Errorf("method %s: doc of %d bytes exceeds limit %d", m.Name, len(m.Doc), MaxDocLength)
	}
	return m, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func formatList() string {
	var s []string
	for _, f := range Formats() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ErrNotWasm is returned by Find and Set for bytes that are not a binary Wasm module.
var ErrNotWasm = errors.New("not a WebAssembly binary module")

// section is one top-level section of a module: its id and the byte range of its
// contents, plus where the whole section (id and size included) starts.
type section struct {
	id               byte
	start, body, end int
	customName       string
}

// sections splits a module into its top-level sections, checking only the framing.
func sections(module []byte) ([]section, error) {
	if len(module) < 8 || string(module[:4]) != "\x00asm" || string(module[4:8]) != "\x01\x00\x00\x00" {
		return nil, ErrNotWasm
	}
	var out []section
	for pos := 8; pos < len(module); {
		s := section{id: module[pos], start: pos}
		n, size, ok := uleb32(module[pos+1:])
		if !ok {
			return nil, fmt.Errorf("%w: bad size of section at offset %d", ErrNotWasm, pos)
		}
		s.body = pos + 1 + n
		if uint64(size) > uint64(len(module)-s.body) {
			return nil, fmt.Errorf("%w: section at offset %d runs past the end", ErrNotWasm, pos)
		}
		s.end = s.body + int(size)
		if s.id == 0 {
			body := module[s.body:s.end]
			n, l, ok := uleb32(body)
			if !ok || uint64(l) > uint64(len(body)-n) {
				return nil, fmt.Errorf("%w: bad custom section name at offset %d", ErrNotWasm, pos)
			}
			s.customName = string(body[n : n+int(l)])
			s.body += n + int(l)
		}
		out = append(out, s)
		pos = s.end
	}
	return out, nil
}

// uleb32 reads an unsigned LEB128 u32 strictly: at most 5 bytes, the last one's unused
// bits zero, as the Wasm decoder reads it.
func uleb32(b []byte) (n int, v uint32, ok bool) {
	var shift uint
	for i := 0; i < 5 && i < len(b); i++ {
		if i == 4 && b[i] >= 0x10 {
			return 0, 0, false
		}
		v |= uint32(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return i + 1, v, true
		}
		shift += 7
	}
	return 0, 0, false
}

// Find returns the contents of the module's metadata section, or nil when it has none. It
// reads only the module's section framing, so it is cheap; it refuses a module with two
// metadata sections. Use Parse on the result.
func Find(module []byte) ([]byte, error) {
	secs, err := sections(module)
	if err != nil {
		return nil, err
	}
	var found []byte
	for _, s := range secs {
		if s.id == 0 && s.customName == SectionName {
			if found != nil {
				return nil, errorf(0, "more than one %s section", SectionName)
			}
			found = module[s.body:s.end]
		}
	}
	return found, nil
}

// Set returns a copy of module whose metadata section is data, placed at the end, and
// whose other custom sections are dropped when strip is true. A nil data removes the
// section.
func Set(module, data []byte, strip bool) ([]byte, error) {
	secs, err := sections(module)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), module[:8]...)
	for _, s := range secs {
		if s.id == 0 && (strip || s.customName == SectionName) {
			continue
		}
		out = append(out, module[s.start:s.end]...)
	}
	if data != nil {
		var body []byte
		body = appendULEB(body, uint32(len(SectionName)))
		body = append(body, SectionName...)
		body = append(body, data...)
		out = append(out, 0)
		out = appendULEB(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out, nil
}

func appendULEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// ParseArg turns s, an argument as a user types it, into the bytes of format f: text and
// json as they are (json must parse), bytes as 0x-prefixed hex (or as text without the
// prefix), u64 and u256 as a decimal or 0x-hex number, address as 0x and 40 hex digits,
// none only as "".
func ParseArg(f Format, s string) ([]byte, error) {
	switch f {
	case None:
		if s != "" {
			return nil, fmt.Errorf("this method takes no input (format none)")
		}
		return nil, nil
	case Text:
		return []byte(s), nil
	case JSON:
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("input is not valid JSON")
		}
		return []byte(s), nil
	case Bytes:
		if h, ok := strings.CutPrefix(s, "0x"); ok {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("bad hex bytes %q: %v", clip(s), err)
			}
			return b, nil
		}
		return []byte(s), nil
	case U64:
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("want an unsigned 64-bit number, got %q", clip(s))
		}
		return binary.BigEndian.AppendUint64(nil, v), nil
	case U256:
		n, ok := new(big.Int), false
		if h, isHex := strings.CutPrefix(s, "0x"); isHex {
			_, ok = n.SetString(h, 16)
		} else {
			_, ok = n.SetString(s, 10)
		}
		if !ok || n.Sign() < 0 || n.BitLen() > 256 || strings.ContainsAny(s, "_+-") {
			return nil, fmt.Errorf("want an unsigned 256-bit number, got %q", clip(s))
		}
		b := uint256.MustFromBig(n).Bytes32()
		return b[:], nil
	case Address:
		h, ok := strings.CutPrefix(s, "0x")
		b, err := hex.DecodeString(h)
		if !ok || err != nil || len(b) != 20 {
			return nil, fmt.Errorf("want an address (0x and 40 hex digits), got %q", clip(s))
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown format %q", clip(string(f)))
}

// FormatOutput renders b, bytes of format f, for a terminal: text and json as they are,
// u64 and u256 in decimal, bytes and address as 0x-hex. Bytes that are not of the
// format (a u64 that is not 8 bytes, text that is not UTF-8) are an error naming them.
func FormatOutput(f Format, b []byte) (string, error) {
	bad := func(what string) (string, error) {
		return "", fmt.Errorf("output 0x%x is not %s (format %s)", b, what, f)
	}
	switch f {
	case None:
		if len(b) != 0 {
			return bad("empty")
		}
		return "", nil
	case Text:
		if !utf8.Valid(b) {
			return bad("UTF-8 text")
		}
		return string(b), nil
	case JSON:
		if !json.Valid(b) {
			return bad("JSON")
		}
		return string(b), nil
	case Bytes:
		return "0x" + hex.EncodeToString(b), nil
	case U64:
		if len(b) != 8 {
			return bad("8 bytes")
		}
		return strconv.FormatUint(binary.BigEndian.Uint64(b), 10), nil
	case U256:
		if len(b) != 32 {
			return bad("32 bytes")
		}
		return new(uint256.Int).SetBytes32(b).Dec(), nil
	case Address:
		if len(b) != 20 {
			return bad("20 bytes")
		}
		return common.BytesToAddress(b).Hex(), nil
	}
	return "", fmt.Errorf("unknown format %q", clip(string(f)))
}
