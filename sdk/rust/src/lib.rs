//! `wnode`: the Rust SDK for wnode contracts (Contract ABI v1).
//!
//! A contract is a `no_std` `cdylib` for `wasm32-unknown-unknown` that imports only from
//! module `wnode` (the [`sys`] module) and exports one `extern "C" fn()` per method:
//!
//! ```ignore
//! #![no_std]
//! #[no_mangle]
//! pub extern "C" fn hello() {
//!     let name = wnode::input();
//!     wnode::ret(name);
//! }
//! ```
//!
//! Exported functions whose name starts with `_` are not methods. `init` runs once at
//! deploy and `migrate` at upgrade, when exported.
//!
//! This crate has no dependencies and needs no allocator: [`alloc_bytes`] is a bump
//! allocator over the memory above the data section. Every call runs in a fresh instance,
//! so nothing is ever freed and the returned slices are `'static`. A panic reverts the
//! call with the message "panic" (formatting the panic message would pull `core::fmt`
//! into every contract).
//!
//! Build without cargo (see `scripts/build-contracts.sh` for the exact flags):
//!
//! ```text
//! rustc --edition 2021 --crate-type rlib --target wasm32-unknown-unknown -C opt-level=s \
//!       --crate-name wnode sdk/rust/src/lib.rs -o libwnode.rlib
//! rustc --edition 2021 --crate-type cdylib --target wasm32-unknown-unknown -C opt-level=s \
//!       -C lto --extern wnode=libwnode.rlib counter.rs -o counter.wasm
//! ```
//!
//! `-C lto` matters: without it, any bounds check links libcore's panic formatting
//! (about 3.5 KiB) even though the panic handler never formats.
#![no_std]

/// A 20-byte account or contract address.
pub type Address = [u8; 20];
/// A 32-byte big-endian unsigned amount of the native coin (uint256).
pub type Amount = [u8; 32];
/// A 32-byte digest.
pub type Hash = [u8; 32];

/// Declares a contract method: exports `fn NAME()` to the node and writes the method's
/// record into the module's metadata section "wnode.meta" (docs/spec/metadata.md), from
/// which tools learn its kind (`view` or `change`), input and output formats (`none`,
/// `bytes`, `text`, `json`, `u64`, `u256`, `address`) and a one-line doc:
///
/// ```ignore
/// wnode::method!(view(text -> text) "Returns hello, NAME." fn hello() {
///     wnode::ret(b"hello");
/// });
/// ```
///
/// rustc places every such static in the custom section and wasm-ld joins them; the node
/// refuses the deploy if a record is malformed or names a method that is not exported. An
/// unknown kind or format is a compile error.
#[macro_export]
macro_rules! method {
    ($kind:ident($input:ident -> $output:ident) $doc:literal fn $name:ident() $body:block) => {
        $crate::__wnode_kind!($kind);
        $crate::__wnode_format!($input);
        $crate::__wnode_format!($output);
        const _: () = {
            const RECORD: &str = concat!(
                "v1 method ", stringify!($name), " ", stringify!($kind), " ",
                stringify!($input), " ", stringify!($output), " ", $doc, "\n"
            );
            #[link_section = "wnode.meta"]
            #[used]
            static META: [u8; RECORD.len()] = $crate::record_bytes(RECORD);
        };
        #[no_mangle]
        pub extern "C" fn $name() $body
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wnode_kind {
    (view) => {};
    (change) => {};
    ($other:ident) => {
        compile_error!(concat!("wnode::method!: kind `", stringify!($other), "` is not view or change"));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wnode_format {
    (none) => {};
    (bytes) => {};
    (text) => {};
    (json) => {};
    (u64) => {};
    (u256) => {};
    (address) => {};
    ($other:ident) => {
        compile_error!(concat!(
            "wnode::method!: format `", stringify!($other),
            "` is not none, bytes, text, json, u64, u256 or address"
        ));
    };
}

/// Copies a metadata record into a fixed-size array, for `method!`'s static.
#[doc(hidden)]
pub const fn record_bytes<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// Raw host imports, exactly as the ABI declares them. Prefer the safe wrappers of the
/// crate root; these are for what they do not cover.
pub mod sys {
    #[link(wasm_import_module = "wnode")]
    extern "C" {
        pub fn input_size() -> i32;
        pub fn input_read(ptr: *mut u8);
        pub fn return_data(ptr: *const u8, len: i32);
        pub fn revert(ptr: *const u8, len: i32) -> !;
        pub fn storage_read(kptr: *const u8, klen: i32, vptr: *mut u8, vcap: i32) -> i64;
        pub fn storage_write(kptr: *const u8, klen: i32, vptr: *const u8, vlen: i32);
        pub fn storage_delete(kptr: *const u8, klen: i32);
        pub fn caller(ptr: *mut u8);
        pub fn origin(ptr: *mut u8);
        pub fn self_address(ptr: *mut u8);
        pub fn value(ptr: *mut u8);
        pub fn balance(addr_ptr: *const u8, out_ptr: *mut u8);
        pub fn transfer(addr_ptr: *const u8, amount_ptr: *const u8) -> i32;
        pub fn block_height() -> i64;
        pub fn block_time() -> i64;
        pub fn emit(topic_ptr: *const u8, topic_len: i32, data_ptr: *const u8, data_len: i32);
        pub fn call(
            addr_ptr: *const u8,
            m_ptr: *const u8,
            m_len: i32,
            a_ptr: *const u8,
            a_len: i32,
            value_ptr: *const u8,
            gas: i64,
        ) -> i32;
        pub fn result_size() -> i32;
        pub fn result_read(ptr: *mut u8);
        pub fn sha256(ptr: *const u8, len: i32, out_ptr: *mut u8);
        pub fn keccak256(ptr: *const u8, len: i32, out_ptr: *mut u8);
        pub fn ecrecover(hash_ptr: *const u8, sig_ptr: *const u8, out_addr_ptr: *mut u8) -> i32;
        pub fn gas_left() -> i64;
        pub fn log(ptr: *const u8, len: i32);
    }
}

// ---- memory -------------------------------------------------------------------------

extern "C" {
    // First byte above the data section and the stack, set by wasm-ld.
    static __heap_base: u8;
}

// End of the bump heap; 0 until the first allocation. Contracts are single-threaded.
static mut HEAP_TOP: usize = 0;

const PAGE: u64 = 65536;

/// Returns `n` bytes of fresh zeroed memory (8-byte aligned), growing the memory as
/// needed; reverts with "out of memory" when it cannot. Never freed: each call starts from
/// a fresh instance. Growing costs gas per 64 KiB page.
pub fn alloc_bytes(n: usize) -> &'static mut [u8] {
    // SAFETY: single-threaded; the region [p, p+n) is handed out exactly once and lies
    // in memory that was never used before (above __heap_base), hence zeroed.
    unsafe {
        if HEAP_TOP == 0 {
            HEAP_TOP = core::ptr::addr_of!(__heap_base) as usize;
        }
        let p = (HEAP_TOP + 7) & !7;
        let end = match p.checked_add(n) {
            Some(e) => e,
            None => revert("out of memory"),
        };
        // u64: 65536 pages * 64 KiB is 2^32, which does not fit a wasm32 usize.
        let have = core::arch::wasm32::memory_size(0) as u64 * PAGE;
        if end as u64 > have {
            let pages = ((end as u64 - have + PAGE - 1) / PAGE) as usize;
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                revert("out of memory");
            }
        }
        HEAP_TOP = end;
        core::slice::from_raw_parts_mut(p as *mut u8, n)
    }
}

// ---- input, output, revert ----------------------------------------------------------

/// Length of the call's argument bytes.
pub fn input_size() -> usize {
    unsafe { sys::input_size() as usize }
}

/// The call's argument bytes, read into freshly allocated memory.
pub fn input() -> &'static [u8] {
    let buf = alloc_bytes(input_size());
    if !buf.is_empty() {
        unsafe { sys::input_read(buf.as_mut_ptr()) };
    }
    buf
}

/// Reads the argument bytes into `buf`; reverts with "input too long" when they do not
/// fit. Returns the filled prefix of `buf`.
pub fn input_into(buf: &mut [u8]) -> &[u8] {
    let n = input_size();
    if n > buf.len() {
        revert("input too long");
    }
    if n > 0 {
        unsafe { sys::input_read(buf.as_mut_ptr()) };
    }
    &buf[..n]
}

/// Sets the method's output.
pub fn ret(data: &[u8]) {
    unsafe { sys::return_data(data.as_ptr(), data.len() as i32) }
}

/// Aborts the call with `msg`: every change of this call is undone. Never returns.
pub fn revert(msg: &str) -> ! {
    revert_bytes(msg.as_bytes())
}

/// Aborts the call with a binary message. Never returns.
pub fn revert_bytes(msg: &[u8]) -> ! {
    unsafe { sys::revert(msg.as_ptr(), msg.len() as i32) }
}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    revert("panic")
}

// ---- storage --------------------------------------------------------------------------

/// Reads the value under `key` into `buf`: returns the value's full length (which may
/// exceed `buf.len()`; then only the first `buf.len()` bytes are copied), or `None` when
/// the key is absent.
pub fn storage_get_into(key: &[u8], buf: &mut [u8]) -> Option<usize> {
    let n = unsafe {
        sys::storage_read(key.as_ptr(), key.len() as i32, buf.as_mut_ptr(), buf.len() as i32)
    };
    if n < 0 {
        None
    } else {
        Some(n as usize)
    }
}

/// Reads the whole value under `key` into fresh memory, or `None` when absent. Costs one
/// host read when the value fits 64 bytes, two otherwise.
pub fn storage_get(key: &[u8]) -> Option<&'static [u8]> {
    let mut small = [0u8; 64];
    let n = storage_get_into(key, &mut small)?;
    let buf = alloc_bytes(n);
    if n <= small.len() {
        buf.copy_from_slice(&small[..n]);
    } else {
        storage_get_into(key, buf)?;
    }
    Some(buf)
}

/// Writes `value` under `key` in this contract's storage.
pub fn storage_set(key: &[u8], value: &[u8]) {
    unsafe { sys::storage_write(key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32) }
}

/// Deletes `key` from this contract's storage (a no-op when absent).
pub fn storage_delete(key: &[u8]) {
    unsafe { sys::storage_delete(key.as_ptr(), key.len() as i32) }
}

// ---- context ---------------------------------------------------------------------------

/// The immediate caller: the transaction signer, or the calling contract.
pub fn caller() -> Address {
    let mut a = [0u8; 20];
    unsafe { sys::caller(a.as_mut_ptr()) };
    a
}

/// The signer of the transaction (or of the read-only call).
pub fn origin() -> Address {
    let mut a = [0u8; 20];
    unsafe { sys::origin(a.as_mut_ptr()) };
    a
}

/// This contract's address.
pub fn self_address() -> Address {
    let mut a = [0u8; 20];
    unsafe { sys::self_address(a.as_mut_ptr()) };
    a
}

/// Height of the block being executed (or queried).
pub fn block_height() -> u64 {
    unsafe { sys::block_height() as u64 }
}

/// Time of the block being executed (or queried), unix milliseconds.
pub fn block_time() -> i64 {
    unsafe { sys::block_time() }
}

/// Remaining gas of this call.
pub fn gas_left() -> u64 {
    unsafe { sys::gas_left() as u64 }
}

/// Writes a debug line (kept in read-only calls and dev mode only).
pub fn log(msg: &str) {
    unsafe { sys::log(msg.as_ptr(), msg.len() as i32) }
}

/// Emits an event `{this contract, topic, data}` into the receipt.
pub fn emit(topic: &[u8], data: &[u8]) {
    unsafe { sys::emit(topic.as_ptr(), topic.len() as i32, data.as_ptr(), data.len() as i32) }
}

// ---- native coin -----------------------------------------------------------------------

/// The amount of native coin attached to this call.
pub fn value() -> Amount {
    let mut v = [0u8; 32];
    unsafe { sys::value(v.as_mut_ptr()) };
    v
}

/// The native-coin balance of `addr`.
pub fn balance(addr: &Address) -> Amount {
    let mut v = [0u8; 32];
    unsafe { sys::balance(addr.as_ptr(), v.as_mut_ptr()) };
    v
}

/// Sends `amount` of this contract's coin to `to`. `Err(status)` carries the host's
/// non-zero status (for example insufficient balance).
pub fn transfer(to: &Address, amount: &Amount) -> Result<(), i32> {
    match unsafe { sys::transfer(to.as_ptr(), amount.as_ptr()) } {
        0 => Ok(()),
        s => Err(s),
    }
}

// ---- calls -----------------------------------------------------------------------------

/// A failed cross-contract call: the host's non-zero status and the callee's output
/// (its revert message, when it reverted).
#[derive(Debug, Clone, Copy)]
pub struct CallError {
    pub status: i32,
    pub output: &'static [u8],
}

/// Calls `method` of the contract at `to` with `args`, attaching `value` and at most
/// `gas` gas (0: as much as the host allows — all but 1/64 of what is left, EIP-150
/// style). Returns the callee's output. A failed callee's changes are undone; this
/// contract goes on.
pub fn call(
    to: &Address,
    method: &str,
    args: &[u8],
    value: &Amount,
    gas: u64,
) -> Result<&'static [u8], CallError> {
    let status = unsafe {
        sys::call(
            to.as_ptr(),
            method.as_ptr(),
            method.len() as i32,
            args.as_ptr(),
            args.len() as i32,
            value.as_ptr(),
            gas as i64,
        )
    };
    let output = call_result();
    if status == 0 {
        Ok(output)
    } else {
        Err(CallError { status, output })
    }
}

/// The output of the last [`call`], read into fresh memory.
pub fn call_result() -> &'static [u8] {
    let buf = alloc_bytes(unsafe { sys::result_size() } as usize);
    if !buf.is_empty() {
        unsafe { sys::result_read(buf.as_mut_ptr()) };
    }
    buf
}

// ---- crypto ----------------------------------------------------------------------------

/// SHA-256 of `data` (computed by the host).
pub fn sha256(data: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    unsafe { sys::sha256(data.as_ptr(), data.len() as i32, h.as_mut_ptr()) };
    h
}

/// Keccak-256 of `data` (computed by the host).
pub fn keccak256(data: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    unsafe { sys::keccak256(data.as_ptr(), data.len() as i32, h.as_mut_ptr()) };
    h
}

/// Recovers the signer address of a 65-byte `[R || S || V]` signature over `hash`, or
/// `None` when the signature is invalid.
pub fn ecrecover(hash: &Hash, sig: &[u8; 65]) -> Option<Address> {
    let mut a = [0u8; 20];
    match unsafe { sys::ecrecover(hash.as_ptr(), sig.as_ptr(), a.as_mut_ptr()) } {
        0 => Some(a),
        _ => None,
    }
}

// ---- amounts ---------------------------------------------------------------------------

/// The 32-byte big-endian amount of `v`.
pub fn amount_from_u64(v: u64) -> Amount {
    let mut a = [0u8; 32];
    a[24..].copy_from_slice(&v.to_be_bytes());
    a
}

/// `a + b`, or `None` on overflow past 2^256 - 1.
pub fn amount_add(a: &Amount, b: &Amount) -> Option<Amount> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    if carry == 0 {
        Some(out)
    } else {
        None
    }
}

/// `a - b`, or `None` when `b > a`.
pub fn amount_sub(a: &Amount, b: &Amount) -> Option<Amount> {
    if b > a {
        return None; // big-endian: lexicographic order is numeric order
    }
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = a[i] as i16 - b[i] as i16 - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    Some(out)
}
