package metadata

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	md, err := Parse([]byte("v1 method hello view text text Returns \"hello, \" and the input.\nv1 method add change u64 none\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Method{
		{Name: "add", Kind: Change, Input: U64, Output: None},
		{Name: "hello", Kind: View, Input: Text, Output: Text, Doc: `Returns "hello, " and the input.`},
	}
	if len(md.Methods) != 2 || md.Methods[0] != want[0] || md.Methods[1] != want[1] {
		t.Fatalf("got %+v", md.Methods)
	}
	if m, ok := md.Method("hello"); !ok || m != want[1] {
		t.Fatalf("Method(hello) = %+v %v", m, ok)
	}
	if _, ok := md.Method("nope"); ok {
		t.Fatal("found a method not described")
	}
	again, err := Parse(md.Encode())
	if err != nil || len(again.Methods) != 2 || again.Methods[1] != want[1] {
		t.Fatalf("round trip: %+v %v", again, err)
	}
}

func TestParseEvents(t *testing.T) {
	md, err := Parse([]byte("v1 event transfer json {from, to, amount} moved.\nv1 method get view none u64\nv1 event count u64\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Topic: "count", Data: U64}, {Topic: "transfer", Data: JSON, Doc: "{from, to, amount} moved."}}
	if len(md.Methods) != 1 || len(md.Events) != 2 || md.Events[0] != want[0] || md.Events[1] != want[1] {
		t.Fatalf("got %+v", md)
	}
	if e, ok := md.Event([]byte("transfer")); !ok || e != want[1] {
		t.Fatalf("Event(transfer) = %+v %v", e, ok)
	}
	if _, ok := md.Event([]byte("get")); ok {
		t.Fatal("a method found as an event")
	}
	if _, ok := (*Metadata)(nil).Event([]byte("count")); ok {
		t.Fatal("nil metadata describes an event")
	}
	again, err := Parse(md.Encode())
	if err != nil || len(again.Events) != 2 || again.Events[1] != want[1] || again.Methods[0] != md.Methods[0] {
		t.Fatalf("round trip: %+v %v", again, err)
	}
}

func TestParseRefuses(t *testing.T) {
	long := strings.Repeat("x", MaxDocLength+1)
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "empty section"},
		{"oversized", strings.Repeat("v1 method a view none none\n", MaxSize/27+1), "exceeds limit"},
		{"no newline", "v1 method a view none none", "newline"},
		{"blank line", "v1 method a view none none\n\n", "record 2"},
		{"crlf", "v1 method a view none none\r\n", "control character"},
		{"not utf8", "v1 method a view none none \xff\n", "UTF-8"},
		{"version 2", "v2 method a view none none\n", "unsupported version"},
		{"no version", "method a view none none\n", "bad version"},
		{"version 01", "v01 method a view none none\n", "bad version"},
		{"record type", "v1 emit a none\n", "unknown record type"},
		{"event format", "v1 event a view none\n", "unknown data format"},
		{"event short", "v1 event a\n", "want"},
		{"event empty doc", "v1 event a text \n", "empty doc"},
		{"event empty topic", "v1 event  text\n", "empty event topic"},
		{"event topic too long", "v1 event " + strings.Repeat("t", MaxTopicLength+1) + " text\n", "topic of"},
		{"event twice", "v1 event a text\nv1 event a u64\n", "described twice"},
		{"event version", "v2 event a text\n", "unsupported version"},
		{"event control", "v1 event a\ttext\n", "control character"},
		{"short", "v1 method a view none\n", "want"},
		{"kind", "v1 method a pure none none\n", "kind"},
		{"input", "v1 method a view string none\n", "input format"},
		{"output", "v1 method a view none i32\n", "output format"},
		{"doc too long", "v1 method a view none none " + long + "\n", "doc of"},
		{"empty doc", "v1 method a view none none \n", "empty doc"},
		{"double space", "v1 method  a view none none\n", "empty method name"},
		{"duplicate", "v1 method a view none none\nv1 method a change none none\n", "described twice"},
		{"name too long", "v1 method " + strings.Repeat("n", MaxNameLength+1) + " view none none\n", "name of"},
		{"too many", strings.Repeat("v1 method a view none none\n", MaxMethods+1), "records exceed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want an *Error containing %q", err, tc.want)
			}
		})
	}
}

// module returns a minimal module with one custom section per name.
func module(customs ...string) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 1, 4, 1, 0x60, 0, 0) // type section: () -> ()
	for _, c := range customs {
		body := appendULEB(nil, uint32(len(c)))
		body = append(body, c...)
		body = append(body, "data of "+c...)
		b = append(b, 0)
		b = appendULEB(b, uint32(len(body)))
		b = append(b, body...)
	}
	return b
}

func TestFindAndSet(t *testing.T) {
	m := module("name", SectionName, "producers")
	got, err := Find(m)
	if err != nil || string(got) != "data of "+SectionName {
		t.Fatalf("Find = %q, %v", got, err)
	}
	if got, err := Find(module("name")); err != nil || got != nil {
		t.Fatalf("Find without section = %q, %v", got, err)
	}
	if _, err := Find(module(SectionName, SectionName)); err == nil {
		t.Fatal("two sections accepted")
	}
	if _, err := Find([]byte("\x00asm\x01\x00\x00\x00\x00\x80\x80\x80\x80\x10")); !errors.Is(err, ErrNotWasm) {
		t.Fatalf("section size above 2^32: %v", err)
	}
	if _, err := Find([]byte("\x00asm\x01\x00\x00\x00\x01\x05\x00")); !errors.Is(err, ErrNotWasm) {
		t.Fatalf("truncated section: %v", err)
	}

	set, err := Set(m, []byte("new"), true)
	if err != nil {
		t.Fatal(err)
	}
	want := append(module(), 0, byte(1+len(SectionName)+3), byte(len(SectionName)))
	want = append(append(want, SectionName...), "new"...)
	if !bytes.Equal(set, want) {
		t.Fatalf("Set strip:\n got %x\nwant %x", set, want)
	}
	kept, err := Set(m, nil, false)
	if err != nil || !bytes.Equal(kept, module("name", "producers")) {
		t.Fatalf("Set remove: %x %v", kept, err)
	}
}

// FuzzParse: never a panic; whatever parses encodes back to bytes that parse the same.
func FuzzParse(f *testing.F) {
	f.Add([]byte("v1 method hello view text text Greets.\n"))
	f.Add([]byte("v1 method a change u64 none\nv1 method b view none u256 x\n"))
	f.Add([]byte("v2 method a view none none\n"))
	f.Add([]byte("v1 event moved json Who moved what.\nv1 method a view none none\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := Parse(b)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		again, err := Parse(md.Encode())
		if err != nil || len(again.Methods) != len(md.Methods) || len(again.Events) != len(md.Events) {
			t.Fatalf("re-parse: %v", err)
		}
		for i := range md.Events {
			if again.Events[i] != md.Events[i] {
				t.Fatalf("re-parse changed %+v to %+v", md.Events[i], again.Events[i])
			}
		}
		for i := range md.Methods {
			if again.Methods[i] != md.Methods[i] {
				t.Fatalf("re-parse changed %+v to %+v", md.Methods[i], again.Methods[i])
			}
		}
	})
}

// FuzzFind: never a panic on any bytes, and Set then Find gives the data back.
func FuzzFind(f *testing.F) {
	f.Add(module("name", SectionName))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x00\x80"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Find(b); err != nil {
			return
		}
		set, err := Set(b, []byte("v1 method a view none none\n"), false)
		if err != nil {
			t.Fatalf("Set after Find: %v", err)
		}
		got, err := Find(set)
		if err != nil || string(got) != "v1 method a view none none\n" {
			t.Fatalf("Find after Set: %q %v", got, err)
		}
	})
}

func TestParseArgAndFormatOutput(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		in   string
		want string // hex of the bytes, or "error"
		out  string // FormatOutput of the bytes
	}{
		{Text, "world", "776f726c64", "world"},
		{JSON, `{"a":1}`, "7b2261223a317d", `{"a":1}`},
		{JSON, `{a`, "error", ""},
		{Bytes, "0x01ff", "01ff", "0x01ff"},
		{Bytes, "hi", "6869", "0x6869"},
		{Bytes, "0xzz", "error", ""},
		{U64, "300", "000000000000012c", "300"},
		{U64, "0x10", "0000000000000010", "16"},
		{U64, "-1", "error", ""},
		{U64, "18446744073709551616", "error", ""},
		{U256, "1000", strings.Repeat("00", 30) + "03e8", "1000"},
		{U256, "0xff", strings.Repeat("00", 31) + "ff", "255"},
		{U256, "0x1" + strings.Repeat("0", 64), "error", ""},
		{U256, "1_000", "error", ""},
		{Address, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "5fbdb2315678afecb367f032d93f642f64180aa3", "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
		{Address, "0x5FbD", "error", ""},
		{None, "", "", ""},
		{None, "x", "error", ""},
	} {
		b, err := ParseArg(tc.f, tc.in)
		if tc.want == "error" {
			if err == nil {
				t.Errorf("ParseArg(%s, %q) = %x, want an error", tc.f, tc.in, b)
			}
			continue
		}
		if err != nil || hex.EncodeToString(b) != tc.want {
			t.Errorf("ParseArg(%s, %q) = %x, %v; want %s", tc.f, tc.in, b, err, tc.want)
			continue
		}
		if got, err := FormatOutput(tc.f, b); err != nil || got != tc.out {
			t.Errorf("FormatOutput(%s, %x) = %q, %v; want %q", tc.f, b, got, err, tc.out)
		}
	}
	for _, tc := range []struct {
		f Format
		b []byte
	}{{U64, []byte{1}}, {U256, make([]byte, 8)}, {Address, make([]byte, 32)}, {Text, []byte{0xff}}, {JSON, []byte("{")}, {None, []byte{1}}} {
		if _, err := FormatOutput(tc.f, tc.b); err == nil || !strings.Contains(err.Error(), "format "+string(tc.f)) {
			t.Errorf("FormatOutput(%s, %x): %v", tc.f, tc.b, err)
		}
	}
}
