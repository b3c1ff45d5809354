//! Syscall numbers, named once, in the core (`sproot_core::sysno`): the
//! syscalls sproot's code names, for the architecture it is built for.
//! Legacy x86_64-only calls (`open`, `stat`, ...) stand on aarch64 for
//! numbers no syscall has, so `match` arms that name them need no `cfg`.

pub use sproot_core::sysno::*;
