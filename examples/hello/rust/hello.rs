//! hello — examples/hello written with the Rust SDK; behaves exactly like hello.c.
//!
//! Method `hello`: input X (any bytes) -> output "hello, " || X. Empty input ->
//! "hello, world".
#![no_std]

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
