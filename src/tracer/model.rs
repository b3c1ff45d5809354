//! A deterministic model of the kernel's ptrace reports, driving the real
//! lifecycle logic ([`super::lifecycle::Tasks`]) through every order the
//! kernel can produce for small scenarios, and through seeded random orders
//! for large ones. It checks that every stop is resumed exactly once, with
//! the right signal, that no task is left stopped, that every report is
//! handled once, and that no state leaks.
//!
//! The driver below dispatches events to `Tasks` the way
//! `Tracer::handle` does; syscall stops are simply resumed.

use super::chaos::Chaos;
use super::event::{self, Event, Sig};
use super::lifecycle::{Inherit, Kernel, Tasks};
use nix::unistd::Pid;
use std::collections::VecDeque;

/// What a simulated task does, step by step, when it runs.
#[derive(Clone, Debug)]
pub enum Act {
    /// fork: a child process running the script.
    Fork(Vec<Act>),
    /// clone(CLONE_THREAD): a thread running the script.
    Thread(Vec<Act>),
    /// vfork: the parent does nothing more until the child exits.
    Vfork(Vec<Act>),
    /// fork, and the parent is killed before its clone event is reported.
    ForkThenKilled(Vec<Act>),
    /// A trapped syscall (a seccomp stop).
    Syscall,
    /// A signal arrives (signal-delivery stop); any number 1..=64.
    Signal(Sig),
    /// `exit_group`: every task of the thread group dies at once, including
    /// those stopped at a report the tracer has not taken yet.
    ExitGroup,
    /// A stopping signal takes effect (group-stop), later ended by SIGCONT.
    GroupStop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Resume without a signal (event stops, a newborn's first stop).
    NoSignal,
    /// A signal-delivery stop: resume with this signal.
    Deliver(Sig),
    /// A group-stop: must be left stopped with PTRACE_LISTEN.
    Listen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Running,
    Stopped(Expect),
    /// Blocked until `vfork` child exits.
    VforkWait(i32),
    Exited,
}

struct SimTask {
    pid: i32,
    tgid: i32,
    ppid: i32,
    script: VecDeque<Act>,
    state: State,
    /// The child named by a pending clone event.
    event_child: Option<i32>,
    /// Killed after a clone, before its event.
    doomed: bool,
    /// A vfork child this task waits for once resumed from its event.
    vfork_child: Option<i32>,
}

/// The simulated kernel.
pub struct Sim {
    tasks: Vec<SimTask>,
    /// Reports not yet taken by `waitpid`.
    pending: Vec<Event>,
    next_pid: i32,
    pub violations: Vec<String>,
    pub resumes: usize,
    pub stops: usize,
}

impl Sim {
    fn new(script: Vec<Act>) -> Self {
        Sim {
            tasks: vec![SimTask {
                pid: 100,
                tgid: 100,
                ppid: 1,
                script: script.into(),
                state: State::Running,
                event_child: None,
                doomed: false,
                vfork_child: None,
            }],
            pending: Vec::new(),
            next_pid: 101,
            violations: Vec::new(),
            resumes: 0,
            stops: 0,
        }
    }

    fn task(&mut self, pid: i32) -> Option<&mut SimTask> {
        self.tasks.iter_mut().find(|t| t.pid == pid)
    }

    fn stop(&mut self, pid: i32, expect: Expect, ev: Event) {
        if let Some(t) = self.task(pid) {
            t.state = State::Stopped(expect);
        }
        self.stops += 1;
        self.pending.push(ev);
    }

    fn exit(&mut self, pid: i32, killed: bool) {
        let Some(t) = self.task(pid) else { return };
        if t.state == State::Exited {
            return;
        }
        t.state = State::Exited;
        if t.event_child.is_some() {
            // Killed at its clone event before the tracer took it: the
            // child's early entry can never be confirmed.
            t.doomed = true;
        }
        let p = Pid::from_raw(pid);
        // A dead task's undelivered stop is replaced by its death.
        self.pending
            .retain(|e| e.pid() != p || matches!(e, Event::Exited { .. }));
        self.pending.push(if killed {
            Event::Killed {
                pid: p,
                sig: Sig::KILL,
            }
        } else {
            Event::Exited { pid: p, code: 0 }
        });
        // Children are re-parented; a vfork parent wakes up.
        for c in self.tasks.iter_mut() {
            if c.ppid == pid {
                c.ppid = 1;
            }
            if c.state == State::VforkWait(pid) {
                c.state = State::Running;
            }
        }
    }

    /// Tasks that can take a step.
    fn runnable(&self) -> Vec<usize> {
        (0..self.tasks.len())
            .filter(|&i| self.tasks[i].state == State::Running)
            .collect()
    }

    /// Let task `i` run until its next report.
    fn step(&mut self, i: usize) {
        let pid = self.tasks[i].pid;
        let Some(act) = self.tasks[i].script.pop_front() else {
            self.exit(pid, false);
            return;
        };
        let p = Pid::from_raw(pid);
        match act {
            Act::Syscall => self.stop(pid, Expect::NoSignal, Event::Seccomp { pid: p }),
            Act::Signal(sig) => self.stop(pid, Expect::Deliver(sig), Event::Signal { pid: p, sig }),
            Act::ExitGroup => {
                let tgid = self.tasks[i].tgid;
                let group: Vec<i32> = self
                    .tasks
                    .iter()
                    .filter(|t| t.tgid == tgid)
                    .map(|t| t.pid)
                    .collect();
                for t in group {
                    self.exit(t, t != pid);
                }
            }
            Act::GroupStop => self.stop(
                pid,
                Expect::Listen,
                Event::Stop {
                    pid: p,
                    sig: Sig::TSTP,
                },
            ),
            Act::Fork(ref s)
            | Act::Thread(ref s)
            | Act::Vfork(ref s)
            | Act::ForkThenKilled(ref s) => {
                let s = s.clone();
                let child = self.next_pid;
                self.next_pid += 1;
                let thread = matches!(act, Act::Thread(_));
                let tgid = if thread { self.tasks[i].tgid } else { child };
                self.tasks.push(SimTask {
                    pid: child,
                    tgid,
                    ppid: pid,
                    script: s.into(),
                    state: State::Running,
                    event_child: None,
                    doomed: false,
                    vfork_child: None,
                });
                // The newborn's first stop and the parent's event: two
                // reports, in whatever order the scheduler takes them.
                self.stop(
                    child,
                    Expect::NoSignal,
                    Event::Stop {
                        pid: Pid::from_raw(child),
                        sig: Sig::TRAP,
                    },
                );
                if matches!(act, Act::ForkThenKilled(_)) {
                    self.tasks[i].doomed = true;
                    self.exit(pid, true);
                } else {
                    self.tasks[i].event_child = Some(child);
                    self.stop(pid, Expect::NoSignal, Event::NewChild { parent: p });
                    if matches!(act, Act::Vfork(_)) {
                        // Resuming the parent leaves it waiting for the child.
                        self.tasks[i].vfork_child = Some(child);
                    }
                }
            }
        }
    }

    fn all_done(&self) -> bool {
        self.tasks.iter().all(|t| t.state == State::Exited)
    }
}

impl Kernel for Sim {
    type Stop = i32;
    fn new_child_of(&mut self, parent: i32) -> Option<i32> {
        self.task(parent).and_then(|t| t.event_child.take())
    }

    fn resume(&mut self, pid: i32, sig: Option<Sig>) {
        self.resumes += 1;
        let Some(idx) = self.tasks.iter().position(|t| t.pid == pid) else {
            self.violations
                .push(format!("resume of unknown task {pid}"));
            return;
        };
        match self.tasks[idx].state {
            State::Stopped(expect) => {
                let want = match expect {
                    Expect::NoSignal => None,
                    Expect::Deliver(s) => Some(s),
                    Expect::Listen => {
                        self.violations
                            .push(format!("task {pid} resumed from a group-stop"));
                        None
                    }
                };
                if sig != want {
                    let msg = format!("task {pid} resumed with {sig:?}, expected {want:?}");
                    self.violations.push(msg);
                }
                self.tasks[idx].state = State::Running;
                if let Some(c) = self.tasks[idx].vfork_child.take() {
                    let child_alive = self
                        .tasks
                        .iter()
                        .any(|x| x.pid == c && x.state != State::Exited);
                    if child_alive {
                        self.tasks[idx].state = State::VforkWait(c);
                    }
                }
            }
            // ESRCH in real life: harmless.
            State::Exited => {}
            other => self
                .violations
                .push(format!("task {pid} resumed while {other:?}")),
        }
    }

    fn listen(&mut self, pid: i32) {
        self.resumes += 1;
        let Some(idx) = self.tasks.iter().position(|t| t.pid == pid) else {
            self.violations
                .push(format!("listen of unknown task {pid}"));
            return;
        };
        if self.tasks[idx].state != State::Stopped(Expect::Listen) {
            let st = self.tasks[idx].state;
            self.violations
                .push(format!("task {pid} listened while {st:?}"));
            return;
        }
        // It stays stopped until SIGCONT, which comes later: the wake-up is
        // another PTRACE_EVENT_STOP (SIGTRAP) to resume.
        self.stop(
            pid,
            Expect::NoSignal,
            Event::Stop {
                pid: Pid::from_raw(pid),
                sig: Sig::TRAP,
            },
        );
    }

    fn lineage(&mut self, pid: i32) -> [Option<i32>; 2] {
        match self.task(pid) {
            Some(t) if t.state != State::Exited => [Some(t.tgid), Some(t.ppid)],
            _ => [None, None],
        }
    }

    fn kill(&mut self, pid: i32) {
        self.exit(pid, true);
    }
}

/// Model payload: remembers which task it was inherited from.
#[derive(Default, Clone)]
struct Lineage {
    generation: u32,
}

impl Inherit for Lineage {
    fn child_of(parent: &Self) -> Self {
        Lineage {
            generation: parent.generation + 1,
        }
    }
}

/// Where the scheduler's choices come from.
pub trait Chooser {
    /// A number in `0..n` (n ≥ 1).
    fn choose(&mut self, n: usize) -> usize;
}

/// Replays a prefix of choices, then takes 0, recording how many options
/// each step had: enumerates every interleaving by odometer.
pub struct Replay {
    prefix: Vec<usize>,
    pos: usize,
    pub taken: Vec<(usize, usize)>,
}

impl Replay {
    /// The guest ptrace model's (x86_64's) replays.
    #[cfg(target_arch = "x86_64")]
    pub fn new(prefix: Vec<usize>) -> Self {
        Replay {
            prefix,
            pos: 0,
            taken: Vec::new(),
        }
    }

    /// The choice vector of the next run in an exhaustive walk: the last
    /// position that has room, incremented. `None` once every order ran.
    pub fn next_prefix(mut self) -> Option<Vec<usize>> {
        while let Some((c, n)) = self.taken.pop() {
            if c + 1 < n {
                let mut prefix: Vec<usize> = self.taken.iter().map(|x| x.0).collect();
                prefix.push(c + 1);
                return Some(prefix);
            }
        }
        None
    }
}

impl Chooser for Replay {
    fn choose(&mut self, n: usize) -> usize {
        let c = self.prefix.get(self.pos).copied().unwrap_or(0).min(n - 1);
        self.pos += 1;
        self.taken.push((c, n));
        c
    }
}

impl Chooser for Chaos {
    fn choose(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// How the driver orders a batch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Priority sort, as the tracer does by default.
    Sorted,
    /// Arrival order (what a tracer without the sort would do).
    Arrival,
}

/// The outcome of one simulated run.
pub struct Run {
    pub violations: Vec<String>,
    pub stops: usize,
    pub handled: usize,
    pub newborn_before_parent: usize,
}

/// Run `script` as the first task's program with the scheduler's choices.
pub fn simulate(script: Vec<Act>, ch: &mut dyn Chooser, order: Order, kill_on_exit: bool) -> Run {
    let mut sim = Sim::new(script);
    let mut tasks: Tasks<Lineage> = Tasks::new(100, Lineage::default(), kill_on_exit);
    let mut handled = 0;
    let mut early = 0;
    let mut guard = 0;
    loop {
        guard += 1;
        if guard > 100_000 {
            sim.violations.push("no progress".into());
            break;
        }
        let runnable = sim.runnable();
        let options = runnable.len() + usize::from(!sim.pending.is_empty());
        if options == 0 {
            break;
        }
        let c = ch.choose(options);
        if c < runnable.len() {
            sim.step(runnable[c]);
            continue;
        }
        // waitpid: take a batch of pending reports in a chosen order.
        let mut batch = Vec::new();
        loop {
            let i = ch.choose(sim.pending.len());
            batch.push(sim.pending.remove(i));
            if sim.pending.is_empty() || ch.choose(2) == 0 {
                break;
            }
        }
        if order == Order::Sorted {
            event::sort_batch(&mut batch);
        }
        for ev in batch {
            handled += 1;
            match ev {
                Event::NewChild { parent } => {
                    tasks.on_new_child(&mut sim, parent.as_raw());
                }
                Event::Stop { pid, sig } => {
                    let r = tasks.on_event_stop(&mut sim, pid.as_raw(), sig);
                    if r == (super::lifecycle::SignalStop::Newborn {
                        before_parent: true,
                    }) {
                        early += 1;
                    }
                }
                Event::Signal { pid, sig } => {
                    let r = tasks.on_signal_stop(&mut sim, pid.as_raw(), sig);
                    if r == (super::lifecycle::SignalStop::Newborn {
                        before_parent: true,
                    }) {
                        early += 1;
                    }
                }
                Event::Seccomp { pid } | Event::Syscall { pid } | Event::OtherEvent { pid } => {
                    tasks.ensure_known(&mut sim, pid.as_raw());
                    sim.resume(pid.as_raw(), None);
                }
                Event::Exec { pid } => sim.resume(pid.as_raw(), None),
                Event::Exited { pid, .. } | Event::Killed { pid, .. } => {
                    tasks.on_gone(&mut sim, pid.as_raw(), 0);
                }
            }
        }
    }
    if !sim.all_done() {
        let stuck: Vec<String> = sim
            .tasks
            .iter()
            .filter(|t| t.state != State::Exited)
            .map(|t| format!("{}:{:?}", t.pid, t.state))
            .collect();
        sim.violations
            .push(format!("left stopped: {}", stuck.join(" ")));
    }
    if !tasks.is_empty() {
        sim.violations
            .push(format!("{} tracee entries leaked", tasks.len()));
    }
    if tasks.early_len() != 0 && !sim.tasks.iter().any(|t| t.doomed) {
        sim.violations
            .push(format!("{} early entries leaked", tasks.early_len()));
    }
    if sim.resumes > sim.stops {
        sim.violations
            .push(format!("{} resumes for {} stops", sim.resumes, sim.stops));
    }
    Run {
        violations: sim.violations,
        stops: sim.stops,
        handled,
        newborn_before_parent: early,
    }
}

/// Run every interleaving of `script` (up to `limit` runs); returns how many
/// runs there were and how many had a newborn stop before its parent's event.
pub fn exhaust(script: &[Act], order: Order, limit: usize) -> (usize, usize) {
    let mut prefix: Vec<usize> = Vec::new();
    let mut runs = 0;
    let mut reordered = 0;
    loop {
        let mut r = Replay {
            prefix: prefix.clone(),
            pos: 0,
            taken: Vec::new(),
        };
        let run = simulate(script.to_vec(), &mut r, order, false);
        runs += 1;
        assert!(
            run.violations.is_empty(),
            "choices {:?}: {:?}",
            r.taken.iter().map(|c| c.0).collect::<Vec<_>>(),
            run.violations
        );
        assert!(run.handled >= run.stops, "a report was dropped");
        if run.newborn_before_parent > 0 {
            reordered += 1;
        }
        match r.next_prefix() {
            Some(next) => prefix = next,
            None => return (runs, reordered),
        }
        if runs >= limit {
            return (runs, reordered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Act::*;

    #[test]
    fn every_order_of_one_thread_creation_resumes_everything_once() {
        let (runs, reordered) =
            exhaust(&[Thread(vec![Syscall]), Syscall], Order::Sorted, 1_000_000);
        assert!(runs > 10, "only {runs} interleavings");
        assert!(reordered > 0, "no run had the newborn stop first");
    }

    #[test]
    fn every_order_of_two_threads_and_a_fork_in_arrival_order() {
        let script = vec![Thread(vec![]), Fork(vec![Syscall]), Thread(vec![Syscall])];
        let (runs, reordered) = exhaust(&script, Order::Arrival, 2_000_000);
        assert!(runs > 1000, "only {runs} interleavings");
        assert!(reordered > 0);
    }

    #[test]
    fn every_order_of_nested_forks_vfork_and_signals() {
        let script = vec![
            Fork(vec![Thread(vec![Signal(Sig::USR1)]), GroupStop]),
            Vfork(vec![]),
        ];
        let (runs, _) = exhaust(&script, Order::Sorted, 2_000_000);
        assert!(runs > 100);
    }

    #[test]
    fn every_order_when_the_parent_dies_before_its_clone_event() {
        let script = vec![ForkThenKilled(vec![Syscall])];
        let (runs, reordered) = exhaust(&script, Order::Arrival, 1_000_000);
        assert!(runs > 3);
        assert!(reordered > 0);
    }

    #[test]
    fn every_order_of_an_exit_racing_a_newborn() {
        // The child exits at once; the parent exits right after cloning.
        let (runs, _) = exhaust(&[Fork(vec![]), Thread(vec![])], Order::Arrival, 2_000_000);
        assert!(runs > 100);
    }

    fn storm(n: usize) -> Vec<Act> {
        let mut s: Vec<Act> = (0..n).map(|_| Thread(vec![Syscall, Syscall])).collect();
        s.push(Fork(vec![Fork(vec![Syscall]), Thread(vec![])]));
        s
    }

    #[test]
    fn sixty_four_threads_at_once_in_random_orders() {
        let mut reordered = 0;
        for seed in 0..300u64 {
            for order in [Order::Sorted, Order::Arrival] {
                let mut ch = Chaos::new(seed);
                let run = simulate(storm(64), &mut ch, order, false);
                assert!(
                    run.violations.is_empty(),
                    "seed {seed}: {:?}",
                    run.violations
                );
                reordered += run.newborn_before_parent;
            }
        }
        assert!(reordered > 0);
    }

    #[test]
    fn group_stops_are_left_stopped_until_sigcont_in_any_order() {
        let script = vec![
            Thread(vec![GroupStop, Syscall]),
            GroupStop,
            Fork(vec![GroupStop]),
        ];
        let (runs, _) = exhaust(&script, Order::Arrival, 2_000_000);
        assert!(runs > 100);
    }

    #[test]
    fn kill_on_exit_kills_the_rest_in_any_order() {
        for seed in 0..300u64 {
            let mut ch = Chaos::new(seed);
            let script = vec![Fork(vec![Syscall, Syscall, Syscall]), Thread(vec![Syscall])];
            let run = simulate(script, &mut ch, Order::Arrival, true);
            assert!(
                run.violations.is_empty(),
                "seed {seed}: {:?}",
                run.violations
            );
        }
    }

    const RT_MIN: Sig = Sig(34);
    const RT_MAX: Sig = Sig(64);
    /// glibc's SIGSETXID, sent to every thread by `setuid` and friends.
    const SETXID: Sig = Sig(33);

    #[test]
    fn every_order_of_real_time_signals_racing_a_clone_event() {
        let script = vec![
            Thread(vec![Signal(RT_MIN), Syscall]),
            Signal(RT_MAX),
            Signal(SETXID),
        ];
        let (runs, reordered) = exhaust(&script, Order::Arrival, 2_000_000);
        assert!(runs > 100, "only {runs} interleavings");
        assert!(reordered > 0);
    }

    #[test]
    fn every_order_of_a_real_time_signal_racing_a_group_exit() {
        let script = vec![
            Thread(vec![Signal(Sig(40)), Syscall, Syscall]),
            Fork(vec![Signal(RT_MAX)]),
            Signal(SETXID),
            ExitGroup,
        ];
        let (runs, _) = exhaust(&script, Order::Arrival, 2_000_000);
        assert!(runs > 100, "only {runs} interleavings");
        let (runs, _) = exhaust(&script, Order::Sorted, 2_000_000);
        assert!(runs > 100, "only {runs} interleavings");
    }

    #[test]
    fn setxid_broadcast_to_a_thread_storm_in_random_orders() {
        for seed in 0..300u64 {
            let mut script: Vec<Act> = (0..32)
                .map(|i| Thread(vec![Signal(SETXID), Signal(Sig(34 + i % 31)), Syscall]))
                .collect();
            script.push(Signal(SETXID));
            if seed % 2 == 0 {
                script.push(ExitGroup);
            }
            for order in [Order::Sorted, Order::Arrival] {
                let mut ch = Chaos::new(seed);
                let run = simulate(script.clone(), &mut ch, order, false);
                assert!(
                    run.violations.is_empty(),
                    "seed {seed}: {:?}",
                    run.violations
                );
            }
        }
    }

    #[test]
    fn exec_from_a_thread_moves_its_state_to_the_leader() {
        let mut tasks: Tasks<Lineage> = Tasks::new(100, Lineage::default(), false);
        let mut sim = Sim::new(vec![]);
        tasks.claim_unknown(&mut sim, 101);
        tasks.on_exec_from_thread(101, 100);
        assert!(tasks.contains(100));
        assert!(!tasks.contains(101));
        assert_eq!(tasks.len(), 1);
    }
}
