package chain

import (
	"os"
	"os/exec"
	"testing"
)

// TestLightBuildsForJS: the light client (and so what it imports of chain and state)
// builds for js/wasm, where Pebble does not: the dashboard runs it in the browser
// (ui/verifier). A file of chain or state that uses Pebble, the Store or the Chain needs
// "//go:build !js"; see chain/execcall.go. Cost: a build for js/wasm of the packages
// that changed since the last one (Go's build cache).
func TestLightBuildsForJS(t *testing.T) {
	cmd := exec.Command("go", "build", "-o", os.DevNull, "../light")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build ./light: %v\n%s", err, out)
	}
}
