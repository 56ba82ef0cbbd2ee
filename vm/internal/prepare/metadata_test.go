package prepare

import (
	"errors"
	"strings"
	"testing"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/vm/internal/wasm"
	"github.com/wnode/wnode/vm/metadata"
)

// withMeta returns base() (one method "run") with the given wnode.meta sections.
func withMeta(sections ...string) []byte {
	m := base()
	for _, s := range sections {
		m.Customs = append(m.Customs, wasm.Custom{Name: metadata.SectionName, Data: []byte(s), After: wasm.SectionData})
	}
	m.Customs = append(m.Customs, wasm.Custom{Name: "producers", Data: []byte("x"), After: wasm.SectionData})
	return wasm.Encode(m)
}

func TestMetadataAccepted(t *testing.T) {
	pm, err := Prepare(withMeta("v1 method run change bytes text Runs.\n"), gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := metadata.Method{Name: "run", Kind: metadata.Change, Input: metadata.Bytes, Output: metadata.Text, Doc: "Runs."}
	if pm.Metadata == nil || len(pm.Metadata.Methods) != 1 || pm.Metadata.Methods[0] != want {
		t.Fatalf("metadata %+v", pm.Metadata)
	}
	// The original keeps the section (the chain stores and serves it); the instrumented
	// module has no custom sections.
	if got, err := metadata.Find(pm.Original); err != nil || got == nil {
		t.Fatalf("original lost the section: %v", err)
	}
	im, err := wasm.Decode(pm.Instrumented)
	if err != nil || len(im.Customs) != 0 {
		t.Fatalf("instrumented customs %v, %v", im.Customs, err)
	}

	pm, err = Prepare(withMeta(), gas.Default(), DefaultLimits())
	if err != nil || pm.Metadata != nil {
		t.Fatalf("without metadata: %+v %v", pm.Metadata, err)
	}
}

func TestMetadataRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sections []string
		want     string
	}{
		{"malformed", []string{"v1 method run change bytes\n"}, `wasm: section wnode.meta: record 1: want "v1 method NAME`},
		{"unknown format", []string{"v1 method run change bytes string\n"}, `unknown output format "string"`},
		{"oversized", []string{strings.Repeat("v1 method run view none none\n", 600)}, "exceeds limit 16384"},
		{"lying", []string{"v1 method run view none none\nv1 method steal change none none\n"}, `describes method "steal", which the module does not export (exports: run)`},
		{"not a method", []string{"v1 method memory view none none\n"}, `describes method "memory"`},
		{"init not exported", []string{"v1 method init change none none\n"}, `describes method "init"`},
		{"two sections", []string{"v1 method run view none none\n", "v1 method run view none none\n"}, "more than one metadata section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(withMeta(tc.sections...), gas.Default(), DefaultLimits())
			var e *Error
			if !errors.As(err, &e) || e.Rule != RuleMetadata || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare: %v, want rule %q containing %q", err, RuleMetadata, tc.want)
			}
		})
	}
}
