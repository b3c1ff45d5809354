//! sproot's in-process runtime (`--engine=inproc`).
//!
//! A loader that stays: the kernel executes this static program for every
//! guest exec (at a fixed address, `build/runtime.rs`). It reads the
//! launcher's hand-off from its environment (`sproot_core::inproc`),
//! takes it out of the environment, installs its `SIGSYS` handler (and,
//! at the first start, the seccomp filter that traps the syscalls needing
//! translation when they come from outside this program's code), maps the
//! guest's program as the load script says and jumps to it.
//!
//! From then on, a trapped syscall raises `SIGSYS` in the guest thread;
//! the handler ([`trap`]) runs on a stack of its own, decodes the call
//! with the core's table and handlers, re-issues the translated call from
//! its own code (which the filter lets through) and writes the result into
//! the interrupted context. No tracer, no stop.

#![no_std]
#![no_main]

extern crate alloc;

#[path = "../../src/loader/map.rs"]
mod map;
#[path = "../../src/loader/sys.rs"]
mod sys;

mod exec;
mod guest_filters;
mod heap;
mod host;
mod ipc;
mod logger;
mod nr;
mod start;
mod trap;

#[global_allocator]
static ALLOC: heap::Heap = heap::Heap;

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call runtime_main",
    "ud2",
);

// The kernel leaves the stack pointer 16-aligned at argc.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov x0, sp",
    "bl runtime_main",
    "brk #0",
);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // Where, without allocating: the file and the line.
    let mut line = [0u8; 24];
    let mut at = line.len();
    let (file, mut n) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    loop {
        at -= 1;
        line[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    sys::write_all(2, b"sproot-runtime: internal check failed at ");
    sys::write_all(2, file.as_bytes());
    sys::write_all(2, b":");
    sys::write_all(2, &line[at..]);
    host::fatal(b"(please report it)")
}

/// The precompiled `alloc` keeps references to the unwinder's resume
/// routine; with `panic=abort` nothing unwinds, so it is never called.
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    host::fatal(b"unwinding is not supported")
}

/// The precompiled `compiler_builtins` of aarch64 asks the C library which
/// CPU features there are (for its atomics and function versions); there
/// is no C library here, and no constructor runs: none are assumed, and
/// the atomics use the base instructions.
#[cfg(target_arch = "aarch64")]
#[no_mangle]
pub extern "C" fn getauxval(_type: u64) -> u64 {
    0
}
