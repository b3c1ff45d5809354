//! The syscall numbers the runtime makes itself.

#[cfg(target_arch = "x86_64")]
mod numbers {
    pub const READ: usize = 0;
    pub const RT_SIGSUSPEND: usize = 130;
    pub const PSELECT6: usize = 270;
    pub const PPOLL: usize = 271;
    pub const EPOLL_PWAIT: usize = 281;
    pub const EPOLL_PWAIT2: usize = 441;
    pub const KILL: usize = 62;
    pub const KCMP: usize = 312;
    pub const OPEN: usize = 2;
    pub const CREAT: usize = 85;
    pub const CONNECT: usize = 42;
    pub const ACCEPT: usize = 43;
    pub const SENDTO: usize = 44;
    pub const RECVFROM: usize = 45;
    pub const SENDMSG: usize = 46;
    pub const RECVMSG: usize = 47;
    pub const ACCEPT4: usize = 288;
    pub const RECVMMSG: usize = 299;
    pub const SENDMMSG: usize = 307;
    pub const OPENAT2: usize = 437;
    pub const CLOSE: usize = 3;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const PREAD64: usize = 17;
    pub const MUNMAP: usize = 11;
    pub const SCHED_YIELD: usize = 24;
    pub const GETPID: usize = 39;
    pub const EXECVE: usize = 59;
    pub const FCNTL: usize = 72;
    pub const GETEUID: usize = 107;
    pub const PRCTL: usize = 157;
    pub const GETTID: usize = 186;
    pub const LISTXATTR: usize = 194;
    pub const LLISTXATTR: usize = 195;
    pub const TGKILL: usize = 234;
    pub const OPENAT: usize = 257;
    pub const NEWFSTATAT: usize = 262;
    pub const READLINKAT: usize = 267;
    pub const FACCESSAT: usize = 269;
    pub const SECCOMP: usize = 317;
    pub const MEMFD_CREATE: usize = 319;
    pub const STATX: usize = 332;
    pub const WRITE: usize = 1;
    pub const EXIT_GROUP: usize = 231;
}
pub use numbers::*;
