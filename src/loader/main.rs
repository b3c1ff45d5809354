//! sproot exec loader (x86_64 and aarch64).
//!
//! The tracer makes the kernel execute this tiny static program instead of
//! the guest's binary. At the exec stop it writes a *load script* (built by
//! `sproot::exec::ExecPlan::script`) below the stack pointer and points the
//! stack pointer at it. We then:
//!
//! 1. map the program and (optionally) its ELF interpreter from host paths;
//! 2. patch the auxiliary vector the kernel built for us on the original
//!    stack (`AT_PHDR`, `AT_PHNUM`, `AT_PHENT`, `AT_ENTRY`, `AT_BASE`,
//!    `AT_EXECFN`);
//! 3. restore the original stack pointer and jump to the interpreter's entry
//!    point (or the program's, for static executables).
//!
//! Script layout (u64 little-endian words, offsets relative to the script):
//!
//! ```text
//! [0] magic "SPROOTLD"   [1] orig_sp   [2] execfn_off   [3] n_objects
//! per object: path_off is_dyn entry phdr_vaddr phnum nsegs
//!             nsegs x { vaddr memsz filesz offset prot }
//! ```
//!
//! Any failure prints `sproot-loader: <what> failed` and exits with 127.

#![no_std]
#![no_main]

use core::arch::global_asm;

mod map;
mod sys;

#[cfg(target_arch = "x86_64")]
global_asm!(
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call loader_main",
    "ud2",
);

// The tracer leaves the stack pointer 16-aligned at the script.
#[cfg(target_arch = "aarch64")]
global_asm!(
    ".globl _start",
    "_start:",
    "mov x0, sp",
    "bl loader_main",
    "brk #0",
);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    sys::die(b"internal check")
}

#[no_mangle]
extern "C" fn loader_main(script: *const u64) -> ! {
    let (sp, entry) = map::load(script, None);
    map::jump_to_guest(sp, entry)
}
