//! The architecture-specific register edits of guest ptrace, in one place:
//! the registers after `execve` (from the loader's exec marker) and the
//! syscall replay, for x86_64 and aarch64.

use super::backend::TaskControl;
use crate::arch::Regs;
use nix::unistd::Pid;

/// Whether guest ptrace is emulated on this architecture (both that sproot
/// supports; a guest's `ptrace` would otherwise run natively: `EPERM`).
pub const EMULATED_HERE: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// `open` or `openat`.
pub fn is_open(sysno: i64) -> bool {
    #[cfg(target_arch = "x86_64")]
    if sysno == crate::arch::sys::SYS_open {
        return true;
    }
    sysno == crate::arch::sys::SYS_openat
}

/// The registers after `execve`, from the loader's marker stop (its
/// `getpid` exit, the stack pointer and entry in `rdi`, `rsi`): the stack
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

/// The registers after `execve`, from the loader's marker stop (its
/// `getpid` exit, the stack pointer and entry in `x1`, `x2`: `x0` holds
/// the result): as arm64's `start_thread` leaves them, `x0`..`x30` zero
/// (`execve` returned 0), `sp` at `argc`, `pc` at the entry, the condition
/// flags clear, and the syscall number still `execve` (the kernel keeps
/// it across the exec; `x8` is zero like the other registers). Except
/// `x7`: at a syscall stop the kernel shows 1 there for an exit (0 for an
/// entry), discards what a tracer writes to it and puts the task's own
/// value back on resume (the loader zeroed it before its marker).
#[cfg(target_arch = "aarch64")]
pub fn after_exec_regs(regs: &mut Regs) {
    let g = &mut regs.gp;
    let (sp, entry) = (g.regs[1], g.regs[2]);
    g.regs = [0; 31];
    g.regs[7] = 1;
    g.sp = sp;
    g.pc = entry;
    // N, Z, C, V.
    g.pstate &= !0xf000_0000;
    regs.sysno = crate::arch::sys::SYS_execve;
}

/// Registers that run the syscall of a syscall-entry stop again: back to
/// its `syscall` instruction, with its number.
#[cfg(target_arch = "x86_64")]
pub fn replay_syscall(regs: &mut Regs) {
    regs.set_pc(regs.pc() - crate::arch::SYSCALL_INSN);
    regs.0.rax = regs.0.orig_rax;
}

/// Registers that run the syscall of a syscall-entry stop again: back to
/// its `svc #0` (4 bytes), with its number in `x8`. `regs` are the entry
/// stop's, so `x0` is the first argument again (the kernel has written a
/// result there since).
#[cfg(target_arch = "aarch64")]
pub fn replay_syscall(regs: &mut Regs) {
    regs.set_pc(regs.pc() - crate::arch::SYSCALL_INSN);
    regs.gp.regs[8] = regs.sysno as u64;
}

/// From a task stopped at its clone/fork/vfork event: whether it is a
/// vfork, the child's exit signal, and whether the child is a thread.
/// (aarch64 has no `fork` or `vfork`: their names stand for numbers no
/// syscall has there.)
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
        // clone: the flags are the first argument (`x0` is still that at
        // the event stop, inside the syscall).
        _ => regs.arg(0),
    };
    clone_flags_kind(flags)
}

fn clone_flags_kind(flags: u64) -> (bool, i32, bool) {
    (
        flags & libc::CLONE_VFORK as u64 != 0,
        (flags & 0xff) as i32,
        flags & libc::CLONE_THREAD as u64 != 0,
    )
}

#[cfg(test)]
mod tests {
    use super::super::backend::fake::FakeTasks;
    use super::*;
    use crate::arch::sys;

    /// `clone`'s flags (its first argument, also on aarch64 at the event
    /// stop) and `clone3`'s `struct clone_args` tell the child's kind.
    #[test]
    fn clone_and_clone3_give_the_child_kind() {
        let mut be = FakeTasks::default();
        let pid = Pid::from_raw(20);
        let thread = (libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD) as u64;
        let regs = Regs::entry(sys::SYS_clone, [thread, 0x7000, 0, 0, 0, 0], 0);
        assert_eq!(clone_kind(&mut be, pid, &regs), (false, 0, true));
        let vfork = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
        let regs = Regs::entry(sys::SYS_clone, [vfork, 0, 0, 0, 0, 0], 0);
        assert_eq!(
            clone_kind(&mut be, pid, &regs),
            (true, libc::SIGCHLD, false)
        );
        // clone3: flags 0, exit_signal SIGCHLD (a fork).
        be.poke(20, 0x1000, &0u64.to_ne_bytes());
        be.poke(20, 0x1020, &(libc::SIGCHLD as u64).to_ne_bytes());
        let regs = Regs::entry(sys::SYS_clone3, [0x1000, 88, 0, 0, 0, 0], 0);
        assert_eq!(
            clone_kind(&mut be, pid, &regs),
            (false, libc::SIGCHLD, false)
        );
    }
}
