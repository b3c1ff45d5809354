//! What a PRoot extension of `syscall/` is: its hooks (the list a run
//! uses is `extension_list.rs`).
//!
//! An extension is one module of `syscall/` with an entry hook, run at a
//! trapped syscall's entry before the table (the first extension that
//! answers ends the handling), and an exit hook, run at the exit stop of a
//! syscall whose entry asked for one ([`Outcome::WithExit`]). The list is
//! built once from the configuration (`Extensions::new`); adding an
//! extension means one module that implements [`Extension`] and one line
//! here.

use super::exit_hook::ExitHook;
use super::{Ctx, Outcome};
use nix::errno::Errno;

/// One extension's hooks.
pub trait Extension {
    /// The option's name, for logs (`-v`).
    fn name(&self) -> &'static str;

    /// At a trapped syscall's entry, before the table: `Ok(None)` when this
    /// is not the extension's call (the next one, then the table, handles
    /// it); an error is the guest's result.
    fn enter(&self, ctx: &mut Ctx) -> Result<Option<Outcome>, Errno>;

    /// At the exit stop of a syscall whose entry asked for one, with the
    /// hook it named (another extension's, or the table's): whether the
    /// registers changed.
    fn exit(&self, _ctx: &mut Ctx, _hook: &ExitHook) -> bool {
        false
    }
}
