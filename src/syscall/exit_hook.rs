//! What is due at a syscall's exit stop, as the entry's handler asked
//! ([`super::Outcome::WithExit`]): the table's own work, or an
//! extension's.

/// Work to do at a syscall's exit stop.
#[derive(Debug)]
pub enum ExitHook {
    /// Socket addresses (see [`super::net`]).
    Sockets(SockExit),
    /// The core's handlers' work (a `/proc` snapshot to give back, the
    /// name of a descriptor to remember).
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

/// Work at the exit of a socket call (`net.rs`).
#[derive(Clone, Debug)]
pub enum SockExit {
    /// The address at `addr`, its length at `len`, `cap` bytes of room.
    /// With `room`, the kernel wrote them to a full-size scratch address
    /// and length instead (arguments `room.0`, `room.1`), so that a short
    /// buffer still gets the start of the guest's path.
    Addr {
        addr: u64,
        len: u64,
        cap: u32,
        room: Option<(usize, usize, u64, u64)>,
    },
    /// `recvmsg`: the address named by the `struct msghdr` at `msg`.
    Msg { msg: u64, cap: u32 },
    /// `recvmmsg`: the addresses of the messages of the array at `vec`, one
    /// room per message.
    Mmsg { vec: u64, caps: Vec<u32> },
    /// `sendmmsg` ran on a translated copy of the array at `orig`: copy the
    /// `msg_len`s back, and give the array back to a restarted call.
    SentCopy { orig: u64, copy: u64 },
}
