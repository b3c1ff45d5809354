//! The tracer: spawn the first guest process and run the batched event loop
//! until every tracee is gone.
//!
//! Correctness never depends on the order events arrive in: a stop from a
//! pid the tracer does not know yet (a newborn whose parent's clone event has
//! not been seen) is claimed on the spot, inheriting from its thread group or
//! parent read from `/proc`, and resumed; the parent's event later only
//! confirms it. No stop is ever held waiting for another event.

pub mod affinity;
pub mod chaos;
pub mod event;
mod guest_hooks;
pub mod guest_ptrace;
pub mod lifecycle;
#[cfg(test)]
mod model;
pub mod placement;
pub mod signals;
pub mod spawn;
pub mod spin;
pub mod stats;

use crate::arch::{RED_ZONE, Regs, sys};
use crate::config::Config;
use crate::exec::ExecPlan;
use crate::fs::ProcContext;
use crate::ptrace;
use crate::syscall::{self, Ctx, Env, Outcome};
use anyhow::Result;
use event::{Event, Sig};
use lifecycle::{Inherit, Kernel, SignalStop, Tasks};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stats::Stats;
use std::cell::Cell;
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
    /// Extension work due at the current syscall's exit.
    exit_hook: Option<syscall::ext::ExitHook>,
    /// `-0`/`-i`: this thread's fake credentials (borrowed by the
    /// handler's context while other tracees are looked up).
    creds: std::cell::RefCell<Option<crate::ext::fake_id::Creds>>,
    /// Host files the loader is about to open, in order: its own `open`s
    /// name host paths and must not be translated.
    loader_opens: Vec<PathBuf>,
    /// The first tracee before its first `execve`: sproot's own start-up
    /// code, whose syscalls (seen without seccomp) use host paths.
    prelude: bool,
}

impl Inherit for Tracee {
    fn child_of(parent: &Tracee) -> Tracee {
        Tracee {
            exe_host: parent.exe_host.clone(),
            creds: parent.creds.clone(),
            ..Tracee::default()
        }
    }
}

/// The real kernel, through ptrace and /proc.
struct Ptrace {
    seccomp: bool,
    /// Guest ptrace: tasks held for a guest tracer, or stopping at syscalls.
    gate: guest_hooks::Gate,
}

impl Kernel for Ptrace {
    fn new_child_of(&mut self, parent: i32) -> Option<i32> {
        ptrace::event_msg(Pid::from_raw(parent))
            .ok()
            .map(|c| c as i32)
    }
    fn resume(&mut self, pid: i32, sig: Option<Sig>) {
        resume(self.seccomp, &self.gate, Pid::from_raw(pid), sig, false);
    }
    fn listen(&mut self, pid: i32) {
        if self.gate.holds(pid) {
            return;
        }
        if let Err(e) = ptrace::listen(Pid::from_raw(pid)) {
            log::debug!("listen {pid}: {e}");
        }
    }
    fn lineage(&mut self, pid: i32) -> [Option<i32>; 2] {
        [
            read_status_field(pid, "Tgid:"),
            read_status_field(pid, "PPid:"),
        ]
    }
    fn kill(&mut self, pid: i32) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Resume a tracee; `want_exit` asks for its syscall-exit stop. Without
/// seccomp every resume stops at the next syscall.
fn resume(seccomp: bool, gate: &guest_hooks::Gate, pid: Pid, sig: Option<Sig>, want_exit: bool) {
    if gate.holds(pid.as_raw()) {
        return;
    }
    let sig = sig.map_or(0, Sig::number);
    let r = if want_exit || !seccomp || gate.syscall_stops(pid.as_raw()) {
        ptrace::cont_syscall(pid, sig)
    } else {
        ptrace::cont(pid, sig)
    };
    if let Err(e) = r {
        // ESRCH: gone (killed meanwhile); its exit report follows.
        log::debug!("resume {pid}: {e}");
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
    tasks: &'a Tasks<Tracee>,
    tid: i32,
}

impl ProcContext for Proc<'_> {
    fn pid(&self) -> i32 {
        let Some(t) = self.tasks.get(self.tid) else {
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
        self.tasks.get(pid).and_then(|t| t.exe_host.clone())
    }
    fn is_guest(&self, pid: i32) -> bool {
        self.tasks.get(pid).is_some()
    }
}

pub struct Tracer<'a> {
    cfg: &'a Config,
    /// What handlers read and share, built once.
    env: Env<'a>,
    tasks: Tasks<Tracee>,
    kernel: Ptrace,
    first: Pid,
    chaos: Option<chaos::Chaos>,
    /// Polls `waitpid` a while before blocking.
    spinner: spin::Spinner,
    /// The hot pair of `--placement=adaptive`, if that is the policy.
    hot: Option<placement::HotPair>,
    /// Benchmark floor (`SPROOT_BARE_STOPS=1`): every trapped syscall but
    /// exec is resumed untouched, so a run measures the cost of the stops
    /// alone. Paths are NOT translated: for benchmarks only.
    bare: bool,
    pub stats: Stats,
    /// Guest ptrace (guest_ptrace.rs, guest_hooks.rs).
    guest: guest_ptrace::GuestPtrace,
    waits: guest_hooks::Waits,
    entry_regs: std::collections::HashMap<i32, Regs>,
}

impl<'a> Tracer<'a> {
    pub fn new(cfg: &'a Config, loader: PathBuf, first: Pid) -> Self {
        let t = Tracee {
            prelude: true,
            creds: std::cell::RefCell::new(
                cfg.ext
                    .fake_id
                    .map(|(uid, gid)| crate::ext::fake_id::Creds::new(uid, gid)),
            ),
            ..Tracee::default()
        };
        Tracer {
            cfg,
            env: Env::new(&cfg.view, &cfg.ext, loader, cfg.l2s_dir.as_deref()),
            tasks: Tasks::new(first.as_raw(), t, cfg.kill_on_exit),
            kernel: Ptrace {
                seccomp: cfg.seccomp,
                gate: Default::default(),
            },
            first,
            chaos: cfg.chaos_seed.map(chaos::Chaos::new),
            spinner: spin::Spinner::new(cfg.spin_us),
            bare: cfg.bare_stops,
            hot: (cfg.placement == placement::Placement::Adaptive)
                .then(placement::HotPair::default),
            stats: Stats::default(),
            guest: Default::default(),
            waits: Default::default(),
            entry_regs: Default::default(),
        }
    }

    fn resume(&self, pid: Pid, sig: Option<Sig>, want_exit: bool) {
        resume(self.cfg.seccomp, &self.kernel.gate, pid, sig, want_exit);
    }

    /// Run until every tracee is gone; returns the first tracee's status.
    pub fn run(&mut self) -> Result<i32> {
        self.resume(self.first, None, false);
        let mut batch: Vec<Event> = Vec::with_capacity(MAX_BATCH);
        // Events chaos mode held back from the previous batch.
        let mut held: Vec<Event> = Vec::new();
        loop {
            batch.clear();
            let carried = held.len();
            batch.append(&mut held);
            // No polling while the hot pair shares a CPU: the guest thread
            // needs that CPU to reach its next stop.
            let paired = self.hot.as_ref().is_some_and(|h| h.pinned().is_some());
            let budget = if batch.is_empty() && !paired {
                self.spinner.budget()
            } else {
                0
            };
            if budget > 0 {
                // Poll a short while before sleeping (see spin.rs).
                let start = std::time::Instant::now();
                loop {
                    match ptrace::wait_any(true) {
                        Ok(None) => {}
                        Ok(Some((pid, status))) => {
                            batch.extend(Event::decode(pid, status));
                            break;
                        }
                        Err(_) => break,
                    }
                    if start.elapsed().as_micros() as u64 >= budget {
                        break;
                    }
                    std::hint::spin_loop();
                }
                self.spinner.polled(!batch.is_empty());
            }
            if batch.is_empty() {
                // Nothing in hand: block for the next report.
                match ptrace::wait_any(false) {
                    Ok(Some((pid, status))) => batch.extend(Event::decode(pid, status)),
                    Ok(None) => continue,
                    Err(Errno::EINTR) => continue,
                    Err(Errno::ECHILD) => break,
                    Err(e) => return Err(anyhow::anyhow!("waitpid: {e}")),
                }
            }
            // Drain what is already pending, without blocking.
            while batch.len() < MAX_BATCH {
                match ptrace::wait_any(true) {
                    Ok(None) => break,
                    Ok(Some((pid, status))) => batch.extend(Event::decode(pid, status)),
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                continue;
            }
            match &mut self.chaos {
                Some(c) => {
                    if c.disorder(&mut batch, carried, &mut held) {
                        // Everything was held back: give the other tracees
                        // (a newborn on its way to its first stop) the CPU.
                        std::thread::sleep(std::time::Duration::from_micros(200));
                    }
                }
                None => event::sort_batch(&mut batch),
            }
            self.stats.batches += 1;
            self.stats.events += batch.len() as u64;
            self.stats.largest_batch = self.stats.largest_batch.max(batch.len() as u64);
            for ev in batch.iter().copied() {
                self.handle(ev);
            }
        }
        Ok(self.tasks.first_status().unwrap_or(1))
    }

    fn handle(&mut self, ev: Event) {
        // Guest ptrace: stops a guest tracer must see (guest_hooks.rs).
        let guest = self.guest.active() || !self.waits.is_empty();
        if guest && self.guest_before(ev) {
            return;
        }
        self.handle_ordinary(ev);
        if guest {
            self.guest_after(ev);
        }
    }

    fn handle_ordinary(&mut self, ev: Event) {
        match ev {
            Event::NewChild { parent } => {
                self.stats.clone_events += 1;
                let child = self.tasks.on_new_child(&mut self.kernel, parent.as_raw());
                if let (Some(hot), Some(child)) = (&mut self.hot, child)
                    && let Some(m) = hot.on_new_child(parent.as_raw(), child)
                {
                    affinity::apply(m);
                }
            }
            Event::Exec { pid } => self.on_exec(pid),
            Event::Seccomp { pid } => {
                self.stats.seccomp += 1;
                if let Some(hot) = &mut self.hot
                    && let Some(m) = hot.on_stop(pid.as_raw())
                {
                    affinity::apply(m);
                }
                self.ensure_known(pid);
                self.on_syscall_entry(pid);
            }
            Event::Syscall { pid } => self.on_syscall_stop(pid),
            Event::OtherEvent { pid } => {
                self.stats.other_events += 1;
                self.resume(pid, None, false);
            }
            Event::Stop { pid, sig } => {
                let r = self
                    .tasks
                    .on_event_stop(&mut self.kernel, pid.as_raw(), sig);
                self.count_signal_stop(r);
            }
            Event::Signal { pid, sig } => {
                let r = self
                    .tasks
                    .on_signal_stop(&mut self.kernel, pid.as_raw(), sig);
                self.count_signal_stop(r);
            }
            Event::Exited { pid, code } => self.on_gone(pid, code),
            Event::Killed { pid, sig } => self.on_gone(pid, 128 + sig.number()),
        }
    }

    fn count_signal_stop(&mut self, r: SignalStop) {
        match r {
            SignalStop::Newborn { before_parent } => {
                self.stats.newborn_stops += 1;
                if before_parent {
                    self.stats.newborn_before_parent += 1;
                }
            }
            SignalStop::Delivery => self.stats.signal_stops += 1,
            SignalStop::Group | SignalStop::Woken => self.stats.group_stops += 1,
            SignalStop::Gone => {}
        }
    }

    /// A syscall or exec stop from a pid not seen before (a newborn that
    /// stopped in a syscall before its first signal stop was handled).
    fn ensure_known(&mut self, pid: Pid) {
        if self.tasks.ensure_known(&mut self.kernel, pid.as_raw()) {
            self.stats.newborn_before_parent += 1;
        }
    }

    fn on_gone(&mut self, pid: Pid, status: i32) {
        self.stats.exits += 1;
        if let Some(hot) = &mut self.hot
            && let Some(m) = hot.on_gone(pid.as_raw())
        {
            affinity::apply(m);
        }
        self.tasks.on_gone(&mut self.kernel, pid.as_raw(), status);
        if pid == self.first {
            signals::forget_first();
        }
    }

    fn on_syscall_stop(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        if !self.cfg.seccomp {
            self.ensure_known(pid);
            let entering = match self.tasks.get_mut(raw) {
                Some(t) => {
                    t.in_syscall = !t.in_syscall;
                    t.in_syscall
                }
                None => true,
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
        let (hook, value, failed_exec) = match self.tasks.get_mut(pid.as_raw()) {
            Some(t) => (
                t.exit_hook.take(),
                t.exit_value.take(),
                t.pending_exec.take().is_some(),
            ),
            None => (None, None, false),
        };
        match hook {
            None => {}
            Some(hook) => {
                if let Ok(regs) = ptrace::get_regs(pid) {
                    let proc = Proc {
                        tasks: &self.tasks,
                        tid: pid.as_raw(),
                    };
                    let mut mem = syscall::TraceeMemory(pid);
                    let mut ctx = Ctx::new(&self.env, &proc, pid, regs, None, &mut mem);
                    if syscall::exit(&mut ctx, hook) {
                        let _ = ptrace::set_regs(pid, &ctx.regs);
                    }
                }
            }
        }
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
        if log::log_enabled!(log::Level::Trace)
            && let Ok(regs) = ptrace::get_regs(pid)
        {
            log::trace!(
                "{pid} {} = {}",
                sys::name(regs.sysno()).unwrap_or("?"),
                regs.ret()
            );
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
        // Guest ptrace: a guest's ptrace, wait4, waitid (guest_hooks.rs).
        if self.guest_may_concern(regs.sysno()) && self.guest_syscall(raw, &regs) {
            return;
        }
        if self.is_loader_open(raw, &regs)
            || self.in_prelude(raw, &regs)
            || (self.bare && !matches!(regs.sysno(), sys::SYS_execve | sys::SYS_execveat))
        {
            self.resume(pid, None, false);
            return;
        }
        let original = regs;
        let outcome = {
            let proc = Proc {
                tasks: &self.tasks,
                tid: raw,
            };
            let mut creds = self.tasks.get(raw).map(|t| t.creds.borrow_mut());
            let mut mem = syscall::TraceeMemory(pid);
            let mut ctx = Ctx::new(
                &self.env,
                &proc,
                pid,
                regs,
                creds.as_mut().and_then(|c| c.as_mut()),
                &mut mem,
            );
            let outcome = syscall::enter(&mut ctx);
            regs = ctx.regs;
            outcome
        };
        // -v 3: each trapped syscall with its arguments, and (at the exit
        // stop asked for below) its result.
        let trace = log::log_enabled!(log::Level::Trace);
        if trace {
            log::trace!(
                "{pid} {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) -> {}",
                sys::name(original.sysno()).unwrap_or("?"),
                original.arg(0),
                original.arg(1),
                original.arg(2),
                original.arg(3),
                original.arg(4),
                original.arg(5),
                match &outcome {
                    Outcome::Pass => "pass".to_string(),
                    Outcome::Rewritten => "rewritten".to_string(),
                    Outcome::Emulated(v) => format!("emulated {v}"),
                    Outcome::Exec(_) => "exec".to_string(),
                    Outcome::WithExit { .. } => "exit hook".to_string(),
                }
            );
        }
        match outcome {
            Outcome::Pass => self.resume(pid, None, trace),
            Outcome::Rewritten => {
                if written(pid, ptrace::set_changed_regs(pid, &original, &regs)) {
                    self.resume(pid, None, trace);
                }
            }
            Outcome::Emulated(v) => {
                regs.set_sysno(-1);
                regs.set_ret(v);
                if written(pid, ptrace::set_changed_regs(pid, &original, &regs)) {
                    if !self.cfg.seccomp
                        && let Some(t) = self.tasks.get_mut(raw)
                    {
                        t.exit_value = Some(v);
                    }
                    self.resume(pid, None, trace);
                }
            }
            Outcome::WithExit { rewritten, hook } => {
                if rewritten && !written(pid, ptrace::set_changed_regs(pid, &original, &regs)) {
                    return;
                }
                if let Some(t) = self.tasks.get_mut(raw) {
                    t.exit_hook = Some(hook);
                }
                self.resume(pid, None, true);
            }
            Outcome::Exec(plan) => {
                if written(pid, ptrace::set_regs(pid, &regs)) {
                    if let Some(t) = self.tasks.get_mut(raw) {
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
        let Some(t) = self.tasks.get_mut(raw) else {
            return false;
        };
        let Some(expected) = t.loader_opens.first() else {
            return false;
        };
        let (open_nr, path_arg) = crate::arch::LOADER_OPEN;
        if regs.sysno() != open_nr {
            return false;
        }
        let Ok(path) = ptrace::read_cstring(Pid::from_raw(raw), regs.arg(path_arg), 4096) else {
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
        match self.tasks.get_mut(raw) {
            Some(t) if t.prelude => {
                if regs.sysno() == sys::SYS_execve {
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
            self.tasks.on_exec_from_thread(former as i32, raw);
        }
        self.ensure_known(pid);
        let plan = self.tasks.get_mut(raw).and_then(|t| t.pending_exec.take());
        if let Some(plan) = plan {
            // Before the hand-off: the stack pointer still points at argc.
            self.fake_ids_after_exec(pid, &plan);
            if let Some(hwcap) = self.env.kernel_release.and_then(|k| k.hwcap)
                && let Err(e) = patch_auxv(pid, |key| (key == libc::AT_HWCAP).then_some(hwcap))
            {
                log::debug!("auxv hwcap of {pid}: {e}");
            }
            if let Err(e) = self.hand_off_to_loader(pid, &plan) {
                log::error!("exec hand-off to the loader failed in {pid}: {e}");
                let _ = kill(pid, Signal::SIGKILL);
                return;
            }
            if let Some(t) = self.tasks.get_mut(raw) {
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

    /// Fake ids across an exec: a set-user-ID (set-group-ID) program owned,
    /// as the guest sees it, by someone runs with that effective id; the
    /// auxiliary vector tells the program the fake ids (`AT_UID`...).
    fn fake_ids_after_exec(&mut self, pid: Pid, plan: &ExecPlan) {
        let raw = pid.as_raw();
        let Some(t) = self.tasks.get(raw) else {
            return;
        };
        let mut creds = t.creds.borrow_mut();
        let Some(creds) = creds.as_mut() else {
            return;
        };
        if let Ok(st) = nix::sys::stat::stat(&plan.exe_host) {
            let shown = self
                .env
                .owners
                .borrow()
                .get(&(st.st_dev, st.st_ino))
                .copied()
                .unwrap_or_else(|| {
                    let real = self.env.real_ids;
                    creds.stat_owner(real.0, real.1, st.st_uid, st.st_gid)
                });
            creds.exec(st.st_mode, shown.0, shown.1);
        }
        let ids = |key| match key {
            libc::AT_UID => Some(u64::from(creds.ruid)),
            libc::AT_EUID => Some(u64::from(creds.euid)),
            libc::AT_GID => Some(u64::from(creds.rgid)),
            libc::AT_EGID => Some(u64::from(creds.egid)),
            _ => None,
        };
        if let Err(e) = patch_auxv(pid, ids) {
            log::debug!("auxv ids of {pid}: {e}");
        }
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

/// Whether a register write at a syscall's entry took effect. When it did
/// not, the tracee is not resumed: gone (`ESRCH`), its exit report follows;
/// any other failure, it is killed rather than left stopped forever or let
/// run a syscall that was not translated.
fn written(pid: Pid, r: Result<(), Errno>) -> bool {
    match r {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(e) => {
            log::error!("cannot write the registers of {pid} ({e}); killing it");
            let _ = kill(pid, Signal::SIGKILL);
            false
        }
    }
}

/// Rewrite entries of the auxiliary vector of a tracee stopped at its exec
/// event (stack pointer at `argc`): `value(key)` gives the new value of an
/// entry, or `None` to keep it.
fn patch_auxv(pid: Pid, value: impl Fn(u64) -> Option<u64>) -> Result<(), Errno> {
    let sp = ptrace::get_regs(pid)?.sp();
    let argc = ptrace::read_u64(pid, sp)?;
    // Skip argv and its NULL, then envp up to its NULL.
    let mut at = sp + 8 * (argc + 2);
    for _ in 0..(1 << 16) {
        let v = ptrace::read_u64(pid, at)?;
        at += 8;
        if v == 0 {
            break;
        }
    }
    for _ in 0..64 {
        let key = ptrace::read_u64(pid, at)?;
        if key == libc::AT_NULL {
            break;
        }
        if let Some(v) = value(key) {
            ptrace::write(pid, at + 8, &v.to_ne_bytes())?;
        }
        at += 16;
    }
    Ok(())
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
