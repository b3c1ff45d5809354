//! The handlers that translate a stopped syscall, whichever backend
//! stopped it: they see the guest thread through [`Ctx`] (its registers,
//! its memory, the guest's view of the file system) and the host through
//! [`Host`], and return a [`Decision`] for the backend to apply.
//!
//! Here are the calls that need nothing but the view: the path syscalls
//! (`Kind::Paths`, `open_tree`), `getcwd` and `readlink` ([`paths`]); and
//! the credential calls of `-0`/`-i` ([`ids`]); stat results rewritten
//! for the extensions ([`stat`]); socket addresses both ways ([`net`]);
//! `openat2`'s `RESOLVE_*` rules in the guest's view ([`openat2`]); fake
//! root's kept extended attributes ([`xattr`]). The ptrace
//! backend runs them from its own dispatcher, next to its handlers that
//! still act on host files themselves.

mod ctx;
pub mod dispatch;
pub mod exec;
mod host;
pub mod ids;
pub mod link2symlink;
pub mod listings;
pub mod net;
pub mod openat2;
pub mod owners;
pub mod paths;
pub mod stat;
pub mod xattr;

pub use ctx::Ctx;
pub use host::{FileMeta, Host};

use crate::backend::SyscallRegs;
use crate::decision::Decision;
use crate::fs::NameUse;
use crate::prelude::*;

/// Work left for a syscall's exit by the core's handlers.
#[derive(Debug, PartialEq, Eq)]
pub enum ExitHook {
    /// Give back the snapshot of a `/proc` file once the guest has opened
    /// its own descriptor of it ([`Host::close_snapshot`]).
    CloseSnapshot(i32),
    /// The descriptor an `open` returns reads back as the name the guest
    /// used (a host path two guest names share).
    NameFd {
        tgid: i32,
        guest: Vec<u8>,
        host: Vec<u8>,
    },
    /// Socket addresses coming back, or a copied array to put back.
    Sockets(net::SockExit),
}

/// What a core handler decides (it never plans an exec).
pub type Outcome = Decision<ExitHook, core::convert::Infallible>;

/// Run an exit hook at the syscall's exit; whether the registers changed.
pub fn exit<R: SyscallRegs>(ctx: &mut Ctx<R>, hook: ExitHook) -> bool {
    match hook {
        ExitHook::CloseSnapshot(handle) => ctx.host.close_snapshot(handle),
        ExitHook::NameFd { tgid, guest, host } => {
            if let Ok(fd) = i32::try_from(ctx.regs.ret())
                && fd >= 0
            {
                ctx.view
                    .remember_name(tgid, ctx.proc.tid(), NameUse::Fd(fd), &guest, &host);
            }
        }
        ExitHook::Sockets(s) => return net::exit(ctx, s),
    }
    false
}

#[cfg(test)]
mod tests;
