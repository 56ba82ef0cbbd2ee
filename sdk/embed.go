// Package sdk embeds the contract SDKs' sources (C, Rust, AssemblyScript), so that
// `wnode new` writes them into a new project with no checkout of this repository.
package sdk

import "embed"

// Files holds c/wnode.h, rust/Cargo.toml, rust/src/lib.rs and the AssemblyScript SDK
// (assemblyscript/assembly/*.ts, transform.js, package.json, package-lock.json).
//
//go:embed c/wnode.h rust/Cargo.toml rust/src/lib.rs
//go:embed assemblyscript/assembly/index.ts assemblyscript/assembly/runtime.ts
//go:embed assemblyscript/transform.js assemblyscript/package.json assemblyscript/package-lock.json
var Files embed.FS
