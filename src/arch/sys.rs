//! Syscall numbers, named once: the one table of the syscalls sproot's code
//! names, for the architecture it is built for.
//!
//! The numbers come from `libc` for the target; a name missing from `libc`
//! is given here with its number. aarch64 has only the `*at` forms of the
//! path syscalls (and no `uselib`, `utime`, ...): those legacy calls are the
//! `x86_64` entries of the table. On aarch64 they are not syscalls (`number`
//! and `name` do not know them); their constants only stand for numbers no
//! syscall has, so the handlers' `match` arms that name them stay as they
//! are and never match there.

#![allow(non_upper_case_globals)]

macro_rules! table {
    (common: $($c:ident)* ; x86_64: $($x:ident)* ;) => {
        $(pub const $c: i64 = libc::$c;)*
        #[cfg(target_arch = "x86_64")]
        mod legacy {
            $(pub const $x: i64 = libc::$x;)*
        }
        /// Elsewhere the legacy calls do not exist: their names stand for
        /// numbers no syscall has (negative, below the `-1` of a skipped
        /// call), so a `match` arm or a comparison that names them never
        /// matches, and the handler code that names them needs no `cfg`.
        #[cfg(not(target_arch = "x86_64"))]
        mod legacy {
            pub const ABSENT: i64 = -0x1000;
            table!(@absent ABSENT; $($x)*);
        }
        pub use legacy::*;

        /// Every syscall of the table that exists on this architecture, as
        /// (`SYS_name`, number).
        pub const NAMED: &[(&str, i64)] = &[$((stringify!($c), $c),)* ("SYS_fchmodat2", SYS_fchmodat2)];
        /// The x86_64-only entries (empty on other architectures).
        #[cfg(target_arch = "x86_64")]
        pub const LEGACY: &[(&str, i64)] = &[$((stringify!($x), $x),)*];
        #[cfg(not(target_arch = "x86_64"))]
        pub const LEGACY: &[(&str, i64)] = &[];
    };
    (@absent $n:expr; $first:ident $($rest:ident)*) => {
        pub const $first: i64 = $n;
        table!(@absent $n - 1; $($rest)*);
    };
    (@absent $n:expr;) => {};
}

/// `fchmodat2` (Linux 6.6): the same number on x86_64 and aarch64; not in
/// every `libc` release for aarch64.
pub const SYS_fchmodat2: i64 = 452;

table! {
    common:
        SYS_acct SYS_bind SYS_capset SYS_chdir SYS_chroot SYS_connect SYS_execve SYS_execveat
        SYS_faccessat SYS_faccessat2 SYS_fanotify_mark SYS_fchmod SYS_fchmodat SYS_fchown
        SYS_fchownat SYS_fsconfig SYS_fsopen SYS_fspick SYS_fstat SYS_getcwd SYS_getdents64
        SYS_getegid SYS_geteuid SYS_getgid SYS_getgroups SYS_getresgid SYS_getresuid SYS_getuid
        SYS_getxattr SYS_inotify_add_watch SYS_io_uring_setup SYS_lgetxattr SYS_linkat
        SYS_listxattr SYS_llistxattr SYS_lremovexattr SYS_lsetxattr SYS_mkdirat SYS_mknodat
        SYS_mount SYS_mount_setattr SYS_move_mount SYS_name_to_handle_at SYS_newfstatat
        SYS_open_tree SYS_openat SYS_openat2 SYS_pivot_root SYS_prctl SYS_quotactl
        SYS_readlinkat SYS_removexattr SYS_renameat SYS_renameat2 SYS_seccomp SYS_sendmsg
        SYS_sendto SYS_setdomainname SYS_setfsgid SYS_setfsuid SYS_setgid SYS_setgroups
        SYS_sethostname SYS_setregid SYS_setresgid SYS_setresuid SYS_setreuid SYS_setuid
        SYS_setxattr SYS_statfs SYS_statx SYS_swapoff SYS_swapon SYS_symlinkat SYS_truncate
        SYS_umount2 SYS_uname SYS_unlinkat SYS_unshare SYS_utimensat
        SYS_accept SYS_accept4 SYS_bpf SYS_fgetxattr SYS_flistxattr SYS_fremovexattr
        SYS_fsetxattr SYS_getpeername SYS_getsockname SYS_pidfd_getfd SYS_pidfd_open
        SYS_recvfrom SYS_recvmmsg SYS_recvmsg SYS_sendmmsg
        SYS_ptrace SYS_wait4 SYS_waitid SYS_tgkill SYS_getpid SYS_clone3
        SYS_set_robust_list SYS_rseq SYS_close_range SYS_pidfd_send_signal
        SYS_io_uring_enter SYS_io_uring_register SYS_pipe2 SYS_dup3 SYS_epoll_create1
        SYS_epoll_pwait SYS_inotify_init1 SYS_eventfd2 SYS_signalfd4 SYS_ppoll SYS_getpgid
        SYS_clone SYS_fcntl SYS_shmget SYS_shmat SYS_shmdt SYS_shmctl SYS_semget
        SYS_semop SYS_semtimedop SYS_semctl SYS_msgget SYS_msgsnd SYS_msgrcv SYS_msgctl
        SYS_mmap SYS_munmap SYS_close
    ;
    x86_64:
        SYS_access SYS_chmod SYS_chown SYS_creat SYS_futimesat SYS_lchown SYS_link SYS_lstat
        SYS_mkdir SYS_mknod SYS_open SYS_readlink SYS_rename SYS_rmdir SYS_stat SYS_symlink
        SYS_unlink SYS_uselib SYS_utime SYS_utimes SYS_fork SYS_vfork
        SYS_pipe SYS_dup2 SYS_epoll_create SYS_epoll_wait SYS_inotify_init SYS_eventfd
        SYS_signalfd SYS_poll SYS_getpgrp
    ;
}

/// The number of a syscall by its name (`"openat"`), on this architecture.
pub fn number(name: &str) -> Option<i64> {
    NAMED
        .iter()
        .chain(LEGACY)
        .find(|(n, _)| n.strip_prefix("SYS_") == Some(name))
        .map(|&(_, nr)| nr)
}

/// The name of a syscall of the table (`"openat"`), if it is one.
pub fn name(nr: i64) -> Option<&'static str> {
    NAMED
        .iter()
        .chain(LEGACY)
        .find(|&&(_, n)| n == nr)
        .map(|(n, _)| &n[4..])
}
