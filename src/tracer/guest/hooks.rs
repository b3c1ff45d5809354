//! Guest ptrace, the side effects: the hooks the event loop calls, which
//! hold guest tracees at the stops their guest tracer must see, and answer
//! the guest tracer's `ptrace`, `wait4` and `waitid` (see
//! `tracing.rs` for the state machine).
//!
//! The hooks run on [`Hooks`]: the guest-ptrace state borrowed from the
//! tracer, with the real tasks behind a [`TaskControl`] (the kernel, or a
//! fake in the tests) and the tracer's task table behind [`GuestTasks`].
//! The tracer's own methods at the end build one for each event; the hot
//! path (no guest uses ptrace) only reads [`Gate`] and
//! [`Tracer::guest_may_concern`].
//!
//! Every failure of ptrace on a task is decided in `stopped::settle`:
//! gone (`ESRCH`), nothing to do; anything else, the task is killed.
//!
//! How a guest tracer waits: a `wait4` with a status to collect returns it
//! at once; one that concerns a guest tracee and must block is *parked*
//! (held at its seccomp stop) until a status is owed or one of the
//! tracer's real children exits (then it runs natively); a `WNOHANG` wait
//! with nothing owed runs natively. Real children's exits always come
//! through the real `wait4`.

use super::super::event::{Event, Sig};
use super::super::stopped::{self, Stopped};
use super::super::syscalls::AtExit;
use super::super::{Tracee, Tracer, lifecycle::Tasks};
use super::arch::{EMULATED_HERE, after_exec_regs, clone_kind, is_open, replay_syscall};
use super::backend::{self, GuestTasks, TaskControl};
use super::requests::{WaitCall, forward, read_auxv, write_wait_result};
use super::tracing::{self as gp, ExecPhase, GuestPtrace, Restart};
use crate::arch::Regs;
use crate::ptrace;
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};

/// What the real-resume paths need to know about guest ptrace: tasks held
/// stopped for a guest tracer, and tasks that must stop at every syscall.
#[derive(Default)]
pub struct Gate {
    held: HashSet<i32>,
    syscall_stops: HashSet<i32>,
    /// Under `--engine=inproc`: the calls that run from the runtime's
    /// window (tracer/adopt.rs).
    pub window: Option<crate::tracer::adopt::WindowMoves>,
}

impl Gate {
    /// Whether `pid` is held: resumes from the ordinary paths are dropped.
    #[inline]
    pub fn holds(&self, pid: i32) -> bool {
        !self.held.is_empty() && self.held.contains(&pid)
    }
    /// Whether `pid` must be resumed with `PTRACE_SYSCALL`.
    #[inline]
    pub fn syscall_stops(&self, pid: i32) -> bool {
        !self.syscall_stops.is_empty() && self.syscall_stops.contains(&pid)
    }
}

/// A `wait4`/`waitid` parked until a status is owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parked {
    tracer: i32,
    call: WaitCall,
}

/// Waits of guest tracers, by thread.
#[derive(Default)]
pub struct Waits {
    parked: HashMap<i32, Parked>,
    /// Threads in a native wait that an owed status must interrupt; `true`
    /// when an `ECHILD` must read as "nothing yet" (`WNOHANG`).
    native: HashMap<i32, bool>,
    /// Threads interrupted (`PTRACE_INTERRUPT`) to re-run their wait.
    kicked: HashSet<i32>,
    /// `/proc/<pid>/auxv` of guest tracees after an exec: the program's
    /// auxiliary vector (the kernel's copy describes sproot's loader).
    auxv: HashMap<i32, std::os::fd::OwnedFd>,
    /// Threads getting the guest tracer's filter (`wait4`/`waitid` stop).
    inject: HashMap<i32, Inject>,
    /// Processes that have that filter.
    filtered: HashSet<i32>,
}

/// Installing the guest tracer's filter in a thread: at its next syscall
/// entry, the thread runs `seccomp()` instead, then that syscall again.
#[derive(Clone)]
enum Inject {
    /// Waiting for the thread's next syscall entry.
    Pending,
    /// `seccomp()` runs; these are the registers of the syscall to replay.
    Running(Box<Regs>),
}

impl Waits {
    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
            && self.native.is_empty()
            && self.kicked.is_empty()
            && self.inject.is_empty()
    }
}

const P_ALL: u64 = 0;
const P_PID: u64 = 1;

/// Guest ptrace's hooks at work on one event: the state they change (the
/// tracer's, borrowed), the tasks they act on, and what they ask of the
/// tracer's task table.
pub struct Hooks<'a> {
    pub guest: &'a mut GuestPtrace,
    pub waits: &'a mut Waits,
    pub gate: &'a mut Gate,
    /// Registers of a syscall-entry stop shown to a guest tracer, to show
    /// again at the exit.
    pub entry_regs: &'a mut HashMap<i32, Regs>,
    /// Tasks held at a stop before sproot's translation of their syscall:
    /// a guest filter's seccomp stop (filter_hooks.rs), or without seccomp
    /// a syscall-entry stop shown to a guest tracer.
    pub filter_stops: &'a mut HashSet<i32>,
    /// Threads whose every resume must stop at the next syscall stop
    /// (outer_trap.rs).
    pub outer: &'a HashSet<i32>,
    pub seccomp: bool,
    pub tasks: &'a dyn GuestTasks,
    pub be: &'a mut dyn TaskControl,
    /// Tasks released from a guest filter's seccomp stop: the tracer goes
    /// on with their syscall once the hooks are done (`gsec_continue`).
    pub filter_continues: Vec<i32>,
    /// Without seccomp: calls skipped at their entry with these results,
    /// which the tracer writes at their exit (the kernel's `ENOSYS` for the
    /// skipped call comes in between).
    pub emulated: Vec<(i32, i64)>,
}

impl Hooks<'_> {
    fn tgid_of(&self, tid: i32) -> i32 {
        self.tasks.tgid(tid)
    }

    fn hold(&mut self, pid: i32) {
        self.gate.held.insert(pid);
    }

    /// Resume `pid` unless it is held; a failure is settled.
    fn resume(&mut self, pid: Pid, sig: Option<Sig>, want_exit: bool) {
        let want_exit = want_exit || (!self.outer.is_empty() && self.outer.contains(&pid.as_raw()));
        super::super::resume_with(&mut *self.be, self.seccomp, self.gate, pid, sig, want_exit);
    }

    /// Resume a stopped task (unless it is held).
    fn restart(&mut self, stopped: Stopped, want_exit: bool) {
        let pid = stopped.consume();
        self.resume(pid, None, want_exit);
    }

    /// A stopped task on which `what` failed: gone, or killed.
    fn lost(&mut self, stopped: Stopped, e: Errno, what: &str) {
        self.settle(stopped.consume(), Err(e), what);
    }

    /// The outcome of `what` on `pid` (not necessarily stopped): a failure
    /// means it is gone, or it is killed.
    fn settle(&mut self, pid: Pid, r: Result<(), Errno>, what: &str) {
        if let Err(e) = r {
            let be = &mut *self.be;
            stopped::settle(pid, e, what, |p| {
                let _ = be.kill(p, Signal::SIGKILL);
            });
        }
    }

    /// Really resume a held task.
    fn release(&mut self, pid: i32, sig: i32, syscall: bool) {
        if self.filter_stops.remove(&pid) {
            // Held at a guest filter's seccomp stop: the syscall goes on
            // (a signal cannot be delivered at a syscall stop).
            self.gate.held.remove(&pid);
            if syscall {
                self.gate.syscall_stops.insert(pid);
            } else {
                self.drop_syscall_stops(pid);
            }
            self.filter_continues.push(pid);
            return;
        }
        self.gate.held.remove(&pid);
        if syscall {
            self.gate.syscall_stops.insert(pid);
        } else if self
            .guest
            .link(pid)
            .is_none_or(|l| l.exec == ExecPhase::None)
        {
            self.gate.syscall_stops.remove(&pid);
        }
        self.resume(Pid::from_raw(pid), (sig != 0).then_some(Sig(sig)), false);
    }

    /// Show `status` of tracee `tid` to its tracer, and hold the tracee.
    pub fn show(&mut self, tid: i32, status: i32) {
        log::debug!("guest ptrace: {tid} stops with {status:#x}");
        self.hold(tid);
        if let Some(tracer) = self.guest.report(tid, status) {
            self.wake_tracer(tracer);
        }
    }

    /// A status is owed to `tracer`: `SIGCHLD`, and complete or interrupt
    /// its wait.
    fn wake_tracer(&mut self, tracer: i32) {
        let r = self.be.kill(Pid::from_raw(tracer), Signal::SIGCHLD);
        self.settle(Pid::from_raw(tracer), r, "send SIGCHLD");
        let parked: Vec<i32> = self
            .waits
            .parked
            .iter()
            .filter(|(_, p)| p.tracer == tracer)
            .map(|(t, _)| *t)
            .collect();
        for t in parked {
            if let Some(p) = self.waits.parked.get(&t).copied()
                && self
                    .finish_wait(Stopped::new(Pid::from_raw(t)), p.tracer, p.call)
                    .map_err(Stopped::consume)
                    .is_ok()
            {
                self.waits.parked.remove(&t);
            }
        }
        let native: Vec<i32> = self.waits.native.keys().copied().collect();
        for t in native {
            if self.tgid_of(t) == tracer && self.waits.kicked.insert(t) {
                self.kick(t);
            }
        }
    }

    /// Interrupt `tid` (`PTRACE_INTERRUPT`).
    fn kick(&mut self, tid: i32) {
        let pid = Pid::from_raw(tid);
        let r = self.be.interrupt(pid);
        self.settle(pid, r, "interrupt");
    }

    /// Complete wait call `call` of thread `stopped` with a status owed to
    /// `tracer`, if there is one: write it out and resume the thread with
    /// the result. The token back when nothing is owed.
    fn finish_wait(
        &mut self,
        stopped: Stopped,
        tracer: i32,
        call: WaitCall,
    ) -> Result<(), Stopped> {
        let Some(r) = self.guest.take_report(tracer, call.pid, call.options) else {
            return Err(stopped);
        };
        let ret = match write_wait_result(&mut *self.be, stopped.pid(), &call, &r) {
            Ok(()) if call.waitid => 0,
            Ok(()) => i64::from(r.tracee),
            Err(e) => -(e as i64),
        };
        self.emulate_result(stopped, ret);
        Ok(())
    }

    /// Skip the syscall `stopped` is at the entry of, making it return
    /// `ret`, and resume it.
    fn emulate_result(&mut self, stopped: Stopped, ret: i64) {
        let pid = stopped.pid();
        self.gate.held.remove(&pid.as_raw());
        let mut regs = match self.be.get_regs(pid) {
            Ok(r) => r,
            Err(e) => return self.lost(stopped, e, "read the registers"),
        };
        regs.set_sysno(-1);
        regs.set_ret(ret);
        if !self.seccomp {
            self.emulated.push((pid.as_raw(), ret));
        }
        match self.be.set_regs(pid, &regs) {
            Ok(()) => self.restart(stopped, false),
            Err(e) => self.lost(stopped, e, "write the registers"),
        }
    }

    /// Make thread `tid` get the guest tracer's filter at its next syscall
    /// (`kick`: interrupt it, in case it sleeps in a syscall now). Without
    /// seccomp every syscall stops at sproot already: no filter, only the
    /// kick.
    fn want_wait_filter(&mut self, tid: i32, kick: bool) {
        if !self.seccomp {
            if kick && self.waits.kicked.insert(tid) {
                self.kick(tid);
            }
            return;
        }
        if self.waits.filtered.contains(&self.tgid_of(tid)) || self.waits.inject.contains_key(&tid)
        {
            return;
        }
        self.waits.inject.insert(tid, Inject::Pending);
        self.gate.syscall_stops.insert(tid);
        if kick && self.waits.kicked.insert(tid) {
            self.kick(tid);
        }
    }

    /// At a syscall entry (or seccomp stop): run `seccomp()` to add the
    /// guest tracer's filter instead, and this syscall after it.
    fn inject_wait_filter(&mut self, stopped: Stopped, regs: &Regs) {
        let pid = stopped.pid();
        let tid = pid.as_raw();
        let prog = crate::seccomp::guest_tracer_filter();
        let mut scratch = ptrace::scratch_below(regs.sp());
        let be = &mut *self.be;
        let injected = backend::push(be, &mut scratch, pid, &prog).and_then(|at| {
            let mut fprog = [0u8; 16];
            fprog[..2].copy_from_slice(&((prog.len() / 8) as u16).to_ne_bytes());
            fprog[8..].copy_from_slice(&at.to_ne_bytes());
            let fprog_at = backend::push(be, &mut scratch, pid, &fprog)?;
            let mut r = *regs;
            r.set_sysno(crate::arch::sys::SYS_seccomp);
            r.set_arg(0, libc::SECCOMP_SET_MODE_FILTER as u64);
            r.set_arg(1, libc::SECCOMP_FILTER_FLAG_TSYNC);
            r.set_arg(2, fprog_at);
            be.set_regs(pid, &r)
        });
        match injected {
            Ok(()) => {
                self.waits
                    .inject
                    .insert(tid, Inject::Running(Box::new(*regs)));
                self.gate.syscall_stops.insert(tid);
            }
            Err(e) => {
                // The syscall runs as it is, its waits not seen first.
                log::info!("guest ptrace: cannot add the guest tracer's filter to {tid}: {e}");
                self.waits.inject.remove(&tid);
                self.drop_syscall_stops(tid);
            }
        }
        self.restart(stopped, false);
    }

    /// A syscall stop of a thread getting the guest tracer's filter.
    fn inject_step(&mut self, stopped: Stopped) {
        let pid = stopped.pid();
        let tid = pid.as_raw();
        let op = self.be.syscall_stop_op(pid).unwrap_or(0);
        match (self.waits.inject.get(&tid).cloned(), op) {
            (Some(Inject::Pending), 1) => match self.be.get_regs(pid) {
                Ok(regs) => return self.inject_wait_filter(stopped, &regs),
                Err(e) => return self.lost(stopped, e, "read the registers"),
            },
            (Some(Inject::Running(saved)), 2) => {
                let rc = self.be.get_regs(pid).map(|r| r.ret()).unwrap_or(-1);
                if rc != 0 {
                    log::info!("guest ptrace: seccomp() in {tid} failed ({rc}): waits not seen");
                }
                let mut r = *saved;
                replay_syscall(&mut r);
                self.waits.inject.remove(&tid);
                let tgid = self.tgid_of(tid);
                self.waits.filtered.insert(tgid);
                self.drop_syscall_stops(tid);
                if let Err(e) = self.be.set_regs(pid, &r) {
                    return self.lost(stopped, e, "write the registers");
                }
            }
            _ => {}
        }
        self.restart(stopped, false);
    }

    /// `tid` no longer needs syscall stops for sproot's own sake.
    fn drop_syscall_stops(&mut self, tid: i32) {
        let keep = self
            .guest
            .link(tid)
            .is_some_and(|l| l.syscall_mode || l.exec == ExecPhase::Loader);
        if !keep {
            self.gate.syscall_stops.remove(&tid);
        }
    }

    /// A trapped `ptrace`, `wait4` or `waitid` (or an open of an `auxv`)
    /// of guest thread `stopped`, with `seccomp`. The token back when the
    /// call is not answered (or parked) here.
    pub fn syscall(&mut self, stopped: Stopped, regs: &Regs) -> Result<(), Stopped> {
        let tid = stopped.pid().as_raw();
        if matches!(self.waits.inject.get(&tid), Some(Inject::Pending)) {
            self.inject_wait_filter(stopped, regs);
            return Ok(());
        }
        match regs.sysno() {
            crate::arch::sys::SYS_ptrace if !EMULATED_HERE => {
                // Runs natively: EPERM, the guest is traced already.
                log::info!("guest ptrace is not emulated on this architecture: refused");
                Err(stopped)
            }
            crate::arch::sys::SYS_ptrace
                if self.seccomp && !self.waits.filtered.contains(&self.tgid_of(tid)) =>
            {
                // A new guest tracer: its waits must stop here first.
                self.want_wait_filter(tid, false);
                self.inject_wait_filter(stopped, regs);
                Ok(())
            }
            crate::arch::sys::SYS_ptrace => match self.request(tid, regs) {
                None => Err(stopped),
                Some(r) => {
                    self.emulate_result(stopped, r.unwrap_or_else(|e| -(e as i64)));
                    Ok(())
                }
            },
            crate::arch::sys::SYS_wait4 | crate::arch::sys::SYS_waitid if self.guest.active() => {
                self.wait(stopped, regs)
            }
            nr if is_open(nr) && !self.waits.auxv.is_empty() => self.open_auxv(stopped, regs),
            _ => Err(stopped),
        }
    }

    /// An open of `/proc/<pid>/auxv` of a guest tracee: the program's copy.
    fn open_auxv(&mut self, stopped: Stopped, regs: &Regs) -> Result<(), Stopped> {
        let arg = usize::from(regs.sysno() == crate::arch::sys::SYS_openat);
        let pid = stopped.pid();
        let tid = pid.as_raw();
        let Ok(path) = self.be.read_cstring(pid, regs.arg(arg), 64) else {
            return Err(stopped);
        };
        log::debug!(
            "guest ptrace: open {:?} by {tid}",
            String::from_utf8_lossy(&path)
        );
        let Some(n) = std::str::from_utf8(&path)
            .ok()
            .and_then(|p| p.strip_prefix("/proc/")?.strip_suffix("/auxv"))
            .and_then(|n| n.parse::<i32>().ok())
        else {
            return Err(stopped);
        };
        let Some(fd) = self.waits.auxv.get(&n) else {
            return Err(stopped);
        };
        log::debug!("guest ptrace: auxv of {n} for {tid}");
        use std::os::fd::AsRawFd;
        let host = format!("/proc/{}/fd/{}\0", std::process::id(), fd.as_raw_fd());
        let mut scratch = ptrace::scratch_below(regs.sp());
        let Ok(at) = backend::push(&mut *self.be, &mut scratch, pid, host.as_bytes()) else {
            return Err(stopped);
        };
        let mut new = *regs;
        new.set_arg(arg, at);
        match self.be.set_changed_regs(pid, regs, &new) {
            Ok(()) => self.restart(stopped, false),
            Err(e) => self.lost(stopped, e, "write the registers"),
        }
        Ok(())
    }

    /// A `wait4`/`waitid` of thread `stopped`, a guest tracer's.
    fn wait(&mut self, stopped: Stopped, regs: &Regs) -> Result<(), Stopped> {
        let tid = stopped.pid().as_raw();
        let tracer = self.tgid_of(tid);
        if !self.guest.is_tracer(tracer) {
            return Err(stopped);
        }
        let call = if regs.sysno() == crate::arch::sys::SYS_waitid {
            let pid = match regs.arg(0) {
                P_ALL => -1,
                P_PID => regs.arg(1) as i32,
                // Process groups and pidfds: run natively.
                _ => return Err(stopped),
            };
            WaitCall {
                pid,
                options: regs.arg(3) as i32,
                out: regs.arg(2),
                rusage: regs.arg(4),
                waitid: true,
            }
        } else {
            WaitCall {
                pid: regs.arg(0) as i32,
                options: regs.arg(2) as i32,
                out: regs.arg(1),
                rusage: regs.arg(3),
                waitid: false,
            }
        };
        self.waits.kicked.remove(&tid);
        let stopped = match self.finish_wait(stopped, tracer, call) {
            Ok(()) => return Ok(()),
            Err(s) => s,
        };
        if !self.guest.waits_for_tracee(tracer, call.pid) {
            return Err(stopped);
        }
        if call.options & libc::WNOHANG != 0 {
            // Real children may have exited: ask the kernel; "no child"
            // only means no real one.
            self.waits.native.insert(tid, true);
            self.restart(stopped, true);
            return Ok(());
        }
        self.hold(stopped.consume().as_raw());
        self.waits.parked.insert(tid, Parked { tracer, call });
        Ok(())
    }

    /// The exit stop of a native wait of a guest tracer.
    fn native_wait_exit(&mut self, stopped: Stopped) {
        let pid = stopped.pid();
        let echild_is_empty = self.waits.native.remove(&pid.as_raw()).unwrap_or(false);
        if echild_is_empty {
            let mut regs = match self.be.get_regs(pid) {
                Ok(r) => r,
                Err(e) => return self.lost(stopped, e, "read the registers"),
            };
            if regs.ret() == -(Errno::ECHILD as i64) {
                regs.set_ret(0);
                if let Err(e) = self.be.set_regs(pid, &regs) {
                    return self.lost(stopped, e, "write the registers");
                }
            }
        }
        self.restart(stopped, false);
    }

    /// A real child of a parked guest tracer exited: its wait runs natively.
    fn release_parked_parent_of(&mut self, gone: i32) {
        if self.waits.parked.is_empty() {
            return;
        }
        let Some(parent) = self.be.status_field(gone, "PPid:") else {
            return;
        };
        let waiting: Vec<i32> = self
            .waits
            .parked
            .iter()
            .filter(|(_, p)| p.tracer == parent)
            .map(|(t, _)| *t)
            .collect();
        for t in waiting {
            self.waits.parked.remove(&t);
            self.gate.held.remove(&t);
            self.waits.native.insert(t, false);
            self.resume(Pid::from_raw(t), None, true);
        }
    }

    /// A guest `ptrace(request, pid, addr, data)` of thread `tid`.
    /// `None`: not about a guest task, run natively (the kernel answers).
    fn request(&mut self, tid: i32, regs: &Regs) -> Option<Result<i64, Errno>> {
        let (req, target, addr, data) = (regs.arg(0), regs.arg(1) as i32, regs.arg(2), regs.arg(3));
        let me = Pid::from_raw(tid);
        let tracer = self.tgid_of(tid);
        if req == gp::PTRACE_TRACEME {
            let parent = self
                .be
                .status_field(tracer, "PPid:")
                .filter(|p| self.tasks.is_guest(*p));
            let r = self.guest.trace_me(tid, tracer, parent);
            if r.is_ok()
                && let Some(p) = parent
            {
                // The parent may already sleep in a native wait4: make it
                // run that wait again, now as a guest tracer's (and get the
                // filter that makes its waits stop here first).
                if self.waits.filtered.contains(&p) {
                    if self.waits.kicked.insert(p) {
                        self.kick(p);
                    }
                } else {
                    self.want_wait_filter(p, true);
                }
            }
            return Some(r.map(|()| 0));
        }
        if !self.tasks.is_guest(target) {
            // Not a guest task: the kernel answers (ESRCH, EPERM, or a real
            // trace of a process outside the guest).
            return None;
        }
        let target_tgid = self.tgid_of(target);
        let target_pid = Pid::from_raw(target);
        let r = match req {
            gp::PTRACE_ATTACH | gp::PTRACE_SEIZE => {
                let seize = (req == gp::PTRACE_SEIZE).then_some(data as u32);
                if seize.is_some() && addr != 0 {
                    return Some(Err(Errno::EIO));
                }
                if seize.is_some_and(|o| o & gp::O_REFUSED != 0) {
                    log::info!("guest ptrace: PTRACE_O_SUSPEND_SECCOMP is not emulated: refused");
                }
                let parent = self.be.status_field(target_tgid, "PPid:");
                let r = self
                    .guest
                    .attach(tracer, target, target_tgid, parent, seize);
                if r.is_ok() {
                    if seize.is_none() {
                        let r = self.be.tgkill(target_tgid, target, libc::SIGSTOP);
                        self.settle(target_pid, r, "stop");
                    } else if self.tasks.in_group_stop(target) {
                        // A task in a group-stop re-traps for its new
                        // tracer, as the kernel does at PTRACE_SEIZE. (Not
                        // a task held at one of sproot's own stops, such as
                        // a newborn's first: the guest sees it running.)
                        self.kick(target);
                    }
                }
                r.map(|()| 0)
            }
            gp::PTRACE_KILL => {
                let r = self.guest.traced_by(tracer, target).map(drop);
                if r.is_ok() {
                    let k = self.be.tgkill(target_tgid, target, libc::SIGKILL);
                    self.settle(target_pid, k, "kill");
                }
                r.map(|()| 0)
            }
            gp::PTRACE_INTERRUPT => {
                let r = match self.guest.traced_by(tracer, target) {
                    Err(e) => Err(e),
                    Ok(l) if !l.seized => Err(Errno::EIO),
                    Ok(l) if l.stopped => Ok(false),
                    Ok(l) => {
                        l.interrupt = true;
                        Ok(true)
                    }
                };
                if r == Ok(true) {
                    self.kick(target);
                }
                r.map(|_| 0)
            }
            gp::PTRACE_CONT
            | gp::PTRACE_SYSCALL
            | gp::PTRACE_SINGLESTEP
            | gp::PTRACE_DETACH
            | gp::PTRACE_LISTEN => self.restart_tracee(tracer, target, req, data),
            0x4200 => {
                if data as u32 & gp::O_REFUSED != 0 {
                    log::info!("guest ptrace: PTRACE_O_SUSPEND_SECCOMP is not emulated: refused");
                }
                self.guest
                    .set_options(tracer, target, data as u32)
                    .map(|()| 0)
            }
            _ => match self.guest.stopped_tracee(tracer, target) {
                Err(e) => Err(e),
                Ok(l) => {
                    let msg = l.event_msg;
                    forward(&mut *self.be, me, target_pid, req, addr, data, msg)
                }
            },
        };
        Some(r)
    }

    /// A guest tracer's `PTRACE_CONT`, `SYSCALL`, `SINGLESTEP`, `DETACH`
    /// or `LISTEN` of `target`.
    fn restart_tracee(
        &mut self,
        tracer: i32,
        target: i32,
        req: u64,
        sig: u64,
    ) -> Result<i64, Errno> {
        match self.guest.restart(tracer, target, req, sig)? {
            Restart::Next(status) => self.show(target, status),
            Restart::Resume {
                sig,
                syscall,
                step,
                listen,
            } => {
                let pid = Pid::from_raw(target);
                if (listen || step) && !self.filter_stops.contains(&target) {
                    self.gate.held.remove(&target);
                    self.gate.syscall_stops.remove(&target);
                    let r = if listen {
                        self.be.listen(pid)
                    } else {
                        self.be.step(pid, sig)
                    };
                    self.settle(pid, r, if listen { "listen" } else { "single-step" });
                } else {
                    self.release(target, sig, syscall);
                }
            }
        }
        if req == gp::PTRACE_DETACH {
            self.waits.auxv.remove(&target);
        }
        Ok(0)
    }

    /// Before the ordinary handling of `ev`. Returns `true` when it was
    /// handled completely here.
    pub fn before(&mut self, ev: Event) -> bool {
        let raw = ev.pid().as_raw();
        if let Some(l) = self.guest.link_mut(raw)
            && l.exit_events_due
            && !matches!(ev, Event::Exited { .. } | Event::Killed { .. })
        {
            // Exit events are asked of the kernel for this task only.
            l.exit_events_due = false;
            let opts = super::super::spawn::ptrace_options()
                | nix::sys::ptrace::Options::PTRACE_O_TRACEEXIT;
            if let Err(e) = self.be.set_options(ev.pid(), opts) {
                log::debug!("exit events for {raw}: {e}");
            }
        }
        if !self.seccomp && matches!(ev, Event::Syscall { .. }) {
            // Under PTRACE_SYSCALL, a syscall stop takes the place of the
            // stop of sproot's own PTRACE_INTERRUPT.
            self.waits.kicked.remove(&raw);
        }
        match ev {
            Event::Syscall { pid } if self.waits.inject.contains_key(&raw) => {
                self.inject_step(Stopped::new(pid));
                true
            }
            Event::Syscall { pid } if self.waits.native.contains_key(&raw) => {
                self.native_wait_exit(Stopped::new(pid));
                true
            }
            Event::Syscall { .. } if self.guest.link(raw).is_some() => self.tracee_syscall(raw),
            Event::Signal { sig, .. } if self.guest.link(raw).is_some() => {
                self.show(raw, gp::stopped_status(sig.number(), 0));
                false
            }
            Event::Stop { sig, .. } => {
                self.tracee_event_stop(raw, sig);
                false
            }
            Event::NewChild { parent } => {
                self.tracee_new_child(parent);
                false
            }
            Event::Exec { .. } => {
                if let Some(l) = self.guest.link_mut(raw) {
                    l.exec = ExecPhase::Loader;
                    self.gate.syscall_stops.insert(raw);
                }
                false
            }
            Event::OtherEvent { pid } => {
                // Vfork-done or exit: the siginfo's code tells which.
                let Some(options) = self.guest.link(raw).map(|l| l.options) else {
                    return false;
                };
                let event = self.be.event_of_stop(pid).unwrap_or(0);
                let wanted = match event {
                    gp::EVENT_VFORK_DONE => options & gp::O_TRACEVFORKDONE != 0,
                    gp::EVENT_EXIT => options & gp::O_TRACEEXIT != 0,
                    _ => false,
                };
                if wanted {
                    if let Ok(m) = self.be.event_msg(pid)
                        && let Some(l) = self.guest.link_mut(raw)
                    {
                        l.event_msg = m;
                    }
                    self.show(raw, gp::stopped_status(libc::SIGTRAP, event));
                }
                false
            }
            _ => false,
        }
    }

    /// After the ordinary handling of `ev`.
    pub fn after(&mut self, ev: Event) {
        let raw = ev.pid().as_raw();
        let status = match ev {
            Event::Exited { code, .. } => gp::exited_status(code),
            Event::Killed { sig, .. } => gp::killed_status(sig.number()),
            Event::Syscall { .. } => {
                self.tracee_syscall_exit_shown(raw);
                return;
            }
            _ => return,
        };
        self.gate.held.remove(&raw);
        self.gate.syscall_stops.remove(&raw);
        self.waits.parked.remove(&raw);
        self.waits.native.remove(&raw);
        self.waits.kicked.remove(&raw);
        self.waits.auxv.remove(&raw);
        self.waits.inject.remove(&raw);
        self.waits.filtered.remove(&raw);
        if let Some(tracer) = self.guest.on_tracee_gone(raw, status) {
            self.wake_tracer(tracer);
        }
        if self.guest.is_tracer(raw) {
            for (t, kill, held) in self.guest.on_tracer_gone(raw) {
                if kill {
                    let pid = Pid::from_raw(t);
                    let r = self.be.kill(pid, Signal::SIGKILL);
                    self.settle(pid, r, "kill");
                } else if held {
                    self.release(t, 0, false);
                }
                self.gate.syscall_stops.remove(&t);
                self.waits.auxv.remove(&t);
            }
        }
        self.release_parked_parent_of(raw);
        // Newborns held for the event of a creator that died first.
        let orphans: Vec<i32> = self
            .guest
            .newborns
            .iter()
            .filter(|(_, c)| **c == raw)
            .map(|(t, _)| *t)
            .collect();
        for t in orphans {
            self.guest.newborns.remove(&t);
            self.release(t, 0, false);
        }
    }

    /// A syscall stop of a guest tracee. Returns `true` when handled here.
    fn tracee_syscall(&mut self, tid: i32) -> bool {
        let pid = Pid::from_raw(tid);
        let op = self.be.syscall_stop_op(pid).unwrap_or(0);
        let Some(l) = self.guest.link(tid) else {
            return false;
        };
        let in_loader = l.exec == ExecPhase::Loader;
        let (syscall_mode, in_syscall, stopped) = (l.syscall_mode, l.in_syscall, l.stopped);
        if !self.seccomp && l.interrupt && !stopped {
            return self.interrupted_at_syscall_stop(tid, op == 1, syscall_mode && in_syscall);
        }
        if op == 1 {
            // Entry: with seccomp, sproot's work comes at the seccomp stop
            // that follows; without, at this stop, after the guest tracer
            // resumes the tracee from it (`filter_continues`).
            let show = !in_loader && syscall_mode && !stopped;
            if !show && !self.seccomp {
                return false;
            }
            let stop = Stopped::new(pid);
            if show {
                let s = l.syscall_status();
                if let Some(l) = self.guest.link_mut(tid) {
                    l.in_syscall = true;
                }
                match self.be.get_regs(pid) {
                    Ok(r) => {
                        self.entry_regs.insert(tid, r);
                        if !self.seccomp {
                            self.filter_stops.insert(tid);
                        }
                        self.show(stop.consume().as_raw(), s);
                    }
                    Err(e) => self.lost(stop, e, "read the registers"),
                }
            } else {
                self.restart(stop, false);
            }
            return true;
        }
        if in_loader {
            if let Ok(regs) = self.be.get_regs(pid)
                && regs.sysno() == crate::arch::sys::SYS_getpid
            {
                self.loader_done(Stopped::new(pid), regs);
                return true;
            }
            return false;
        }
        if syscall_mode && in_syscall && !stopped {
            // Shown after sproot's own exit work (`after`).
            self.hold(tid);
        }
        false
    }

    /// Without seccomp the tracee runs under PTRACE_SYSCALL, and its
    /// syscall stop (an `entry`, or an exit) took the place of the stop of
    /// the guest tracer's PTRACE_INTERRUPT: any trap clears a pending one.
    /// It is shown as that stop, except the exit of a syscall the guest
    /// tracer traces (the kernel shows that exit). Returns whether the
    /// stop was handled here.
    fn interrupted_at_syscall_stop(&mut self, tid: i32, entry: bool, traced: bool) -> bool {
        if let Some(l) = self.guest.link_mut(tid) {
            l.interrupt = false;
        }
        if !entry && traced {
            return self.tracee_syscall(tid);
        }
        if entry {
            // The syscall goes on when the guest tracer resumes it.
            self.filter_stops.insert(tid);
        }
        // An exit is held after sproot's own exit work (the syscall is
        // restarted when the guest tracer resumes the tracee).
        self.show(tid, gp::stopped_status(libc::SIGTRAP, gp::EVENT_STOP));
        entry
    }

    /// After sproot's exit work on a held syscall-exit stop: put back the
    /// registers the guest passed (sproot may have rewritten path
    /// arguments, or skipped the syscall) and show the stop.
    fn tracee_syscall_exit_shown(&mut self, tid: i32) {
        let Some(l) = self.guest.link(tid) else {
            return;
        };
        if !(l.in_syscall && !l.stopped && self.gate.holds(tid)) {
            return;
        }
        let status = l.syscall_status();
        let stop = Stopped::new(Pid::from_raw(tid));
        if let Some(entry) = self.entry_regs.remove(&tid) {
            let pid = stop.pid();
            let now = match self.be.get_regs(pid) {
                Ok(r) => r,
                Err(e) => return self.lost(stop, e, "read the registers"),
            };
            let mut shown = entry;
            shown.set_ret(now.ret());
            let r = self
                .be
                .set_changed_regs(pid, &now, &restore_exit_regs(&now, &shown));
            if let Err(e) = r {
                return self.lost(stop, e, "write the registers");
            }
        }
        if let Some(l) = self.guest.link_mut(tid) {
            l.in_syscall = false;
        }
        self.show(stop.consume().as_raw(), status);
    }

    /// The loader's last syscall (its marker `getpid`, with the stack
    /// pointer and entry point in its argument registers): make the
    /// registers what the kernel leaves after `execve` and show the exec.
    fn loader_done(&mut self, stopped: Stopped, mut regs: Regs) {
        let pid = stopped.pid();
        let tid = pid.as_raw();
        log::debug!("guest ptrace: exec of {tid} loaded");
        after_exec_regs(&mut regs);
        if let Err(e) = self.be.set_regs(pid, &regs) {
            return self.lost(stopped, e, "write the registers");
        }
        match read_auxv(&mut *self.be, pid, regs.sp())
            .and_then(|v| crate::host::memory_file(c"sproot-auxv", &v))
        {
            Ok(fd) => {
                self.waits.auxv.insert(tid, fd);
            }
            Err(e) => log::debug!("auxv of {tid}: {e}"),
        }
        self.entry_regs.remove(&tid);
        if let Some(l) = self.guest.link(tid)
            && !l.syscall_mode
        {
            self.gate.syscall_stops.remove(&tid);
        }
        match self.guest.exec_done(tid) {
            Some(status) => self.show(stopped.consume().as_raw(), status),
            None => self.restart(stopped, false),
        }
    }

    /// `PTRACE_EVENT_STOP` of `tid`: a guest tracer's interrupt or its
    /// tracee's group-stop or first stop; or sproot's own interrupt of a
    /// waiting guest tracer.
    fn tracee_event_stop(&mut self, tid: i32, sig: Sig) {
        if self.waits.kicked.remove(&tid) {
            return;
        }
        let newborn = sig == Sig::TRAP && self.tasks.awaiting_first_stop(tid);
        if let Some(l) = self.guest.link_mut(tid) {
            let status = if std::mem::take(&mut l.awaiting_first_stop) {
                l.first_stop_status()
            } else if newborn && !l.interrupt {
                // A newborn's first stop, sproot's own, after a guest
                // tracer attached to it (`PTRACE_SEIZE` of a child just
                // forked): the guest sees it running.
                return;
            } else if sig.is_stopping() {
                l.group_stop = true;
                l.group_stop_status(sig.number())
            } else if std::mem::take(&mut l.interrupt) || l.seized {
                gp::stopped_status(libc::SIGTRAP, gp::EVENT_STOP)
            } else {
                return;
            };
            self.show(tid, status);
            return;
        }
        if sig == Sig::TRAP && !self.tasks.is_guest(tid) {
            // A newborn before its creator's event: hold it if its creator
            // follows new children, until that event says.
            let creator = [
                self.be.status_field(tid, "Tgid:"),
                self.be.status_field(tid, "PPid:"),
            ];
            if let Some(c) = creator
                .into_iter()
                .flatten()
                .find(|c| *c != tid && self.guest.may_follow(*c))
            {
                self.hold(tid);
                self.guest.newborns.insert(tid, c);
            }
        }
    }

    /// A clone/fork/vfork event of `parent`.
    fn tracee_new_child(&mut self, parent: Pid) {
        let raw = parent.as_raw();
        if self.guest.link(raw).is_none() {
            return;
        }
        let Ok(child) = self.be.event_msg(parent).map(|c| c as i32) else {
            return;
        };
        let (vfork, exit_signal, thread) = match self.be.get_regs(parent) {
            Ok(r) => clone_kind(&mut *self.be, parent, &r),
            Err(_) => return,
        };
        let event = gp::child_event(vfork, exit_signal);
        let early = self.guest.newborns.remove(&child).is_some();
        if self.guest.on_new_child(raw, child, event, thread) {
            self.show(raw, gp::stopped_status(libc::SIGTRAP, event));
            if early && let Some(l) = self.guest.link_mut(child) {
                l.awaiting_first_stop = false;
                let s = l.first_stop_status();
                self.show(child, s);
            }
        } else if early {
            self.release(child, 0, false);
        }
    }
}

/// The registers shown at a syscall-exit stop: the ones the guest passed
/// (`shown`, with the result), the rest as they are now.
fn restore_exit_regs(now: &Regs, shown: &Regs) -> Regs {
    let mut r = *now;
    for i in 0..6 {
        r.set_arg(i, shown.arg(i));
    }
    r.set_sysno(shown.sysno());
    r
}

/// The tracer's task table, as the hooks see it.
struct TaskTable<'a>(&'a Tasks<Tracee>);

impl GuestTasks for TaskTable<'_> {
    fn tgid(&self, tid: i32) -> i32 {
        use crate::fs::ProcContext;
        super::super::Proc { tasks: self.0, tid }.pid()
    }
    fn is_guest(&self, tid: i32) -> bool {
        self.0.contains(tid)
    }
    fn in_group_stop(&self, tid: i32) -> bool {
        self.0.in_group_stop(tid)
    }
    fn awaiting_first_stop(&self, tid: i32) -> bool {
        self.0.awaiting_first_stop(tid)
    }
}

/// The event loop's entries into guest ptrace.
impl Tracer<'_> {
    /// Run `f` on the hooks over the kernel; then go on with the syscalls
    /// of tasks it released from a guest filter's seccomp stop.
    fn with_hooks<R>(&mut self, f: impl FnOnce(&mut Hooks<'_>) -> R) -> R {
        let tasks = TaskTable(&self.tasks);
        let mut be = backend::Ptrace;
        let mut h = Hooks {
            guest: &mut self.guest,
            waits: &mut self.waits,
            gate: &mut self.kernel.gate,
            entry_regs: &mut self.entry_regs,
            filter_stops: &mut self.gsec.at_stop,
            outer: &self.kernel.outer,
            seccomp: self.seccomp,
            tasks: &tasks,
            be: &mut be,
            filter_continues: Vec::new(),
            emulated: Vec::new(),
        };
        let r = f(&mut h);
        let continues = std::mem::take(&mut h.filter_continues);
        let emulated = std::mem::take(&mut h.emulated);
        for (t, v) in emulated {
            if let Some(task) = self.tasks.get_mut(t) {
                task.syscall = Some(AtExit::Value(v));
            }
        }
        for t in continues {
            self.gsec_continue(t);
        }
        r
    }

    /// Show `status` of tracee `tid` to its tracer, and hold the tracee.
    pub(in crate::tracer) fn show(&mut self, tid: i32, status: i32) {
        self.with_hooks(|h| h.show(tid, status));
    }

    /// Whether a trapped syscall may concern guest ptrace (the cheap test
    /// before [`Self::guest_syscall`]).
    #[inline]
    pub(in crate::tracer) fn guest_may_concern(&self, sysno: i64) -> bool {
        matches!(
            sysno,
            crate::arch::sys::SYS_ptrace
                | crate::arch::sys::SYS_wait4
                | crate::arch::sys::SYS_waitid
        ) || !self.waits.inject.is_empty()
            || (!self.waits.auxv.is_empty() && is_open(sysno))
    }

    /// A trapped `ptrace`, `wait4` or `waitid` of a guest thread. The
    /// token back when the call was not answered (or parked) here.
    pub(in crate::tracer) fn guest_syscall(
        &mut self,
        stopped: Stopped,
        regs: &Regs,
    ) -> Result<(), Stopped> {
        self.with_hooks(|h| h.syscall(stopped, regs))
    }

    /// Whether `tid` runs sproot's injection of the guest tracer's filter.
    pub(in crate::tracer) fn gsec_injecting(&self, tid: i32) -> bool {
        !self.waits.inject.is_empty() && self.waits.inject.contains_key(&tid)
    }

    /// Whether `tid`'s process has the guest tracer's filter.
    pub(in crate::tracer) fn waits_filtered(&self, tid: i32) -> bool {
        !self.waits.filtered.is_empty()
            && self
                .waits
                .filtered
                .contains(&TaskTable(&self.tasks).tgid(tid))
    }

    /// Before the ordinary handling of `ev`. Returns `true` when it was
    /// handled completely here.
    pub(in crate::tracer) fn guest_before(&mut self, ev: Event) -> bool {
        let raw = ev.pid().as_raw();
        match ev {
            Event::Syscall { .. } if self.gsec.installing(raw) => {
                self.gsec_install_exit(raw);
            }
            Event::NewChild { parent } if self.gsec.active() => self.gsec_new_child(parent),
            Event::Exec { pid } if self.gsec.active() => {
                if let Ok(former) = ptrace::event_msg(pid) {
                    self.gsec.exec_from_thread(former as i32, raw);
                }
            }
            _ => {}
        }
        // Without seccomp, a syscall stop is an entry or an exit in turn
        // (`on_syscall_stop`): one the hooks handle here counts too.
        let entering = match ev {
            Event::Syscall { pid } if !self.seccomp => {
                self.tasks.get(pid.as_raw()).map(|t| t.syscall.is_none())
            }
            _ => None,
        };
        let handled = self.with_hooks(|h| h.before(ev));
        if handled
            && let Some(entering) = entering
            && let Some(t) = self.tasks.get_mut(raw)
        {
            if !entering {
                t.syscall = None;
                self.stats.syscall_exit += 1;
            } else {
                if t.syscall.is_none() {
                    t.syscall = Some(AtExit::Nothing);
                }
                self.stats.syscall_entry += 1;
            }
        }
        handled
    }

    /// After the ordinary handling of `ev`.
    pub(in crate::tracer) fn guest_after(&mut self, ev: Event) {
        if matches!(ev, Event::Exited { .. } | Event::Killed { .. }) {
            self.gsec.gone(ev.pid().as_raw());
        }
        self.with_hooks(|h| h.after(ev));
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
pub(super) mod tests;
