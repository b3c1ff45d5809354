//! sproot's translation core: what a guest's syscall means and what to do
//! with it, independent of how the syscall was stopped.
//!
//! * [`sysno`]: the syscall numbers of x86_64 and aarch64;
//! * [`table`]: for each syscall sproot stops, what it does and where its
//!   arguments are, decoded once per call ([`table::Call`]);
//! * [`cbpf`]: a classic BPF interpreter for seccomp filters (the guests'
//!   own, and sproot's);
//! * [`fs`]: the guest's view of the file system: the root, bindings,
//!   path translation both ways, `/proc` as a tracee sees it; the host
//!   behind the [`fs::HostFs`] interface;
//! * [`handler`]: the handlers that translate a stopped syscall through
//!   [`handler::Ctx`] and the [`handler::Host`] interface: the path
//!   syscalls, `getcwd`, `readlink`;
//! * [`decision`]: what the core decides, for a backend to apply;
//! * [`backend`]: how the core reaches a stopped guest thread;
//! * [`ext`]: the extensions' pure logic: fake credentials (`-0`, `-i`),
//!   fake root's extended attributes, the `uname` view (`-k`), port maps
//!   (`-p`, `-n`);
//! * [`exec`]: an `execve` planned as the kernel runs it (`#!`, ELF
//!   headers, the interpreter) into the loader's load script;
//! * [`inproc`]: the in-process engine's hand-off to the runtime in
//!   every guest process, and its trap filter;
//! * [`namespace`]: the kernel's answers for calls that add, remove or
//!   move names where a translated path would hide them (final `.`, `..`,
//!   `/`, binding points);
//! * [`shebang`]: `#!` lines with Linux's rules;
//! * [`shared`]: the run's state every guest process shares, behind an
//!   interface a broker could serve;
//! * [`userns`]: the kernel's answers to a new user namespace;
//! * [`verbosity`]: `-v`'s levels and their words;
//! * [`errno`]: Linux's error numbers.
//!
//! The crate is `no_std` + `alloc`, so that it can run inside a guest
//! process (CI builds it for `x86_64-unknown-none`); the `nix` feature adds
//! conversions for the ptrace backend.

#![no_std]

extern crate alloc;

pub mod backend;
pub mod cbpf;
pub mod decision;
pub mod errno;
pub mod exec;
pub mod ext;
pub mod fs;
pub mod handler;
pub mod inproc;
pub mod namespace;
pub mod shared;
pub mod shebang;
pub mod sysno;
pub mod table;
pub mod trapped;
pub mod userns;
pub mod verbosity;

pub use errno::Errno;

/// What `std`'s prelude would give the modules, from `alloc`.
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}
