//! sdktest — exercises every wrapper of the Rust SDK; run by examples/contracts_test.go.
//!
//! Methods (integers big-endian, like the SDK's helpers):
//! - `echo`: output = input (through `input()`, the bump allocator).
//! - `store`: input klen (1) || key || value: `storage_set`, then output
//!   `storage_get(key)` read back (exercises the >64-byte path).
//! - `load`: input key; output 0x00 if absent, else 0x01 || value.
//! - `delete`: input key; `storage_delete`.
//! - `who`: output caller || origin || self_address (60 bytes).
//! - `env`: output block_height (8) || block_time (8) || value (32) || gas_left > 0 (1).
//! - `hashes`: output sha256(input) || keccak256(input).
//! - `recover`: input hash (32) || sig (65); output 0x00 (invalid) or 0x01 || address.
//! - `emit`: emits topic "sdk" with the input as data.
//! - `call`: input target (20) || mlen (1) || method || args; output 0x00 || callee output
//!   on success, else 0x01 || status (4 bytes BE) || callee output.
//! - `amounts`: input a (32) || b (32); output a+b (or 32 x 0xff on overflow) ||
//!   a-b (or 32 x 0xff when b > a).
//! - `alloc`: input n (4 bytes BE); allocates n bytes twice; output the first length (4
//!   bytes BE), 0x01 if both are zeroed, disjoint and 8-aligned.
//! - `panic`: indexes past the input: reverts with "panic".
//! - `fail`: reverts with the input bytes.
//! - `transfer`: input to (20) || amount (32); output 0x00 or 0x01 || status (4 BE).
//! - `balance`: input address (20); output its balance (32).
#![no_std]

use wnode::*;

#[no_mangle]
pub extern "C" fn echo() {
    ret(input());
}

#[no_mangle]
pub extern "C" fn store() {
    let inp = input();
    if inp.is_empty() || inp.len() - 1 < inp[0] as usize {
        revert("bad input");
    }
    let (key, value) = inp[1..].split_at(inp[0] as usize);
    storage_set(key, value);
    match storage_get(key) {
        Some(v) => ret(v),
        None => revert("lost"),
    }
}

#[no_mangle]
pub extern "C" fn load() {
    match storage_get(input()) {
        None => ret(&[0]),
        Some(v) => {
            let out = alloc_bytes(v.len() + 1);
            out[0] = 1;
            out[1..].copy_from_slice(v);
            ret(out);
        }
    }
}

#[no_mangle]
pub extern "C" fn delete() {
    storage_delete(input());
}

#[no_mangle]
pub extern "C" fn who() {
    let mut out = [0u8; 60];
    out[..20].copy_from_slice(&caller());
    out[20..40].copy_from_slice(&origin());
    out[40..].copy_from_slice(&self_address());
    ret(&out);
}

#[no_mangle]
pub extern "C" fn env() {
    let mut out = [0u8; 49];
    out[..8].copy_from_slice(&block_height().to_be_bytes());
    out[8..16].copy_from_slice(&block_time().to_be_bytes());
    out[16..48].copy_from_slice(&value());
    out[48] = (gas_left() > 0) as u8;
    ret(&out);
}

#[no_mangle]
pub extern "C" fn hashes() {
    let inp = input();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sha256(inp));
    out[32..].copy_from_slice(&keccak256(inp));
    ret(&out);
}

#[no_mangle]
pub extern "C" fn recover() {
    let mut buf = [0u8; 97];
    if input_into(&mut buf).len() != 97 {
        revert("bad input");
    }
    let hash: &Hash = buf[..32].try_into().unwrap();
    let sig: &[u8; 65] = buf[32..].try_into().unwrap();
    match ecrecover(hash, sig) {
        None => ret(&[0]),
        Some(a) => {
            let mut out = [1u8; 21];
            out[1..].copy_from_slice(&a);
            ret(&out);
        }
    }
}

#[no_mangle]
pub extern "C" fn emit() {
    wnode::emit(b"sdk", input());
}

#[no_mangle]
pub extern "C" fn call() {
    let inp = input();
    if inp.len() < 21 || inp.len() - 21 < inp[20] as usize {
        revert("bad input");
    }
    let to: &Address = inp[..20].try_into().unwrap();
    let (method, args) = inp[21..].split_at(inp[20] as usize);
    let method = match core::str::from_utf8(method) {
        Ok(m) => m,
        Err(_) => revert("bad method"),
    };
    match wnode::call(to, method, args, &amount_from_u64(0), 0) {
        Ok(out) => {
            let buf = alloc_bytes(out.len() + 1);
            buf[1..].copy_from_slice(out);
            ret(buf);
        }
        Err(e) => {
            let buf = alloc_bytes(e.output.len() + 5);
            buf[0] = 1;
            buf[1..5].copy_from_slice(&e.status.to_be_bytes());
            buf[5..].copy_from_slice(e.output);
            ret(buf);
        }
    }
}

#[no_mangle]
pub extern "C" fn amounts() {
    let mut buf = [0u8; 64];
    if input_into(&mut buf).len() != 64 {
        revert("bad input");
    }
    let a: &Amount = buf[..32].try_into().unwrap();
    let b: &Amount = buf[32..].try_into().unwrap();
    let mut out = [0xffu8; 64];
    if let Some(s) = amount_add(a, b) {
        out[..32].copy_from_slice(&s);
    }
    if let Some(d) = amount_sub(a, b) {
        out[32..].copy_from_slice(&d);
    }
    ret(&out);
}

#[no_mangle]
pub extern "C" fn alloc() {
    let mut buf = [0u8; 4];
    if input_into(&mut buf).len() != 4 {
        revert("bad input");
    }
    let n = u32::from_be_bytes(buf) as usize;
    let a = alloc_bytes(n);
    let b = alloc_bytes(n);
    let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let ok = a.iter().chain(b.iter()).all(|&x| x == 0) && pa + n <= pb && pa % 8 == 0 && pb % 8 == 0;
    a.fill(1);
    let mut out = [0u8; 5];
    out[..4].copy_from_slice(&(a.len() as u32).to_be_bytes());
    out[4] = (ok && b.iter().all(|&x| x == 0)) as u8;
    ret(&out);
}

#[no_mangle]
pub extern "C" fn panic() {
    let inp = input();
    ret(&[inp[inp.len()]]);
}

#[no_mangle]
pub extern "C" fn fail() {
    revert_bytes(input());
}

#[no_mangle]
pub extern "C" fn transfer() {
    let mut buf = [0u8; 52];
    if input_into(&mut buf).len() != 52 {
        revert("bad input");
    }
    let to: &Address = buf[..20].try_into().unwrap();
    let amount: &Amount = buf[20..].try_into().unwrap();
    match wnode::transfer(to, amount) {
        Ok(()) => ret(&[0]),
        Err(s) => {
            let mut out = [1u8; 5];
            out[1..].copy_from_slice(&s.to_be_bytes());
            ret(&out);
        }
    }
}

#[no_mangle]
pub extern "C" fn balance() {
    let mut buf = [0u8; 20];
    if input_into(&mut buf).len() != 20 {
        revert("bad input");
    }
    ret(&wnode::balance(&buf));
}
