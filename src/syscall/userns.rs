//! New user namespaces: the kernel refuses them to a chrooted process
//! (`create_user_ns`: `EPERM` when the caller's root is not its mount
//! namespace's root), and a guest is chrooted. The filter sends `unshare`
//! and `clone` here only when `CLONE_NEWUSER` (or, for `clone`,
//! `CLONE_UNTRACED`, which is dropped) is set; `clone3`'s flags live in
//! memory the filter cannot read, so it runs as it is.
//!
//! The kernel's earlier answers come first, as it gives them: bad flag
//! combinations are `EINVAL` before the namespace is tried.

use nix::errno::Errno;

const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
const CLONE_SIGHAND: u64 = libc::CLONE_SIGHAND as u64;
const CLONE_VM: u64 = libc::CLONE_VM as u64;
const CLONE_FS: u64 = libc::CLONE_FS as u64;
const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
const CLONE_PARENT: u64 = libc::CLONE_PARENT as u64;
const CLONE_NEWPID: u64 = libc::CLONE_NEWPID as u64;
const CLONE_FILES: u64 = libc::CLONE_FILES as u64;
const CLONE_SYSVSEM: u64 = libc::CLONE_SYSVSEM as u64;
const CLONE_NEWUTS: u64 = libc::CLONE_NEWUTS as u64;
const CLONE_NEWIPC: u64 = libc::CLONE_NEWIPC as u64;
const CLONE_NEWNET: u64 = libc::CLONE_NEWNET as u64;
const CLONE_NEWCGROUP: u64 = libc::CLONE_NEWCGROUP as u64;
/// Linux 5.6; not in every `libc` release.
const CLONE_NEWTIME: u64 = 0x80;

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
    const CLONE_UNTRACED: u64 = libc::CLONE_UNTRACED as u64;
    (flags & CLONE_UNTRACED != 0).then_some(flags & !CLONE_UNTRACED)
}

/// The number of threads of the thread group of `pid` (1 when unknown).
pub fn threads(pid: i32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_user_namespace_is_refused() {
        assert_eq!(unshare(0, 1), None);
        assert_eq!(unshare(CLONE_NEWNS | CLONE_NEWUTS, 4), None);
        assert_eq!(unshare(CLONE_NEWUSER, 1), Some(Errno::EPERM));
        assert_eq!(
            unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, 1),
            Some(Errno::EPERM)
        );
        assert_eq!(clone(libc::SIGCHLD as u64), None);
        assert_eq!(
            clone(CLONE_NEWUSER | libc::SIGCHLD as u64),
            Some(Errno::EPERM)
        );
    }

    #[test]
    fn clone_untraced_is_dropped_and_nothing_else() {
        let untraced = libc::CLONE_UNTRACED as u64;
        let sigchld = libc::SIGCHLD as u64;
        assert_eq!(traced_clone(sigchld | untraced), Some(sigchld));
        assert_eq!(traced_clone(sigchld | CLONE_VM), None);
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
