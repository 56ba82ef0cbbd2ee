package ui

// The in-browser verifier (ui/verifier, package light for js/wasm) is generated, not
// committed (docs/rationale/ui.md): `go generate ./ui` builds it into the embedded assets, gzipped
// (assets/static/verifier.wasm.gz, served as verifier.wasm).
// wasm_exec.js, its JavaScript runtime, is vendored from the same Go release
// ($(go env GOROOT)/lib/wasm; CI checks it is the toolchain's).

//go:generate env GOOS=js GOARCH=wasm go build -trimpath "-ldflags=-s -w" -o assets/static/verifier.wasm ./verifier
//go:generate gzip -9 -n -f assets/static/verifier.wasm
