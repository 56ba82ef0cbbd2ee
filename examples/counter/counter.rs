//! counter — a storage example written with the Rust SDK (`sdk/rust`).
//!
//! State: key "count" holds a u64 as 8 bytes big-endian (absent = 0).
//!
//! Methods (input is ignored by both):
//! - `increment`: count += 1; output: the new count, 8 bytes big-endian.
//!   Reverts with "overflow" at 2^64 - 1.
//! - `get`: output: the count, 8 bytes big-endian (0 when never incremented).
#![no_std]

const KEY: &[u8] = b"count";

fn load() -> u64 {
    let mut buf = [0u8; 8];
    match wnode::storage_get_into(KEY, &mut buf) {
        None => 0,
        Some(8) => u64::from_be_bytes(buf),
        Some(_) => wnode::revert("corrupt count"),
    }
}

wnode::method!(change(none -> u64) "Adds one to the count and returns it." fn increment() {
    let n = match load().checked_add(1) {
        Some(n) => n,
        None => wnode::revert("overflow"),
    };
    let b = n.to_be_bytes();
    wnode::storage_set(KEY, &b);
    wnode::ret(&b);
});

wnode::method!(view(none -> u64) "Returns the count." fn get() {
    wnode::ret(&load().to_be_bytes());
});
