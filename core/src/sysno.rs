//! Syscall numbers, named once: the syscalls sproot's code names, for
//! x86_64 and aarch64 (both, on any host: the build script reads them for
//! the target it builds for), from the `syscalls` crate's tables.
//!
//! aarch64 has only the `*at` forms of the path syscalls (and no `uselib`,
//! `utime`, ...): those legacy calls are the x86_64-only entries. On aarch64
//! their constants stand for numbers no syscall has, so the handlers'
//! `match` arms that name them stay as they are and never match there.

#![allow(non_upper_case_globals)]

/// The architectures sproot runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture of this build.
    #[cfg(target_arch = "x86_64")]
    pub const THIS: Arch = Arch::X86_64;
    #[cfg(target_arch = "aarch64")]
    pub const THIS: Arch = Arch::Aarch64;

    /// Its `AUDIT_ARCH_*` value, what seccomp reports for native calls.
    pub const fn audit(self) -> u32 {
        match self {
            Arch::X86_64 => 0xc000_003e,
            Arch::Aarch64 => 0xc000_00b7,
        }
    }

    /// By Rust's name of it (`"x86_64"`, `"aarch64"`).
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// Every syscall of the list that exists on this architecture, as
    /// (`SYS_name`, number).
    pub fn named(self) -> &'static [(&'static str, i64)] {
        match self {
            Arch::X86_64 => x86_64::NAMED,
            Arch::Aarch64 => aarch64::NAMED,
        }
    }

    /// The number of a syscall by its name (`"openat"`), on this
    /// architecture.
    pub fn number(self, name: &str) -> Option<i64> {
        self.named()
            .iter()
            .find(|(n, _)| n.strip_prefix("SYS_") == Some(name))
            .map(|&(_, nr)| nr)
    }
}

macro_rules! numbers {
    (common: $($c:ident = $cn:ident $(/ $an:ident)?)* ; x86_64: $($x:ident = $xn:ident)* ;) => {
        /// x86_64's numbers.
        pub mod x86_64 {
            use syscalls::x86_64::Sysno;
            $(pub const $c: i64 = Sysno::$cn as i64;)*
            $(pub const $x: i64 = Sysno::$xn as i64;)*
            /// Every syscall of the list, as (`SYS_name`, number).
            pub const NAMED: &[(&str, i64)] =
                &[$((stringify!($c), $c),)* $((stringify!($x), $x),)*];
            /// The x86_64-only entries.
            pub const LEGACY: &[(&str, i64)] = &[$((stringify!($x), $x),)*];
            /// Every name this module gives a number.
            pub const ALL: &[(&str, i64)] = NAMED;
        }
        /// aarch64's numbers; the legacy calls do not exist there.
        pub mod aarch64 {
            use syscalls::aarch64::Sysno;
            $(pub const $c: i64 = numbers!(@aarch64 $cn $($an)?);)*
            /// A number no syscall has (negative, below the `-1` of a
            /// skipped call): what the legacy names stand for here.
            const ABSENT: i64 = -0x1000;
            numbers!(@absent ABSENT; $($x)*);
            /// Every syscall of the list, as (`SYS_name`, number).
            pub const NAMED: &[(&str, i64)] = &[$((stringify!($c), $c),)*];
            /// No x86_64-only entries.
            pub const LEGACY: &[(&str, i64)] = &[];
            /// Every name this module gives a number, the legacy ones with
            /// the numbers no syscall has.
            pub const ALL: &[(&str, i64)] =
                &[$((stringify!($c), $c),)* $((stringify!($x), $x),)*];
        }
    };
    (@absent $n:expr; $first:ident $($rest:ident)*) => {
        pub const $first: i64 = $n;
        numbers!(@absent $n - 1; $($rest)*);
    };
    (@absent $n:expr;) => {};
    // The `syscalls` crate's aarch64 name, where it is not x86_64's.
    (@aarch64 $cn:ident $an:ident) => { Sysno::$an as i64 };
    (@aarch64 $cn:ident) => { Sysno::$cn as i64 };
}

numbers! {
    common:
        SYS_acct = acct SYS_bind = bind SYS_capset = capset SYS_chdir = chdir
        SYS_chroot = chroot SYS_connect = connect SYS_execve = execve SYS_execveat = execveat
        SYS_faccessat = faccessat SYS_faccessat2 = faccessat2 SYS_fanotify_mark = fanotify_mark
        SYS_fchmod = fchmod SYS_fchmodat = fchmodat SYS_fchown = fchown SYS_fchownat = fchownat
        SYS_fsconfig = fsconfig SYS_fsopen = fsopen SYS_fspick = fspick SYS_fstat = fstat
        SYS_getcwd = getcwd SYS_getdents64 = getdents64 SYS_getegid = getegid
        SYS_geteuid = geteuid SYS_getgid = getgid SYS_getgroups = getgroups
        SYS_getresgid = getresgid SYS_getresuid = getresuid SYS_getuid = getuid
        SYS_getxattr = getxattr SYS_inotify_add_watch = inotify_add_watch
        SYS_io_uring_setup = io_uring_setup SYS_lgetxattr = lgetxattr SYS_linkat = linkat
        SYS_listxattr = listxattr SYS_llistxattr = llistxattr SYS_lremovexattr = lremovexattr
        SYS_lsetxattr = lsetxattr SYS_mkdirat = mkdirat SYS_mknodat = mknodat SYS_mount = mount
        SYS_mount_setattr = mount_setattr SYS_move_mount = move_mount
        SYS_name_to_handle_at = name_to_handle_at SYS_newfstatat = newfstatat / fstatat
        SYS_open_tree = open_tree SYS_openat = openat SYS_openat2 = openat2
        SYS_pivot_root = pivot_root SYS_prctl = prctl SYS_quotactl = quotactl
        SYS_readlinkat = readlinkat SYS_removexattr = removexattr SYS_renameat = renameat
        SYS_renameat2 = renameat2 SYS_seccomp = seccomp SYS_sendmsg = sendmsg
        SYS_sendto = sendto SYS_setdomainname = setdomainname SYS_setfsgid = setfsgid
        SYS_setfsuid = setfsuid SYS_setgid = setgid SYS_setgroups = setgroups
        SYS_sethostname = sethostname SYS_setregid = setregid SYS_setresgid = setresgid
        SYS_setresuid = setresuid SYS_setreuid = setreuid SYS_setuid = setuid
        SYS_setxattr = setxattr SYS_statfs = statfs SYS_statx = statx SYS_swapoff = swapoff
        SYS_swapon = swapon SYS_symlinkat = symlinkat SYS_truncate = truncate
        SYS_umount2 = umount2 SYS_uname = uname SYS_unlinkat = unlinkat SYS_unshare = unshare
        SYS_utimensat = utimensat SYS_accept = accept SYS_accept4 = accept4 SYS_bpf = bpf
        SYS_fgetxattr = fgetxattr SYS_flistxattr = flistxattr SYS_fremovexattr = fremovexattr
        SYS_fsetxattr = fsetxattr SYS_getpeername = getpeername SYS_getsockname = getsockname
        SYS_pidfd_getfd = pidfd_getfd SYS_pidfd_open = pidfd_open SYS_recvfrom = recvfrom
        SYS_recvmmsg = recvmmsg SYS_recvmsg = recvmsg SYS_sendmmsg = sendmmsg
        SYS_ptrace = ptrace SYS_wait4 = wait4 SYS_waitid = waitid SYS_tgkill = tgkill
        SYS_getpid = getpid SYS_clone3 = clone3 SYS_set_robust_list = set_robust_list
        SYS_rseq = rseq SYS_close_range = close_range SYS_pidfd_send_signal = pidfd_send_signal
        SYS_io_uring_enter = io_uring_enter SYS_io_uring_register = io_uring_register
        SYS_pipe2 = pipe2 SYS_dup3 = dup3 SYS_epoll_create1 = epoll_create1
        SYS_epoll_pwait = epoll_pwait SYS_inotify_init1 = inotify_init1 SYS_eventfd2 = eventfd2
        SYS_signalfd4 = signalfd4 SYS_ppoll = ppoll SYS_getpgid = getpgid SYS_clone = clone
        SYS_fcntl = fcntl SYS_shmget = shmget SYS_shmat = shmat SYS_shmdt = shmdt
        SYS_shmctl = shmctl SYS_semget = semget SYS_semop = semop SYS_semtimedop = semtimedop
        SYS_semctl = semctl SYS_msgget = msgget SYS_msgsnd = msgsnd SYS_msgrcv = msgrcv
        SYS_msgctl = msgctl SYS_mmap = mmap SYS_munmap = munmap SYS_close = close
        SYS_fchmodat2 = fchmodat2 SYS_setxattrat = setxattrat SYS_getxattrat = getxattrat
        SYS_listxattrat = listxattrat SYS_removexattrat = removexattrat
        SYS_open_tree_attr = open_tree_attr SYS_file_getattr = file_getattr
        SYS_file_setattr = file_setattr
    ;
    x86_64:
        SYS_access = access SYS_chmod = chmod SYS_chown = chown SYS_creat = creat
        SYS_futimesat = futimesat SYS_lchown = lchown SYS_link = link SYS_lstat = lstat
        SYS_mkdir = mkdir SYS_mknod = mknod SYS_open = open SYS_readlink = readlink
        SYS_rename = rename SYS_rmdir = rmdir SYS_stat = stat SYS_symlink = symlink
        SYS_unlink = unlink SYS_uselib = uselib SYS_utime = utime SYS_utimes = utimes
        SYS_fork = fork SYS_vfork = vfork SYS_pipe = pipe SYS_dup2 = dup2
        SYS_epoll_create = epoll_create SYS_epoll_wait = epoll_wait
        SYS_inotify_init = inotify_init SYS_eventfd = eventfd SYS_signalfd = signalfd
        SYS_poll = poll SYS_getpgrp = getpgrp
    ;
}

#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sproot supports x86_64 and aarch64 only");

/// The number of a syscall by its name (`"openat"`), on this architecture.
pub fn number(name: &str) -> Option<i64> {
    Arch::THIS.number(name)
}

/// The name of a syscall of the list (`"openat"`), if it is one.
pub fn name(nr: i64) -> Option<&'static str> {
    NAMED.iter().find(|&&(_, n)| n == nr).map(|(n, _)| &n[4..])
}

/// The SysV IPC calls (`--sysvipc`), of the architecture built for.
pub const SYSV_IPC: [i64; 12] = [
    SYS_shmget,
    SYS_shmat,
    SYS_shmdt,
    SYS_shmctl,
    SYS_semget,
    SYS_semop,
    SYS_semtimedop,
    SYS_semctl,
    SYS_msgget,
    SYS_msgsnd,
    SYS_msgrcv,
    SYS_msgctl,
];

/// Whether `nr` is a SysV IPC call.
pub fn is_sysv_ipc(nr: i64) -> bool {
    SYSV_IPC.contains(&nr)
}
