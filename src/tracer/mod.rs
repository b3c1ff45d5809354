//! The tracer: spawn the first guest process and run the batched event loop
//! until every tracee is gone.
//!
//! Correctness never depends on the order events arrive in: a stop from a
//! pid the tracer does not know yet (a newborn whose parent's clone event has
//! not been seen) is claimed on the spot, inheriting from its thread group or
//! parent read from `/proc`, and resumed; the parent's event later only
//! confirms it. No stop is ever held waiting for another event.

pub mod adopt;
pub mod affinity;
pub mod chaos;
pub mod event;
mod exec;
pub mod guest;
pub mod lifecycle;
#[cfg(test)]
mod model;
mod outer_trap;
pub mod placement;
pub mod signals;
pub mod spawn;
pub mod spin;
pub mod stats;
mod stopped;
mod syscalls;
mod sysv;

pub use stats::report_stats;

use crate::arch::Regs;
use crate::config::Config;
use crate::fs::ProcContext;
use crate::ptrace;
use crate::syscall::Env;
use anyhow::Result;
use event::{Event, Sig};
use lifecycle::{Inherit, Kernel, SignalStop, Tasks};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stats::Stats;
use std::cell::Cell;
use std::path::PathBuf;

/// Most events taken from `waitpid` in one batch.
const MAX_BATCH: usize = 256;

/// What the tracer keeps about one traced thread.
#[derive(Default)]
pub struct Tracee {
    /// Thread-group id, read from /proc when first needed.
    tgid: Cell<Option<i32>>,
    /// The guest program this thread runs (for `/proc/<pid>/exe`).
    exe_host: Option<PathBuf>,
    /// Inside a syscall (as far as the tracer saw its entry): what is due
    /// at its exit. Without seccomp, `None` means the next syscall stop is
    /// an entry.
    syscall: Option<syscalls::AtExit>,
    /// The arguments of the last syscall the tracer rewrote, to recognise
    /// its restart.
    last_rewrite: Option<crate::syscall::restart::Rewrite>,
    /// `-0`/`-i`: this thread's fake credentials (borrowed by the
    /// handler's context while other tracees are looked up).
    creds: std::cell::RefCell<Option<crate::ext::fake_id::Creds>>,
    /// Host files the loader is about to open, in order: its own `open`s
    /// name host paths and must not be translated.
    loader_opens: Vec<PathBuf>,
    /// The first tracee before its first `execve`: sproot's own start-up
    /// code, whose syscalls (seen without seccomp) use host paths.
    prelude: bool,
    /// A call an outer seccomp filter trapped, running as an allowed
    /// equivalent (outer_trap.rs).
    outer: Option<outer_trap::OuterCall>,
    /// A child of a trapped `fork`/`vfork` run as `clone`: its argument
    /// registers as the guest had them, to put back at its first stop.
    fork_child_args: Option<[u64; 6]>,
}

impl Inherit for Tracee {
    fn child_of(parent: &Tracee) -> Tracee {
        Tracee {
            exe_host: parent.exe_host.clone(),
            creds: parent.creds.clone(),
            fork_child_args: parent
                .outer
                .as_ref()
                .and_then(outer_trap::OuterCall::fork_child_args),
            ..Tracee::default()
        }
    }
}

/// The real kernel, through ptrace and /proc.
struct Ptrace {
    seccomp: bool,
    /// Guest ptrace: tasks held for a guest tracer, or stopping at syscalls.
    gate: guest::hooks::Gate,
    /// Threads running an equivalent of a trapped call (outer_trap.rs):
    /// every resume stops at their next syscall stop.
    outer: std::collections::HashSet<i32>,
}

impl lifecycle::StoppedTask for stopped::Stopped {
    fn tid(&self) -> i32 {
        self.pid().as_raw()
    }
}

impl Kernel for Ptrace {
    type Stop = stopped::Stopped;
    fn new_child_of(&mut self, parent: i32) -> Option<i32> {
        ptrace::event_msg(Pid::from_raw(parent))
            .ok()
            .map(|c| c as i32)
    }
    fn resume(&mut self, stop: stopped::Stopped, sig: Option<Sig>) {
        let pid = stop.consume();
        let want_exit = self.outer.contains(&pid.as_raw());
        resume(self.seccomp, &self.gate, pid, sig, want_exit);
    }
    fn listen(&mut self, stop: stopped::Stopped) {
        let pid = stop.consume();
        if self.gate.holds(pid.as_raw()) {
            return;
        }
        match ptrace::listen(pid) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                // Not left stopped for good: it runs on, the group-stop
                // missed.
                log::warn!("cannot leave {pid} in its group-stop: {e}; resuming it");
                let want_exit = self.outer.contains(&pid.as_raw());
                resume(self.seccomp, &self.gate, pid, None, want_exit);
            }
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
fn resume(seccomp: bool, gate: &guest::hooks::Gate, pid: Pid, sig: Option<Sig>, want_exit: bool) {
    resume_with(
        &mut guest::backend::Ptrace,
        seccomp,
        gate,
        pid,
        sig,
        want_exit,
    );
}

/// [`resume`] through `tasks` (the kernel, or a fake in tests). A failure
/// is settled in `stopped::settle`: gone, or killed with a message (left
/// stopped, it would hang the run).
fn resume_with<T: guest::backend::TaskControl + ?Sized>(
    tasks: &mut T,
    seccomp: bool,
    gate: &guest::hooks::Gate,
    pid: Pid,
    sig: Option<Sig>,
    want_exit: bool,
) {
    if gate.holds(pid.as_raw()) {
        return;
    }
    if let Some(w) = &gate.window {
        w.before_resume(pid.as_raw());
    }
    let sig = sig.map_or(0, Sig::number);
    let syscall = want_exit || !seccomp || gate.syscall_stops(pid.as_raw());
    if let Err(e) = tasks.resume(pid, sig, syscall) {
        stopped::settle(pid, e, "resume", |pid| {
            let _ = tasks.kill(pid, Signal::SIGKILL);
        });
    }
}

pub(crate) fn read_status_field(pid: i32, field: &str) -> Option<i32> {
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
    fn exe_host(&self, pid: i32) -> Option<Vec<u8>> {
        self.tasks
            .get(pid)
            .and_then(|t| t.exe_host.clone())
            .map(|p| std::os::unix::ffi::OsStringExt::into_vec(p.into_os_string()))
    }
    fn is_guest(&self, pid: i32) -> bool {
        self.tasks.get(pid).is_some()
    }
}

pub struct Tracer<'a> {
    cfg: &'a Config,
    /// Whether sproot's seccomp filter stops the trapped calls (else every
    /// syscall stops: `--no-seccomp`, and the tracer of an in-process run).
    seccomp: bool,
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
    /// Guest ptrace (guest/tracing.rs, guest/hooks.rs).
    guest: guest::tracing::GuestPtrace,
    waits: guest::hooks::Waits,
    entry_regs: std::collections::HashMap<i32, Regs>,
    /// Guest seccomp filters (guest/filters.rs), and sproot's own filters
    /// to tell its stops from theirs.
    gsec: guest::filters::GuestFilters,
    own_filters: Option<guest::filter_hooks::OwnFilters>,
    /// `--sysvipc`: the run's SysV IPC namespace (sysv.rs).
    ipc: Option<crate::ext::sysvipc::SysvIpc>,
    /// Under `--engine=inproc`: the processes taken in (adopt.rs).
    fallback: Option<adopt::Requests>,
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
            seccomp: cfg.seccomp,
            env: Env::new(&cfg.view, &cfg.ext, loader, cfg.l2s_dir.as_deref()),
            tasks: Tasks::new(first.as_raw(), t, cfg.kill_on_exit),
            kernel: Ptrace {
                seccomp: cfg.seccomp,
                gate: Default::default(),
                outer: Default::default(),
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
            gsec: Default::default(),
            own_filters: None,
            ipc: sysv::new_namespace(cfg),
            fallback: None,
        }
    }

    /// The tracer of an `--engine=inproc` run, once a guest process asks
    /// for one (adopt.rs): it traces no process yet; `first` is the run's
    /// first process (untraced; `first_status` if it has ended already).
    /// Every syscall of a traced process stops (no seccomp stops).
    pub fn adopting(
        cfg: &'a Config,
        loader: PathBuf,
        first: Pid,
        first_status: Option<i32>,
        requests: adopt::Requests,
        window: adopt::WindowMoves,
    ) -> Self {
        let mut t = Tracer::new(cfg, loader, first);
        // Fake owners, attributes, `uname`'s names: the runtimes' own.
        match requests.shared() {
            Ok(m) => t.env.shared = Box::new(m),
            Err(e) => log::warn!("the tracer does not share the guests' fake owners: {e:#}"),
        }
        t.tasks = Tasks::adopting(first.as_raw(), first_status, cfg.kill_on_exit);
        t.seccomp = false;
        t.kernel.seccomp = false;
        // The run's SysV IPC namespace stays the launcher's broker's.
        t.ipc = None;
        t.kernel.gate.window = Some(window);
        t.fallback = Some(requests);
        t
    }

    fn resume(&self, pid: Pid, sig: Option<Sig>, want_exit: bool) {
        let want_exit = want_exit
            || (!self.kernel.outer.is_empty() && self.kernel.outer.contains(&pid.as_raw()));
        resume(self.seccomp, &self.kernel.gate, pid, sig, want_exit);
    }

    /// Run until every tracee is gone; returns the first tracee's status.
    pub fn run(&mut self) -> Result<i32> {
        if self.fallback.is_none() {
            self.resume(self.first, None, false);
        }
        let mut batch: Vec<Event> = Vec::with_capacity(MAX_BATCH);
        // Events chaos mode held back from the previous batch.
        let mut held: Vec<Event> = Vec::new();
        loop {
            if self.fallback.as_ref().is_some_and(adopt::Requests::pending) {
                self.serve_requests();
            }
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
        if self.kernel.gate.window.is_some() {
            self.window_event(ev);
        }
        if let Event::Signal { pid, sig } = ev {
            // A syscall an outer seccomp filter (Android's app policy)
            // trapped.
            if sig.number() == libc::SIGSYS && self.outer_trap(pid) {
                return;
            }
            // sproot's wake-up of a thread waiting under --sysvipc.
            if sig.number() == sysv::WAKE && self.is_wake(pid) {
                return self.on_wake(stopped::Stopped::new(pid));
            }
        }
        // Guest ptrace: stops a guest tracer must see (guest/hooks.rs).
        let guest = self.guest.active() || !self.waits.is_empty() || self.gsec.active();
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
                let child = self
                    .tasks
                    .on_new_child(&mut self.kernel, stopped::Stopped::new(parent));
                if self.ipc.is_some()
                    && let Some(child) = child
                {
                    self.sysv_new_child(parent.as_raw(), child);
                }
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
                if !self.seccomp {
                    // Only a guest's own filter stops here, and sproot
                    // evaluated it at the syscall-entry stop before
                    // (guest/filter_hooks.rs).
                    return self.restart(stopped::Stopped::new(pid), false);
                }
                if !self.kernel.outer.is_empty() && self.is_own_call(pid.as_raw()) {
                    // sproot's own call (sysv.rs): run as it is.
                    return self.restart(stopped::Stopped::new(pid), true);
                }
                self.on_syscall_entry(pid);
            }
            Event::Syscall { pid } => self.on_syscall_stop(pid),
            Event::OtherEvent { pid } => {
                self.stats.other_events += 1;
                self.restart(stopped::Stopped::new(pid), false);
            }
            Event::Stop { pid, sig } => {
                if !self.kernel.outer.is_empty() {
                    self.fix_fork_child(pid);
                }
                let r = self
                    .tasks
                    .on_event_stop(&mut self.kernel, stopped::Stopped::new(pid), sig);
                self.count_signal_stop(r);
            }
            Event::Signal { pid, sig } => {
                let r =
                    self.tasks
                        .on_signal_stop(&mut self.kernel, stopped::Stopped::new(pid), sig);
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

    /// Under `--engine=inproc`, before anything else sees `ev`: a syscall
    /// moved into the runtime's window gets its own instruction pointer
    /// back at its exit (adopt.rs).
    fn window_event(&mut self, ev: Event) {
        let Some(w) = &self.kernel.gate.window else {
            return;
        };
        match ev {
            Event::Syscall { pid } => {
                let raw = pid.as_raw();
                let entering = self.tasks.get(raw).is_none_or(|t| t.syscall.is_none());
                if let Err(e) = w.on_syscall_stop(raw, entering) {
                    log::debug!("{pid}: put back the instruction pointer: {e}");
                }
            }
            Event::Exec { pid } => {
                let former = ptrace::event_msg(pid).ok().map(|f| f as i32);
                w.on_exec(pid.as_raw(), former);
            }
            Event::Exited { pid, .. } | Event::Killed { pid, .. } => w.forget(pid.as_raw()),
            _ => {}
        }
    }

    fn on_gone(&mut self, pid: Pid, status: i32) {
        self.stats.exits += 1;
        if let Some(hot) = &mut self.hot
            && let Some(m) = hot.on_gone(pid.as_raw())
        {
            affinity::apply(m);
        }
        self.forget_outer(pid.as_raw());
        if self.ipc.is_some() {
            self.sysv_gone(pid.as_raw());
        }
        // Modes a fake root lifted for a call it never returned from.
        self.env
            .restore
            .borrow_mut()
            .restore(pid.as_raw(), self.env.host);
        self.tasks.on_gone(&mut self.kernel, pid.as_raw(), status);
        if pid == self.first {
            signals::forget_first();
        }
        if self.fallback.is_some() {
            self.fallback_gone();
        }
    }
}
