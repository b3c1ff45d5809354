//! The architecture-specific register edits of guest ptrace, in one place.
//! Guest ptrace is emulated on x86_64 only: the loader's exec marker, the
//! registers after exec and the syscall replay are x86_64's; elsewhere the
//! edits do nothing and a guest's `ptrace` runs natively (`EPERM`).

use super::backend::TaskControl;
use crate::arch::Regs;
use nix::unistd::Pid;

/// Whether guest ptrace is emulated on this architecture.
pub const EMULATED_HERE: bool = cfg!(target_arch = "x86_64");

/// `open` or `openat`.
pub fn is_open(sysno: i64) -> bool {
    #[cfg(target_arch = "x86_64")]
    if sysno == crate::arch::sys::SYS_open {
        return true;
    }
    sysno == crate::arch::sys::SYS_openat
}

/// The registers after `execve`, from the loader's marker stop: the stack
/// pointer at `argc`, the program (or its interpreter) about to run from its
/// entry, every other general register zero, `execve` returned 0.
#[cfg(target_arch = "x86_64")]
pub fn after_exec_regs(regs: &mut Regs) {
    let r = &mut regs.0;
    let (sp, entry) = (r.rdi, r.rsi);
    for g in [
        &mut r.rax, &mut r.rbx, &mut r.rcx, &mut r.rdx, &mut r.rsi, &mut r.rdi, &mut r.rbp,
        &mut r.r8, &mut r.r9, &mut r.r10, &mut r.r11, &mut r.r12, &mut r.r13, &mut r.r14,
        &mut r.r15,
    ] {
        *g = 0;
    }
    r.rsp = sp;
    r.rip = entry;
    r.orig_rax = crate::arch::sys::SYS_execve as u64;
}

/// Registers that run the syscall of a syscall-entry stop again: back to
/// its `syscall` instruction, with its number.
#[cfg(target_arch = "x86_64")]
pub fn replay_syscall(regs: &mut Regs) {
    regs.0.rip -= 2;
    regs.0.rax = regs.0.orig_rax;
}

/// From a task stopped at its clone/fork/vfork event: whether it is a
/// vfork, the child's exit signal, and whether the child is a thread.
#[cfg(target_arch = "x86_64")]
pub fn clone_kind(tasks: &mut dyn TaskControl, pid: Pid, regs: &Regs) -> (bool, i32, bool) {
    let flags = match regs.sysno() {
        crate::arch::sys::SYS_fork => libc::SIGCHLD as u64,
        crate::arch::sys::SYS_vfork => (libc::CLONE_VFORK | libc::CLONE_VM | libc::SIGCHLD) as u64,
        crate::arch::sys::SYS_clone3 => {
            // struct clone_args: flags at 0, exit_signal at 32.
            let f = tasks.read_u64(pid, regs.arg(0)).unwrap_or(0);
            let sig = tasks.read_u64(pid, regs.arg(0) + 32).unwrap_or(0);
            f | (sig & 0xff)
        }
        _ => regs.arg(0),
    };
    clone_flags_kind(flags)
}

#[cfg(not(target_arch = "x86_64"))]
pub fn after_exec_regs(_: &mut Regs) {}

#[cfg(not(target_arch = "x86_64"))]
pub fn replay_syscall(_: &mut Regs) {}

#[cfg(not(target_arch = "x86_64"))]
pub fn clone_kind(_: &mut dyn TaskControl, _: Pid, regs: &Regs) -> (bool, i32, bool) {
    clone_flags_kind(regs.arg(0))
}

fn clone_flags_kind(flags: u64) -> (bool, i32, bool) {
    (
        flags & libc::CLONE_VFORK as u64 != 0,
        (flags & 0xff) as i32,
        flags & libc::CLONE_THREAD as u64 != 0,
    )
}
