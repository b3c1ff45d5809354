//! Guest ptrace: when a guest process (the *guest tracer*) traces another
//! guest process (the *guest tracee*), sproot stays the tracee's real
//! tracer and shows the guest tracer the stops, statuses and events the
//! kernel would have shown it.
//!
//! This module is the pure state machine: which guest tracee belongs to
//! which guest tracer, which of its stops are owed to the tracer, the wait
//! statuses waiting to be collected, and what each restart request means.
//! The side effects (holding tracees, answering `ptrace`/`wait4`/`waitid`)
//! are in `hooks.rs`.
//!
//! A guest that never calls `ptrace` never creates a link, and every hook
//! returns at once on [`GuestPtrace::active`].

use nix::errno::Errno;
use std::collections::{HashMap, VecDeque};

pub const O_TRACESYSGOOD: u32 = 0x1;
pub const O_TRACEFORK: u32 = 0x2;
pub const O_TRACEVFORK: u32 = 0x4;
pub const O_TRACECLONE: u32 = 0x8;
pub const O_TRACEEXEC: u32 = 0x10;
pub const O_TRACEVFORKDONE: u32 = 0x20;
pub const O_TRACEEXIT: u32 = 0x40;
pub const O_TRACESECCOMP: u32 = 0x80;
pub const O_EXITKILL: u32 = 0x10_0000;
pub const O_SUSPEND_SECCOMP: u32 = 0x20_0000;
/// Options the kernel knows.
const O_KNOWN: u32 = 0xff | O_EXITKILL | O_SUSPEND_SECCOMP;
/// Options this emulation does not give: refused with `EINVAL`, as a
/// kernel without them would (`PTRACE_O_TRACESECCOMP` is given: see
/// filters.rs).
pub const O_REFUSED: u32 = O_SUSPEND_SECCOMP;
/// Options that attach new children.
const O_FOLLOW: u32 = O_TRACEFORK | O_TRACEVFORK | O_TRACECLONE;

pub const EVENT_FORK: i32 = 1;
pub const EVENT_VFORK: i32 = 2;
pub const EVENT_CLONE: i32 = 3;
pub const EVENT_EXEC: i32 = 4;
pub const EVENT_VFORK_DONE: i32 = 5;
pub const EVENT_EXIT: i32 = 6;
pub const EVENT_STOP: i32 = 128;

/// The wait status of a stop: `(event << 16) | (sig << 8) | 0x7f`.
pub fn stopped_status(sig: i32, event: i32) -> i32 {
    (event << 16) | ((sig & 0xff) << 8) | 0x7f
}

/// The wait status of an exit (`code`) or a death by signal.
pub fn exited_status(code: i32) -> i32 {
    (code & 0xff) << 8
}

pub fn killed_status(sig: i32) -> i32 {
    sig & 0x7f
}

/// Which `PTRACE_EVENT_*` a new task is, from its creator's syscall: the
/// kernel's rule (vfork if `CLONE_VFORK`, fork if its exit signal is
/// `SIGCHLD`, clone otherwise).
pub fn child_event(vfork: bool, exit_signal: i32) -> i32 {
    if vfork {
        EVENT_VFORK
    } else if exit_signal == libc::SIGCHLD {
        EVENT_FORK
    } else {
        EVENT_CLONE
    }
}

/// The option that asks for children of kind `event`.
fn follow_option(event: i32) -> u32 {
    match event {
        EVENT_FORK => O_TRACEFORK,
        EVENT_VFORK => O_TRACEVFORK,
        _ => O_TRACECLONE,
    }
}

/// A stop still to be shown after the current one (the exec sequence).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    /// The syscall-exit stop of `execve`: shown only after `PTRACE_SYSCALL`.
    SyscallExit,
    /// Any other stop, with this status.
    Stop(i32),
}

/// Where an `execve` of a guest tracee stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExecPhase {
    #[default]
    None,
    /// The exec event was seen; sproot's loader runs and must stay unseen.
    Loader,
}

/// One guest tracee.
#[derive(Clone, Debug)]
pub struct Link {
    /// The guest tracer's thread-group id.
    pub tracer: i32,
    pub options: u32,
    pub seized: bool,
    /// In a ptrace-stop as the guest tracer sees it (sproot holds it).
    pub stopped: bool,
    /// Last restarted with `PTRACE_SYSCALL`.
    pub syscall_mode: bool,
    /// A syscall-entry stop was shown; its exit stop is owed.
    pub in_syscall: bool,
    /// The guest tracer collects its exit through the real `wait4` (it is
    /// the tracee's real parent and the tracee leads its thread group).
    pub native_exit: bool,
    /// A thread (not a thread-group leader): `__WCLONE` material.
    pub thread: bool,
    /// `PTRACE_GETEVENTMSG`.
    pub event_msg: u64,
    /// Auto-attached, its first stop not yet seen.
    pub awaiting_first_stop: bool,
    /// `PTRACE_INTERRUPT` asked, its stop not yet seen.
    pub interrupt: bool,
    /// The current stop is a group-stop (`PTRACE_LISTEN` is allowed).
    pub group_stop: bool,
    pub exec: ExecPhase,
    /// `PTRACE_O_TRACEEXIT` was asked and sproot's real options for the
    /// task do not include it yet (set at its next stop).
    pub exit_events_due: bool,
    queued: VecDeque<Queued>,
}

impl Link {
    fn new(tracer: i32, seized: bool, options: u32) -> Link {
        Link {
            tracer,
            options,
            seized,
            stopped: false,
            syscall_mode: false,
            in_syscall: false,
            native_exit: false,
            thread: false,
            event_msg: 0,
            awaiting_first_stop: false,
            interrupt: false,
            group_stop: false,
            exec: ExecPhase::None,
            exit_events_due: options & O_TRACEEXIT != 0,
            queued: VecDeque::new(),
        }
    }

    /// The status of a syscall stop for this tracer.
    pub fn syscall_status(&self) -> i32 {
        let good = if self.options & O_TRACESYSGOOD != 0 {
            0x80
        } else {
            0
        };
        stopped_status(libc::SIGTRAP | good, 0)
    }

    /// The status of a new task's first stop.
    pub fn first_stop_status(&self) -> i32 {
        if self.seized {
            stopped_status(libc::SIGTRAP, EVENT_STOP)
        } else {
            stopped_status(libc::SIGSTOP, 0)
        }
    }

    /// The status of a group-stop by `sig`.
    pub fn group_stop_status(&self, sig: i32) -> i32 {
        stopped_status(sig, if self.seized { EVENT_STOP } else { 0 })
    }
}

/// A wait status owed to a guest tracer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    pub tracee: i32,
    pub status: i32,
    pub thread: bool,
}

impl Report {
    /// `si_code` for `waitid`.
    pub fn si_code(&self) -> i32 {
        if libc::WIFEXITED(self.status) {
            libc::CLD_EXITED
        } else if libc::WIFSIGNALED(self.status) {
            libc::CLD_KILLED
        } else {
            libc::CLD_TRAPPED
        }
    }

    /// `si_status` for `waitid`.
    pub fn si_status(&self) -> i32 {
        if libc::WIFEXITED(self.status) {
            libc::WEXITSTATUS(self.status)
        } else if libc::WIFSIGNALED(self.status) {
            libc::WTERMSIG(self.status)
        } else {
            (self.status >> 8) & 0xffff
        }
    }
}

/// What a restart request (`CONT`, `SYSCALL`, `SINGLESTEP`, `LISTEN`,
/// `DETACH`) asks of the real tracee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Show the guest tracer this stop next; the tracee stays stopped.
    Next(i32),
    /// Really resume it.
    Resume {
        sig: i32,
        syscall: bool,
        step: bool,
        listen: bool,
    },
}

/// Requests a guest tracer may make of a stopped tracee.
pub const PTRACE_TRACEME: u64 = 0;
pub const PTRACE_CONT: u64 = 7;
pub const PTRACE_KILL: u64 = 8;
pub const PTRACE_SINGLESTEP: u64 = 9;
pub const PTRACE_ATTACH: u64 = 16;
pub const PTRACE_DETACH: u64 = 17;
pub const PTRACE_SYSCALL: u64 = 24;
pub const PTRACE_SEIZE: u64 = 0x4206;
pub const PTRACE_INTERRUPT: u64 = 0x4207;
pub const PTRACE_LISTEN: u64 = 0x4208;

/// The state of every guest tracer and tracee.
#[derive(Default)]
pub struct GuestPtrace {
    links: HashMap<i32, Link>,
    /// Statuses owed to each guest tracer (by thread-group id), in order.
    reports: HashMap<i32, VecDeque<Report>>,
    /// New tasks held at their first stop until their creator's event says
    /// whether they are auto-attached, with their creator.
    pub newborns: HashMap<i32, i32>,
    /// Tasks that died, untraced, while a tracee that follows new children
    /// existed: possibly a followed newborn whose creator's event is still
    /// to come (with its wait status; the oldest are forgotten first).
    gone_early: VecDeque<(i32, i32)>,
}

/// How many early deaths are remembered.
const GONE_EARLY_MAX: usize = 1024;

/// Selects the tasks a wait call is about: `pid` as `wait4` takes it
/// (`-1` any; `> 0` that one; others, process groups, taken as any).
fn wait_selects(pid: i32, tracee: i32) -> bool {
    pid <= 0 || pid == tracee
}

/// `__WALL` / `__WCLONE` as the kernel applies them to traced tasks.
fn wait_kind_matches(options: i32, thread: bool) -> bool {
    options & libc::__WALL != 0 || thread == (options & libc::__WCLONE != 0)
}

impl GuestPtrace {
    /// Whether any guest ptrace is going on (the hooks' fast exit).
    pub fn active(&self) -> bool {
        !self.links.is_empty() || !self.reports.is_empty() || !self.newborns.is_empty()
    }

    pub fn link(&self, tracee: i32) -> Option<&Link> {
        self.links.get(&tracee)
    }

    pub fn link_mut(&mut self, tracee: i32) -> Option<&mut Link> {
        self.links.get_mut(&tracee)
    }

    /// Whether `tgid` traces anything (or has statuses to collect).
    pub fn is_tracer(&self, tgid: i32) -> bool {
        self.reports.contains_key(&tgid) || self.links.values().any(|l| l.tracer == tgid)
    }

    /// Whether statuses are owed to `tracer`.
    pub fn has_report_for(&self, tracer: i32) -> bool {
        self.reports.get(&tracer).is_some_and(|q| !q.is_empty())
    }

    /// Tracees of `tracer`.
    pub fn tracees_of(&self, tracer: i32) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .links
            .iter()
            .filter(|(_, l)| l.tracer == tracer)
            .map(|(t, _)| *t)
            .collect();
        v.sort_unstable();
        v
    }

    /// `PTRACE_TRACEME` by `tracee` (thread `tid` of `tgid`), whose parent
    /// process is `parent` (`None`: not a guest process).
    pub fn trace_me(&mut self, tid: i32, tgid: i32, parent: Option<i32>) -> Result<(), Errno> {
        let parent = parent.ok_or(Errno::EPERM)?;
        if self.links.contains_key(&tid) {
            return Err(Errno::EPERM);
        }
        let mut l = Link::new(parent, false, 0);
        l.native_exit = tid == tgid;
        l.thread = tid != tgid;
        self.links.insert(tid, l);
        Ok(())
    }

    /// `PTRACE_ATTACH` (`seize: None`) or `PTRACE_SEIZE` (`Some(options)`)
    /// by process `tracer` of guest task `target` (of process
    /// `target_tgid`, child of `target_parent`).
    pub fn attach(
        &mut self,
        tracer: i32,
        target: i32,
        target_tgid: i32,
        target_parent: Option<i32>,
        seize: Option<u32>,
    ) -> Result<(), Errno> {
        if target_tgid == tracer || self.links.contains_key(&target) {
            return Err(Errno::EPERM);
        }
        let options = seize.unwrap_or(0);
        // PTRACE_SEIZE answers bad options with EIO.
        check_options(options).map_err(|_| Errno::EIO)?;
        let mut l = Link::new(tracer, seize.is_some(), options);
        l.native_exit = target == target_tgid && target_parent == Some(tracer);
        l.thread = target != target_tgid;
        self.links.insert(target, l);
        Ok(())
    }

    /// The tracee `tid` of `tracer`, or `ESRCH`.
    pub fn traced_by(&mut self, tracer: i32, tid: i32) -> Result<&mut Link, Errno> {
        match self.links.get_mut(&tid) {
            Some(l) if l.tracer == tracer => Ok(l),
            _ => Err(Errno::ESRCH),
        }
    }

    /// A stopped tracee of `tracer`, or `ESRCH` (as the kernel answers for
    /// a tracee that is not in a ptrace-stop).
    pub fn stopped_tracee(&mut self, tracer: i32, tid: i32) -> Result<&mut Link, Errno> {
        let l = self.traced_by(tracer, tid)?;
        if l.stopped { Ok(l) } else { Err(Errno::ESRCH) }
    }

    /// Show `status` of `tracee` to its tracer; the tracee is now stopped
    /// as the tracer sees it. Returns the tracer.
    pub fn report(&mut self, tracee: i32, status: i32) -> Option<i32> {
        let l = self.links.get_mut(&tracee)?;
        l.stopped = true;
        let r = Report {
            tracee,
            status,
            thread: l.thread,
        };
        let tracer = l.tracer;
        self.reports.entry(tracer).or_default().push_back(r);
        Some(tracer)
    }

    /// A report `wait4(pid, .., options)` by `tracer` collects, if any.
    pub fn take_report(&mut self, tracer: i32, pid: i32, options: i32) -> Option<Report> {
        let q = self.reports.get_mut(&tracer)?;
        let i = q
            .iter()
            .position(|r| wait_selects(pid, r.tracee) && wait_kind_matches(options, r.thread))?;
        let r = if options & libc::WNOWAIT != 0 {
            q.get(i).copied()
        } else {
            q.remove(i)
        };
        if q.is_empty() {
            self.reports.remove(&tracer);
        }
        r
    }

    /// Whether a wait by `tracer` for `pid` concerns an emulated tracee:
    /// then it must block until one reports rather than run natively.
    pub fn waits_for_tracee(&self, tracer: i32, pid: i32) -> bool {
        self.links
            .iter()
            .any(|(t, l)| l.tracer == tracer && wait_selects(pid, *t))
    }

    /// `PTRACE_SETOPTIONS`.
    pub fn set_options(&mut self, tracer: i32, tid: i32, options: u32) -> Result<(), Errno> {
        check_options(options)?;
        let l = self.stopped_tracee(tracer, tid)?;
        l.exit_events_due |= options & O_TRACEEXIT != 0 && l.options & O_TRACEEXIT == 0;
        l.options = options;
        Ok(())
    }

    /// A restart request `req` with signal `sig` for a stopped tracee.
    pub fn restart(&mut self, tracer: i32, tid: i32, req: u64, sig: u64) -> Result<Restart, Errno> {
        if sig > 64 {
            return Err(Errno::EIO);
        }
        let l = self.stopped_tracee(tracer, tid)?;
        if req == PTRACE_LISTEN && (!l.seized || !l.group_stop) {
            return Err(Errno::EIO);
        }
        let syscall = req == PTRACE_SYSCALL;
        // The rest of an exec's sequence of stops.
        while let Some(q) = l.queued.pop_front() {
            match q {
                Queued::SyscallExit if syscall => {
                    l.syscall_mode = true;
                    l.in_syscall = false;
                    return Ok(Restart::Next(l.syscall_status()));
                }
                Queued::SyscallExit => {}
                Queued::Stop(status) => {
                    l.syscall_mode = syscall;
                    return Ok(Restart::Next(status));
                }
            }
        }
        l.stopped = false;
        l.group_stop = false;
        l.syscall_mode = syscall;
        if !syscall {
            l.in_syscall = false;
        }
        let r = Restart::Resume {
            sig: sig as i32,
            syscall,
            step: req == PTRACE_SINGLESTEP,
            listen: req == PTRACE_LISTEN,
        };
        if req == PTRACE_DETACH {
            self.links.remove(&tid);
            self.forget_reports_of(tid);
        }
        Ok(r)
    }

    /// The status to show when an exec finished loading in `tid`, and the
    /// rest of the sequence the kernel shows (exec event, syscall exit,
    /// legacy `SIGTRAP`), queued for the next restarts.
    pub fn exec_done(&mut self, tid: i32) -> Option<i32> {
        let l = self.links.get_mut(&tid)?;
        l.exec = ExecPhase::None;
        let mut seq: VecDeque<Queued> = VecDeque::new();
        if l.options & O_TRACEEXEC != 0 {
            l.event_msg = tid as u64;
            seq.push_back(Queued::Stop(stopped_status(libc::SIGTRAP, EVENT_EXEC)));
        }
        if l.syscall_mode && l.in_syscall {
            seq.push_back(Queued::SyscallExit);
        }
        if l.options & O_TRACEEXEC == 0 && !l.seized {
            seq.push_back(Queued::Stop(stopped_status(libc::SIGTRAP, 0)));
        }
        let first = match seq.pop_front()? {
            Queued::SyscallExit => {
                l.in_syscall = false;
                l.syscall_status()
            }
            Queued::Stop(s) => s,
        };
        l.queued = seq;
        Some(first)
    }

    /// A clone/fork/vfork event of tracee `parent` that made `child` (of
    /// kind `event`): whether the child is auto-attached. The parent's
    /// event stop is then owed (the caller reports it).
    pub fn on_new_child(&mut self, parent: i32, child: i32, event: i32, thread: bool) -> bool {
        let Some(p) = self.links.get_mut(&parent) else {
            return false;
        };
        if p.options & follow_option(event) == 0 {
            return false;
        }
        p.event_msg = child as u64;
        if let Some(i) = self.gone_early.iter().position(|(t, _)| *t == child) {
            // Attached at its birth and already dead: its tracer gets the
            // event, then the death.
            let status = self.gone_early.remove(i).map_or(0, |(_, s)| s);
            let tracer = p.tracer;
            self.reports.entry(tracer).or_default().push_back(Report {
                tracee: child,
                status,
                thread,
            });
            return true;
        }
        let mut l = Link::new(p.tracer, p.seized, p.options);
        // The kernel copies the real options to the child.
        l.exit_events_due = false;
        l.thread = thread;
        l.awaiting_first_stop = true;
        self.links.insert(child, l);
        true
    }

    /// Whether task `tid` (a newborn whose creator's event is not in yet)
    /// may be auto-attached: its creator `parent` traces new children.
    pub fn may_follow(&self, parent: i32) -> bool {
        self.links
            .get(&parent)
            .is_some_and(|l| l.options & O_FOLLOW != 0)
    }

    /// Tracee `tid` is gone with wait status `status`. Returns its tracer
    /// when the tracer is owed that status through the emulated wait.
    pub fn on_tracee_gone(&mut self, tid: i32, status: i32) -> Option<i32> {
        let newborn = self.newborns.remove(&tid).is_some();
        let Some(l) = self.links.remove(&tid) else {
            if newborn || self.links.values().any(|l| l.options & O_FOLLOW != 0) {
                if self.gone_early.len() >= GONE_EARLY_MAX {
                    self.gone_early.pop_front();
                }
                self.gone_early.push_back((tid, status));
            }
            return None;
        };
        self.forget_reports_of(tid);
        if self.links.is_empty() {
            self.gone_early.clear();
        }
        if l.native_exit {
            return None;
        }
        self.reports.entry(l.tracer).or_default().push_back(Report {
            tracee: tid,
            status,
            thread: l.thread,
        });
        Some(l.tracer)
    }

    /// Guest tracer `tgid` is gone: its tracees are detached. Returns them
    /// with whether each must be killed (`PTRACE_O_EXITKILL`) and whether
    /// it was held stopped (and must be resumed).
    pub fn on_tracer_gone(&mut self, tgid: i32) -> Vec<(i32, bool, bool)> {
        self.reports.remove(&tgid);
        let mine = self.tracees_of(tgid);
        let gone = mine
            .into_iter()
            .filter_map(|t| {
                let l = self.links.remove(&t)?;
                Some((t, l.options & O_EXITKILL != 0, l.stopped))
            })
            .collect();
        if self.links.is_empty() {
            self.gone_early.clear();
        }
        gone
    }

    fn forget_reports_of(&mut self, tid: i32) {
        for q in self.reports.values_mut() {
            q.retain(|r| r.tracee != tid || !libc::WIFSTOPPED(r.status));
        }
        self.reports.retain(|_, q| !q.is_empty());
    }
}

fn check_options(options: u32) -> Result<(), Errno> {
    if options & !O_KNOWN != 0 || options & O_REFUSED != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACER: i32 = 100;
    const SYSGOOD_TRAP: i32 = (libc::SIGTRAP | 0x80) << 8 | 0x7f;

    fn traced_child() -> GuestPtrace {
        let mut g = GuestPtrace::default();
        g.trace_me(101, 101, Some(TRACER)).unwrap();
        g
    }

    #[test]
    fn traceme_twice_or_without_a_guest_parent_is_eperm() {
        let mut g = traced_child();
        assert_eq!(g.trace_me(101, 101, Some(TRACER)), Err(Errno::EPERM));
        assert_eq!(g.trace_me(102, 102, None), Err(Errno::EPERM));
    }

    #[test]
    fn attaching_to_oneself_or_a_traced_task_is_eperm_and_bad_options_eio() {
        let mut g = traced_child();
        assert_eq!(g.attach(TRACER, 100, TRACER, None, None), Err(Errno::EPERM));
        assert_eq!(g.attach(200, 101, 101, None, None), Err(Errno::EPERM));
        assert_eq!(
            g.attach(200, 300, 300, None, Some(1 << 30)),
            Err(Errno::EIO)
        );
        assert_eq!(
            g.attach(200, 300, 300, None, Some(O_SUSPEND_SECCOMP)),
            Err(Errno::EIO)
        );
        assert!(
            g.attach(200, 300, 300, None, Some(O_TRACESYSGOOD | O_TRACESECCOMP))
                .is_ok()
        );
    }

    #[test]
    fn requests_on_a_running_or_foreign_tracee_are_esrch() {
        let mut g = traced_child();
        assert_eq!(
            g.restart(TRACER, 101, PTRACE_CONT, 0),
            Err(Errno::ESRCH),
            "running"
        );
        g.report(101, stopped_status(libc::SIGSTOP, 0));
        assert_eq!(g.restart(999, 101, PTRACE_CONT, 0), Err(Errno::ESRCH));
        assert_eq!(g.restart(TRACER, 101, PTRACE_CONT, 65), Err(Errno::EIO));
        assert!(g.restart(TRACER, 101, PTRACE_CONT, 0).is_ok());
    }

    #[test]
    fn syscall_stops_show_sysgood_and_are_collected_once_in_order() {
        let mut g = traced_child();
        g.report(101, stopped_status(libc::SIGSTOP, 0));
        let r = g.take_report(TRACER, -1, 0).unwrap();
        assert_eq!((r.tracee, r.status), (101, 0x137f));
        assert_eq!(g.take_report(TRACER, -1, 0), None);
        g.link_mut(101).unwrap().options = O_TRACESYSGOOD;
        assert_eq!(
            g.restart(TRACER, 101, PTRACE_SYSCALL, 0),
            Ok(Restart::Resume {
                sig: 0,
                syscall: true,
                step: false,
                listen: false
            })
        );
        let s = g.link(101).unwrap().syscall_status();
        assert_eq!(s, SYSGOOD_TRAP);
        g.report(101, s);
        assert_eq!(g.take_report(TRACER, 555, 0), None, "other pid");
        assert_eq!(g.take_report(TRACER, 101, 0).unwrap().status, s);
    }

    #[test]
    fn threads_need_wall_or_wclone() {
        let mut g = GuestPtrace::default();
        g.attach(TRACER, 7, 6, None, Some(0)).unwrap();
        g.report(7, stopped_status(libc::SIGTRAP, EVENT_STOP));
        assert_eq!(g.take_report(TRACER, -1, 0), None);
        assert!(g.take_report(TRACER, -1, libc::__WALL).is_some());
    }

    #[test]
    fn wnowait_leaves_the_report() {
        let mut g = traced_child();
        g.report(101, stopped_status(libc::SIGSTOP, 0));
        assert!(g.take_report(TRACER, -1, libc::WNOWAIT).is_some());
        assert!(g.take_report(TRACER, -1, 0).is_some());
    }

    #[test]
    fn exec_shows_event_then_syscall_exit_only_after_ptrace_syscall() {
        let mut g = traced_child();
        {
            let l = g.link_mut(101).unwrap();
            l.options = O_TRACEEXEC | O_TRACESYSGOOD;
            l.syscall_mode = true;
            l.in_syscall = true;
            l.stopped = true;
        }
        assert_eq!(
            g.exec_done(101),
            Some(stopped_status(libc::SIGTRAP, EVENT_EXEC))
        );
        assert_eq!(g.link(101).unwrap().event_msg, 101);
        assert_eq!(
            g.restart(TRACER, 101, PTRACE_SYSCALL, 0),
            Ok(Restart::Next(SYSGOOD_TRAP))
        );
        assert!(matches!(
            g.restart(TRACER, 101, PTRACE_SYSCALL, 0),
            Ok(Restart::Resume { syscall: true, .. })
        ));
    }

    #[test]
    fn exec_without_traceexec_ends_with_the_legacy_sigtrap() {
        let mut g = traced_child();
        g.link_mut(101).unwrap().stopped = true;
        assert_eq!(g.exec_done(101), Some(stopped_status(libc::SIGTRAP, 0)));
        // Seized tracees get no legacy SIGTRAP: nothing to show.
        let mut g = GuestPtrace::default();
        g.attach(TRACER, 5, 5, None, Some(0)).unwrap();
        assert_eq!(g.exec_done(5), None);
    }

    #[test]
    fn children_are_followed_only_with_the_option_of_their_kind() {
        let mut g = traced_child();
        g.link_mut(101).unwrap().options = O_TRACEFORK;
        assert!(!g.on_new_child(101, 102, EVENT_CLONE, true));
        assert!(g.on_new_child(101, 103, EVENT_FORK, false));
        let c = g.link(103).unwrap();
        assert!(c.awaiting_first_stop && c.tracer == TRACER && !c.native_exit);
        assert_eq!(c.first_stop_status(), 0x137f);
        assert_eq!(g.link(101).unwrap().event_msg, 103);
        assert_eq!(child_event(false, libc::SIGCHLD), EVENT_FORK);
        assert_eq!(child_event(true, libc::SIGCHLD), EVENT_VFORK);
        assert_eq!(child_event(false, 0), EVENT_CLONE);
    }

    #[test]
    fn tracee_exit_while_tracer_is_not_waiting_is_kept_until_it_waits() {
        let mut g = traced_child();
        g.link_mut(101).unwrap().options = O_TRACEFORK;
        g.on_new_child(101, 103, EVENT_FORK, false);
        g.report(103, stopped_status(libc::SIGSTOP, 0));
        // The grandchild exits before its stop was collected: the stop is
        // dropped, the exit is owed (the tracer is not its parent).
        assert_eq!(g.on_tracee_gone(103, exited_status(3)), Some(TRACER));
        let r = g.take_report(TRACER, -1, libc::__WALL).unwrap();
        assert_eq!((r.tracee, r.status), (103, 3 << 8));
        // The direct child's exit goes through the real wait4.
        assert_eq!(g.on_tracee_gone(101, exited_status(0)), None);
        assert!(!g.active());
    }

    #[test]
    fn a_followed_newborn_dead_before_its_creators_event_is_reported_dead() {
        let mut g = traced_child();
        g.link_mut(101).unwrap().options = O_TRACECLONE;
        g.newborns.insert(105, 101);
        assert_eq!(g.on_tracee_gone(105, killed_status(9)), None);
        assert!(g.on_new_child(101, 105, EVENT_CLONE, true));
        assert!(g.link(105).is_none(), "no link for a dead task");
        let r = g.take_report(TRACER, -1, libc::__WALL).unwrap();
        assert_eq!((r.tracee, r.status), (105, 9));
        g.on_tracee_gone(101, exited_status(0));
        assert!(!g.active());
    }

    #[test]
    fn tracer_death_detaches_resumes_or_kills_its_tracees() {
        let mut g = traced_child();
        g.report(101, stopped_status(libc::SIGSTOP, 0));
        g.attach(TRACER, 300, 300, None, Some(O_EXITKILL)).unwrap();
        assert_eq!(
            g.on_tracer_gone(TRACER),
            vec![(101, false, true), (300, true, false)]
        );
        assert!(!g.active());
    }

    #[test]
    fn listen_needs_a_seized_group_stop_and_detach_unlinks() {
        let mut g = GuestPtrace::default();
        g.attach(TRACER, 5, 5, None, Some(0)).unwrap();
        g.report(5, stopped_status(libc::SIGTRAP, EVENT_STOP));
        assert_eq!(g.restart(TRACER, 5, PTRACE_LISTEN, 0), Err(Errno::EIO));
        g.link_mut(5).unwrap().group_stop = true;
        assert!(matches!(
            g.restart(TRACER, 5, PTRACE_LISTEN, 0),
            Ok(Restart::Resume { listen: true, .. })
        ));
        g.report(5, stopped_status(libc::SIGSTOP, EVENT_STOP));
        assert!(matches!(
            g.restart(TRACER, 5, PTRACE_DETACH, 0),
            Ok(Restart::Resume { .. })
        ));
        assert!(!g.active(), "stop report dropped with the link");
    }

    #[test]
    fn waitid_fields_follow_the_status() {
        let r = |status| Report {
            tracee: 1,
            status,
            thread: false,
        };
        assert_eq!(r(exited_status(4)).si_code(), libc::CLD_EXITED);
        assert_eq!(r(exited_status(4)).si_status(), 4);
        assert_eq!(r(killed_status(9)).si_code(), libc::CLD_KILLED);
        let s = r(stopped_status(libc::SIGTRAP, EVENT_EXEC));
        assert_eq!(s.si_code(), libc::CLD_TRAPPED);
        assert_eq!(s.si_status(), libc::SIGTRAP | EVENT_EXEC << 8);
    }
}
