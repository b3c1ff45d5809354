//! Guest seccomp filters: the classic-BPF programs guests install with
//! `seccomp(SECCOMP_SET_MODE_FILTER)` or `prctl(PR_SET_SECCOMP,
//! SECCOMP_MODE_FILTER)`, recorded per task as the kernel keeps them
//! (inherited by new tasks, kept across exec, all of a process's threads
//! with `SECCOMP_FILTER_FLAG_TSYNC`).
//!
//! The filters stay really installed, so the kernel enforces their `KILL`,
//! `TRAP`, `ERRNO` and `ALLOW` answers. Only `SECCOMP_RET_TRACE` needs
//! sproot: the kernel stops every such syscall at sproot (the real tracer),
//! so sproot runs the guest's programs itself (cbpf.rs) and decides
//! ([`verdict`]) whether the guest's tracer sees a `PTRACE_EVENT_SECCOMP`
//! stop, the syscall fails with `ENOSYS` (no tracer, as seccomp(2) says),
//! or the stop was sproot's own. This module is pure state; the side
//! effects are in `filter_hooks.rs`.

use crate::seccomp::cbpf::{self, Insn, SeccompData};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// A task's filters: the most recent one and the ones before it (shared
/// with the tasks that inherited them, as in the kernel).
#[derive(Debug)]
pub struct Chain {
    prog: Rc<[Insn]>,
    parent: Option<Rc<Chain>>,
}

impl Chain {
    /// The programs, the most recent first.
    fn programs(&self) -> impl Iterator<Item = &[Insn]> {
        std::iter::successors(Some(self), |c| c.parent.as_deref()).map(|c| &*c.prog)
    }

    /// The combined answer of the filters for `data`.
    pub fn evaluate(&self, data: &SeccompData) -> u32 {
        cbpf::run_stack(self.programs(), data)
    }
}

/// An install seen at its syscall's entry, committed at its exit if the
/// kernel accepted it.
struct Pending {
    prog: Rc<[Insn]>,
    flags: u64,
}

/// `seccomp(2)` flags that change what the install does or returns.
pub const FLAG_TSYNC: u64 = 1;
pub const FLAG_NEW_LISTENER: u64 = 8;

/// Whether an install with `flags` that returned `ret` took effect: 0, or
/// the listener's file descriptor with `SECCOMP_FILTER_FLAG_NEW_LISTENER`
/// (with `TSYNC`, a positive result is the thread that could not sync).
pub fn accepted(flags: u64, ret: i64) -> bool {
    ret == 0 || (ret > 0 && flags & FLAG_NEW_LISTENER != 0)
}

/// Every guest task's recorded filters.
#[derive(Default)]
pub struct GuestFilters {
    chains: HashMap<i32, Rc<Chain>>,
    /// Tasks known to have no guest filter (so their lineage is not read
    /// again at each stop).
    none: HashSet<i32>,
    pending: HashMap<i32, Pending>,
    /// Tasks held at a seccomp stop their guest tracer is shown.
    pub at_stop: HashSet<i32>,
}

/// What a seccomp stop of a task with guest filters means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The guest's filters do not trace it: the stop is sproot's own.
    Ours,
    /// Its guest tracer (with `PTRACE_O_TRACESECCOMP`) sees a seccomp stop
    /// with this event message.
    ShowTracer(u64),
    /// Nobody traces it: the syscall fails with `ENOSYS`.
    Enosys,
}

/// seccomp(2): a `SECCOMP_RET_TRACE` answer stops the task for its tracer
/// if the tracer asked for `PTRACE_O_TRACESECCOMP`; otherwise the syscall
/// is not run and fails with `ENOSYS`.
pub fn verdict(guest_answer: u32, tracer_wants_seccomp: bool) -> Verdict {
    if guest_answer & cbpf::RET_ACTION_FULL != cbpf::RET_TRACE {
        Verdict::Ours
    } else if tracer_wants_seccomp {
        Verdict::ShowTracer(u64::from(guest_answer & cbpf::RET_DATA))
    } else {
        Verdict::Enosys
    }
}

impl GuestFilters {
    /// Whether any guest has (or is installing) a filter: the hooks' fast
    /// exit.
    #[inline]
    pub fn active(&self) -> bool {
        !self.chains.is_empty() || !self.pending.is_empty()
    }

    /// Whether `tid`'s filters are known (recorded or known empty).
    pub fn knows(&self, tid: i32) -> bool {
        self.chains.contains_key(&tid) || self.none.contains(&tid)
    }

    pub fn chain(&self, tid: i32) -> Option<&Rc<Chain>> {
        self.chains.get(&tid)
    }

    /// `tid` has the filters `from` has (a new task, from its creator). A
    /// task whose filters are known already keeps them.
    pub fn inherit(&mut self, tid: i32, from: Option<i32>) {
        if self.knows(tid) {
            return;
        }
        match from.and_then(|f| self.chains.get(&f)).cloned() {
            Some(c) => {
                self.chains.insert(tid, c);
            }
            None => {
                self.none.insert(tid);
            }
        }
    }

    /// The entry of an install by `tid` of `prog` (raw `sock_filter`s).
    /// (`flags`: the `seccomp(2)` flags; 0 for `prctl`.)
    pub fn begin_install(&mut self, tid: i32, prog: &[u8], flags: u64) {
        let prog: Rc<[Insn]> = cbpf::decode(prog).into();
        self.pending.insert(tid, Pending { prog, flags });
    }

    pub fn installing(&self, tid: i32) -> bool {
        !self.pending.is_empty() && self.pending.contains_key(&tid)
    }

    /// The exit of `tid`'s install, which returned `ret`. With `TSYNC`,
    /// every thread in `threads` gets the new filters too.
    pub fn end_install(&mut self, tid: i32, ret: i64, threads: &[i32]) {
        let Some(p) = self.pending.remove(&tid) else {
            return;
        };
        if !accepted(p.flags, ret) {
            return;
        }
        let chain = Rc::new(Chain {
            prog: p.prog,
            parent: self.chains.get(&tid).cloned(),
        });
        let others = if p.flags & FLAG_TSYNC != 0 {
            threads
        } else {
            &[]
        };
        for t in std::iter::once(&tid).chain(others) {
            self.none.remove(t);
            self.chains.insert(*t, chain.clone());
        }
    }

    /// An exec from a non-leader thread: it now has the leader's id.
    pub fn exec_from_thread(&mut self, former: i32, leader: i32) {
        if former == leader {
            return;
        }
        self.chains.remove(&leader);
        self.none.remove(&leader);
        match self.chains.remove(&former) {
            Some(c) => {
                self.chains.insert(leader, c);
            }
            None => {
                if self.none.remove(&former) {
                    self.none.insert(leader);
                }
            }
        }
    }

    pub fn gone(&mut self, tid: i32) {
        self.chains.remove(&tid);
        self.none.remove(&tid);
        self.pending.remove(&tid);
        self.at_stop.remove(&tid);
        if self.chains.is_empty() {
            // Nothing left to inherit: forget the negatives too.
            self.none.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw bytes of `nr == want ? ret : ALLOW`.
    fn filter(want: u32, ret: u32) -> Vec<u8> {
        let insns = [
            (0x20u16, 0u8, 0u8, 0u32),
            (0x15, 0, 1, want),
            (0x06, 0, 0, ret),
            (0x06, 0, 0, cbpf::RET_ALLOW),
        ];
        insns
            .iter()
            .flat_map(|(c, jt, jf, k)| {
                let mut b = [0u8; 8];
                b[0..2].copy_from_slice(&c.to_ne_bytes());
                b[2] = *jt;
                b[3] = *jf;
                b[4..].copy_from_slice(&k.to_ne_bytes());
                b
            })
            .collect()
    }

    fn nr(n: i32) -> SeccompData {
        SeccompData {
            nr: n,
            ..Default::default()
        }
    }

    fn answer(g: &GuestFilters, tid: i32, n: i32) -> u32 {
        g.chain(tid).map_or(cbpf::RET_ALLOW, |c| c.evaluate(&nr(n)))
    }

    #[test]
    fn an_install_counts_only_once_the_kernel_accepted_it() {
        let mut g = GuestFilters::default();
        g.begin_install(10, &filter(39, cbpf::RET_TRACE | 5), 0);
        assert!(g.active() && g.installing(10));
        g.end_install(10, -(libc::EACCES as i64), &[]);
        assert!(!g.active(), "refused by the kernel");
        g.begin_install(10, &filter(39, cbpf::RET_TRACE | 5), 0);
        g.end_install(10, 0, &[11]);
        assert_eq!(answer(&g, 10, 39), cbpf::RET_TRACE | 5);
        assert_eq!(answer(&g, 10, 40), cbpf::RET_ALLOW);
        assert!(g.chain(11).is_none(), "no TSYNC: the caller only");
    }

    #[test]
    fn tsync_children_exec_and_exit_keep_the_kernels_rules() {
        let mut g = GuestFilters::default();
        g.begin_install(10, &filter(39, cbpf::RET_TRACE | 1), FLAG_TSYNC);
        g.end_install(10, 0, &[11, 12]);
        assert_eq!(answer(&g, 12, 39), cbpf::RET_TRACE | 1);
        // A later filter: newer TRACE data wins, ERRNO beats TRACE.
        g.begin_install(11, &filter(39, cbpf::RET_TRACE | 2), FLAG_NEW_LISTENER);
        g.end_install(11, 5, &[]);
        assert_eq!(answer(&g, 11, 39), cbpf::RET_TRACE | 2);
        g.begin_install(11, &filter(39, cbpf::RET_ERRNO | 1), 0);
        g.end_install(11, 0, &[]);
        assert_eq!(answer(&g, 11, 39), cbpf::RET_ERRNO | 1);
        assert_eq!(answer(&g, 10, 39), cbpf::RET_TRACE | 1, "10 unchanged");
        // A child gets its creator's filters; a known task keeps its own.
        g.inherit(20, Some(11));
        g.inherit(20, Some(10));
        assert_eq!(answer(&g, 20, 39), cbpf::RET_ERRNO | 1);
        g.inherit(21, Some(99));
        assert!(g.knows(21) && g.chain(21).is_none());
        // Exec from thread 12: it becomes 10, with 12's filters.
        g.exec_from_thread(12, 10);
        assert!(g.chain(12).is_none() && g.chain(10).is_some());
        for t in [10, 11, 20, 21] {
            g.gone(t);
        }
        assert!(!g.active() && !g.knows(21));
    }

    #[test]
    fn an_install_took_effect_by_the_kernels_answer() {
        assert!(accepted(0, 0));
        assert!(!accepted(0, -22));
        assert!(accepted(FLAG_NEW_LISTENER, 4), "the listener's fd");
        assert!(!accepted(FLAG_TSYNC, 1234), "a thread that could not sync");
    }

    #[test]
    fn only_trace_answers_concern_the_guest_tracer() {
        assert_eq!(verdict(cbpf::RET_ALLOW, true), Verdict::Ours);
        assert_eq!(verdict(cbpf::RET_LOG, true), Verdict::Ours);
        assert_eq!(
            verdict(cbpf::RET_TRACE | 0x1234, true),
            Verdict::ShowTracer(0x1234)
        );
        assert_eq!(verdict(cbpf::RET_TRACE | 3, false), Verdict::Enosys);
    }
}
