//! Guest ptrace, the side effects: the hooks the event loop calls, which
//! hold guest tracees at the stops their guest tracer must see, and answer
//! the guest tracer's `ptrace`, `wait4` and `waitid` (see
//! `tracing.rs` for the state machine).
//!
//! How a guest tracer waits: a `wait4` with a status to collect returns it
//! at once; one that concerns a guest tracee and must block is *parked*
//! (held at its seccomp stop) until a status is owed or one of the
//! tracer's real children exits (then it runs natively); a `WNOHANG` wait
//! with nothing owed runs natively. Real children's exits always come
//! through the real `wait4`.

use super::super::Tracer;
use super::super::event::{Event, Sig};
use super::tracing::{self as gp, ExecPhase, Report, Restart};
use crate::arch::Regs;
use crate::ptrace::{self, guest};
use nix::errno::Errno;
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};

/// What the real-resume paths need to know about guest ptrace: tasks held
/// stopped for a guest tracer, and tasks that must stop at every syscall.
#[derive(Default)]
pub struct Gate {
    held: HashSet<i32>,
    syscall_stops: HashSet<i32>,
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
#[derive(Clone, Copy)]
pub struct Parked {
    tracer: i32,
    call: WaitCall,
}

#[derive(Clone, Copy)]
struct WaitCall {
    pid: i32,
    options: i32,
    /// `wait4`: `int *status`; `waitid`: `siginfo_t *`.
    out: u64,
    rusage: u64,
    waitid: bool,
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
const SIGINFO_SIZE: usize = 128;
const RUSAGE_SIZE: usize = std::mem::size_of::<libc::rusage>();

impl Tracer<'_> {
    fn tgid_of(&self, tid: i32) -> i32 {
        use crate::fs::ProcContext;
        super::super::Proc {
            tasks: &self.tasks,
            tid,
        }
        .pid()
    }

    fn hold(&mut self, pid: i32) {
        self.kernel.gate.held.insert(pid);
    }

    /// Really resume a held task.
    fn release(&mut self, pid: i32, sig: i32, syscall: bool) {
        if self.gsec.at_stop.remove(&pid) {
            // Held at a guest filter's seccomp stop: the syscall goes on
            // (a signal cannot be delivered at a syscall stop).
            self.kernel.gate.held.remove(&pid);
            if syscall {
                self.kernel.gate.syscall_stops.insert(pid);
            } else {
                self.drop_syscall_stops(pid);
            }
            self.gsec_continue(pid);
            return;
        }
        self.kernel.gate.held.remove(&pid);
        if syscall {
            self.kernel.gate.syscall_stops.insert(pid);
        } else if self
            .guest
            .link(pid)
            .is_none_or(|l| l.exec == ExecPhase::None)
        {
            self.kernel.gate.syscall_stops.remove(&pid);
        }
        self.resume(Pid::from_raw(pid), (sig != 0).then_some(Sig(sig)), false);
    }

    /// Show `status` of tracee `tid` to its tracer, and hold the tracee.
    pub(in crate::tracer) fn show(&mut self, tid: i32, status: i32) {
        log::debug!("guest ptrace: {tid} stops with {status:#x}");
        self.hold(tid);
        if let Some(tracer) = self.guest.report(tid, status) {
            self.wake_tracer(tracer);
        }
    }

    /// A status is owed to `tracer`: `SIGCHLD`, and complete or interrupt
    /// its wait.
    fn wake_tracer(&mut self, tracer: i32) {
        let _ = nix::sys::signal::kill(Pid::from_raw(tracer), nix::sys::signal::Signal::SIGCHLD);
        let parked: Vec<i32> = self
            .waits
            .parked
            .iter()
            .filter(|(_, p)| p.tracer == tracer)
            .map(|(t, _)| *t)
            .collect();
        for t in parked {
            if let Some(p) = self.waits.parked.get(&t).copied()
                && self.finish_wait(t, p.tracer, p.call)
            {
                self.waits.parked.remove(&t);
            }
        }
        let native: Vec<i32> = self.waits.native.keys().copied().collect();
        for t in native {
            if self.tgid_of(t) == tracer && self.waits.kicked.insert(t) {
                let _ = guest::interrupt(Pid::from_raw(t));
            }
        }
    }

    /// Complete wait call `call` of thread `tid` with an owed status, if
    /// there is one: write it out and resume the thread with the result.
    fn finish_wait(&mut self, tid: i32, tracer: i32, call: WaitCall) -> bool {
        let Some(r) = self.guest.take_report(tracer, call.pid, call.options) else {
            return false;
        };
        let pid = Pid::from_raw(tid);
        let ret = match write_wait_result(pid, &call, &r) {
            Ok(()) if call.waitid => 0,
            Ok(()) => i64::from(r.tracee),
            Err(e) => -(e as i64),
        };
        self.emulate_result(tid, ret);
        true
    }

    /// Skip the syscall `tid` is stopped at the entry of, making it return
    /// `ret`, and resume it.
    fn emulate_result(&mut self, tid: i32, ret: i64) {
        let pid = Pid::from_raw(tid);
        if let Ok(mut regs) = ptrace::get_regs(pid) {
            regs.set_sysno(-1);
            regs.set_ret(ret);
            let _ = ptrace::set_regs(pid, &regs);
        }
        self.kernel.gate.held.remove(&tid);
        self.resume(pid, None, false);
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

    /// Make thread `tid` get the guest tracer's filter at its next syscall
    /// (`kick`: interrupt it, in case it sleeps in a syscall now).
    fn want_wait_filter(&mut self, tid: i32, kick: bool) {
        if self.waits.filtered.contains(&self.tgid_of(tid)) || self.waits.inject.contains_key(&tid)
        {
            return;
        }
        self.waits.inject.insert(tid, Inject::Pending);
        self.kernel.gate.syscall_stops.insert(tid);
        if kick && self.waits.kicked.insert(tid) {
            let _ = guest::interrupt(Pid::from_raw(tid));
        }
    }

    /// At a syscall entry (or seccomp stop) of `tid`: run `seccomp()` to
    /// add the guest tracer's filter instead, and this syscall after it.
    fn inject_wait_filter(&mut self, tid: i32, regs: &Regs) -> bool {
        let pid = Pid::from_raw(tid);
        let prog = crate::seccomp::guest_tracer_filter();
        let mut scratch = ptrace::Scratch::below(regs.sp());
        let injected = scratch.push(pid, &prog).and_then(|at| {
            let mut fprog = [0u8; 16];
            fprog[..2].copy_from_slice(&((prog.len() / 8) as u16).to_ne_bytes());
            fprog[8..].copy_from_slice(&at.to_ne_bytes());
            let fprog_at = scratch.push(pid, &fprog)?;
            let mut r = *regs;
            r.set_sysno(crate::arch::sys::SYS_seccomp);
            r.set_arg(0, libc::SECCOMP_SET_MODE_FILTER as u64);
            r.set_arg(1, libc::SECCOMP_FILTER_FLAG_TSYNC);
            r.set_arg(2, fprog_at);
            ptrace::set_regs(pid, &r)
        });
        match injected {
            Ok(()) => {
                self.waits
                    .inject
                    .insert(tid, Inject::Running(Box::new(*regs)));
                self.kernel.gate.syscall_stops.insert(tid);
            }
            Err(e) => {
                log::info!("guest ptrace: cannot add the guest tracer's filter to {tid}: {e}");
                self.waits.inject.remove(&tid);
                self.drop_syscall_stops(tid);
            }
        }
        self.resume(pid, None, false);
        true
    }

    /// A syscall stop of a thread getting the guest tracer's filter.
    fn inject_step(&mut self, tid: i32) {
        let pid = Pid::from_raw(tid);
        let op = guest::syscall_stop_op(pid).unwrap_or(0);
        match (self.waits.inject.get(&tid).cloned(), op) {
            (Some(Inject::Pending), 1) => {
                if let Ok(regs) = ptrace::get_regs(pid) {
                    self.inject_wait_filter(tid, &regs);
                    return;
                }
            }
            (Some(Inject::Running(saved)), 2) => {
                let rc = ptrace::get_regs(pid).map(|r| r.ret()).unwrap_or(-1);
                if rc != 0 {
                    log::info!("guest ptrace: seccomp() in {tid} failed ({rc}): waits not seen");
                }
                let mut r = *saved;
                replay_syscall(&mut r);
                let _ = ptrace::set_regs(pid, &r);
                self.waits.inject.remove(&tid);
                let tgid = self.tgid_of(tid);
                self.waits.filtered.insert(tgid);
                self.drop_syscall_stops(tid);
            }
            _ => {}
        }
        self.resume(pid, None, false);
    }

    /// Whether `tid` runs sproot's injection of the guest tracer's filter.
    pub(in crate::tracer) fn gsec_injecting(&self, tid: i32) -> bool {
        !self.waits.inject.is_empty() && self.waits.inject.contains_key(&tid)
    }

    /// Whether `tid`'s process has the guest tracer's filter.
    pub(in crate::tracer) fn waits_filtered(&self, tid: i32) -> bool {
        !self.waits.filtered.is_empty() && self.waits.filtered.contains(&self.tgid_of(tid))
    }

    /// `tid` no longer needs syscall stops for sproot's own sake.
    fn drop_syscall_stops(&mut self, tid: i32) {
        let keep = self
            .guest
            .link(tid)
            .is_some_and(|l| l.syscall_mode || l.exec == ExecPhase::Loader);
        if !keep {
            self.kernel.gate.syscall_stops.remove(&tid);
        }
    }

    /// A trapped `ptrace`, `wait4` or `waitid` of guest thread `tid`.
    /// Returns `true` when it was answered (or parked) here.
    pub(in crate::tracer) fn guest_syscall(&mut self, tid: i32, regs: &Regs) -> bool {
        if !self.cfg.seccomp {
            if regs.sysno() == crate::arch::sys::SYS_ptrace {
                // Runs natively: EPERM, the guest is traced already.
                log::info!("guest ptrace is emulated only with seccomp: refused");
            }
            return false;
        }
        if matches!(self.waits.inject.get(&tid), Some(Inject::Pending)) {
            return self.inject_wait_filter(tid, regs);
        }
        match regs.sysno() {
            crate::arch::sys::SYS_ptrace if !EMULATED_HERE => {
                // Runs natively: EPERM, the guest is traced already.
                log::info!("guest ptrace is emulated on x86_64 only: refused");
                false
            }
            crate::arch::sys::SYS_ptrace if !self.waits.filtered.contains(&self.tgid_of(tid)) => {
                // A new guest tracer: its waits must stop here first.
                self.want_wait_filter(tid, false);
                self.inject_wait_filter(tid, regs)
            }
            crate::arch::sys::SYS_ptrace => match self.guest_request(tid, regs) {
                None => false,
                Some(Ok(v)) => {
                    self.emulate_result(tid, v);
                    true
                }
                Some(Err(e)) => {
                    self.emulate_result(tid, -(e as i64));
                    true
                }
            },
            crate::arch::sys::SYS_wait4 | crate::arch::sys::SYS_waitid if self.guest.active() => {
                self.guest_wait(tid, regs)
            }
            nr if is_open(nr) && !self.waits.auxv.is_empty() => self.open_auxv(tid, regs),
            _ => false,
        }
    }

    /// An open of `/proc/<pid>/auxv` of a guest tracee: the program's copy.
    fn open_auxv(&mut self, tid: i32, regs: &Regs) -> bool {
        let arg = usize::from(regs.sysno() == crate::arch::sys::SYS_openat);
        let pid = Pid::from_raw(tid);
        let Ok(path) = ptrace::read_cstring(pid, regs.arg(arg), 64) else {
            return false;
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
            return false;
        };
        let Some(fd) = self.waits.auxv.get(&n) else {
            return false;
        };
        log::debug!("guest ptrace: auxv of {n} for {tid}");
        use std::os::fd::AsRawFd;
        let host = format!("/proc/{}/fd/{}", std::process::id(), fd.as_raw_fd());
        let mut scratch = ptrace::Scratch::below(regs.sp());
        let Ok(at) = scratch.push_cstr(pid, host.as_bytes()) else {
            return false;
        };
        let mut new = *regs;
        new.set_arg(arg, at);
        if ptrace::set_changed_regs(pid, regs, &new).is_ok() {
            self.resume(pid, None, false);
        }
        true
    }

    fn guest_wait(&mut self, tid: i32, regs: &Regs) -> bool {
        let tracer = self.tgid_of(tid);
        if !self.guest.is_tracer(tracer) {
            return false;
        }
        let call = if regs.sysno() == crate::arch::sys::SYS_waitid {
            let pid = match regs.arg(0) {
                P_ALL => -1,
                P_PID => regs.arg(1) as i32,
                // Process groups and pidfds: run natively.
                _ => return false,
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
        if self.finish_wait(tid, tracer, call) {
            return true;
        }
        if !self.guest.waits_for_tracee(tracer, call.pid) {
            return false;
        }
        if call.options & libc::WNOHANG != 0 {
            // Real children may have exited: ask the kernel; "no child"
            // only means no real one.
            self.waits.native.insert(tid, true);
            self.resume(Pid::from_raw(tid), None, true);
            return true;
        }
        self.hold(tid);
        self.waits.parked.insert(tid, Parked { tracer, call });
        true
    }

    /// The exit stop of a native wait of a guest tracer.
    fn native_wait_exit(&mut self, tid: i32) {
        let echild_is_empty = self.waits.native.remove(&tid).unwrap_or(false);
        let pid = Pid::from_raw(tid);
        if echild_is_empty
            && let Ok(mut regs) = ptrace::get_regs(pid)
            && regs.ret() == -(Errno::ECHILD as i64)
        {
            regs.set_ret(0);
            let _ = ptrace::set_regs(pid, &regs);
        }
        self.resume(pid, None, false);
    }

    /// A real child of a parked guest tracer exited: its wait runs natively.
    fn release_parked_parent_of(&mut self, gone: i32) {
        if self.waits.parked.is_empty() {
            return;
        }
        let Some(parent) = super::super::read_status_field(gone, "PPid:") else {
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
            self.kernel.gate.held.remove(&t);
            self.waits.native.insert(t, false);
            self.resume(Pid::from_raw(t), None, true);
        }
    }

    /// A guest `ptrace(request, pid, addr, data)` of thread `tid`.
    /// `None`: not about a guest task, run natively (the kernel answers).
    fn guest_request(&mut self, tid: i32, regs: &Regs) -> Option<Result<i64, Errno>> {
        let (req, target, addr, data) = (regs.arg(0), regs.arg(1) as i32, regs.arg(2), regs.arg(3));
        let me = Pid::from_raw(tid);
        let tracer = self.tgid_of(tid);
        if req == gp::PTRACE_TRACEME {
            let parent = super::super::read_status_field(tracer, "PPid:")
                .filter(|p| self.tasks.contains(*p));
            let r = self.guest.trace_me(tid, tracer, parent);
            if r.is_ok()
                && let Some(p) = parent
            {
                // The parent may already sleep in a native wait4: make it
                // run that wait again, now as a guest tracer's (and get the
                // filter that makes its waits stop here first).
                if self.waits.filtered.contains(&p) {
                    if self.waits.kicked.insert(p) {
                        let _ = guest::interrupt(Pid::from_raw(p));
                    }
                } else {
                    self.want_wait_filter(p, true);
                }
            }
            return Some(r.map(|()| 0));
        }
        if !self.tasks.contains(target) {
            // Not a guest task: the kernel answers (ESRCH, EPERM, or a real
            // trace of a process outside the guest).
            return None;
        }
        let target_tgid = self.tgid_of(target);
        let r = match req {
            gp::PTRACE_ATTACH | gp::PTRACE_SEIZE => {
                let seize = (req == gp::PTRACE_SEIZE).then_some(data as u32);
                if seize.is_some() && addr != 0 {
                    return Some(Err(Errno::EIO));
                }
                if seize.is_some_and(|o| o & gp::O_REFUSED != 0) {
                    log::info!("guest ptrace: PTRACE_O_SUSPEND_SECCOMP is not emulated: refused");
                }
                let parent = super::super::read_status_field(target_tgid, "PPid:");
                self.guest
                    .attach(tracer, target, target_tgid, parent, seize)
                    .map(|()| {
                        if seize.is_none() {
                            let _ = guest::tgkill(target_tgid, target, libc::SIGSTOP);
                        } else if is_stopped(target) {
                            // A task in a group-stop re-traps for its new
                            // tracer, as the kernel does at PTRACE_SEIZE.
                            let _ = guest::interrupt(Pid::from_raw(target));
                        }
                        0
                    })
            }
            gp::PTRACE_KILL => self.guest.traced_by(tracer, target).map(|_| {
                let _ = guest::tgkill(target_tgid, target, libc::SIGKILL);
                0
            }),
            gp::PTRACE_INTERRUPT => match self.guest.traced_by(tracer, target) {
                Err(e) => Err(e),
                Ok(l) if !l.seized => Err(Errno::EIO),
                Ok(l) if l.stopped => Ok(0),
                Ok(l) => {
                    l.interrupt = true;
                    let _ = guest::interrupt(Pid::from_raw(target));
                    Ok(0)
                }
            },
            gp::PTRACE_CONT
            | gp::PTRACE_SYSCALL
            | gp::PTRACE_SINGLESTEP
            | gp::PTRACE_DETACH
            | gp::PTRACE_LISTEN => self.guest_restart(tracer, target, req, data),
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
                    forward(me, Pid::from_raw(target), req, addr, data, msg)
                }
            },
        };
        Some(r)
    }

    fn guest_restart(
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
                if (listen || step) && !self.gsec.at_stop.contains(&target) {
                    self.kernel.gate.held.remove(&target);
                    self.kernel.gate.syscall_stops.remove(&target);
                    let r = if listen {
                        ptrace::listen(pid)
                    } else {
                        guest::step(pid, sig)
                    };
                    if let Err(e) = r {
                        log::debug!("guest restart of {target}: {e}");
                    }
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
    pub(in crate::tracer) fn guest_before(&mut self, ev: Event) -> bool {
        let raw = ev.pid().as_raw();
        if let Some(l) = self.guest.link_mut(raw)
            && l.exit_events_due
            && !matches!(ev, Event::Exited { .. } | Event::Killed { .. })
        {
            // Exit events are asked of the kernel for this task only.
            l.exit_events_due = false;
            let opts = super::super::spawn::ptrace_options()
                | nix::sys::ptrace::Options::PTRACE_O_TRACEEXIT;
            if let Err(e) = nix::sys::ptrace::setoptions(ev.pid(), opts) {
                log::debug!("exit events for {raw}: {e}");
            }
        }
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
        match ev {
            Event::Syscall { .. } if self.waits.inject.contains_key(&raw) => {
                self.inject_step(raw);
                true
            }
            Event::Syscall { .. } if self.waits.native.contains_key(&raw) => {
                self.native_wait_exit(raw);
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
                    self.kernel.gate.syscall_stops.insert(raw);
                }
                false
            }
            Event::OtherEvent { pid } => {
                // Vfork-done or exit: the siginfo's code tells which.
                let Some(l) = self.guest.link(raw) else {
                    return false;
                };
                let event = guest::event_of_stop(pid).unwrap_or(0);
                let wanted = match event {
                    gp::EVENT_VFORK_DONE => l.options & gp::O_TRACEVFORKDONE != 0,
                    gp::EVENT_EXIT => l.options & gp::O_TRACEEXIT != 0,
                    _ => false,
                };
                if wanted {
                    if let Ok(m) = ptrace::event_msg(pid)
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
    pub(in crate::tracer) fn guest_after(&mut self, ev: Event) {
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
        self.kernel.gate.held.remove(&raw);
        self.kernel.gate.syscall_stops.remove(&raw);
        self.gsec.gone(raw);
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
                    let _ =
                        nix::sys::signal::kill(Pid::from_raw(t), nix::sys::signal::Signal::SIGKILL);
                } else if held {
                    self.release(t, 0, false);
                }
                self.kernel.gate.syscall_stops.remove(&t);
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
        let op = guest::syscall_stop_op(pid).unwrap_or(0);
        let Some(l) = self.guest.link(tid) else {
            return false;
        };
        let in_loader = l.exec == ExecPhase::Loader;
        if op == 1 {
            // Entry: sproot has nothing to do here.
            if !in_loader && l.syscall_mode && !l.stopped {
                let s = l.syscall_status();
                if let Some(l) = self.guest.link_mut(tid) {
                    l.in_syscall = true;
                }
                if let Ok(r) = ptrace::get_regs(pid) {
                    self.entry_regs.insert(tid, r);
                }
                self.show(tid, s);
            } else {
                self.resume(pid, None, false);
            }
            return true;
        }
        if in_loader {
            if let Ok(regs) = ptrace::get_regs(pid)
                && regs.sysno() == crate::arch::sys::SYS_getpid
            {
                self.loader_done(tid, regs);
                return true;
            }
            return false;
        }
        if l.syscall_mode && l.in_syscall && !l.stopped {
            // Shown after sproot's own exit work (guest_after).
            self.hold(tid);
        }
        false
    }

    /// After sproot's exit work on a held syscall-exit stop: put back the
    /// registers the guest passed (sproot may have rewritten path
    /// arguments, or skipped the syscall) and show the stop.
    fn tracee_syscall_exit_shown(&mut self, tid: i32) {
        let Some(l) = self.guest.link(tid) else {
            return;
        };
        if !(l.in_syscall && !l.stopped && self.kernel.gate.holds(tid)) {
            return;
        }
        let status = l.syscall_status();
        let pid = Pid::from_raw(tid);
        if let Some(entry) = self.entry_regs.remove(&tid)
            && let Ok(now) = ptrace::get_regs(pid)
        {
            let mut shown = entry;
            shown.set_ret(now.ret());
            let _ = ptrace::set_changed_regs(pid, &now, &restore_exit_regs(&now, &shown));
        }
        if let Some(l) = self.guest.link_mut(tid) {
            l.in_syscall = false;
        }
        self.show(tid, status);
    }

    /// The loader's last syscall (its marker `getpid`, with the stack
    /// pointer and entry point in its argument registers): make the
    /// registers what the kernel leaves after `execve` and show the exec.
    fn loader_done(&mut self, tid: i32, mut regs: Regs) {
        let pid = Pid::from_raw(tid);
        log::debug!("guest ptrace: exec of {tid} loaded");
        after_exec_regs(&mut regs);
        let _ = ptrace::set_regs(pid, &regs);
        match read_auxv(pid, regs.sp()).and_then(|v| crate::host::memory_file(c"sproot-auxv", &v)) {
            Ok(fd) => {
                self.waits.auxv.insert(tid, fd);
            }
            Err(e) => log::debug!("auxv of {tid}: {e}"),
        }
        self.entry_regs.remove(&tid);
        if let Some(l) = self.guest.link(tid)
            && !l.syscall_mode
        {
            self.kernel.gate.syscall_stops.remove(&tid);
        }
        match self.guest.exec_done(tid) {
            Some(status) => self.show(tid, status),
            None => self.resume(pid, None, false),
        }
    }

    /// `PTRACE_EVENT_STOP` of `tid`: a guest tracer's interrupt or its
    /// tracee's group-stop or first stop; or sproot's own interrupt of a
    /// waiting guest tracer.
    fn tracee_event_stop(&mut self, tid: i32, sig: Sig) {
        if self.waits.kicked.remove(&tid) {
            return;
        }
        if let Some(l) = self.guest.link_mut(tid) {
            let status = if std::mem::take(&mut l.awaiting_first_stop) {
                l.first_stop_status()
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
        if sig == Sig::TRAP && !self.tasks.contains(tid) {
            // A newborn before its creator's event: hold it if its creator
            // follows new children, until that event says.
            let creator = [
                super::super::read_status_field(tid, "Tgid:"),
                super::super::read_status_field(tid, "PPid:"),
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
        let Ok(child) = ptrace::event_msg(parent).map(|c| c as i32) else {
            return;
        };
        let (vfork, exit_signal, thread) = match ptrace::get_regs(parent) {
            Ok(r) => clone_kind(parent, &r),
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

/// The auxiliary vector (with its `AT_NULL`) of a task whose stack pointer
/// `sp` is at `argc`, as `/proc/<pid>/auxv` has it.
fn read_auxv(pid: Pid, sp: u64) -> Result<Vec<u8>, Errno> {
    let argc = ptrace::read_u64(pid, sp)?;
    let mut at = sp + 8 * (argc + 2);
    for _ in 0..(1 << 16) {
        at += 8;
        if ptrace::read_u64(pid, at - 8)? == 0 {
            break;
        }
    }
    let mut out = Vec::new();
    for _ in 0..64 {
        let mut pair = [0u8; 16];
        ptrace::read_into(pid, at, &mut pair)?;
        out.extend_from_slice(&pair);
        at += 16;
        if pair[..8] == [0; 8] {
            break;
        }
    }
    Ok(out)
}

/// Whether task `tid` is stopped (a group-stop sproot left it in).
fn is_stopped(tid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{tid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_string()))
        .is_some_and(|r| r.starts_with('t') || r.starts_with('T'))
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

/// The registers after `execve`, from the loader's marker stop: the stack
/// pointer at `argc`, the program (or its interpreter) about to run from its
/// entry, every other general register zero, `execve` returned 0.
#[cfg(target_arch = "x86_64")]
fn after_exec_regs(regs: &mut Regs) {
    let r = &mut regs.0;
    let (sp, entry) = (r.rdi, r.rsi);
    for g in [
        &mut r.rax, &mut r.rbx, &mut r.rcx, &mut r.rdx, &mut r.rsi, &mut r.rdi, &mut r.rbp,
        &mut r.r8, &mut r.r9, &mut r.r10, &mut r.r11, &mut r.r12, &mut r.r13, &mut r.r14,
        &mut r.r15,
    ] {
        *g = 0;
    }
    r.rsp = sp;
    r.rip = entry;
    r.orig_rax = crate::arch::sys::SYS_execve as u64;
}

/// Whether guest ptrace is emulated on this architecture (the loader's exec
/// marker, the registers after exec and the syscall replay below are
/// x86_64's).
const EMULATED_HERE: bool = cfg!(target_arch = "x86_64");

/// `open` or `openat`.
fn is_open(sysno: i64) -> bool {
    #[cfg(target_arch = "x86_64")]
    if sysno == crate::arch::sys::SYS_open {
        return true;
    }
    sysno == crate::arch::sys::SYS_openat
}

#[cfg(not(target_arch = "x86_64"))]
fn after_exec_regs(_: &mut Regs) {}

#[cfg(not(target_arch = "x86_64"))]
fn replay_syscall(_: &mut Regs) {}

#[cfg(not(target_arch = "x86_64"))]
fn clone_kind(_: Pid, regs: &Regs) -> (bool, i32, bool) {
    let flags = regs.arg(0);
    (
        flags & libc::CLONE_VFORK as u64 != 0,
        (flags & 0xff) as i32,
        flags & libc::CLONE_THREAD as u64 != 0,
    )
}

/// Registers that run the syscall of a syscall-entry stop again: back to
/// its `syscall` instruction, with its number.
#[cfg(target_arch = "x86_64")]
fn replay_syscall(regs: &mut Regs) {
    regs.0.rip -= 2;
    regs.0.rax = regs.0.orig_rax;
}

/// From a task stopped at its clone/fork/vfork event: whether it is a
/// vfork, the child's exit signal, and whether the child is a thread.
#[cfg(target_arch = "x86_64")]
fn clone_kind(pid: Pid, regs: &Regs) -> (bool, i32, bool) {
    let flags = match regs.sysno() {
        crate::arch::sys::SYS_fork => libc::SIGCHLD as u64,
        crate::arch::sys::SYS_vfork => (libc::CLONE_VFORK | libc::CLONE_VM | libc::SIGCHLD) as u64,
        crate::arch::sys::SYS_clone3 => {
            // struct clone_args: flags at 0, exit_signal at 32.
            let f = ptrace::read_u64(pid, regs.arg(0)).unwrap_or(0);
            let sig = ptrace::read_u64(pid, regs.arg(0) + 32).unwrap_or(0);
            f | (sig & 0xff)
        }
        _ => regs.arg(0),
    };
    (
        flags & libc::CLONE_VFORK as u64 != 0,
        (flags & 0xff) as i32,
        flags & libc::CLONE_THREAD as u64 != 0,
    )
}

/// Write a collected status where the guest's `wait4`/`waitid` asked.
fn write_wait_result(pid: Pid, call: &WaitCall, r: &Report) -> Result<(), Errno> {
    if call.waitid {
        if call.out != 0 {
            let mut si = [0u8; SIGINFO_SIZE];
            si[0..4].copy_from_slice(&libc::SIGCHLD.to_ne_bytes());
            si[8..12].copy_from_slice(&r.si_code().to_ne_bytes());
            si[16..20].copy_from_slice(&r.tracee.to_ne_bytes());
            si[24..28].copy_from_slice(&r.si_status().to_ne_bytes());
            ptrace::write(pid, call.out, &si)?;
        }
    } else if call.out != 0 {
        ptrace::write(pid, call.out, &r.status.to_ne_bytes())?;
    }
    if call.rusage != 0 {
        ptrace::write(pid, call.rusage, &[0u8; RUSAGE_SIZE])?;
    }
    Ok(())
}

/// Requests that read or write the stopped tracee, run by sproot on the
/// guest tracer's behalf with its buffers copied across.
fn forward(
    tracer: Pid,
    tracee: Pid,
    req: u64,
    addr: u64,
    data: u64,
    event_msg: u64,
) -> Result<i64, Errno> {
    const REGS: usize = std::mem::size_of::<libc::user_regs_struct>();
    #[cfg(target_arch = "x86_64")]
    const FPREGS: usize = std::mem::size_of::<libc::user_fpregs_struct>();
    // No PTRACE_GETFPREGS elsewhere (the kernel answers EIO).
    #[cfg(not(target_arch = "x86_64"))]
    const FPREGS: usize = 0;
    let r = req as u32;
    match req {
        // PEEKTEXT, PEEKDATA, PEEKUSER: the word goes to *data.
        1..=3 => {
            let v = guest::word(r, tracee, addr, 0)?;
            ptrace::write(tracer, data, &v.to_ne_bytes())?;
            Ok(0)
        }
        // POKETEXT, POKEDATA, POKEUSER.
        4..=6 => guest::word(r, tracee, addr, data),
        // GETREGS, GETFPREGS.
        12 | 14 => {
            let mut buf = vec![0u8; if req == 12 { REGS } else { FPREGS }];
            guest::with_buffer(r, tracee, 0, &mut buf)?;
            ptrace::write(tracer, data, &buf)?;
            Ok(0)
        }
        // SETREGS, SETFPREGS.
        13 | 15 => {
            let mut buf = vec![0u8; if req == 13 { REGS } else { FPREGS }];
            ptrace::read_into(tracer, data, &mut buf)?;
            guest::with_buffer(r, tracee, 0, &mut buf)
        }
        // GETEVENTMSG.
        0x4201 => {
            ptrace::write(tracer, data, &event_msg.to_ne_bytes())?;
            Ok(0)
        }
        // GETSIGINFO.
        0x4202 => {
            let mut buf = [0u8; SIGINFO_SIZE];
            guest::with_buffer(r, tracee, 0, &mut buf)?;
            ptrace::write(tracer, data, &buf)?;
            Ok(0)
        }
        // SETSIGINFO.
        0x4203 => {
            let mut buf = [0u8; SIGINFO_SIZE];
            ptrace::read_into(tracer, data, &mut buf)?;
            guest::with_buffer(r, tracee, 0, &mut buf)
        }
        // GETREGSET, SETREGSET: `data` is a struct iovec in the tracer.
        0x4204 | 0x4205 => {
            let mut iov = [0u8; 16];
            ptrace::read_into(tracer, data, &mut iov)?;
            let base = u64::from_ne_bytes(iov[..8].try_into().unwrap_or_default());
            let len = u64::from_ne_bytes(iov[8..].try_into().unwrap_or_default());
            let mut buf = vec![0u8; len.min(1 << 16) as usize];
            let set = req == 0x4205;
            if set {
                ptrace::read_into(tracer, base, &mut buf)?;
            }
            let n = guest::regset(set, tracee, addr, &mut buf)?;
            if !set {
                ptrace::write(tracer, base, &buf[..n.min(buf.len())])?;
            }
            ptrace::write(tracer, data + 8, &(n as u64).to_ne_bytes())?;
            Ok(0)
        }
        // GETSIGMASK (addr: size).
        0x420a => {
            let mut buf = [0u8; 8];
            guest::with_buffer(r, tracee, addr.min(8), &mut buf)?;
            ptrace::write(tracer, data, &buf)?;
            Ok(0)
        }
        // SETSIGMASK.
        0x420b => {
            let mut buf = [0u8; 8];
            ptrace::read_into(tracer, data, &mut buf)?;
            guest::with_buffer(r, tracee, addr.min(8), &mut buf)
        }
        // GET_SYSCALL_INFO (addr: the buffer's size).
        0x420e => {
            let mut buf = [0u8; 88];
            let n = guest::with_buffer(r, tracee, buf.len() as u64, &mut buf)?;
            let copy = (n.max(0) as u64).min(addr).min(buf.len() as u64) as usize;
            ptrace::write(tracer, data, &buf[..copy])?;
            Ok(n)
        }
        _ => {
            log::info!("guest ptrace: request {req:#x} is not emulated (EIO)");
            Err(Errno::EIO)
        }
    }
}
