//! What is due at a syscall's exit stop, as the entry's handler asked
//! ([`super::Outcome::WithExit`]): the table's own work, or an
//! extension's.

/// Work to do at a syscall's exit stop.
#[derive(Debug)]
pub enum ExitHook {
    /// The core's handlers' work (a `/proc` snapshot to give back, the
    /// name of a descriptor to remember, socket addresses coming back).
    Core(sproot_core::handler::ExitHook),
    /// An extension's own exit work, of a type its module defines (see
    /// [`ExitHook::extension`]); every extension's exit hook sees it and
    /// takes what is its own ([`ExitHook::of`]).
    Extension(Box<dyn std::any::Any>),
}

impl ExitHook {
    /// Exit work of an extension.
    pub fn extension<T: std::any::Any>(work: T) -> ExitHook {
        ExitHook::Extension(Box::new(work))
    }

    /// The extension exit work of type `T`, if that is what this is.
    pub fn of<T: std::any::Any>(&self) -> Option<&T> {
        match self {
            ExitHook::Extension(w) => w.downcast_ref(),
            _ => None,
        }
    }
}
