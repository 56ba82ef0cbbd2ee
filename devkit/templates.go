package devkit

// The files `wnode new` writes besides the SDK, per language. {{NAME}} is the project's
// name. Each project's hello method behaves like examples/hello: input X -> "hello, X",
// empty -> "hello, world", with metadata (view, text -> text).

const readme = `# {{NAME}}

A wnode contract in {{LANG}}, made by ` + "`wnode new`" + `. Its method ` + "`hello`" + ` returns
"hello, " and its input ("hello, world" for none).

    wnode build    # compile {{SOURCE}} and check it with the node's deploy rules
    wnode test     # run test.txt on an in-memory chain (real VM, real gas)
    wnode deploy   # deploy the build to the node at --rpc (wnode start --dev runs one)

Then ` + "`wnode call ADDRESS hello world`" + ` prints "hello, world". The SDK is in ` + "`wnode/`" + `;
the metadata of each method (kind, input and output format, doc) is declared next to it
and read by ` + "`wnode call`" + `, the ` + "`/fn/`" + ` gateway and ` + "`wnode contract`" + `.
`

const testFile = `# wnode test runs each line on an in-memory chain: call (read-only) or invoke (in a
# transaction) METHOD [ARG] => WANT. ARG and WANT are in the formats the method declares
# in its metadata (text here); "=> revert: MSG" expects a revert with MSG.
call hello world => hello, world
call hello => hello, world
invoke hello wnode => hello, wnode
`

const gitignore = `build/
target/
node_modules/
`

const cHello = `#include "wnode/wnode.h"

WNODE_METHOD(hello, view, text, text, "Returns hello, NAME for the input NAME (empty: world).")
void hello(void) {
  static const char greeting[] = "hello, ";
  size_t glen = sizeof greeting - 1;
  size_t n = (size_t)wnode_input_size();
  if (n == 0) {
    wnode_return_str("hello, world");
    return;
  }
  unsigned char *out = (unsigned char *)wnode_alloc(glen + n);
  memcpy(out, greeting, glen);
  wnode_input_read(out + glen);
  wnode_return(out, glen + n);
}
`

// cMakefile builds like wnode build does, for those who prefer make.
const cMakefile = `# make builds what wnode build builds (wnode build also strips custom sections other
# than the metadata and checks the result with the node's deploy rules).
CLANG ?= clang
build/{{NAME}}.wasm: {{NAME}}.c wnode/wnode.h
	mkdir -p build
	$(CLANG) ` + cFlagsText + ` -o $@ {{NAME}}.c
`

const rustCargo = `[package]
name = "{{NAME}}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[dependencies]
wnode = { path = "wnode" }

# Small, deterministic Wasm: LTO (without it any bounds check links libcore's panic
# formatting), one codegen unit, no unwinding, no debug info.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
debug = false
incremental = false

[workspace]
`

const rustConfig = `[build]
target = "wasm32-unknown-unknown"

[target.wasm32-unknown-unknown]
rustflags = ["-C", "target-cpu=mvp", "-C", "link-arg=-zstack-size=65536", "-C", "link-arg=--strip-all"]
`

const rustHello = `#![no_std]

wnode::method!(view(text -> text) "Returns hello, NAME for the input NAME (empty: world)." fn hello() {
    let name = wnode::input();
    if name.is_empty() {
        wnode::ret(b"hello, world");
        return;
    }
    let out = wnode::alloc_bytes(7 + name.len());
    out[..7].copy_from_slice(b"hello, ");
    out[7..].copy_from_slice(name);
    wnode::ret(out);
});
`

const asHello = `import { concat, input, ret, retText, utf8 } from "./wnode/index";

// @wnode view text text Returns hello, NAME for the input NAME (empty: world).
export function hello(): void {
  const name = input();
  if (name.length == 0) {
    retText("hello, world");
    return;
  }
  ret(concat(utf8("hello, "), name));
}
`

const asPackage = `{
  "name": "{{NAME}}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "scripts": {
    "build": "asc {{NAME}}.ts ` + asFlagsText + ` -o build/{{NAME}}.wasm"
  },
  "devDependencies": {
    "assemblyscript": "0.28.20"
  }
}
`
