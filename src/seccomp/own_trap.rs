//! sproot's own syscalls under a seccomp filter outside it (Android's app
//! policy, inherited by Termux and everything it starts).
//!
//! The tracer itself runs under that filter. The static musl build makes
//! some calls on x86_64 that the app policy traps (musl's `stat`, `lstat`,
//! `open`, `access`, `readlink`, `rename`, `pipe`, `fork`; Rust's start-up
//! `poll`), and the trap is a `SIGSYS` that would kill sproot. This module
//! installs, before Rust's runtime starts (from `.init_array`, see
//! `main.rs`), a `SIGSYS` handler that completes such a call in place: it
//! runs the allowed equivalent that [`crate::syscall::trapped`] gives (the
//! same decisions the tracer applies to its guests), or answers as a
//! kernel without the call would (`ENOSYS`), and writes the result into
//! the interrupted context. A `vfork` runs as a `fork` (a `vfork` child
//! must not run on its parent's stack while the parent is inside this
//! handler).
//!
//! The handler only makes raw syscalls and touches its own stack: it is
//! async-signal-safe. Guests never have it: `execve` resets handlers.

use crate::syscall::trapped;

/// `ucontext_t` register access for the interrupted syscall.
#[cfg(target_arch = "x86_64")]
mod regs {
    /// (number, the six arguments) of the trapped call.
    pub fn call(uc: &libc::ucontext_t) -> [u64; 6] {
        let g = &uc.uc_mcontext.gregs;
        [
            libc::REG_RDI,
            libc::REG_RSI,
            libc::REG_RDX,
            libc::REG_R10,
            libc::REG_R8,
            libc::REG_R9,
        ]
        .map(|r| g[r as usize] as u64)
    }
    pub fn set_ret(uc: &mut libc::ucontext_t, v: i64) {
        uc.uc_mcontext.gregs[libc::REG_RAX as usize] = v;
    }
}

#[cfg(target_arch = "aarch64")]
mod regs {
    pub fn call(uc: &libc::ucontext_t) -> [u64; 6] {
        let r = &uc.uc_mcontext.regs;
        [r[0], r[1], r[2], r[3], r[4], r[5]]
    }
    pub fn set_ret(uc: &mut libc::ucontext_t, v: i64) {
        uc.uc_mcontext.regs[0] = v as u64;
    }
}

/// Run syscall `nr` and return its raw result (a negative errno on
/// failure), leaving `errno` as it was.
fn raw_syscall(nr: i64, a: [u64; 6]) -> i64 {
    // SAFETY: __errno_location returns this thread's errno; the syscall
    // is one the trapped call asked for, with its own arguments (or the
    // equivalent's), as the thread would have run it.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let r = libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) as i64;
        let r = if r == -1 { -i64::from(*errno) } else { r };
        *errno = saved;
        r
    }
}

/// The fields of a `SIGSYS` siginfo: (`si_code`, `si_syscall`, `si_arch`).
pub fn sigsys_fields(si: &libc::siginfo_t) -> (i32, i32, u32) {
    // SAFETY: siginfo_t is plain data of at least 128 bytes; _sigsys is at
    // offset 16 on 64-bit Linux (call address, then syscall and arch).
    let raw: &[u8; 128] = unsafe { &*(si as *const libc::siginfo_t).cast::<[u8; 128]>() };
    let int = |o: usize| i32::from_ne_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
    (si.si_code, int(24), int(28) as u32)
}

/// What the trapped call returns, once done here (the core's
/// [`trapped::complete`]). sproot itself never changes ids or mounts
/// anything: such calls get the kernel's refusal.
pub fn complete(nr: i64, args: [u64; 6]) -> i64 {
    trapped::complete(nr, args, raw_syscall)
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if info.is_null() || ctx.is_null() {
        return;
    }
    // SAFETY: the kernel passes an SA_SIGINFO handler a valid siginfo and
    // the interrupted thread's ucontext, both ours for the handler's
    // duration.
    let (info, uc) = unsafe { (&*info, &mut *(ctx as *mut libc::ucontext_t)) };
    let (code, nr, _) = sigsys_fields(info);
    let v = if code == trapped::SYS_SECCOMP {
        complete(i64::from(nr), regs::call(uc))
    } else {
        -(libc::ENOSYS as i64)
    };
    regs::set_ret(uc, v);
}

/// Install the handler (once, before anything else runs).
pub fn install() {
    // SAFETY: a plain sigaction with an SA_SIGINFO handler that is
    // async-signal-safe; the sigaction struct is fully initialised.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::sys;

    #[test]
    fn calls_a_phone_traps_complete_as_an_old_kernel_answers() {
        assert_eq!(complete(sys::SYS_set_robust_list, [0; 6]), -38);
        assert_eq!(complete(sys::SYS_rseq, [0; 6]), -38);
        assert_eq!(complete(sys::SYS_setresuid, [0; 6]), -1);
    }

    /// A child that traps `faccessat2`, `statx` and (on x86_64)
    /// `lstat`/`access`/`poll` with SECCOMP_RET_TRAP, as Android's policy
    /// does, still gets their answers through the handler.
    #[test]
    fn trapped_calls_of_sproot_itself_are_completed_in_place() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("sproot-own-trap-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/nonexistent-target", &link).unwrap();
        let expected_ino = std::fs::symlink_metadata(&link).unwrap().ino();
        // SAFETY: the child only runs code that is fine after fork in a
        // test process (it exits with _exit).
        match unsafe { libc::fork() } {
            0 => {
                install();
                let mut trapped = vec![
                    sys::SYS_faccessat2,
                    sys::SYS_statx,
                    sys::SYS_set_robust_list,
                ];
                trapped.extend(sys::number("lstat"));
                trapped.extend(sys::number("access"));
                trapped.extend(sys::number("poll"));
                let prog = trap_filter(&trapped);
                let checks = [
                    install_filter(&prog),
                    std::fs::symlink_metadata(&link).map(|m| m.ino()).ok() == Some(expected_ino),
                    nix::unistd::access(&dir, nix::unistd::AccessFlags::R_OK).is_ok(),
                    nix::unistd::access(&dir.join("missing"), nix::unistd::AccessFlags::R_OK)
                        == Err(nix::errno::Errno::ENOENT),
                    raw_syscall(sys::SYS_set_robust_list, [0; 6]) == -38,
                ];
                let failed = checks.iter().position(|ok| !ok).map_or(0, |i| i as i32 + 1);
                // SAFETY: _exit is always safe.
                unsafe { libc::_exit(failed) }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                let _ = std::fs::remove_dir_all(&dir);
                assert!(
                    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    "child status {status:#x} (the exit code is the failed check, 1-based)"
                );
            }
        }
    }

    fn trap_filter(nrs: &[i64]) -> Vec<libc::sock_filter> {
        let mut f = vec![libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        for &nr in nrs {
            f.push(libc::sock_filter {
                code: 0x15,
                jt: 0,
                jf: 1,
                k: nr as u32,
            });
            f.push(libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0x0003_0000,
            });
        }
        f.push(libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        });
        f
    }

    fn install_filter(prog: &[libc::sock_filter]) -> bool {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: a valid filter program that lives through the call.
        unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                && libc::prctl(libc::PR_SET_SECCOMP, 2, &fprog as *const libc::sock_fprog) == 0
        }
    }
}
