//! token — examples/token written with the Rust SDK; behaves exactly like token.c (same
//! outputs, events, storage keys and revert messages). See ../README.md for the formats.
#![no_std]

use wnode::{Address, Amount};

const SUPPLY_KEY: &[u8] = b"supply";
const TOPIC: &[u8] = b"transfer";

/// Parses an 8- or 32-byte big-endian amount.
fn parse_amount(b: &[u8]) -> Amount {
    match b.len() {
        8 => {
            let mut v = [0u8; 8];
            v.copy_from_slice(b);
            wnode::amount_from_u64(u64::from_be_bytes(v))
        }
        32 => {
            let mut a = [0u8; 32];
            a.copy_from_slice(b);
            a
        }
        _ => wnode::revert("bad input"),
    }
}

fn balance_key(addr: &Address) -> [u8; 21] {
    let mut k = [0u8; 21];
    k[0] = b'b';
    k[1..].copy_from_slice(addr);
    k
}

/// Reads a 32-byte amount under key (zero when absent).
fn load_amount(key: &[u8]) -> Amount {
    let mut a = [0u8; 32];
    match wnode::storage_get_into(key, &mut a) {
        None => [0u8; 32],
        Some(32) => a,
        Some(_) => wnode::revert("corrupt amount"),
    }
}

fn store_balance(addr: &Address, bal: &Amount) {
    let k = balance_key(addr);
    if *bal == [0u8; 32] {
        wnode::storage_delete(&k);
    } else {
        wnode::storage_set(&k, bal);
    }
}

fn emit_transfer(from: &Address, to: &Address, amount: &Amount) {
    let mut data = [0u8; 72];
    data[..20].copy_from_slice(from);
    data[20..40].copy_from_slice(to);
    data[40..].copy_from_slice(amount);
    wnode::emit(TOPIC, &data);
}

wnode::method!(change(u256 -> none) "Mints the whole supply (the input) to the deployer." fn init() {
    let mut buf = [0u8; 32];
    let amount = parse_amount(wnode::input_into(&mut buf));
    if wnode::storage_get_into(SUPPLY_KEY, &mut []).is_some() {
        wnode::revert("already initialized");
    }
    let owner = wnode::caller();
    wnode::storage_set(SUPPLY_KEY, &amount);
    store_balance(&owner, &amount);
    emit_transfer(&[0u8; 20], &owner, &amount);
});

wnode::method!(change(bytes -> none) "Moves an amount to an address: input to (20 bytes) then amount (8 or 32 bytes)." fn transfer() {
    let mut buf = [0u8; 52];
    let input = wnode::input_into(&mut buf);
    if input.len() < 20 {
        wnode::revert("bad input");
    }
    let mut to = [0u8; 20];
    to.copy_from_slice(&input[..20]);
    let amount = parse_amount(&input[20..]);
    let from = wnode::caller();

    let bal = match wnode::amount_sub(&load_amount(&balance_key(&from)), &amount) {
        Some(b) => b,
        None => wnode::revert("insufficient balance"),
    };
    store_balance(&from, &bal);
    // Read the recipient after the debit so that a transfer to oneself is a no-op.
    let bal = match wnode::amount_add(&load_amount(&balance_key(&to)), &amount) {
        Some(b) => b,
        None => wnode::revert("overflow"),
    };
    store_balance(&to, &bal);
    emit_transfer(&from, &to, &amount);
});

wnode::method!(view(address -> u256) "Returns the balance of an address." fn balance_of() {
    let mut addr = [0u8; 20];
    if wnode::input_into(&mut addr).len() != 20 {
        wnode::revert("bad input");
    }
    wnode::ret(&load_amount(&balance_key(&addr)));
});

wnode::method!(view(none -> u256) "Returns the total supply." fn total_supply() {
    wnode::ret(&load_amount(SUPPLY_KEY));
});
