//! The loader's raw system calls, its fatal-error exit, and the memory
//! functions the compiler may call. Shared with the in-process runtime
//! (`runtime/`), which is a loader that stays.

#![allow(dead_code)]

use core::arch::asm;

#[cfg(target_arch = "x86_64")]
pub mod nr {
    pub const WRITE: usize = 1;
    pub const OPENAT: usize = 257;
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const EXIT_GROUP: usize = 231;
    pub const PRCTL: usize = 157;
}
#[cfg(target_arch = "aarch64")]
pub mod nr {
    pub const WRITE: usize = 64;
    pub const OPENAT: usize = 56;
    pub const CLOSE: usize = 57;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
    pub const EXIT_GROUP: usize = 94;
    pub const PRCTL: usize = 167;
}
pub use nr::{CLOSE as SYS_CLOSE, EXIT_GROUP as SYS_EXIT_GROUP, MMAP as SYS_MMAP};
pub use nr::{MPROTECT as SYS_MPROTECT, PRCTL as SYS_PRCTL, WRITE as SYS_WRITE};
pub const PR_SET_NAME: usize = 15;

pub const O_RDONLY: usize = 0;
pub const O_CLOEXEC: usize = 0o2_000_000;
pub const AT_FDCWD: usize = -100isize as usize;

pub const PROT_NONE: usize = 0;
pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const PROT_EXEC: usize = 4;

pub const MAP_PRIVATE: usize = 0x02;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;

// ---------------------------------------------------------------------------
// Raw system calls.

#[cfg(target_arch = "x86_64")]
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments are valid for `nr`; the
    // kernel clobbers only rax, rcx and r11, which are declared.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments are valid for `nr`; the
    // kernel returns in x0 and preserves every other register.
    unsafe {
        asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// Open `path` read-only with `openat(AT_FDCWD, ...)` (aarch64 has no
/// `open`, and Android's app policy traps it on x86_64). The tracer
/// recognises this call as the loader's (see `arch::LOADER_OPEN`).
///
/// # Safety
/// `path` must be a NUL-terminated string.
pub unsafe fn open_rdonly(path: *const u8) -> isize {
    let args = [AT_FDCWD, path as usize, O_RDONLY | O_CLOEXEC, 0, 0, 0];
    // SAFETY: `path` is NUL-terminated per the caller.
    unsafe { syscall6(nr::OPENAT, args) }
}

pub fn write_all(fd: usize, bytes: &[u8]) {
    let mut done = 0;
    while done < bytes.len() {
        // SAFETY: the buffer is a valid slice for its whole length.
        let n = unsafe {
            syscall6(
                SYS_WRITE,
                [
                    fd,
                    bytes.as_ptr() as usize + done,
                    bytes.len() - done,
                    0,
                    0,
                    0,
                ],
            )
        };
        if n <= 0 {
            return;
        }
        done += n as usize;
    }
}

pub fn die(what: &[u8]) -> ! {
    die_on(what, b"")
}

/// Prints `sproot-loader: <what> <object> failed` and exits with 127.
pub fn die_on(what: &[u8], object: &[u8]) -> ! {
    write_all(2, b"sproot-loader: ");
    write_all(2, what);
    if !object.is_empty() {
        write_all(2, b" ");
        write_all(2, object);
    }
    write_all(2, b" failed\n");
    loop {
        // SAFETY: exit_group takes no pointers and never returns.
        unsafe {
            syscall6(SYS_EXIT_GROUP, [127, 0, 0, 0, 0, 0]);
        }
    }
}

/// mmap that dies with `what` on error.
pub fn mmap(addr: usize, len: usize, prot: usize, flags: usize, fd: usize, off: usize) -> usize {
    // SAFETY: mapping memory has no effect on Rust-visible memory except for
    // MAP_FIXED, which callers use only on ranges reserved for the guest.
    let r = unsafe { syscall6(SYS_MMAP, [addr, len, prot, flags, fd, off]) };
    if (-4095..0).contains(&r) {
        die(b"mmap");
    }
    r as usize
}

// ---------------------------------------------------------------------------
// Memory helpers. The compiler may emit calls to these symbols; they are
// written with string instructions so they cannot recurse into themselves.

/// # Safety
/// Standard C `memcpy` contract.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
    unsafe {
        asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags),
        );
    }
    dst
}

/// # Safety
/// Standard C `memmove` contract.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if n == 0 || (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize) + n {
        // SAFETY: forward copy is correct when dst does not start inside src.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: backward copy with the direction flag set, restored afterwards.
    unsafe {
        asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dst.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack),
        );
    }
    dst
}

/// # Safety
/// Standard C `memset` contract.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees the range is valid for `n` bytes.
    unsafe {
        asm!(
            "rep stosb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            in("al") c as u8,
            options(nostack, preserves_flags),
        );
    }
    dst
}

/// # Safety
/// Standard C `memcpy` contract.
#[cfg(target_arch = "aarch64")]
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: forwarded contract; memmove handles any overlap.
    unsafe { memmove(dst, src, n) }
}

/// # Safety
/// Standard C `memmove` contract.
#[cfg(target_arch = "aarch64")]
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // Byte loops with volatile accesses, so that the compiler cannot turn
    // them back into calls to these very functions.
    let backward = (dst as usize) > (src as usize) && (dst as usize) < (src as usize) + n;
    let mut i = 0;
    while i < n {
        let k = if backward { n - 1 - i } else { i };
        // SAFETY: the caller guarantees both ranges are valid for `n` bytes;
        // copying from the far end first is correct when dst is after src.
        unsafe { core::ptr::write_volatile(dst.add(k), core::ptr::read_volatile(src.add(k))) };
        i += 1;
    }
    dst
}

/// # Safety
/// Standard C `memset` contract.
#[cfg(target_arch = "aarch64")]
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees the range is valid for `n` bytes.
        unsafe { core::ptr::write_volatile(dst.add(i), c as u8) };
        i += 1;
    }
    dst
}

/// # Safety
/// Standard C `memcmp` contract.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// Same contract as `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { memcmp(a, b, n) }
}

/// The precompiled `core` may still reference the unwinding personality
/// routine (when not optimised away); with `panic=abort` it is never called.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
