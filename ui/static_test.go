package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"
)

// noBackend is a Backend whose every method panics: the static files need none.
type noBackend struct{ Backend }

// TestEmbeddedVerifierServed: the verifier embedded by `go generate ./ui` (not the tests'
// heap copy) is served byte for byte as embedded, gzipped, and inflated to a client
// without gzip, however often, its pages unmapped in between (dropResident).
func TestEmbeddedVerifierServed(t *testing.T) {
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		t.Fatal(err)
	}
	want, err := fs.ReadFile(static, VerifierFile+".gz")
	if err != nil {
		t.Skipf("built without the verifier (go generate ./ui): %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(noBackend{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := embedded(static, VerifierFile+".gz")
	if err != nil {
		t.Fatal(err)
	}
	h.addStatic(VerifierFile+".gz", data) // New took the tests' verifier (SetTestVerifier)
	for round := range 2 {
		for _, enc := range []string{"gzip", "identity"} {
			req := httptest.NewRequest("GET", "/ui/static/"+VerifierFile, nil)
			req.Header.Set("Accept-Encoding", enc)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			exp := want
			if enc == "identity" {
				exp = wasm
			}
			if rec.Code != http.StatusOK || !bytes.Equal(body, exp) {
				t.Fatalf("round %d, %s: %d, %d bytes, not the %d embedded ones", round, enc, rec.Code, len(body), len(exp))
			}
		}
	}
	sum := sha256.Sum256(want)
	if v := h.files[VerifierFile].version(); v != hex.EncodeToString(sum[:6]) {
		t.Fatalf("verifier version %q, want the hash of its bytes", v)
	}
}
