//! The tracer: spawn the first guest process and run the batched event loop
//! until every tracee is gone.
//!
//! Correctness never depends on the order events arrive in: a stop from a
//! pid the tracer does not know yet (a newborn whose parent's clone event has
//! not been seen) is claimed on the spot, inheriting from its thread group or
//! parent read from `/proc`, and resumed; the parent's event later only
//! confirms it. No stop is ever held waiting for another event.

pub mod event;
pub mod signals;
pub mod spawn;
pub mod stats;

use crate::arch::{RED_ZONE, Regs};
use crate::config::Config;
use crate::exec::ExecPlan;
use crate::fs::ProcContext;
use crate::ptrace;
use crate::syscall::{self, Env, Outcome};
use anyhow::Result;
use event::Event;
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use stats::Stats;
use std::cell::Cell;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Most events taken from `waitpid` in one batch.
const MAX_BATCH: usize = 256;

/// What the tracer keeps about one traced thread.
#[derive(Default)]
pub struct Tracee {
    /// Thread-group id, read from /proc when first needed.
    tgid: Cell<Option<i32>>,
    /// The guest program this thread runs (for `/proc/<pid>/exe`).
    exe_host: Option<PathBuf>,
    /// An exec rewritten to start the loader, until its exec event.
    pending_exec: Option<Box<ExecPlan>>,
    /// Without seccomp: whether the next syscall stop is an exit.
    in_syscall: bool,
    /// Without seccomp: the result to write at the exit of an emulated call.
    exit_value: Option<i64>,
    /// A new tracee whose first `SIGSTOP` has not been seen yet.
    awaiting_first_stop: bool,
    /// Host files the loader is about to open, in order: its own `open`s
    /// name host paths and must not be translated.
    loader_opens: Vec<PathBuf>,
    /// The first tracee before its first `execve`: sproot's own start-up
    /// code, whose syscalls (seen without seccomp) use host paths.
    prelude: bool,
}

impl Tracee {
    fn child_of(parent: &Tracee) -> Tracee {
        Tracee {
            exe_host: parent.exe_host.clone(),
            ..Tracee::default()
        }
    }
}

fn read_status_field(pid: i32, field: &str) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().parse().ok())
}

/// The view of one tracee that path resolution needs.
struct Proc<'a> {
    tracees: &'a HashMap<i32, Tracee>,
    tid: i32,
}

impl ProcContext for Proc<'_> {
    fn pid(&self) -> i32 {
        let Some(t) = self.tracees.get(&self.tid) else {
            return self.tid;
        };
        if let Some(g) = t.tgid.get() {
            return g;
        }
        let g = read_status_field(self.tid, "Tgid:").unwrap_or(self.tid);
        t.tgid.set(Some(g));
        g
    }
    fn tid(&self) -> i32 {
        self.tid
    }
    fn exe_host(&self, pid: i32) -> Option<PathBuf> {
        self.tracees.get(&pid).and_then(|t| t.exe_host.clone())
    }
}

pub struct Tracer<'a> {
    cfg: &'a Config,
    loader: PathBuf,
    tracees: HashMap<i32, Tracee>,
    first: Pid,
    first_status: Option<i32>,
    pub stats: Stats,
}

impl<'a> Tracer<'a> {
    pub fn new(cfg: &'a Config, loader: PathBuf, first: Pid) -> Self {
        let mut tracees = HashMap::new();
        let t = Tracee {
            prelude: true,
            ..Tracee::default()
        };
        tracees.insert(first.as_raw(), t);
        Tracer {
            cfg,
            loader,
            tracees,
            first,
            first_status: None,
            stats: Stats::default(),
        }
    }

    /// Resume a tracee; `want_exit` asks for its syscall-exit stop.
    fn resume(&self, pid: Pid, sig: Option<Signal>, want_exit: bool) {
        let r = if want_exit || !self.cfg.seccomp {
            ptrace::cont_syscall(pid, sig)
        } else {
            ptrace::cont(pid, sig)
        };
        if let Err(e) = r {
            // ESRCH: gone (killed meanwhile); its exit report follows.
            log::debug!("resume {pid}: {e}");
        }
    }

    /// Run until every tracee is gone; returns the first tracee's status.
    pub fn run(&mut self) -> Result<i32> {
        self.resume(self.first, None, false);
        let mut batch: Vec<Event> = Vec::with_capacity(MAX_BATCH);
        loop {
            batch.clear();
            match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(ws) => batch.extend(Event::from_wait(ws)),
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => break,
                Err(e) => return Err(anyhow::anyhow!("waitpid: {e}")),
            }
            while batch.len() < MAX_BATCH {
                match waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => break,
                    Ok(ws) => batch.extend(Event::from_wait(ws)),
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
            self.stats.batches += 1;
            self.stats.events += batch.len() as u64;
            self.stats.largest_batch = self.stats.largest_batch.max(batch.len() as u64);
            event::sort_batch(&mut batch);
            for ev in batch.iter().copied() {
                self.handle(ev);
            }
        }
        Ok(self.first_status.unwrap_or(1))
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::NewChild { parent } => self.on_new_child(parent),
            Event::Exec { pid } => self.on_exec(pid),
            Event::Seccomp { pid } => {
                self.stats.seccomp += 1;
                self.on_syscall_entry(pid);
            }
            Event::Syscall { pid } => self.on_syscall_stop(pid),
            Event::OtherEvent { pid } => {
                self.stats.other_events += 1;
                self.resume(pid, None, false);
            }
            Event::Signal { pid, sig } => self.on_signal(pid, sig),
            Event::Exited { pid, code } => self.on_gone(pid, code),
            Event::Killed { pid, sig } => self.on_gone(pid, 128 + sig as i32),
        }
    }

    fn on_new_child(&mut self, parent: Pid) {
        self.stats.clone_events += 1;
        if let Ok(child) = ptrace::event_msg(parent) {
            let child = child as i32;
            if !self.tracees.contains_key(&child) {
                let mut t = self
                    .tracees
                    .get(&parent.as_raw())
                    .map(Tracee::child_of)
                    .unwrap_or_default();
                t.awaiting_first_stop = true;
                self.tracees.insert(child, t);
            }
        }
        self.resume(parent, None, false);
    }

    /// A stop from a pid we have not registered: a newborn whose parent's
    /// event has not been handled yet. Inherit from its thread group leader
    /// or parent as /proc tells them.
    fn claim_unknown(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        let from = [
            read_status_field(raw, "Tgid:"),
            read_status_field(raw, "PPid:"),
        ]
        .into_iter()
        .flatten()
        .find(|p| *p != raw && self.tracees.contains_key(p));
        let t = from
            .and_then(|p| self.tracees.get(&p))
            .map(Tracee::child_of)
            .unwrap_or_default();
        self.tracees.insert(raw, t);
    }

    fn on_signal(&mut self, pid: Pid, sig: Signal) {
        let raw = pid.as_raw();
        if !self.tracees.contains_key(&raw) {
            self.stats.newborn_stops += 1;
            self.stats.newborn_before_parent += 1;
            self.claim_unknown(pid);
            let deliver = (sig != Signal::SIGSTOP).then_some(sig);
            self.resume(pid, deliver, false);
            return;
        }
        if sig == Signal::SIGSTOP
            && let Some(t) = self.tracees.get_mut(&raw)
            && t.awaiting_first_stop
        {
            t.awaiting_first_stop = false;
            self.stats.newborn_stops += 1;
            self.resume(pid, None, false);
            return;
        }
        match ptrace::signal_stop_kind(pid) {
            Ok(Some(_)) => {
                self.stats.signal_stops += 1;
                self.resume(pid, Some(sig), false);
            }
            Ok(None) => {
                // Group-stop of a tracee attached without PTRACE_SEIZE: it
                // cannot be left stopped (SIGCONT could not wake it), so it
                // resumes. Job control of guests is therefore limited.
                self.stats.group_stops += 1;
                self.resume(pid, None, false);
            }
            Err(e) => log::debug!("siginfo {pid}: {e}"),
        }
    }

    fn on_gone(&mut self, pid: Pid, status: i32) {
        self.stats.exits += 1;
        self.tracees.remove(&pid.as_raw());
        if pid == self.first {
            self.first_status = Some(status);
            signals::forget_first();
            if self.cfg.kill_on_exit {
                for other in self.tracees.keys() {
                    let _ = kill(Pid::from_raw(*other), Signal::SIGKILL);
                }
            }
        }
    }

    fn on_syscall_stop(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        if !self.cfg.seccomp {
            let entering = match self.tracees.get_mut(&raw) {
                Some(t) => {
                    t.in_syscall = !t.in_syscall;
                    t.in_syscall
                }
                None => {
                    self.claim_unknown(pid);
                    if let Some(t) = self.tracees.get_mut(&raw) {
                        t.in_syscall = true;
                    }
                    true
                }
            };
            if entering {
                self.stats.syscall_entry += 1;
                self.on_syscall_entry(pid);
                return;
            }
        }
        self.stats.syscall_exit += 1;
        self.on_syscall_exit(pid);
    }

    fn on_syscall_exit(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        if let Some(t) = self.tracees.get_mut(&raw) {
            let value = t.exit_value.take();
            let failed_exec = t.pending_exec.take().is_some();
            if (value.is_some() || failed_exec)
                && let Ok(mut regs) = ptrace::get_regs(pid)
            {
                if let Some(v) = value {
                    regs.set_ret(v);
                    let _ = ptrace::set_regs(pid, &regs);
                } else {
                    log::debug!("exec in {pid} failed: {}", regs.ret());
                }
            }
        }
        self.resume(pid, None, false);
    }

    fn on_syscall_entry(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        let mut regs: Regs = match ptrace::get_regs(pid) {
            Ok(r) => r,
            Err(e) => {
                log::debug!("getregs {pid}: {e}");
                return;
            }
        };
        if self.is_loader_open(raw, &regs) || self.in_prelude(raw, &regs) {
            self.resume(pid, None, false);
            return;
        }
        let outcome = {
            let env = Env {
                view: &self.cfg.view,
                loader: &self.loader,
            };
            let proc = Proc {
                tracees: &self.tracees,
                tid: raw,
            };
            syscall::enter(&env, &proc, pid, &mut regs)
        };
        if log::log_enabled!(log::Level::Trace) {
            log::trace!(
                "{pid} {} -> {}",
                syscall::names::name(regs.sysno()),
                match &outcome {
                    Outcome::Pass => "pass".to_string(),
                    Outcome::Rewritten => "rewritten".to_string(),
                    Outcome::Emulated(v) => format!("emulated {v}"),
                    Outcome::Exec(_) => "exec".to_string(),
                }
            );
        }
        match outcome {
            Outcome::Pass => self.resume(pid, None, false),
            Outcome::Rewritten => {
                if ptrace::set_regs(pid, &regs).is_ok() {
                    self.resume(pid, None, false);
                }
            }
            Outcome::Emulated(v) => {
                regs.set_sysno(-1);
                regs.set_ret(v);
                if ptrace::set_regs(pid, &regs).is_ok() {
                    if !self.cfg.seccomp
                        && let Some(t) = self.tracees.get_mut(&raw)
                    {
                        t.exit_value = Some(v);
                    }
                    self.resume(pid, None, false);
                }
            }
            Outcome::Exec(plan) => {
                if ptrace::set_regs(pid, &regs).is_ok() {
                    if let Some(t) = self.tracees.get_mut(&raw) {
                        t.pending_exec = Some(plan);
                    }
                    self.resume(pid, None, true);
                }
            }
        }
    }

    /// The loader opening the next file of its script: host paths, run as
    /// they are.
    fn is_loader_open(&mut self, raw: i32, regs: &Regs) -> bool {
        let Some(t) = self.tracees.get_mut(&raw) else {
            return false;
        };
        let Some(expected) = t.loader_opens.first() else {
            return false;
        };
        if regs.sysno() != libc::SYS_open {
            return false;
        }
        let Ok(path) = ptrace::read_cstring(Pid::from_raw(raw), regs.arg(0), 4096) else {
            return false;
        };
        if path != expected.as_os_str().as_bytes() {
            return false;
        }
        t.loader_opens.remove(0);
        true
    }

    /// Whether this syscall is sproot's own start-up code in the child.
    fn in_prelude(&mut self, raw: i32, regs: &Regs) -> bool {
        match self.tracees.get_mut(&raw) {
            Some(t) if t.prelude => {
                if regs.sysno() == libc::SYS_execve {
                    t.prelude = false;
                    false
                } else {
                    true
                }
            }
            _ => false,
        }
    }

    fn on_exec(&mut self, pid: Pid) {
        self.stats.exec_events += 1;
        let raw = pid.as_raw();
        // An exec from a non-leader thread: the thread takes the leader's
        // pid; its state moves with it.
        if let Ok(former) = ptrace::event_msg(pid) {
            let former = former as i32;
            if former != raw
                && let Some(t) = self.tracees.remove(&former)
            {
                self.tracees.insert(raw, t);
            }
        }
        let plan = self
            .tracees
            .get_mut(&raw)
            .and_then(|t| t.pending_exec.take());
        if let Some(plan) = plan {
            if let Err(e) = self.hand_off_to_loader(pid, &plan) {
                log::error!("exec hand-off to the loader failed in {pid}: {e}");
                let _ = kill(pid, Signal::SIGKILL);
                return;
            }
            if let Some(t) = self.tracees.get_mut(&raw) {
                t.exe_host = Some(plan.exe_host.clone());
                t.tgid.set(Some(raw));
                t.loader_opens = std::iter::once(&plan.program)
                    .chain(plan.interp.as_ref())
                    .map(|o| o.host_path.clone())
                    .collect();
            }
        }
        self.resume(pid, None, false);
    }

    /// Write the load script below the loader's initial stack pointer and
    /// point the stack pointer at it.
    fn hand_off_to_loader(&self, pid: Pid, plan: &ExecPlan) -> Result<(), Errno> {
        let mut regs = ptrace::get_regs(pid)?;
        let sp = regs.sp();
        let script = plan.script(sp);
        let at = sp
            .checked_sub(RED_ZONE + script.len() as u64)
            .ok_or(Errno::EFAULT)?
            & !15;
        ptrace::write(pid, at, &script)?;
        regs.set_sp(at);
        ptrace::set_regs(pid, &regs)
    }
}

/// Print the stats where `--stats` asked.
pub fn report_stats(stats: &Stats, dest: &str) {
    let text = format!("{stats}\n");
    if dest == "-" {
        eprint!("{text}");
    } else if let Err(e) = std::fs::write(Path::new(dest), text) {
        log::error!("write stats to {dest}: {e}");
    }
}
