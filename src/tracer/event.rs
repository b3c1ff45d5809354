//! Wait statuses as the tracer sees them, and the order a batch is handled in.
//!
//! Status words are decoded here from the raw numbers `waitpid` returns, so
//! that every signal the kernel can report (1 to 64, the real-time ones
//! included) and every `PTRACE_EVENT_*` becomes an event: no report can be
//! turned into an error or dropped because a library type does not know its
//! number.

use nix::unistd::Pid;
use std::fmt;

/// A signal number as the kernel reports it: any of 1..=64 (`SIGRTMIN` and
/// up included), kept raw so that it is passed on unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sig(pub i32);

impl Sig {
    pub const TRAP: Sig = Sig(libc::SIGTRAP);
    pub const KILL: Sig = Sig(libc::SIGKILL);
    pub const STOP: Sig = Sig(libc::SIGSTOP);
    pub const TSTP: Sig = Sig(libc::SIGTSTP);
    pub const TTIN: Sig = Sig(libc::SIGTTIN);
    pub const TTOU: Sig = Sig(libc::SIGTTOU);
    pub const USR1: Sig = Sig(libc::SIGUSR1);

    /// The raw number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// Whether the signal's default action stops the process.
    pub fn is_stopping(self) -> bool {
        matches!(self, Sig::STOP | Sig::TSTP | Sig::TTIN | Sig::TTOU)
    }
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match nix::sys::signal::Signal::try_from(self.0) {
            Ok(s) => write!(f, "{}", s.as_str()),
            Err(_) => write!(f, "signal {}", self.0),
        }
    }
}

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
    Stop { pid: Pid, sig: Sig },
    /// Another ptrace event (vfork-done, exit, or a number this tracer does
    /// not know): just resume.
    OtherEvent { pid: Pid },
    /// A signal-delivery stop.
    Signal { pid: Pid, sig: Sig },
    /// The tracee exited with this code.
    Exited { pid: Pid, code: i32 },
    /// The tracee was killed by this signal.
    Killed { pid: Pid, sig: Sig },
}

impl Event {
    /// Decode the status word `waitpid` reported for `pid`. `None` only for
    /// a "continued" report (which the tracer does not ask for).
    pub fn decode(pid: Pid, status: i32) -> Option<Event> {
        use libc::{
            PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC, PTRACE_EVENT_FORK, PTRACE_EVENT_SECCOMP,
            PTRACE_EVENT_STOP, PTRACE_EVENT_VFORK,
        };
        if libc::WIFEXITED(status) {
            return Some(Event::Exited {
                pid,
                code: libc::WEXITSTATUS(status),
            });
        }
        if libc::WIFSIGNALED(status) {
            return Some(Event::Killed {
                pid,
                sig: Sig(libc::WTERMSIG(status)),
            });
        }
        if !libc::WIFSTOPPED(status) {
            return None;
        }
        let sig = Sig(libc::WSTOPSIG(status));
        Some(match (status >> 16) & 0xff {
            0 if sig.0 == libc::SIGTRAP | 0x80 => Event::Syscall { pid },
            0 => Event::Signal { pid, sig },
            PTRACE_EVENT_STOP => Event::Stop { pid, sig },
            PTRACE_EVENT_CLONE | PTRACE_EVENT_FORK | PTRACE_EVENT_VFORK => {
                Event::NewChild { parent: pid }
            }
            PTRACE_EVENT_EXEC => Event::Exec { pid },
            PTRACE_EVENT_SECCOMP => Event::Seccomp { pid },
            _ => Event::OtherEvent { pid },
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
            Event::Stop { sig: Sig::TRAP, .. } => 2,
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
                sig: Sig::TRAP,
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

    // Status words as the kernel builds them (see wait(2) and ptrace(2)).
    fn stopped(sig: i32, event: i32) -> i32 {
        (event << 16) | (sig << 8) | 0x7f
    }

    #[test]
    fn every_signal_number_decodes_as_a_delivery_stop_a_group_stop_and_a_death() {
        let pid = Pid::from_raw(7);
        for n in 1..=64 {
            assert_eq!(
                Event::decode(pid, stopped(n, 0)),
                Some(Event::Signal { pid, sig: Sig(n) }),
                "delivery stop of signal {n}"
            );
            assert_eq!(
                Event::decode(pid, stopped(n, libc::PTRACE_EVENT_STOP)),
                Some(Event::Stop { pid, sig: Sig(n) }),
                "event stop with signal {n}"
            );
            for core in [0, 0x80] {
                assert_eq!(
                    Event::decode(pid, n | core),
                    Some(Event::Killed { pid, sig: Sig(n) }),
                    "death by signal {n}"
                );
            }
        }
    }

    #[test]
    fn syscall_stops_events_and_exit_codes_decode() {
        let pid = Pid::from_raw(9);
        let trap = libc::SIGTRAP;
        assert_eq!(
            Event::decode(pid, stopped(trap | 0x80, 0)),
            Some(Event::Syscall { pid })
        );
        for (ev, want) in [
            (libc::PTRACE_EVENT_CLONE, Event::NewChild { parent: pid }),
            (libc::PTRACE_EVENT_FORK, Event::NewChild { parent: pid }),
            (libc::PTRACE_EVENT_VFORK, Event::NewChild { parent: pid }),
            (libc::PTRACE_EVENT_EXEC, Event::Exec { pid }),
            (libc::PTRACE_EVENT_SECCOMP, Event::Seccomp { pid }),
            (libc::PTRACE_EVENT_VFORK_DONE, Event::OtherEvent { pid }),
            (libc::PTRACE_EVENT_EXIT, Event::OtherEvent { pid }),
        ] {
            assert_eq!(Event::decode(pid, stopped(trap, ev)), Some(want));
        }
        // An event number this tracer has never heard of is still a stop to resume.
        for ev in 1..=255 {
            assert!(
                Event::decode(pid, stopped(trap, ev)).is_some(),
                "event {ev}"
            );
        }
        for code in [0, 1, 127, 255] {
            assert_eq!(
                Event::decode(pid, code << 8),
                Some(Event::Exited { pid, code })
            );
        }
        assert_eq!(Event::decode(pid, 0xffff), None, "continued");
    }

    #[test]
    fn real_time_signals_have_readable_names() {
        assert_eq!(Sig(libc::SIGUSR1).to_string(), "SIGUSR1");
        assert_eq!(Sig(34).to_string(), "signal 34");
        assert!(Sig::TSTP.is_stopping() && !Sig(34).is_stopping());
    }
}
