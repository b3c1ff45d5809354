//! Which tasks are traced and how each lifecycle stop is answered, as pure
//! logic over a [`Kernel`] interface, so that the same code runs under the
//! real ptrace loop and under the deterministic model in the tests.
//!
//! The rule that makes event order irrelevant: **no stop ever waits for
//! another event.** A stop from a pid the table does not know is a newborn
//! whose parent's clone event has not been handled yet: it is claimed on the
//! spot (inheriting from its thread group or parent, which the kernel can
//! tell) and resumed, its first `SIGSTOP` suppressed. When the parent's event
//! arrives later it finds the child already claimed and only notes it. A
//! child seen first through its parent's event is registered as awaiting its
//! first stop, so that `SIGSTOP` is suppressed too, and no other.

use super::event::Sig;
use std::collections::{HashMap, HashSet};

/// A stopped task as the kernel interface hands it over: answered exactly
/// once, by [`Kernel::resume`] or [`Kernel::listen`], which consume it.
pub trait StoppedTask {
    fn tid(&self) -> i32;
}

/// The model's stopped tasks: plain ids.
impl StoppedTask for i32 {
    fn tid(&self) -> i32 {
        *self
    }
}

/// What the lifecycle logic needs from the kernel (ptrace in the tracer, a
/// simulation in the model).
pub trait Kernel {
    /// A stopped task (the tracer's resume token; a plain id in the model).
    type Stop: StoppedTask;
    /// `PTRACE_GETEVENTMSG` at a clone/fork/vfork event: the new task's id.
    fn new_child_of(&mut self, parent: i32) -> Option<i32>;
    /// Resume a stopped task, delivering `sig` if any.
    fn resume(&mut self, stop: Self::Stop, sig: Option<Sig>);
    /// Leave a task in its group-stop until `SIGCONT` (`PTRACE_LISTEN`).
    fn listen(&mut self, stop: Self::Stop);
    /// The task's thread-group leader and parent, as far as known.
    fn lineage(&mut self, pid: i32) -> [Option<i32>; 2];
    /// Kill a task (SIGKILL).
    fn kill(&mut self, pid: i32);
}

/// Per-task data the tracer keeps; a new task starts as a copy of what its
/// creator's data says a child inherits.
pub trait Inherit: Default {
    fn child_of(parent: &Self) -> Self;
}

/// A traced task.
pub struct Task<P> {
    pub data: P,
    /// Registered from its parent's event; its first `SIGSTOP` is still due.
    awaiting_first_stop: bool,
    /// In a group-stop (a stopping signal took effect), left there with
    /// `PTRACE_LISTEN` until `SIGCONT`: stopped as the guest sees it, unlike
    /// the stops sproot makes and ends itself.
    in_group_stop: bool,
}

/// How a signal stop was classified, for the stop counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalStop {
    /// A newborn's first stop; `before_parent` when it arrived before its
    /// parent's clone event.
    Newborn { before_parent: bool },
    /// A signal-delivery stop: the signal was passed on.
    Delivery,
    /// A group-stop: left stopped (`PTRACE_LISTEN`).
    Group,
    /// A listened group-stop ended by `SIGCONT`: resumed.
    Woken,
    /// The task vanished before it could be examined.
    Gone,
}

/// The table of traced tasks.
pub struct Tasks<P> {
    map: HashMap<i32, Task<P>>,
    /// Tasks claimed from their own first stop (or exit) before their
    /// parent's event; the event later only removes them from here.
    early: HashSet<i32>,
    first: i32,
    first_status: Option<i32>,
    kill_on_exit: bool,
}

/// Bound on `early`: entries whose parent's event never comes (the parent
/// was killed in between) are dropped past this.
const MAX_EARLY: usize = 4096;

impl<P: Inherit> Tasks<P> {
    /// A table holding the first task.
    pub fn new(first: i32, data: P, kill_on_exit: bool) -> Self {
        let mut map = HashMap::new();
        map.insert(
            first,
            Task {
                data,
                awaiting_first_stop: false,
                in_group_stop: false,
            },
        );
        Tasks {
            map,
            early: HashSet::new(),
            first,
            first_status: None,
            kill_on_exit,
        }
    }

    /// A table of no task yet, for a run whose first process (`first`)
    /// runs untraced and may never be traced; `first_status`: its status
    /// if it has exited already.
    pub fn adopting(first: i32, first_status: Option<i32>, kill_on_exit: bool) -> Self {
        Tasks {
            map: HashMap::new(),
            early: HashSet::new(),
            first,
            first_status,
            kill_on_exit,
        }
    }

    /// Register `pid`, seized while it ran, with `data`; its first stop
    /// (the interrupt's) is due.
    pub fn adopt(&mut self, pid: i32, data: P) {
        self.early.remove(&pid);
        self.map.insert(
            pid,
            Task {
                data,
                awaiting_first_stop: true,
                in_group_stop: false,
            },
        );
    }

    pub fn get(&self, pid: i32) -> Option<&P> {
        self.map.get(&pid).map(|t| &t.data)
    }

    pub fn get_mut(&mut self, pid: i32) -> Option<&mut P> {
        self.map.get_mut(&pid).map(|t| &mut t.data)
    }

    pub fn contains(&self, pid: i32) -> bool {
        self.map.contains_key(&pid)
    }

    /// Whether `pid` is in a group-stop (see [`Task::in_group_stop`]).
    pub fn in_group_stop(&self, pid: i32) -> bool {
        self.map.get(&pid).is_some_and(|t| t.in_group_stop)
    }

    /// Whether `pid`'s first stop (a newborn's) is still to come.
    pub fn awaiting_first_stop(&self, pid: i32) -> bool {
        self.map.get(&pid).is_some_and(|t| t.awaiting_first_stop)
    }

    fn set_group_stop(&mut self, pid: i32, stopped: bool) {
        if let Some(t) = self.map.get_mut(&pid) {
            t.in_group_stop = stopped;
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The first task's status, once it has exited.
    pub fn first_status(&self) -> Option<i32> {
        self.first_status
    }

    /// Entries kept for tasks seen before their parent's event.
    pub fn early_len(&self) -> usize {
        self.early.len()
    }

    /// Register `pid`, inheriting from `from` when it is known.
    fn claim(&mut self, pid: i32, from: Option<i32>, awaiting_first_stop: bool) {
        let data = from
            .and_then(|p| self.map.get(&p))
            .map(|t| P::child_of(&t.data))
            .unwrap_or_default();
        self.map.insert(
            pid,
            Task {
                data,
                awaiting_first_stop,
                in_group_stop: false,
            },
        );
    }

    /// A stop from a pid that is not in the table: claim it now.
    pub fn claim_unknown<K: Kernel>(&mut self, k: &mut K, pid: i32) {
        let from = k
            .lineage(pid)
            .into_iter()
            .flatten()
            .find(|p| *p != pid && self.map.contains_key(p));
        self.claim(pid, from, false);
        self.note_early(pid);
        self.kill_if_late(k, pid);
    }

    /// With `--kill-on-exit`, a task that appears after the first one exited
    /// is killed at once.
    fn kill_if_late<K: Kernel>(&mut self, k: &mut K, pid: i32) {
        if self.kill_on_exit && self.first_status.is_some() {
            k.kill(pid);
        }
    }

    fn note_early(&mut self, pid: i32) {
        if self.early.len() >= MAX_EARLY {
            self.early.clear();
        }
        self.early.insert(pid);
    }

    /// `PTRACE_EVENT_CLONE/FORK/VFORK` from `parent`.
    /// Returns the new task's id when the kernel could tell it.
    pub fn on_new_child<K: Kernel>(&mut self, k: &mut K, stop: K::Stop) -> Option<i32> {
        let parent = stop.tid();
        let child = k.new_child_of(parent);
        if let Some(child) = child {
            if self.early.remove(&child) {
                // Already claimed (or already gone) from its own report.
            } else if !self.map.contains_key(&child) {
                self.claim(child, Some(parent), true);
                self.kill_if_late(k, child);
            }
        }
        k.resume(stop, None);
        child
    }

    /// A signal-delivery stop: the signal is passed on. (Tracees are
    /// seized, so group-stops and first stops come as `PTRACE_EVENT_STOP`.)
    pub fn on_signal_stop<K: Kernel>(&mut self, k: &mut K, stop: K::Stop, sig: Sig) -> SignalStop {
        let pid = stop.tid();
        if !self.map.contains_key(&pid) {
            self.claim_unknown(k, pid);
        }
        self.set_group_stop(pid, false);
        k.resume(stop, Some(sig));
        SignalStop::Delivery
    }

    /// `PTRACE_EVENT_STOP`: a group-stop when `sig` is a stopping signal
    /// (left stopped with `PTRACE_LISTEN`, as job control wants); otherwise
    /// a new task's first stop, or a listened task woken by `SIGCONT`:
    /// resumed.
    pub fn on_event_stop<K: Kernel>(&mut self, k: &mut K, stop: K::Stop, sig: Sig) -> SignalStop {
        let pid = stop.tid();
        let unknown = !self.map.contains_key(&pid);
        if unknown {
            self.claim_unknown(k, pid);
        }
        let first = unknown
            || self
                .map
                .get_mut(&pid)
                .is_some_and(|t| std::mem::take(&mut t.awaiting_first_stop));
        self.set_group_stop(pid, sig.is_stopping());
        if sig.is_stopping() {
            k.listen(stop);
            return SignalStop::Group;
        }
        k.resume(stop, None);
        if first {
            SignalStop::Newborn {
                before_parent: unknown,
            }
        } else {
            SignalStop::Woken
        }
    }

    /// Any other stop of `pid` (syscall, seccomp, exec...) from a task the
    /// table may not know yet: make sure it is registered. Returns whether
    /// it was unknown.
    pub fn ensure_known<K: Kernel>(&mut self, k: &mut K, pid: i32) -> bool {
        if self.map.contains_key(&pid) {
            return false;
        }
        self.claim_unknown(k, pid);
        true
    }

    /// An exec from a non-leader thread: it now has the leader's pid.
    pub fn on_exec_from_thread(&mut self, former: i32, leader: i32) {
        if former == leader {
            return;
        }
        if let Some(t) = self.map.remove(&former) {
            self.map.insert(leader, t);
        }
    }

    /// `pid` exited or was killed; `status` as the shell reports it.
    /// Returns the data it had.
    pub fn on_gone<K: Kernel>(&mut self, k: &mut K, pid: i32, status: i32) -> Option<P> {
        let gone = self.map.remove(&pid);
        if gone.is_none() {
            // Its parent's event has not been handled yet.
            self.note_early(pid);
        }
        if pid == self.first && self.first_status.is_none() {
            self.first_status = Some(status);
            if self.kill_on_exit {
                for other in self.map.keys() {
                    k.kill(*other);
                }
            }
        }
        gone.map(|t| t.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Quiet;
    impl Kernel for Quiet {
        type Stop = i32;
        fn new_child_of(&mut self, _: i32) -> Option<i32> {
            None
        }
        fn resume(&mut self, _: i32, _: Option<Sig>) {}
        fn listen(&mut self, _: i32) {}
        fn lineage(&mut self, _: i32) -> [Option<i32>; 2] {
            [None, None]
        }
        fn kill(&mut self, _: i32) {}
    }
    #[derive(Default)]
    struct Data;
    impl Inherit for Data {
        fn child_of(_: &Self) -> Self {
            Data
        }
    }

    #[test]
    fn a_group_stop_lasts_from_the_stopping_signal_to_the_wake_up() {
        let mut t = Tasks::new(1, Data, false);
        let k = &mut Quiet;
        assert!(!t.in_group_stop(1));
        assert_eq!(t.on_event_stop(k, 1, Sig::STOP), SignalStop::Group);
        assert!(t.in_group_stop(1));
        // SIGCONT: the listened task wakes with a non-stopping event stop.
        assert_eq!(t.on_event_stop(k, 1, Sig::TRAP), SignalStop::Woken);
        assert!(!t.in_group_stop(1));
        t.on_event_stop(k, 1, Sig::TSTP);
        assert_eq!(t.on_signal_stop(k, 1, Sig::USR1), SignalStop::Delivery);
        assert!(!t.in_group_stop(1), "a delivery stop: it ran again");
    }
}
