//! "This tracee is stopped" as a value that must be consumed.
//!
//! Every ptrace stop the tracer handles hands the handler a [`Stopped`]; the
//! only ways to get rid of it are to resume the tracee
//! ([`super::Tracer::restart`]), to find it gone or kill it
//! ([`super::Tracer::lost`], through [`settle`], the one place where `ESRCH`
//! is told apart from other failures, which guest ptrace's hooks and every
//! resume use too), or to hand it to code that takes charge of it (guest
//! ptrace holding a tracee for its tracer). A token dropped any other way is
//! a bug: it is logged and the tracee resumed, rather than left stopped
//! forever.

use crate::ptrace;
use nix::errno::Errno;
use nix::unistd::Pid;

/// A tracee stopped at a ptrace stop, waiting for the tracer.
#[must_use = "a stopped tracee stays stopped until it is resumed"]
pub struct Stopped {
    pid: Pid,
    consumed: bool,
}

impl Stopped {
    pub fn new(pid: Pid) -> Self {
        Stopped {
            pid,
            consumed: false,
        }
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The tracee was resumed, found gone, killed, or taken in charge
    /// elsewhere: nothing more to do for this stop.
    pub fn consume(mut self) -> Pid {
        self.consumed = true;
        self.pid
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if !self.consumed {
            log::error!("tracer bug: {} was left stopped; resuming it", self.pid);
            // PTRACE_SYSCALL is right in both modes: with seccomp its extra
            // syscall stop is handled as an exit and resumed.
            let _ = ptrace::cont_syscall(self.pid, 0);
        }
    }
}

/// Why the tracer could not finish a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceeError {
    /// The tracee is gone (`ESRCH`: killed meanwhile); its exit report
    /// follows and settles its state.
    Gone,
    /// Any other failure of ptrace on a live tracee.
    Failed(Errno),
}

impl From<Errno> for TraceeError {
    fn from(e: Errno) -> Self {
        match e {
            Errno::ESRCH => TraceeError::Gone,
            e => TraceeError::Failed(e),
        }
    }
}

/// The one place a failure of ptrace on a tracee is decided: gone
/// (`ESRCH`), its exit report follows and there is nothing to do; any other
/// failure, it is killed (with `kill`) rather than left stopped forever or
/// let run a syscall that was not translated. `what` says what failed.
pub fn settle(pid: Pid, e: Errno, what: &str, kill: impl FnOnce(Pid)) -> TraceeError {
    let r = TraceeError::from(e);
    match r {
        TraceeError::Gone => log::debug!("{pid} is gone ({what})"),
        TraceeError::Failed(e) => {
            log::error!("{pid}: cannot {what} ({e}); killing it");
            kill(pid);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esrch_is_the_tracee_being_gone() {
        assert_eq!(TraceeError::from(Errno::ESRCH), TraceeError::Gone);
        assert_eq!(
            TraceeError::from(Errno::EIO),
            TraceeError::Failed(Errno::EIO)
        );
    }

    #[test]
    fn only_a_failure_other_than_esrch_kills() {
        let mut killed = Vec::new();
        let r = settle(Pid::from_raw(7), Errno::ESRCH, "resume", |p| killed.push(p));
        assert_eq!((r, killed.len()), (TraceeError::Gone, 0));
        let r = settle(Pid::from_raw(7), Errno::EIO, "resume", |p| killed.push(p));
        assert_eq!(r, TraceeError::Failed(Errno::EIO));
        assert_eq!(killed, [Pid::from_raw(7)]);
    }
}
