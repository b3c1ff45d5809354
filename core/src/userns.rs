//! New user namespaces: the kernel refuses them to a chrooted process
//! (`create_user_ns`: `EPERM` when the caller's root is not its mount
//! namespace's root), and a guest is chrooted. Here are the kernel's
//! answers to `unshare`, `clone` and `clone3` asking for one, its earlier
//! `EINVAL` checks first, for whichever backend stops the call.

use crate::Errno;

pub const CLONE_NEWUSER: u64 = 0x1000_0000;
pub const CLONE_THREAD: u64 = 0x0001_0000;
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
pub const CLONE_VM: u64 = 0x0000_0100;
pub const CLONE_FS: u64 = 0x0000_0200;
pub const CLONE_NEWNS: u64 = 0x0002_0000;
pub const CLONE_PARENT: u64 = 0x0000_8000;
pub const CLONE_NEWPID: u64 = 0x2000_0000;
pub const CLONE_FILES: u64 = 0x0000_0400;
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
pub const CLONE_NEWUTS: u64 = 0x0400_0000;
pub const CLONE_NEWIPC: u64 = 0x0800_0000;
pub const CLONE_NEWNET: u64 = 0x4000_0000;
pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
/// Linux 5.6.
pub const CLONE_NEWTIME: u64 = 0x80;

/// The size of the first `struct clone_args` (Linux 5.3); `set_tid` came
/// with the second (5.5), `cgroup` with the third (5.7), the largest
/// known.
pub const CLONE_ARGS_SIZE_VER0: u64 = 64;
pub const CLONE_ARGS_SIZE_VER2: u64 = 88;
const CLONE_DETACHED: u64 = 0x0040_0000;
const CSIGNAL: u64 = 0xff;
const CLONE_CLEAR_SIGHAND: u64 = 1 << 32;
const CLONE_INTO_CGROUP: u64 = 1 << 33;
/// `MAX_PID_NS_LEVEL`: how deep pid namespaces nest.
const MAX_PID_NS_LEVEL: u64 = 32;

/// The fields of `struct clone_args` the kernel checks before it makes a
/// child (absent fields are 0, as the kernel reads them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CloneArgs {
    pub size: u64,
    pub flags: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

impl CloneArgs {
    /// The structure in the guest's `bytes` (its size).
    pub fn of(bytes: &[u8]) -> CloneArgs {
        let word = |i: usize| {
            bytes.get(i * 8..i * 8 + 8).map_or(0, |b| {
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                u64::from_ne_bytes(w)
            })
        };
        CloneArgs {
            size: bytes.len() as u64,
            flags: word(0),
            exit_signal: word(4),
            stack: word(5),
            stack_size: word(6),
            set_tid: word(8),
            set_tid_size: word(9),
            cgroup: word(10),
        }
    }
}

/// The answer to `clone3` with these arguments: `None` when it may run.
/// The kernel's `EINVAL` checks of the structure (`copy_clone_args_from_user`,
/// `clone3_args_valid`) come before `clone`'s own.
pub fn clone3(a: &CloneArgs) -> Option<Errno> {
    if a.flags & CLONE_NEWUSER == 0 {
        return None;
    }
    let signal = a.exit_signal;
    let invalid = a.set_tid_size > MAX_PID_NS_LEVEL
        || (a.set_tid == 0) != (a.set_tid_size == 0)
        || signal & !CSIGNAL != 0
        || signal > 64
        || (a.flags & CLONE_INTO_CGROUP != 0
            && (a.cgroup > i32::MAX as u64 || a.size < CLONE_ARGS_SIZE_VER2))
        || a.flags & !(0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        || a.flags & (CLONE_DETACHED | (CSIGNAL & !CLONE_NEWTIME)) != 0
        || a.flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND
        || (a.flags & (CLONE_THREAD | CLONE_PARENT) != 0 && signal != 0)
        || (a.stack == 0) != (a.stack_size == 0);
    if invalid {
        return Some(Errno::EINVAL);
    }
    clone(a.flags)
}

/// Every flag `unshare` knows (`check_unshare_flags`).
const UNSHARE_FLAGS: u64 = CLONE_THREAD
    | CLONE_FS
    | CLONE_NEWNS
    | CLONE_SIGHAND
    | CLONE_VM
    | CLONE_FILES
    | CLONE_SYSVSEM
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWNET
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWCGROUP
    | CLONE_NEWTIME;

/// The answer to `unshare(flags)` from a process of `threads` threads:
/// `None` when it may run (no new user namespace).
pub fn unshare(flags: u64, threads: usize) -> Option<Errno> {
    if flags & CLONE_NEWUSER == 0 {
        return None;
    }
    if flags & !UNSHARE_FLAGS != 0 {
        return Some(Errno::EINVAL);
    }
    // A new user namespace implies CLONE_THREAD: only a single thread may.
    if threads > 1 {
        return Some(Errno::EINVAL);
    }
    Some(Errno::EPERM)
}

/// The answer to `clone(flags, ...)`: `None` when it may run.
pub fn clone(flags: u64) -> Option<Errno> {
    if flags & CLONE_NEWUSER == 0 {
        return None;
    }
    // copy_process: a new user namespace shares no fs_struct, makes no
    // thread and no sibling; CLONE_SIGHAND needs CLONE_VM.
    let invalid = flags & (CLONE_FS | CLONE_THREAD | CLONE_PARENT) != 0
        || (flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0);
    Some(if invalid { Errno::EINVAL } else { Errno::EPERM })
}

/// `CLONE_UNTRACED` would hide the child from sproot (its paths would go
/// to the host untranslated): the flags without it, when it is set.
pub fn traced_clone(flags: u64) -> Option<u64> {
    (flags & CLONE_UNTRACED != 0).then_some(flags & !CLONE_UNTRACED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const SIGCHLD: u64 = 17;

    #[test]
    fn only_a_new_user_namespace_is_refused() {
        assert_eq!(unshare(0, 1), None);
        assert_eq!(unshare(CLONE_NEWNS | CLONE_NEWUTS, 4), None);
        assert_eq!(unshare(CLONE_NEWUSER, 1), Some(Errno::EPERM));
        assert_eq!(
            unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, 1),
            Some(Errno::EPERM)
        );
        assert_eq!(clone(SIGCHLD), None);
        assert_eq!(clone(CLONE_NEWUSER | SIGCHLD), Some(Errno::EPERM));
    }

    #[test]
    fn clone_untraced_is_dropped_and_nothing_else() {
        let untraced = CLONE_UNTRACED;
        let sigchld = SIGCHLD;
        assert_eq!(traced_clone(sigchld | untraced), Some(sigchld));
        assert_eq!(traced_clone(sigchld | CLONE_VM), None);
    }

    #[test]
    fn clone3_refuses_a_new_user_namespace_after_its_einval_checks() {
        let fork = CloneArgs {
            size: 88,
            exit_signal: SIGCHLD,
            ..CloneArgs::default()
        };
        assert_eq!(clone3(&fork), None);
        let newuser = CloneArgs {
            flags: CLONE_NEWUSER,
            ..fork
        };
        assert_eq!(clone3(&newuser), Some(Errno::EPERM));
        for bad in [
            CloneArgs {
                exit_signal: 0x100,
                ..newuser
            },
            CloneArgs {
                flags: CLONE_NEWUSER | SIGCHLD,
                ..newuser
            },
            CloneArgs {
                flags: CLONE_NEWUSER | CLONE_PARENT,
                ..newuser
            },
            CloneArgs {
                stack_size: 4096,
                ..newuser
            },
            CloneArgs {
                flags: CLONE_NEWUSER | 1 << 40,
                ..newuser
            },
            CloneArgs {
                flags: CLONE_NEWUSER | CLONE_FS,
                ..newuser
            },
        ] {
            assert_eq!(clone3(&bad), Some(Errno::EINVAL), "{bad:?}");
        }
        // Not a new user namespace: the kernel answers, whatever the rest.
        assert_eq!(
            clone3(&CloneArgs {
                stack_size: 4096,
                ..fork
            }),
            None
        );
    }

    #[test]
    fn clone_args_are_read_as_the_kernel_lays_them_out() {
        let mut b = vec![0u8; 64];
        b[..8].copy_from_slice(&CLONE_NEWUSER.to_ne_bytes());
        b[32..40].copy_from_slice(&17u64.to_ne_bytes());
        let a = CloneArgs::of(&b);
        assert_eq!(
            (a.size, a.flags, a.exit_signal, a.set_tid),
            (64, CLONE_NEWUSER, 17, 0)
        );
    }

    #[test]
    fn the_kernels_earlier_einval_comes_first() {
        assert_eq!(unshare(CLONE_NEWUSER, 2), Some(Errno::EINVAL));
        assert_eq!(unshare(CLONE_NEWUSER | 1 << 40, 1), Some(Errno::EINVAL));
        assert_eq!(clone(CLONE_NEWUSER | CLONE_FS), Some(Errno::EINVAL));
        assert_eq!(
            clone(CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
            Some(Errno::EINVAL)
        );
    }
}
