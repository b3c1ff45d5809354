//! Syscalls that a seccomp filter outside sproot traps (Android's app
//! policy, which zygote installs in every app and which Termux, sproot and
//! every guest inherit): what sproot makes of each one instead of letting
//! the guest die of `SIGSYS`.
//!
//! Such a filter answers `SECCOMP_RET_TRAP`, which outranks sproot's own
//! `SECCOMP_RET_TRACE`: the call never runs, the thread gets `SIGSYS`
//! (`si_code` `SYS_SECCOMP`) with its registers as at the call. This
//! module is the pure decision, shared by the three places that apply it:
//! the tracer (`tracer/outer_trap.rs`, at a signal-delivery stop), sproot's
//! own process (`seccomp/own_trap.rs`) and the in-process runtime (both
//! through [`complete`], in the trapped thread itself). A call is either
//!
//! - completed without running, with what a kernel without the call would
//!   answer (`ENOSYS`: `set_robust_list`, `rseq`, `clone3`, `close_range`,
//!   `pidfd_*`, `io_uring_*`, any number sproot does not know),
//! - answered by sproot's own handlers, as under `-0`/`-i` and without
//!   them (`set*id`, `setgroups`, `chroot`, `mount`, `sethostname`, ...),
//!   with the kernel's refusal for an unprivileged process where those
//!   handlers would let the call run, or
//! - run as an allowed equivalent (`open` as `openat`, `faccessat2` as
//!   `faccessat`, `accept` as `accept4`, ...).

#![allow(non_upper_case_globals)] // the syscall names of arch::sys

use crate::errno::Errno;
use crate::sysno as sys;
use crate::table;

/// `si_code` of a `SIGSYS` sent by a seccomp filter.
pub const SYS_SECCOMP: i32 = 1;

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_EACCESS: u64 = 0x200;
const O_WRONLY_CREAT_TRUNC: u64 = 0o1 | 0o100 | 0o1000;
const SIGCHLD: u64 = 17;
const CLONE_VM_VFORK: u64 = 0x100 | 0x4000;
const F_GETFD: u64 = 1;
/// The size of the kernel's signal set, `ppoll`'s and `epoll_pwait`'s last
/// argument.
const SIGSET_SIZE: u64 = 8;

/// What sproot does with a trapped syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The call returns this (a negative errno or a value) without running.
    Complete(i64),
    /// sproot's handlers answer it; where they would let it run, this
    /// (the kernel's answer to an unprivileged process).
    Emulate { otherwise: Otherwise },
    /// This allowed call runs instead.
    Substitute(Substitute),
    /// `AT_SYMLINK_NOFOLLOW` done by sproot: when the path (argument 1,
    /// relative to the directory fd in argument 0) names a symlink, the
    /// call returns `if_symlink`; otherwise `otherwise` runs.
    NoFollow {
        if_symlink: i64,
        otherwise: Substitute,
    },
}

/// What a call sproot's handlers do not emulate becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Otherwise {
    /// It fails with this errno.
    Fail(Errno),
    /// This allowed call answers it.
    Run(Substitute),
}

/// A plan once sproot's handlers had their say: what is done with the
/// call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Complete(i64),
    Substitute(Substitute),
}

impl Plan {
    /// Settle an `Emulate` plan with the handlers' answer (`emulated`: the
    /// result if they emulated the call); other plans are settled already.
    pub fn settle(self, emulated: impl FnOnce() -> Option<i64>) -> Settled {
        match self {
            Plan::Complete(v) => Settled::Complete(v),
            Plan::Substitute(s) | Plan::NoFollow { otherwise: s, .. } => Settled::Substitute(s),
            Plan::Emulate { otherwise } => match (emulated(), otherwise) {
                (Some(v), _) => Settled::Complete(v),
                (None, Otherwise::Fail(e)) => Settled::Complete(e.ret()),
                (None, Otherwise::Run(s)) => Settled::Substitute(s),
            },
        }
    }
}

/// An allowed call that does what the trapped one asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Substitute {
    pub nr: i64,
    pub args: [u64; 6],
    /// A `poll` timeout in milliseconds that must become a `struct
    /// timespec` in the guest's memory, its address in this argument
    /// (negative: no timeout, a NULL pointer).
    pub timeout_ms: Option<(usize, i64)>,
    /// What a successful result becomes.
    pub on_success: OnSuccess,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSuccess {
    /// The equivalent's result is the trapped call's.
    Same,
    /// The trapped call returns this instead (`dup2(fd, fd)` is `fd` once
    /// `fd` is known to be open).
    Value(i64),
    /// `statx` run as `newfstatat`: the equivalent writes a `struct stat`
    /// to scratch memory (its argument 2, given by whoever runs it), which
    /// becomes the `struct statx` at `buf` ([`statx_of_stat`]).
    Statx { buf: u64 },
}

/// The size of `struct statx`.
pub const STATX_LEN: usize = 256;
/// `STATX_BASIC_STATS`: what a `struct stat` holds.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `statx` flags `newfstatat` takes too.
const STATX_AT_FLAGS: u64 = 0x100 | 0x800 | 0x1000;

/// Offsets in the kernel's `struct stat` of the architecture (x86_64's
/// own layout, arm64's the generic one) that differ between the two.
#[cfg(not(target_arch = "aarch64"))]
mod stat_at {
    pub const NLINK: (usize, usize) = (16, 8);
    pub const MODE: usize = 24;
    pub const UID: usize = 28;
    pub const RDEV: usize = 40;
}
#[cfg(target_arch = "aarch64")]
mod stat_at {
    pub const NLINK: (usize, usize) = (20, 4);
    pub const MODE: usize = 16;
    pub const UID: usize = 24;
    pub const RDEV: usize = 32;
}

/// The size of the kernel's `struct stat` (at most).
pub const STAT_LEN: usize = 144;

fn field(st: &[u8], at: usize, width: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(&st[at..at + width]);
    u64::from_ne_bytes(v)
}

/// The file type and mode of a `struct stat`.
pub fn stat_mode(st: &[u8; STAT_LEN]) -> u32 {
    field(st, stat_at::MODE, 4) as u32
}

/// glibc's `major()`/`minor()` of a device number.
fn major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major as u32, minor as u32)
}

/// A `struct statx` made of a `struct stat` (the kernel's bytes): the
/// basic fields, with `stx_mask` saying so (no birth time, no attributes,
/// no mount id).
pub fn statx_of_stat(st: &[u8; STAT_LEN]) -> [u8; STATX_LEN] {
    let mut b = [0u8; STATX_LEN];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    let (nlink_at, nlink_width) = stat_at::NLINK;
    put(0, &STATX_BASIC_STATS.to_ne_bytes());
    put(4, &(field(st, 56, 4) as u32).to_ne_bytes());
    put(16, &(field(st, nlink_at, nlink_width) as u32).to_ne_bytes());
    put(20, &st[stat_at::UID..stat_at::UID + 8]);
    put(28, &(stat_mode(st) as u16).to_ne_bytes());
    put(32, &st[8..16]);
    put(40, &st[48..56]);
    put(48, &st[64..72]);
    // atime, ctime, mtime: 64-bit seconds, then 32-bit nanoseconds.
    for (off, at) in [(64, 72), (96, 104), (112, 88)] {
        put(off, &st[at..at + 8]);
        put(off + 8, &(field(st, at + 8, 4) as u32).to_ne_bytes());
    }
    let (rmaj, rmin) = major_minor(field(st, stat_at::RDEV, 8));
    let (dmaj, dmin) = major_minor(field(st, 0, 8));
    put(128, &rmaj.to_ne_bytes());
    put(132, &rmin.to_ne_bytes());
    put(136, &dmaj.to_ne_bytes());
    put(140, &dmin.to_ne_bytes());
    b
}

/// `statx(dirfd, path, flags, mask, buf)` on a kernel or policy without
/// it: `newfstatat` into scratch memory, made a `struct statx` at `buf`.
fn statx(a: [u64; 6]) -> Plan {
    let Some(call) = table::Call::decode(sys::SYS_statx, a) else {
        return enosys();
    };
    if call.invalid_before_lookup() {
        return Plan::Complete(Errno::EINVAL.ret());
    }
    let path = call.entry.paths()[0];
    let stat = table::Args::of(sys::SYS_newfstatat).map(|s| {
        s.dirfd(0, path.dirfd.map_or(0, |i| a[i]))
            .path(0, a[path.path])
            .flags(call.flags() & STATX_AT_FLAGS)
    });
    match (stat, call.out()) {
        (Some(stat), Some(buf)) => Plan::Substitute(Substitute {
            nr: stat.nr,
            args: stat.args,
            timeout_ms: None,
            on_success: OnSuccess::Statx { buf },
        }),
        _ => enosys(),
    }
}

impl Substitute {
    /// Point the buffer the kernel fills (the table's `out` argument) at
    /// `addr`: `statx` run as `newfstatat` writes its `struct stat` there.
    pub fn set_out(&mut self, addr: u64) {
        if let Some(i) = table::classify(self.nr).and_then(|e| e.out) {
            self.args[i] = addr;
        }
    }
}

fn same(nr: i64, args: [u64; 6]) -> Substitute {
    Substitute {
        nr,
        args,
        timeout_ms: None,
        on_success: OnSuccess::Same,
    }
}

fn sub(nr: i64, args: [u64; 6]) -> Plan {
    Plan::Substitute(same(nr, args))
}

/// A `newfstatat` of the first path of call `nr` (arguments `a`), not
/// followed, into `buf`: whether a `Plan::NoFollow` names a symlink.
pub fn lstat_of_path(nr: i64, a: [u64; 6], buf: u64) -> Option<table::Args> {
    let p = table::classify(nr)?.path_arg(0)?;
    let stat = table::Args::of(sys::SYS_newfstatat)?;
    Some(
        stat.dirfd(0, p.dirfd.map_or(AT_FDCWD, |i| a[i]))
            .path(0, a[p.path])
            .out(buf)
            .flags(AT_SYMLINK_NOFOLLOW),
    )
}

/// The arguments of the `*at` form of legacy call `nr`.
fn at_args(nr: i64, a: [u64; 6]) -> [u64; 6] {
    table::at_form(nr, a).map_or([0; 6], |(_, args)| args)
}

fn enosys() -> Plan {
    Plan::Complete(Errno::ENOSYS.ret())
}

/// What to do with syscall `nr` called with `a`, which a filter outside
/// sproot trapped.
pub fn plan(nr: i64, a: [u64; 6]) -> Plan {
    use sys::*;
    let eperm = Plan::Emulate {
        otherwise: Otherwise::Fail(Errno::EPERM),
    };
    match nr {
        // Identity, privilege and namespace calls sproot already answers
        // under -0/-i (and refuses or lets through without them).
        SYS_setuid | SYS_setgid | SYS_setreuid | SYS_setregid | SYS_setresuid | SYS_setresgid
        | SYS_setgroups | SYS_chroot | SYS_mount | SYS_umount2 | SYS_pivot_root
        | SYS_sethostname | SYS_setdomainname | SYS_swapon | SYS_swapoff | SYS_acct => eperm,
        // setfsuid/setfsgid return the previous id, never an error: when
        // not emulated, the current one (what the kernel returns when it
        // refuses the change).
        SYS_setfsuid => Plan::Emulate {
            otherwise: Otherwise::Run(same(SYS_getuid, [0; 6])),
        },
        SYS_setfsgid => Plan::Emulate {
            otherwise: Otherwise::Run(same(SYS_getgid, [0; 6])),
        },
        // Newer calls with an older equivalent, when the flags allow it;
        // otherwise ENOSYS, what a kernel without them answers (glibc then
        // does the rest in user space).
        // AT_EACCESS: a guest's effective ids are its real ones (set-id
        // bits do not apply to a traced process). AT_SYMLINK_NOFOLLOW:
        // a symlink's own mode is 0777, and no file system changes it.
        SYS_faccessat2 if a[3] & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0 => {
            let access = same(SYS_faccessat, [a[0], a[1], a[2], 0, 0, 0]);
            if a[3] & AT_SYMLINK_NOFOLLOW != 0 {
                Plan::NoFollow {
                    if_symlink: 0,
                    otherwise: access,
                }
            } else {
                Plan::Substitute(access)
            }
        }
        SYS_fchmodat2 if a[3] == 0 => sub(SYS_fchmodat, [a[0], a[1], a[2], 0, 0, 0]),
        SYS_fchmodat2 if a[3] == AT_SYMLINK_NOFOLLOW => Plan::NoFollow {
            if_symlink: Errno::EOPNOTSUPP.ret(),
            otherwise: same(SYS_fchmodat, [a[0], a[1], a[2], 0, 0, 0]),
        },
        SYS_accept => sub(SYS_accept4, [a[0], a[1], a[2], 0, 0, 0]),
        SYS_statx => statx(a),
        // x86_64's legacy calls, as their *at forms (the table knows them).
        SYS_creat => sub(
            SYS_openat,
            at_args(SYS_open, [a[0], O_WRONLY_CREAT_TRUNC, a[1], 0, 0, 0]),
        ),
        _ if let Some((at, args)) = table::at_form(nr, a) => sub(at, args),
        SYS_pipe => sub(SYS_pipe2, [a[0], 0, 0, 0, 0, 0]),
        SYS_dup2 if a[0] as u32 == a[1] as u32 => Plan::Substitute(Substitute {
            nr: SYS_fcntl,
            args: [a[0], F_GETFD, 0, 0, 0, 0],
            timeout_ms: None,
            on_success: OnSuccess::Value(i64::from(a[1] as u32)),
        }),
        SYS_dup2 => sub(SYS_dup3, [a[0], a[1], 0, 0, 0, 0]),
        SYS_epoll_create if a[0] as i32 <= 0 => Plan::Complete(Errno::EINVAL.ret()),
        SYS_epoll_create => sub(SYS_epoll_create1, [0; 6]),
        SYS_epoll_wait => sub(SYS_epoll_pwait, [a[0], a[1], a[2], a[3], 0, SIGSET_SIZE]),
        SYS_inotify_init => sub(SYS_inotify_init1, [0; 6]),
        SYS_eventfd => sub(SYS_eventfd2, [a[0], 0, 0, 0, 0, 0]),
        SYS_signalfd => sub(SYS_signalfd4, [a[0], a[1], a[2], 0, 0, 0]),
        SYS_poll => Plan::Substitute(Substitute {
            nr: SYS_ppoll,
            args: [a[0], a[1], 0, 0, SIGSET_SIZE, 0],
            timeout_ms: Some((2, i64::from(a[2] as i32))),
            on_success: OnSuccess::Same,
        }),
        SYS_getpgrp => sub(SYS_getpgid, [0; 6]),
        SYS_fork => sub(SYS_clone, [SIGCHLD, 0, 0, 0, 0, 0]),
        SYS_vfork => sub(SYS_clone, [CLONE_VM_VFORK | SIGCHLD, 0, 0, 0, 0, 0]),
        // Everything else: what a kernel without the call answers
        // (set_robust_list, rseq, clone3, close_range, pidfd_*,
        // io_uring_*, SysV IPC, openat2 on older releases, and
        // numbers sproot does not know).
        _ => enosys(),
    }
}

/// Complete trapped call `nr` (arguments `a`) in the trapping thread
/// itself, with `raw` running a syscall that no filter of sproot's traps
/// and returning its raw result: what the call returns. Nothing is
/// emulated here (sproot's own process never changes ids, and the
/// runtime's handlers see such calls first): those get the kernel's
/// refusal. A `vfork` runs as a `fork` (a child must not run on a stack
/// its parent is still using inside a signal handler). Memory the call
/// names is this process's.
pub fn complete(nr: i64, a: [u64; 6], raw: impl Fn(i64, [u64; 6]) -> i64) -> i64 {
    let plan = plan(nr, a);
    if let Plan::NoFollow { if_symlink, .. } = plan {
        let mut st = [0u8; STAT_LEN];
        let lstat = lstat_of_path(nr, a, st.as_mut_ptr() as u64);
        if lstat.is_some_and(|l| raw(l.nr, l.args) == 0) && stat_mode(&st) & S_IFMT == S_IFLNK {
            return if_symlink;
        }
    }
    let mut sub = match plan.settle(|| None) {
        Settled::Complete(v) => return v,
        Settled::Substitute(sub) => sub,
    };
    if nr == sys::SYS_vfork {
        sub.args[0] = SIGCHLD;
    }
    let mut ts = [0u8; 16];
    if let Some((arg, ms)) = sub.timeout_ms {
        sub.args[arg] = match timespec_of_ms(ms) {
            Some(t) => {
                ts = t;
                ts.as_ptr() as u64
            }
            None => 0,
        };
    }
    // statx as newfstatat: a stat here, then the statx asked for.
    let mut st = [0u8; STAT_LEN];
    if let OnSuccess::Statx { .. } = sub.on_success {
        sub.set_out(st.as_mut_ptr() as u64);
    }
    let r = raw(sub.nr, sub.args);
    core::hint::black_box(&ts);
    if let (OnSuccess::Statx { buf }, 0) = (sub.on_success, r) {
        let b = statx_of_stat(&st);
        // SAFETY: the caller asked statx to write a `struct statx`
        // (STATX_LEN bytes) at `buf`, in its own memory: this process's.
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), buf as *mut u8, b.len()) };
    }
    result(&sub, r)
}

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// The kernel's "restart this syscall" results (`ERESTARTSYS`,
/// `ERESTARTNOINTR`, `ERESTARTNOHAND`, `ERESTART_RESTARTBLOCK`), which a
/// syscall-exit stop can show when a signal interrupted the call.
pub fn is_restart(ret: i64) -> bool {
    matches!(-ret, 512..=514 | 516)
}

/// The trapped call's result from its equivalent's.
pub fn result(sub: &Substitute, ret: i64) -> i64 {
    match sub.on_success {
        OnSuccess::Value(v) if ret >= 0 => v,
        _ => ret,
    }
}

/// `struct timespec` for a `poll` timeout in milliseconds, as the bytes
/// `ppoll` reads; `None` for no timeout (a negative one).
pub fn timespec_of_ms(ms: i64) -> Option<[u8; 16]> {
    if ms < 0 {
        return None;
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ms / 1000).to_ne_bytes());
    b[8..].copy_from_slice(&((ms % 1000) * 1_000_000).to_ne_bytes());
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn substitute(p: Plan) -> Substitute {
        match p {
            Plan::Substitute(s) => s,
            other => panic!("not a substitute: {other:?}"),
        }
    }

    #[test]
    fn start_up_calls_a_phone_never_allows_are_enosys() {
        for nr in [
            sys::SYS_set_robust_list,
            sys::SYS_rseq,
            sys::SYS_clone3,
            sys::SYS_close_range,
            sys::SYS_pidfd_open,
            sys::SYS_pidfd_send_signal,
            sys::SYS_pidfd_getfd,
            sys::SYS_io_uring_setup,
            sys::SYS_io_uring_enter,
            sys::SYS_shmget,
            sys::SYS_semop,
            sys::SYS_msgrcv,
            sys::SYS_openat2,
            99_999,
        ] {
            assert_eq!(plan(nr, [0; 6]), Plan::Complete(-38), "{nr}");
        }
    }

    #[test]
    fn identity_and_privileged_calls_go_to_the_handlers() {
        for nr in [
            sys::SYS_setresuid,
            sys::SYS_setgroups,
            sys::SYS_chroot,
            sys::SYS_mount,
            sys::SYS_umount2,
            sys::SYS_sethostname,
        ] {
            assert_eq!(
                plan(nr, [0; 6]),
                Plan::Emulate {
                    otherwise: Otherwise::Fail(Errno::EPERM)
                }
            );
        }
    }

    #[test]
    fn handlers_answer_first_then_the_kernels_refusal() {
        let p = plan(sys::SYS_setresuid, [0; 6]);
        assert_eq!(p.settle(|| Some(0)), Settled::Complete(0));
        assert_eq!(p.settle(|| None), Settled::Complete(-1));
        // setfsgid refused: the current gid, never an error.
        match plan(sys::SYS_setfsgid, [5, 0, 0, 0, 0, 0]).settle(|| None) {
            Settled::Substitute(s) => assert_eq!(s.nr, sys::SYS_getgid),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan(sys::SYS_rseq, [0; 6]).settle(|| Some(7)),
            Settled::Complete(-38)
        );
    }

    #[test]
    fn newer_calls_fall_back_to_older_ones_with_the_flags_sproot_does() {
        let s = substitute(plan(sys::SYS_faccessat2, [3, 0x1000, 4, 0, 0, 0]));
        assert_eq!(
            (s.nr, s.args[..3].to_vec()),
            (sys::SYS_faccessat, vec![3, 0x1000, 4])
        );
        assert_eq!(
            plan(sys::SYS_faccessat2, [3, 0x1000, 4, 0x1000, 0, 0]),
            Plan::Complete(-38),
            "AT_EMPTY_PATH"
        );
        let s = substitute(plan(sys::SYS_fchmodat2, [3, 0x1000, 0o644, 0, 0, 0]));
        assert_eq!(s.nr, sys::SYS_fchmodat);
        assert_eq!(
            plan(sys::SYS_fchmodat2, [3, 0x1000, 0o644, 0x1000, 0, 0]),
            Plan::Complete(-38),
            "AT_EMPTY_PATH"
        );
        let s = substitute(plan(sys::SYS_accept, [5, 0x10, 0x20, 9, 9, 9]));
        assert_eq!((s.nr, s.args), (sys::SYS_accept4, [5, 0x10, 0x20, 0, 0, 0]));
    }

    #[test]
    fn restart_codes_are_the_kernels_four() {
        assert!(is_restart(-512) && is_restart(-513) && is_restart(-514) && is_restart(-516));
        assert!(!is_restart(-515) && !is_restart(-4) && !is_restart(0) && !is_restart(512));
    }

    #[test]
    fn poll_timeouts_become_timespecs() {
        assert_eq!(timespec_of_ms(-1), None);
        let t = timespec_of_ms(2_500).unwrap();
        assert_eq!(i64::from_ne_bytes(t[..8].try_into().unwrap()), 2);
        assert_eq!(i64::from_ne_bytes(t[8..].try_into().unwrap()), 500_000_000);
        assert_eq!(timespec_of_ms(0), Some([0; 16]));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn legacy_calls_become_their_at_forms() {
        let s = substitute(plan(sys::SYS_open, [0x1000, 0o2, 0o644, 0, 0, 0]));
        assert_eq!(
            (s.nr, s.args),
            (sys::SYS_openat, [AT_FDCWD, 0x1000, 2, 0o644, 0, 0])
        );
        let s = substitute(plan(sys::SYS_lstat, [0x1000, 0x2000, 0, 0, 0, 0]));
        assert_eq!(
            (s.nr, s.args),
            (
                sys::SYS_newfstatat,
                [AT_FDCWD, 0x1000, 0x2000, AT_SYMLINK_NOFOLLOW, 0, 0]
            )
        );
        let s = substitute(plan(sys::SYS_symlink, [0x1000, 0x2000, 0, 0, 0, 0]));
        assert_eq!(
            (s.nr, s.args),
            (sys::SYS_symlinkat, [0x1000, AT_FDCWD, 0x2000, 0, 0, 0])
        );
        let s = substitute(plan(sys::SYS_poll, [0x1000, 2, 250, 0, 0, 0]));
        assert_eq!((s.nr, s.timeout_ms), (sys::SYS_ppoll, Some((2, 250))));
        let s = substitute(plan(sys::SYS_poll, [0x1000, 2, u32::MAX as u64, 0, 0, 0]));
        assert_eq!(s.timeout_ms, Some((2, -1)));
        assert_eq!(
            plan(sys::SYS_epoll_create, [0, 0, 0, 0, 0, 0]),
            Plan::Complete(-22)
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn dup2_onto_itself_checks_the_descriptor_and_returns_it() {
        let s = substitute(plan(sys::SYS_dup2, [7, 7, 0, 0, 0, 0]));
        assert_eq!(s.nr, sys::SYS_fcntl);
        assert_eq!(result(&s, 1), 7);
        assert_eq!(result(&s, -9), -9);
        let s = substitute(plan(sys::SYS_dup2, [7, 9, 0, 0, 0, 0]));
        assert_eq!((s.nr, result(&s, 9)), (sys::SYS_dup3, 9));
    }

    #[test]
    fn statx_runs_as_newfstatat_and_is_rebuilt_from_its_stat() {
        let buf = 0x7000;
        match plan(sys::SYS_statx, [5, 6, 0x100 | 0x2000, 0x7ff, buf, 0]) {
            Plan::Substitute(s) => {
                assert_eq!(s.nr, sys::SYS_newfstatat);
                assert_eq!(s.args, [5, 6, 0, 0x100, 0, 0]);
                assert_eq!(s.on_success, OnSuccess::Statx { buf });
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan(sys::SYS_statx, [5, 6, 0x8, 0x7ff, buf, 0]),
            Plan::Complete(-22)
        );
        assert_eq!(
            plan(sys::SYS_statx, [5, 6, 0, 0x8000_0000, buf, 0]),
            Plan::Complete(-22)
        );
    }

    #[test]
    fn faccessat2_and_fchmodat2_flags_are_done_by_sproot() {
        let access = |flags| plan(sys::SYS_faccessat2, [1, 2, 4, flags, 0, 0]);
        match access(0x200) {
            Plan::Substitute(s) => {
                assert_eq!((s.nr, s.args), (sys::SYS_faccessat, [1, 2, 4, 0, 0, 0]))
            }
            other => panic!("{other:?}"),
        }
        match access(0x300) {
            Plan::NoFollow {
                if_symlink,
                otherwise,
            } => {
                assert_eq!(if_symlink, 0);
                assert_eq!(otherwise.nr, sys::SYS_faccessat);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(access(0x1000), Plan::Complete(-38), "AT_EMPTY_PATH");
        match plan(sys::SYS_fchmodat2, [1, 2, 0o644, 0x100, 0, 0]) {
            Plan::NoFollow {
                if_symlink,
                otherwise,
            } => {
                assert_eq!(if_symlink, Errno::EOPNOTSUPP.ret());
                assert_eq!(otherwise.args, [1, 2, 0o644, 0, 0, 0]);
            }
            other => panic!("{other:?}"),
        }
    }
}
