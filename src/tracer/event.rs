//! Wait statuses as the tracer sees them, and the order a batch is handled in.

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

/// One report from `waitpid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `PTRACE_EVENT_CLONE/FORK/VFORK` of the parent.
    NewChild { parent: Pid },
    /// `PTRACE_EVENT_EXEC`.
    Exec { pid: Pid },
    /// `PTRACE_EVENT_SECCOMP`: a trapped syscall's entry.
    Seccomp { pid: Pid },
    /// A syscall entry or exit stop (`SIGTRAP | 0x80`).
    Syscall { pid: Pid },
    /// `PTRACE_EVENT_STOP` (tracees are seized): with `SIGTRAP`, a new
    /// task's first stop (or a wake-up from a listened group-stop); with a
    /// stopping signal, a group-stop.
    Stop { pid: Pid, sig: Signal },
    /// Another ptrace event (vfork-done, exit): just resume.
    OtherEvent { pid: Pid },
    /// A signal-delivery stop.
    Signal { pid: Pid, sig: Signal },
    /// The tracee exited with this code.
    Exited { pid: Pid, code: i32 },
    /// The tracee was killed by this signal.
    Killed { pid: Pid, sig: Signal },
}

impl Event {
    pub fn from_wait(ws: WaitStatus) -> Option<Event> {
        use nix::libc::{
            PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC, PTRACE_EVENT_FORK, PTRACE_EVENT_SECCOMP,
            PTRACE_EVENT_STOP, PTRACE_EVENT_VFORK,
        };
        Some(match ws {
            WaitStatus::Exited(pid, code) => Event::Exited { pid, code },
            WaitStatus::Signaled(pid, sig, _) => Event::Killed { pid, sig },
            WaitStatus::Stopped(pid, sig) => Event::Signal { pid, sig },
            WaitStatus::PtraceSyscall(pid) => Event::Syscall { pid },
            WaitStatus::PtraceEvent(pid, sig, ev) => match ev {
                PTRACE_EVENT_STOP => Event::Stop { pid, sig },
                PTRACE_EVENT_CLONE | PTRACE_EVENT_FORK | PTRACE_EVENT_VFORK => {
                    Event::NewChild { parent: pid }
                }
                PTRACE_EVENT_EXEC => Event::Exec { pid },
                PTRACE_EVENT_SECCOMP => Event::Seccomp { pid },
                _ => Event::OtherEvent { pid },
            },
            WaitStatus::Continued(_) | WaitStatus::StillAlive => return None,
        })
    }

    pub fn pid(&self) -> Pid {
        match *self {
            Event::NewChild { parent } => parent,
            Event::Exec { pid }
            | Event::Seccomp { pid }
            | Event::Syscall { pid }
            | Event::OtherEvent { pid }
            | Event::Stop { pid, .. }
            | Event::Signal { pid, .. }
            | Event::Exited { pid, .. }
            | Event::Killed { pid, .. } => pid,
        }
    }

    /// Handling order inside a batch: new-child events first, then ordinary
    /// stops, then `PTRACE_EVENT_STOP`s with `SIGTRAP` (newborns' first
    /// stops, best handled after their parent's event), exits last.
    pub fn priority(&self) -> u8 {
        match self {
            Event::NewChild { .. } => 0,
            Event::Stop {
                sig: Signal::SIGTRAP,
                ..
            } => 2,
            Event::Exited { .. } | Event::Killed { .. } => 3,
            _ => 1,
        }
    }
}

/// Sort a batch by priority, keeping arrival order within a level.
pub fn sort_batch(batch: &mut [Event]) {
    batch.sort_by_key(Event::priority);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sort_puts_clone_events_first_and_exits_last_stably() {
        let p = Pid::from_raw;
        let mut b = vec![
            Event::Exited { pid: p(1), code: 0 },
            Event::Stop {
                pid: p(2),
                sig: Signal::SIGTRAP,
            },
            Event::Seccomp { pid: p(3) },
            Event::NewChild { parent: p(4) },
            Event::Seccomp { pid: p(5) },
            Event::NewChild { parent: p(6) },
        ];
        sort_batch(&mut b);
        let order: Vec<i32> = b.iter().map(|e| e.pid().as_raw()).collect();
        assert_eq!(order, vec![4, 6, 3, 5, 2, 1]);
    }
}
