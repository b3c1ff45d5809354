//! Which syscalls stop at the tracer, and what each one needs, as data.

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
    /// `chroot`: only to the guest's own root.
    Chroot,
    /// `openat2`: the follow rule is inside `struct open_how`.
    Openat2,
    /// `prctl(PR_SET_DUMPABLE, 0)` would lock the tracer out of the tracee's
    /// memory and /proc entries: it succeeds without taking effect.
    Prctl,
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
        libc::SYS_open => Paths(const { &[p(0, Follow::OpenFlags { arg: 1 })] }),
        libc::SYS_creat => Paths(const { &[p(0, Yes)] }),
        libc::SYS_openat => Paths(const { &[at(0, 1, Follow::OpenFlags { arg: 2 })] }),
        libc::SYS_openat2 => Openat2,
        libc::SYS_stat => Paths(const { &[p(0, Yes)] }),
        libc::SYS_lstat => Paths(const { &[p(0, No)] }),
        libc::SYS_newfstatat => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        libc::SYS_statx => Paths(const { &[at_empty(0, 1, nofollow_flag(2), 2)] }),
        libc::SYS_access => Paths(const { &[p(0, Yes)] }),
        libc::SYS_faccessat => Paths(const { &[at(0, 1, Yes)] }),
        libc::SYS_faccessat2 => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        libc::SYS_mkdir => Paths(const { &[p(0, No)] }),
        libc::SYS_mkdirat => Paths(const { &[at(0, 1, No)] }),
        libc::SYS_mknod => Paths(const { &[p(0, No)] }),
        libc::SYS_mknodat => Paths(const { &[at(0, 1, No)] }),
        libc::SYS_unlink | libc::SYS_rmdir => Paths(const { &[p(0, No)] }),
        libc::SYS_unlinkat => Paths(const { &[at(0, 1, No)] }),
        libc::SYS_rename => Paths(const { &[p(0, No), p(1, No)] }),
        libc::SYS_renameat | libc::SYS_renameat2 => Paths(const { &[at(0, 1, No), at(2, 3, No)] }),
        libc::SYS_link => Paths(const { &[p(0, No), p(1, No)] }),
        libc::SYS_linkat => Paths(
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
        libc::SYS_symlink => Paths(const { &[p(1, No)] }),
        libc::SYS_symlinkat => Paths(const { &[at(1, 2, No)] }),
        libc::SYS_readlink => Readlink {
            dirfd: None,
            path: 0,
            buf: 1,
            size: 2,
        },
        libc::SYS_readlinkat => Readlink {
            dirfd: Some(0),
            path: 1,
            buf: 2,
            size: 3,
        },
        libc::SYS_chdir => Paths(const { &[p(0, Yes)] }),
        libc::SYS_getcwd => Getcwd,
        libc::SYS_chmod => Paths(const { &[p(0, Yes)] }),
        libc::SYS_fchmodat => Paths(const { &[at(0, 1, Yes)] }),
        libc::SYS_fchmodat2 => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        libc::SYS_chown => Paths(const { &[p(0, Yes)] }),
        libc::SYS_lchown => Paths(const { &[p(0, No)] }),
        libc::SYS_fchownat => Paths(const { &[at_empty(0, 1, nofollow_flag(4), 4)] }),
        libc::SYS_truncate => Paths(const { &[p(0, Yes)] }),
        libc::SYS_utime | libc::SYS_utimes => Paths(const { &[p(0, Yes)] }),
        libc::SYS_futimesat => Paths(const { &[at(0, 1, Yes)] }),
        libc::SYS_utimensat => Paths(const { &[at_empty(0, 1, nofollow_flag(3), 3)] }),
        libc::SYS_setxattr | libc::SYS_getxattr | libc::SYS_listxattr | libc::SYS_removexattr => {
            Paths(const { &[p(0, Yes)] })
        }
        libc::SYS_lsetxattr
        | libc::SYS_lgetxattr
        | libc::SYS_llistxattr
        | libc::SYS_lremovexattr => Paths(const { &[p(0, No)] }),
        libc::SYS_statfs => Paths(const { &[p(0, Yes)] }),
        libc::SYS_inotify_add_watch => Paths(
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
        libc::SYS_fanotify_mark => Paths(
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
        libc::SYS_execve => Exec { at: false },
        libc::SYS_execveat => Exec { at: true },
        libc::SYS_bind => SockAddr {
            addr: 1,
            len: 2,
            bind: true,
        },
        libc::SYS_connect => SockAddr {
            addr: 1,
            len: 2,
            bind: false,
        },
        libc::SYS_sendto => SockAddr {
            addr: 4,
            len: 5,
            bind: false,
        },
        libc::SYS_sendmsg => SendMsg,
        libc::SYS_chroot => Chroot,
        libc::SYS_prctl => Prctl,
        // Mount namespaces are not emulated: refuse as the kernel refuses an
        // unprivileged caller.
        libc::SYS_mount
        | libc::SYS_umount2
        | libc::SYS_pivot_root
        | libc::SYS_swapon
        | libc::SYS_swapoff
        | libc::SYS_acct
        | libc::SYS_quotactl
        | libc::SYS_open_tree
        | libc::SYS_move_mount
        | libc::SYS_fspick
        | libc::SYS_fsopen
        | libc::SYS_fsconfig
        | libc::SYS_mount_setattr => Refuse(Errno::EPERM),
        // File handles would bypass path translation.
        libc::SYS_name_to_handle_at => Refuse(Errno::EOPNOTSUPP),
        // io_uring operations would run paths untranslated; libuv and others
        // fall back to their thread pools on ENOSYS.
        libc::SYS_io_uring_setup | libc::SYS_uselib => Refuse(Errno::ENOSYS),
        _ => return None,
    };
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_in_the_filter_is_handled() {
        let json = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/filters/x86_64.json"));
        // The default filter only; "tracee_ext" adds the extensions' calls.
        let json = json.split("\"tracee_ext\"").next().unwrap_or(json);
        let names: Vec<&str> = json
            .lines()
            .filter_map(|l| l.trim().strip_prefix("\"syscall\": \""))
            .map(|l| l.trim_end_matches(['"', ',']))
            .collect();
        assert!(names.len() > 50);
        // Answered before the table by guest ptrace (tracer/guest_hooks.rs).
        let by_the_tracer = ["ptrace"];
        for name in names.into_iter().filter(|n| !by_the_tracer.contains(n)) {
            let nr = crate::syscall::names::number(name)
                .unwrap_or_else(|| panic!("no number for {name}"));
            assert!(classify(nr).is_some(), "{name} is trapped but not handled");
        }
    }

    #[test]
    fn io_uring_is_refused_with_enosys() {
        assert!(matches!(
            classify(libc::SYS_io_uring_setup),
            Some(Kind::Refuse(Errno::ENOSYS))
        ));
    }
}
