//! A model of guest ptrace under every event order: a guest tracer and its
//! tracees (threads auto-attached with `PTRACE_O_TRACECLONE`; a tracee that
//! traces a process of its own, whose threads are followed too) make stops,
//! exit, get killed while held, and the tracers die or wait late, while
//! sproot handles the kernel's reports in any order. A tracer that is
//! itself held for its own tracer does nothing until released. The model drives the
//! real state machine ([`GuestPtrace`]) with the holding discipline of
//! `hooks.rs` (a stop shown to the guest tracer is held until the
//! guest tracer restarts it, the tracee dies, or the tracer dies; a newborn
//! is held until its creator's event says whether it is followed), and
//! checks that no order leaves a tracee stopped forever, that every status
//! owed to a living tracer is collected, and that no state leaks.

use super::super::model::{Chooser, Replay};
use super::tracing::{self as gp, GuestPtrace, Restart};

const TRACER: i32 = 10;
const FIRST: i32 = 20;
/// With `nested`: a process the first tracee traces in turn.
const GRANDCHILD: i32 = 30;

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
    g: GuestPtrace,
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

    fn show(&mut self, tid: i32, status: i32) {
        self.set(tid, Real::Held);
        if self.g.report(tid, status).is_none() {
            self.violations.push(format!("{tid} shown without a link"));
        }
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

    /// sproot handles one kernel report, as hooks.rs does.
    fn handle(&mut self, r: Report) {
        match r {
            Report::Stop(tid, status) => {
                if self.g.link(tid).is_some() {
                    self.show(tid, status);
                } else {
                    self.set(tid, Real::Running);
                }
            }
            Report::NewChild(parent, child) => {
                let early = self.g.newborns.remove(&child).is_some();
                if self.g.on_new_child(parent, child, gp::EVENT_CLONE, true) {
                    self.show(parent, gp::stopped_status(libc::SIGTRAP, gp::EVENT_CLONE));
                    if early && let Some(l) = self.g.link_mut(child) {
                        l.awaiting_first_stop = false;
                        let s = l.first_stop_status();
                        self.show(child, s);
                    }
                } else {
                    self.set(parent, Real::Running);
                    if early {
                        self.release(child);
                    }
                }
            }
            Report::FirstStop(child) => {
                if let Some(l) = self.g.link_mut(child) {
                    if std::mem::take(&mut l.awaiting_first_stop) {
                        let s = l.first_stop_status();
                        self.show(child, s);
                    } else {
                        self.set(child, Real::Running);
                    }
                    return;
                }
                let creator = self.task(child).map_or(0, |t| t.creator);
                if self.g.may_follow(creator) {
                    self.set(child, Real::Held);
                    self.g.newborns.insert(child, creator);
                } else {
                    self.set(child, Real::Running);
                }
            }
            Report::Gone(tid) => {
                if let Some(t) = self.task(tid) {
                    t.real = Real::Gone;
                }
                self.g.on_tracee_gone(tid, gp::exited_status(0));
                if let Some(k) = self.tracers.iter().position(|t| t.0 == tid) {
                    // A tracee that traced others in turn.
                    self.tracers[k].1 = Tracer::Dead;
                    self.tracer_gone(tid);
                }
                self.orphans_of(tid);
            }
            Report::TracerGone(tgid) => self.tracer_gone(tgid),
        }
    }

    /// Newborns held for the event of a creator that died first.
    fn orphans_of(&mut self, gone: i32) {
        let orphans: Vec<i32> = self
            .g
            .newborns
            .iter()
            .filter(|(_, c)| **c == gone)
            .map(|(t, _)| *t)
            .collect();
        for t in orphans {
            self.g.newborns.remove(&t);
            self.release(t);
        }
    }

    /// Guest tracer `tgid` is gone: its tracees are released or killed.
    fn tracer_gone(&mut self, tgid: i32) {
        for (t, kill, held) in self.g.on_tracer_gone(tgid) {
            if kill {
                self.kill(t);
            } else if held {
                self.release(t);
            }
        }
        self.orphans_of(tgid);
    }

    /// Guest tracer `k`'s next step.
    fn tracer_step(&mut self, k: usize) {
        let me = self.tracers[k].0;
        match self.tracers[k].1 {
            Tracer::Waiting => {
                if let Some(r) = self.g.take_report(me, -1, libc::__WALL)
                    && libc::WIFSTOPPED(r.status)
                {
                    self.tracers[k].1 = Tracer::Restarting(r.tracee);
                }
            }
            Tracer::Restarting(t) => {
                self.tracers[k].1 = Tracer::Waiting;
                match self.g.restart(me, t, gp::PTRACE_CONT, 0) {
                    Ok(Restart::Resume { .. }) => self.release(t),
                    Ok(Restart::Next(s)) => self.show(t, s),
                    // Gone meanwhile: the kernel says ESRCH too.
                    Err(_) => {}
                }
            }
            Tracer::Dead => {}
        }
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
                Tracer::Waiting => self.g.has_report_for(me),
                Tracer::Restarting(_) => true,
                Tracer::Dead => false,
            }
    }
}

/// One enabled step of the simulation.
type Step = Box<dyn Fn(&mut Sim)>;

/// One run of `sc` with the scheduler's choices; the violations found.
pub fn simulate(sc: Scenario, ch: &mut dyn Chooser) -> Vec<String> {
    let mut g = GuestPtrace::default();
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
        g,
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
        if *state != Tracer::Dead && sim.g.has_report_for(*me) {
            v.push(format!(
                "a status owed to living tracer {me} was never collected"
            ));
        }
        if *state == Tracer::Dead && sim.g.is_tracer(*me) {
            v.push(format!("dead tracer {me} still has tracees or statuses"));
        }
    }
    if sim.tracers[0].1 != Tracer::Dead
        && sim.tasks.iter().all(|t| t.real == Real::Gone)
        && sim.g.active()
    {
        v.push("guest ptrace state leaked".into());
    }
    if !sim.g.newborns.is_empty() {
        v.push(format!("newborns left held: {:?}", sim.g.newborns));
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
