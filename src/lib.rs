//! sproot: a seccomp-accelerated, PRoot-compatible userspace chroot.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that the
//! pure parts (path translation, ELF parsing, event ordering) can be unit
//! tested and reused by integration tests.

pub mod arch;
pub mod cli;
pub mod config;
pub mod environment;
pub mod exec;
pub mod ext;
pub mod fs;
pub mod host;
pub mod inproc;
pub mod logger;
pub mod ptrace;
pub mod seccomp;
pub mod syscall;
pub mod tracer;
