//! Which syscalls stop at the tracer, and what each one needs, as data.

use crate::arch::sys;
use nix::errno::Errno;

/// Whether the last component of a path argument is followed when it is a
/// symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    Yes,
    No,
    /// Followed unless `flag` is set in argument `arg` (`AT_SYMLINK_NOFOLLOW`).
    UnlessFlag {
        arg: usize,
        flag: u64,
    },
    /// Followed only if `flag` is set in argument `arg` (`AT_SYMLINK_FOLLOW`).
    IfFlag {
        arg: usize,
        flag: u64,
    },
    /// `open` flags in argument `arg`: not followed with `O_NOFOLLOW` or with
    /// `O_CREAT|O_EXCL`.
    OpenFlags {
        arg: usize,
    },
}

/// A path argument of a syscall.
#[derive(Clone, Copy, Debug)]
pub struct PathArg {
    /// Argument index of the path pointer.
    pub path: usize,
    /// Argument index of the directory fd relative paths start from
    /// (`None`: the current directory).
    pub dirfd: Option<usize>,
    pub follow: Follow,
    /// `(arg, flag)`: an empty path with this flag set names the fd itself
    /// (`AT_EMPTY_PATH`) and is passed through untouched.
    pub empty_path: Option<(usize, u64)>,
}

/// What the tracer does with a trapped syscall.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Translate these path arguments and let the kernel run the syscall.
    Paths(&'static [PathArg]),
    /// Emulated: the guest's view of the current directory.
    Getcwd,
    /// Emulated: read a symlink, mapping /proc magic links to guest paths.
    Readlink {
        dirfd: Option<usize>,
        path: usize,
        buf: usize,
        size: usize,
    },
    /// `execve` (`at: false`) or `execveat` (`at: true`).
    Exec { at: bool },
    /// `bind`/`connect`/`sendto` with a socket address.
    SockAddr { addr: usize, len: usize, bind: bool },
    /// `sendmsg`: the address is inside a `struct msghdr`.
    SendMsg,
    /// `sendmmsg`: one address per `struct mmsghdr`.
    SendMmsg,
    /// An address comes back at `addr`, its length at `len` (pointers).
    AddrOut { addr: usize, len: usize },
    /// `recvmsg`: an address comes back inside a `struct msghdr`.
    RecvMsg,
    /// `recvmmsg`: addresses come back inside `struct mmsghdr`s.
    RecvMmsg,
    /// `bpf(BPF_OBJ_PIN | BPF_OBJ_GET)`: a path inside `union bpf_attr`.
    BpfObj,
    /// `chroot`: only to the guest's own root.
    Chroot,
    /// `openat2`: the follow rule is inside `struct open_how`.
    Openat2,
    /// `prctl(PR_SET_DUMPABLE, 0)` would lock the tracer out of the tracee's
    /// memory and /proc entries: it succeeds without taking effect.
    Prctl,
    /// `open_tree`: translated like an `O_PATH` open, refused (`EPERM`)
    /// with `OPEN_TREE_CLONE` (a new mount).
    OpenTree,
    /// `unshare` (`clone: false`) or `clone` with flags sproot answers
    /// (`syscall/userns.rs`): a new user namespace is refused as in a
    /// chroot; `CLONE_UNTRACED` is dropped, so that the child is traced
    /// and its paths translated like any other's.
    CloneFlags { clone: bool },
    /// Refused with this errno, without running.
    Refuse(Errno),
}

const AT_SYMLINK_NOFOLLOW: u64 = libc::AT_SYMLINK_NOFOLLOW as u64;
const AT_SYMLINK_FOLLOW: u64 = libc::AT_SYMLINK_FOLLOW as u64;
const AT_EMPTY_PATH: u64 = libc::AT_EMPTY_PATH as u64;
const IN_DONT_FOLLOW: u64 = 0x0200_0000;
const FAN_MARK_DONT_FOLLOW: u64 = 0x0000_0004;

const fn p(path: usize, follow: Follow) -> PathArg {
    PathArg {
        path,
        dirfd: None,
        follow,
        empty_path: None,
    }
}

const fn at(dirfd: usize, path: usize, follow: Follow) -> PathArg {
    PathArg {
        path,
        dirfd: Some(dirfd),
        follow,
        empty_path: None,
    }
}

const fn at_empty(dirfd: usize, path: usize, follow: Follow, flags: usize) -> PathArg {
    PathArg {
        path,
        dirfd: Some(dirfd),
        follow,
        empty_path: Some((flags, AT_EMPTY_PATH)),
    }
}

use Follow::{No, Yes};

/// The path of `open_tree(dirfd, path, flags)`.
pub const OPEN_TREE_PATH: PathArg = at_empty(0, 1, nofollow_flag(2), 2);

const fn nofollow_flag(arg: usize) -> Follow {
    Follow::UnlessFlag {
        arg,
        flag: AT_SYMLINK_NOFOLLOW,
    }
}

/// The table: syscall number → what to do. `None`: not trapped on purpose
/// (it should not reach the tracer; if it does it runs unchanged).
pub fn classify(nr: i64) -> Option<Kind> {
    use Kind::*;
    let k = match nr {
        sys::SYS_open => Paths(const { &[p(0, Follow::OpenFlags { arg: 1 })] }),
        sys::SYS_creat => Paths(const { &[p(0, Yes)] }),
        sys::SYS_openat => Paths(const { &[at(0, 1, Follow::OpenFlags { arg: 2 })] }),
        sys::SYS_openat2 => Openat2,
        sys::SYS_stat => Paths(const { &[p(0, Yes)] }),
        sys::SYS_lstat => Paths(const { &[p(0, No)] }),
        sys::SYS_newfstatat => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        sys::SYS_statx => Paths(const { &[at_empty(0, 1, nofollow_flag(2), 2)] }),
        sys::SYS_access => Paths(const { &[p(0, Yes)] }),
        sys::SYS_faccessat => Paths(const { &[at(0, 1, Yes)] }),
        sys::SYS_faccessat2 => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        sys::SYS_mkdir => Paths(const { &[p(0, No)] }),
        sys::SYS_mkdirat => Paths(const { &[at(0, 1, No)] }),
        sys::SYS_mknod => Paths(const { &[p(0, No)] }),
        sys::SYS_mknodat => Paths(const { &[at(0, 1, No)] }),
        sys::SYS_unlink | sys::SYS_rmdir => Paths(const { &[p(0, No)] }),
        sys::SYS_unlinkat => Paths(const { &[at(0, 1, No)] }),
        sys::SYS_rename => Paths(const { &[p(0, No), p(1, No)] }),
        sys::SYS_renameat | sys::SYS_renameat2 => Paths(const { &[at(0, 1, No), at(2, 3, No)] }),
        sys::SYS_link => Paths(const { &[p(0, No), p(1, No)] }),
        sys::SYS_linkat => Paths(
            const {
                &[
                    at_empty(
                        0,
                        1,
                        Follow::IfFlag {
                            arg: 4,
                            flag: AT_SYMLINK_FOLLOW,
                        },
                        4,
                    ),
                    at(2, 3, No),
                ]
            },
        ),
        // The target of a symlink is stored as written: only the link's
        // own location is translated.
        sys::SYS_symlink => Paths(const { &[p(1, No)] }),
        sys::SYS_symlinkat => Paths(const { &[at(1, 2, No)] }),
        sys::SYS_readlink => Readlink {
            dirfd: None,
            path: 0,
            buf: 1,
            size: 2,
        },
        sys::SYS_readlinkat => Readlink {
            dirfd: Some(0),
            path: 1,
            buf: 2,
            size: 3,
        },
        sys::SYS_chdir => Paths(const { &[p(0, Yes)] }),
        sys::SYS_getcwd => Getcwd,
        sys::SYS_chmod => Paths(const { &[p(0, Yes)] }),
        sys::SYS_fchmodat => Paths(const { &[at(0, 1, Yes)] }),
        sys::SYS_fchmodat2 => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        sys::SYS_chown => Paths(const { &[p(0, Yes)] }),
        sys::SYS_lchown => Paths(const { &[p(0, No)] }),
        sys::SYS_fchownat => Paths(const { &[at_empty(0, 1, nofollow_flag(4), 4)] }),
        sys::SYS_truncate => Paths(const { &[p(0, Yes)] }),
        sys::SYS_utime | sys::SYS_utimes => Paths(const { &[p(0, Yes)] }),
        sys::SYS_futimesat => Paths(const { &[at(0, 1, Yes)] }),
        sys::SYS_utimensat => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        sys::SYS_setxattr | sys::SYS_getxattr | sys::SYS_listxattr | sys::SYS_removexattr => {
            Paths(const { &[p(0, Yes)] })
        }
        sys::SYS_lsetxattr | sys::SYS_lgetxattr | sys::SYS_llistxattr | sys::SYS_lremovexattr => {
            Paths(const { &[p(0, No)] })
        }
        sys::SYS_statfs => Paths(const { &[p(0, Yes)] }),
        sys::SYS_inotify_add_watch => Paths(
            const {
                &[p(
                    1,
                    Follow::UnlessFlag {
                        arg: 2,
                        flag: IN_DONT_FOLLOW,
                    },
                )]
            },
        ),
        sys::SYS_fanotify_mark => Paths(
            const {
                &[at(
                    3,
                    4,
                    Follow::UnlessFlag {
                        arg: 1,
                        flag: FAN_MARK_DONT_FOLLOW,
                    },
                )]
            },
        ),
        sys::SYS_execve => Exec { at: false },
        sys::SYS_execveat => Exec { at: true },
        sys::SYS_bind => SockAddr {
            addr: 1,
            len: 2,
            bind: true,
        },
        sys::SYS_connect => SockAddr {
            addr: 1,
            len: 2,
            bind: false,
        },
        sys::SYS_sendto => SockAddr {
            addr: 4,
            len: 5,
            bind: false,
        },
        sys::SYS_sendmsg => SendMsg,
        sys::SYS_sendmmsg => SendMmsg,
        sys::SYS_getsockname | sys::SYS_getpeername | sys::SYS_accept | sys::SYS_accept4 => {
            AddrOut { addr: 1, len: 2 }
        }
        sys::SYS_recvfrom => AddrOut { addr: 4, len: 5 },
        sys::SYS_recvmsg => RecvMsg,
        sys::SYS_recvmmsg => RecvMmsg,
        sys::SYS_bpf => BpfObj,
        sys::SYS_chroot => Chroot,
        // The block device of quotactl(cmd, special, id, addr).
        sys::SYS_quotactl => Paths(const { &[p(1, Yes)] }),
        sys::SYS_open_tree => OpenTree,
        sys::SYS_prctl => Prctl,
        sys::SYS_unshare => CloneFlags { clone: false },
        sys::SYS_clone => CloneFlags { clone: true },
        // Mount namespaces are not emulated: refuse as the kernel refuses an
        // unprivileged caller.
        sys::SYS_mount
        | sys::SYS_umount2
        | sys::SYS_pivot_root
        | sys::SYS_swapon
        | sys::SYS_swapoff
        | sys::SYS_acct
        | sys::SYS_move_mount
        | sys::SYS_fspick
        | sys::SYS_fsopen
        | sys::SYS_fsconfig
        | sys::SYS_mount_setattr => Refuse(Errno::EPERM),
        // File handles would bypass path translation.
        sys::SYS_name_to_handle_at => Refuse(Errno::EOPNOTSUPP),
        // io_uring operations would run paths untranslated; libuv and others
        // fall back to their thread pools on ENOSYS.
        sys::SYS_io_uring_setup | sys::SYS_uselib => Refuse(Errno::ENOSYS),
        _ => return None,
    };
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The syscall names of one filter list of `filters/<arch>.json`
    /// (embedded, so the test also runs where the sources are not).
    fn filter_names(arch: &str, filter: &str) -> Vec<String> {
        let text = match arch {
            "x86_64" => include_str!("../../filters/x86_64.json"),
            "aarch64" => include_str!("../../filters/aarch64.json"),
            _ => panic!("no filter for {arch}"),
        };
        let doc: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("parse {arch}.json: {e}"));
        let list = doc[filter]["filter"]
            .as_array()
            .unwrap_or_else(|| panic!("{arch}.json has no {filter:?} list"));
        list.iter()
            .map(|e| {
                e["syscall"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{arch}.json: entry without a syscall name: {e}"))
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn every_syscall_in_the_filter_is_handled() {
        // The default filter of this architecture; "tracee_ext" adds the
        // extensions' calls, handled by their own hooks.
        let names = filter_names(std::env::consts::ARCH, "tracee");
        assert!(names.len() > 50, "{} names", names.len());
        // Answered before the table by guest ptrace (tracer/guest/hooks.rs)
        // and guest seccomp filters (tracer/guest/filter_hooks.rs).
        let by_the_tracer = ["ptrace", "seccomp"];
        for name in names
            .into_iter()
            .filter(|n| !by_the_tracer.contains(&n.as_str()))
        {
            let nr = sys::number(&name).unwrap_or_else(|| panic!("no number for {name}"));
            assert!(classify(nr).is_some(), "{name} is trapped but not handled");
        }
    }

    #[test]
    fn the_aarch64_filters_are_the_x86_64_ones_without_the_legacy_calls() {
        let legacy: Vec<&str> = ["access", "chmod", "chown", "creat", "futimesat", "lchown"]
            .into_iter()
            .chain([
                "link", "lstat", "mkdir", "mknod", "open", "readlink", "rename",
            ])
            .chain([
                "rmdir", "stat", "symlink", "unlink", "uselib", "utime", "utimes",
            ])
            .chain(["fork", "vfork"])
            // x86_64-only calls named for the equivalents of calls an outer
            // seccomp filter traps (syscall/trapped.rs); in no filter.
            .chain(["dup2", "epoll_create", "epoll_wait", "eventfd", "getpgrp"])
            .chain(["inotify_init", "pipe", "poll", "signalfd"])
            .collect();
        if cfg!(target_arch = "x86_64") {
            // The same list as the table's x86_64-only entries.
            let mut table: Vec<&str> = sys::LEGACY.iter().map(|(n, _)| &n[4..]).collect();
            table.sort_unstable();
            let mut want = legacy.clone();
            want.sort_unstable();
            assert_eq!(table, want);
        }
        for filter in ["tracee", "tracee_ext"] {
            let x86: Vec<String> = filter_names("x86_64", filter)
                .into_iter()
                .filter(|n| !legacy.contains(&n.as_str()))
                .collect();
            assert_eq!(filter_names("aarch64", filter), x86, "{filter}");
        }
    }

    #[test]
    fn io_uring_is_refused_with_enosys() {
        assert!(matches!(
            classify(sys::SYS_io_uring_setup),
            Some(Kind::Refuse(Errno::ENOSYS))
        ));
    }
}
