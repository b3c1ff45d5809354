//! A model of guest ptrace under every event order: a guest tracer and its
//! tracees (threads auto-attached with `PTRACE_O_TRACECLONE`; a tracee that
//! traces a process of its own, whose threads are followed too) make stops,
//! exit, get killed while held, and the tracers die or wait late, while
//! sproot handles the kernel's reports in any order. A tracer that is
//! itself held for its own tracer does nothing until released.
//!
//! The model drives the real hooks (`hooks.rs`, over fake tasks): each
//! report goes through `Hooks::before`, the ordinary path (which resumes a
//! task unless the hooks hold it) and `Hooks::after`; the guest tracers
//! make real `wait4` and `ptrace(PTRACE_CONT)` calls. What the hooks do to
//! the tasks (resumes, kills) is read back from the fake's record. It
//! checks that no order leaves a tracee stopped forever, that no stopped
//! task is resumed twice or a running one resumed, that every status owed
//! to a living tracer is collected, and that no state leaks.

use super::super::event::{Event, Sig};
use super::super::model::{Chooser, Replay};
use super::backend::fake::Call;
use super::hooks::tests::{SP, World};
use super::tracing as gp;
use crate::arch::{Regs, sys};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

const TRACER: i32 = 10;
const FIRST: i32 = 20;
/// With `nested`: a process the first tracee traces in turn.
const GRANDCHILD: i32 = 30;
/// Where a tracer's `wait4` has its status written.
const STATUS_AT: u64 = 0x6000;

/// What a simulated tracee does when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// A signal arrives: a signal-delivery stop its tracer sees.
    Signal,
    /// clone(CLONE_THREAD): a new thread that runs `[Signal, Exit]`.
    Thread,
    /// The task exits.
    Exit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Real {
    Running,
    /// Stopped, its report not yet handled by sproot.
    Reported,
    /// Held by sproot for the guest tracer (or for its creator's event).
    Held,
    /// Dead, its exit report not yet handled.
    Dying,
    Gone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Report {
    Stop(i32, i32),
    NewChild(i32, i32),
    FirstStop(i32),
    Gone(i32),
    TracerGone(i32),
}

struct Task {
    tid: i32,
    creator: i32,
    script: Vec<Act>,
    real: Real,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tracer {
    /// In `wait4`: returns when a status is owed.
    Waiting,
    /// Collected a stop of this tracee; restarts it next.
    Restarting(i32),
    Dead,
}

/// The scenario's knobs.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub first: &'static [Act],
    /// The tracer may die at any point.
    pub tracer_dies: bool,
    /// A held tracee may be killed (`SIGKILL` from elsewhere).
    pub kill_held: bool,
    pub exitkill: bool,
    /// The first tracee traces a process of its own (nested tracing).
    pub nested: bool,
}

struct Sim {
    /// The hooks' state, over fake tasks.
    w: World,
    tasks: Vec<Task>,
    reports: Vec<Report>,
    /// The guest tracers (thread-group id) and what each is doing.
    tracers: Vec<(i32, Tracer)>,
    next: i32,
    violations: Vec<String>,
}

impl Sim {
    fn task(&mut self, tid: i32) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.tid == tid)
    }

    fn set(&mut self, tid: i32, real: Real) {
        if let Some(t) = self.task(tid)
            && t.real != Real::Gone
            && t.real != Real::Dying
        {
            t.real = real;
        }
    }

    /// sproot really resumes `tid` (only a stopped task can be).
    fn release(&mut self, tid: i32) {
        match self.task(tid).map(|t| t.real) {
            Some(Real::Held) => self.set(tid, Real::Running),
            Some(Real::Dying | Real::Gone) | None => {}
            Some(r) => self.violations.push(format!("resume of {tid} while {r:?}")),
        }
    }

    /// What the hooks did to the tasks since the last look: resumes and
    /// kills (those of `caller`, a tracer's own syscall, aside); the tasks
    /// they hold now are held.
    fn effects(&mut self, caller: Option<i32>) {
        for c in std::mem::take(&mut self.w.be.calls) {
            match c {
                Call::Resume { pid, .. } if Some(pid) != caller => self.release(pid),
                Call::Kill(pid, Signal::SIGKILL) => self.kill(pid),
                _ => {}
            }
        }
        for i in 0..self.tasks.len() {
            let (tid, real) = (self.tasks[i].tid, self.tasks[i].real);
            if !self.w.gate.holds(tid) {
                continue;
            }
            match real {
                Real::Reported => self.tasks[i].real = Real::Held,
                Real::Running => self.violations.push(format!("{tid} held while it runs")),
                _ => {}
            }
        }
    }

    /// sproot handles the report of `ev`: the hooks, then the ordinary
    /// path, which resumes the task unless the hooks hold it.
    fn dispatch(&mut self, ev: Event) {
        self.w.hooks(|h| h.before(ev));
        self.effects(None);
        let tid = ev.pid().as_raw();
        if self.task(tid).is_some_and(|t| t.real == Real::Reported) && !self.w.gate.holds(tid) {
            self.set(tid, Real::Running);
        }
        self.w.hooks(|h| h.after(ev));
        self.effects(None);
    }

    fn kill(&mut self, tid: i32) {
        if let Some(t) = self.task(tid)
            && matches!(t.real, Real::Running | Real::Reported | Real::Held)
        {
            t.real = Real::Dying;
            self.reports.push(Report::Gone(tid));
        }
    }

    /// A task's next act.
    fn run(&mut self, i: usize) {
        let tid = self.tasks[i].tid;
        let act = self.tasks[i].script.remove(0);
        match act {
            Act::Signal => {
                self.tasks[i].real = Real::Reported;
                self.reports
                    .push(Report::Stop(tid, gp::stopped_status(10, 0)));
            }
            Act::Thread => {
                let child = self.next;
                self.next += 1;
                self.tasks[i].real = Real::Reported;
                self.tasks.push(Task {
                    tid: child,
                    creator: tid,
                    script: vec![Act::Signal, Act::Exit],
                    real: Real::Reported,
                });
                self.reports.push(Report::NewChild(tid, child));
                self.reports.push(Report::FirstStop(child));
            }
            Act::Exit => {
                self.tasks[i].real = Real::Dying;
                self.reports.push(Report::Gone(tid));
            }
        }
    }

    /// sproot handles one kernel report.
    fn handle(&mut self, r: Report) {
        match r {
            Report::Stop(tid, status) => {
                let sig = Sig(libc::WSTOPSIG(status));
                self.dispatch(Event::Signal {
                    pid: Pid::from_raw(tid),
                    sig,
                });
            }
            Report::NewChild(parent, child) => {
                // clone(CLONE_THREAD) in the parent's registers; the child
                // becomes a task of the tracer's table.
                let flags = (libc::CLONE_THREAD | libc::CLONE_VM | libc::CLONE_SIGHAND) as u64;
                let regs = Regs::entry(sys::SYS_clone, [flags, 0, 0, 0, 0, 0], SP);
                self.w.be.regs.insert(parent, regs);
                self.w.be.event_msgs.insert(parent, child as u64);
                self.dispatch(Event::NewChild {
                    parent: Pid::from_raw(parent),
                });
                let tgid = self.w.guests.tgids.get(&parent).copied().unwrap_or(parent);
                self.w.guests.tgids.insert(child, tgid);
            }
            Report::FirstStop(child) => {
                let creator = self.task(child).map_or(0, |t| t.creator);
                self.w.be.status.insert((child, "Tgid:"), creator);
                self.dispatch(Event::Stop {
                    pid: Pid::from_raw(child),
                    sig: Sig::TRAP,
                });
                let tgid = self
                    .w
                    .guests
                    .tgids
                    .get(&creator)
                    .copied()
                    .unwrap_or(creator);
                self.w.guests.tgids.insert(child, tgid);
            }
            Report::Gone(tid) => {
                if let Some(t) = self.task(tid) {
                    t.real = Real::Gone;
                }
                if let Some(k) = self.tracers.iter().position(|t| t.0 == tid) {
                    // A tracee that traced others in turn.
                    self.tracers[k].1 = Tracer::Dead;
                }
                self.dispatch(Event::Exited {
                    pid: Pid::from_raw(tid),
                    code: 0,
                });
            }
            Report::TracerGone(tgid) => self.dispatch(Event::Exited {
                pid: Pid::from_raw(tgid),
                code: 0,
            }),
        }
    }

    /// Guest tracer `k`'s next step: a `wait4` that collects a status,
    /// or a `PTRACE_CONT` of the tracee it collected.
    fn tracer_step(&mut self, k: usize) {
        let me = self.tracers[k].0;
        match self.tracers[k].1 {
            Tracer::Waiting => {
                self.w.be.poke(me, STATUS_AT, &0i32.to_ne_bytes());
                let args = [-1i64 as u64, STATUS_AT, libc::__WALL as u64, 0, 0, 0];
                if !self.w.syscall_of(me, sys::SYS_wait4, args) {
                    self.violations.push(format!("wait4 of {me} not answered"));
                }
                let ret = self.w.be.regs[&me].ret() as i32;
                let status = self.w.be.peek_i32(me, STATUS_AT).unwrap_or(0);
                if ret > 0 && libc::WIFSTOPPED(status) {
                    self.tracers[k].1 = Tracer::Restarting(ret);
                }
            }
            Tracer::Restarting(t) => {
                self.tracers[k].1 = Tracer::Waiting;
                // Gone meanwhile: ESRCH, as the kernel says.
                let args = [gp::PTRACE_CONT, t as u64, 0, 0, 0, 0];
                if !self.w.syscall_of(me, sys::SYS_ptrace, args) {
                    self.violations.push(format!("ptrace of {me} not answered"));
                }
            }
            Tracer::Dead => return,
        }
        self.effects(Some(me));
    }

    /// Whether guest tracer `k` can act: it is not dead, nor itself
    /// stopped (a tracee that traces others), and has something to do.
    fn tracer_can_step(&self, k: usize) -> bool {
        let (me, state) = self.tracers[k];
        let running = self
            .tasks
            .iter()
            .find(|t| t.tid == me)
            .is_none_or(|t| t.real == Real::Running);
        running
            && match state {
                Tracer::Waiting => self.w.guest.has_report_for(me),
                Tracer::Restarting(_) => true,
                Tracer::Dead => false,
            }
    }
}

/// One enabled step of the simulation.
type Step = Box<dyn Fn(&mut Sim)>;

/// One run of `sc` with the scheduler's choices; the violations found.
pub fn simulate(sc: Scenario, ch: &mut dyn Chooser) -> Vec<String> {
    let mut w = World::default();
    // The tracers' waits stop at sproot's filter already.
    w.waits_filtered(TRACER);
    w.waits_filtered(FIRST);
    w.guests
        .tgids
        .extend([(TRACER, TRACER), (FIRST, FIRST), (GRANDCHILD, GRANDCHILD)]);
    let g = &mut w.guest;
    let options = gp::O_TRACECLONE | if sc.exitkill { gp::O_EXITKILL } else { 0 };
    if let Err(e) = g.attach(TRACER, FIRST, FIRST, Some(TRACER), Some(options)) {
        return vec![format!("attach: {e}")];
    }
    let mut tasks = vec![Task {
        tid: FIRST,
        creator: TRACER,
        script: sc.first.to_vec(),
        real: Real::Running,
    }];
    let mut tracers = vec![(TRACER, Tracer::Waiting)];
    if sc.nested {
        if let Err(e) = g.attach(FIRST, GRANDCHILD, GRANDCHILD, Some(FIRST), Some(options)) {
            return vec![format!("nested attach: {e}")];
        }
        tasks.push(Task {
            tid: GRANDCHILD,
            creator: FIRST,
            script: vec![Act::Thread, Act::Signal, Act::Exit],
            real: Real::Running,
        });
        tracers.push((FIRST, Tracer::Waiting));
    }
    let mut sim = Sim {
        w,
        tasks,
        reports: Vec::new(),
        tracers,
        next: FIRST + 1,
        violations: Vec::new(),
    };
    for _ in 0..10_000 {
        // Every enabled step: tasks that run, reports sproot may handle
        // next (in any order: batches, chaos), the tracer, its death,
        // kills of held tasks.
        let mut steps: Vec<Step> = Vec::new();
        for (i, t) in sim.tasks.iter().enumerate() {
            if t.real == Real::Running && !t.script.is_empty() {
                steps.push(Box::new(move |s: &mut Sim| s.run(i)));
            }
            if sc.kill_held && t.real == Real::Held {
                let tid = t.tid;
                steps.push(Box::new(move |s: &mut Sim| s.kill(tid)));
            }
        }
        for i in 0..sim.reports.len() {
            steps.push(Box::new(move |s: &mut Sim| {
                let r = s.reports.remove(i);
                s.handle(r);
            }));
        }
        for k in 0..sim.tracers.len() {
            if sim.tracer_can_step(k) {
                steps.push(Box::new(move |s: &mut Sim| s.tracer_step(k)));
            }
        }
        if sc.tracer_dies && sim.tracers[0].1 != Tracer::Dead {
            steps.push(Box::new(|s: &mut Sim| {
                s.tracers[0].1 = Tracer::Dead;
                s.reports.push(Report::TracerGone(TRACER));
            }));
        }
        if steps.is_empty() {
            break;
        }
        let c = ch.choose(steps.len());
        steps[c](&mut sim);
    }
    let mut v = std::mem::take(&mut sim.violations);
    for t in &sim.tasks {
        if t.real != Real::Gone && !(t.real == Real::Running && t.script.is_empty()) {
            v.push(format!(
                "{} left {:?} with {:?} to do",
                t.tid, t.real, t.script
            ));
        }
    }
    for (me, state) in &sim.tracers {
        if *state != Tracer::Dead && sim.w.guest.has_report_for(*me) {
            v.push(format!(
                "a status owed to living tracer {me} was never collected"
            ));
        }
        if *state == Tracer::Dead && sim.w.guest.is_tracer(*me) {
            v.push(format!("dead tracer {me} still has tracees or statuses"));
        }
    }
    if sim.tracers[0].1 != Tracer::Dead
        && sim.tasks.iter().all(|t| t.real == Real::Gone)
        && sim.w.guest.active()
    {
        v.push("guest ptrace state leaked".into());
    }
    if !sim.w.guest.newborns.is_empty() {
        v.push(format!("newborns left held: {:?}", sim.w.guest.newborns));
    }
    for t in sim.tasks.iter().filter(|t| t.real == Real::Gone) {
        if sim.w.gate.holds(t.tid) || sim.w.gate.syscall_stops(t.tid) {
            v.push(format!("gone task {} left in the gate", t.tid));
        }
    }
    v
}

/// Every interleaving of `sc` (up to `limit` runs); returns the number run.
pub fn exhaust(sc: Scenario, limit: usize) -> usize {
    let mut prefix: Vec<usize> = Vec::new();
    let mut runs = 0;
    loop {
        let mut r = Replay::new(prefix.clone());
        let v = simulate(sc, &mut r);
        runs += 1;
        assert!(
            v.is_empty(),
            "choices {:?}: {v:?}",
            r.taken.iter().map(|c| c.0).collect::<Vec<_>>()
        );
        match r.next_prefix() {
            Some(next) => prefix = next,
            None => return runs,
        }
        if runs >= limit {
            return runs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Act::*;

    #[test]
    fn tracer_dies_while_its_tracee_is_stopped_in_every_order() {
        for exitkill in [false, true] {
            let sc = Scenario {
                first: &[Signal, Signal, Exit],
                tracer_dies: true,
                kill_held: false,
                exitkill,
                nested: false,
            };
            let runs = exhaust(sc, 200_000);
            assert!(runs >= 10, "{runs} orders");
        }
    }

    #[test]
    fn tracee_exits_or_is_killed_while_its_tracer_is_not_waiting() {
        let sc = Scenario {
            first: &[Signal, Thread, Exit],
            tracer_dies: false,
            kill_held: true,
            exitkill: false,
            nested: false,
        };
        let runs = exhaust(sc, 500_000);
        assert!(runs > 100, "{runs} orders");
    }

    #[test]
    fn threads_of_a_traced_process_in_every_order() {
        let sc = Scenario {
            first: &[Thread, Signal, Exit],
            tracer_dies: false,
            kill_held: false,
            exitkill: false,
            nested: false,
        };
        let runs = exhaust(sc, 500_000);
        assert!(runs > 100, "{runs} orders");
    }

    #[test]
    fn nested_tracing_with_threads_in_every_order() {
        // 10 traces 20, which traces 30; 30 makes a thread.
        let sc = Scenario {
            first: &[Signal, Exit],
            tracer_dies: false,
            kill_held: false,
            exitkill: false,
            nested: true,
        };
        let runs = exhaust(sc, 300_000);
        assert!(runs > 1000, "{runs} orders");
    }

    #[test]
    fn nested_tracing_with_threads_and_deaths_in_random_orders() {
        for exitkill in [false, true] {
            let sc = Scenario {
                first: &[Thread, Signal, Exit],
                tracer_dies: true,
                kill_held: true,
                exitkill,
                nested: true,
            };
            for seed in 0..2000 {
                let mut ch = crate::tracer::chaos::Chaos::new(seed);
                let v = simulate(sc, &mut ch);
                assert!(v.is_empty(), "seed {seed}: {v:?}");
            }
        }
    }

    #[test]
    fn threads_and_a_dying_tracer_in_random_orders() {
        let sc = Scenario {
            first: &[Thread, Thread, Signal, Thread, Exit],
            tracer_dies: true,
            kill_held: true,
            exitkill: false,
            nested: false,
        };
        for seed in 0..3000 {
            let mut ch = crate::tracer::chaos::Chaos::new(seed);
            let v = simulate(sc, &mut ch);
            assert!(v.is_empty(), "seed {seed}: {v:?}");
        }
    }
}
