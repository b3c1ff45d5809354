//! The ptrace engine inside an `--engine=inproc` run, for the processes
//! that need a tracer: a guest's own `ptrace` (strace, gdb, a nested
//! sproot) and the processes it names.
//!
//! The launcher keeps the run's shared state mapped and serves requests
//! there ([`MappedState::ask_tracer`]): the runtime of a process that calls
//! `ptrace` asks to be traced, sends `SIGURG`, and waits. The launcher then
//! becomes this tracer: it seizes every thread of the process, interrupts
//! them, and from then on runs them as the ptrace engine does without
//! seccomp (a stop at every syscall's entry and exit), together with the
//! processes that `ptrace` call names (its `PTRACE_TRACEME` parent, its
//! `PTRACE_ATTACH`/`PTRACE_SEIZE` target) and every process they start.
//! The runtime answers nothing in them any more; the rest of the run goes
//! on untraced.
//!
//! Such a process keeps the runtime's seccomp filter, which traps path
//! calls made outside the runtime's code. The kernel runs seccomp *after*
//! the syscall-entry stop, on the registers the tracer left: a call the
//! filter would trap leaves its entry stop with its instruction pointer
//! inside the runtime's window ([`WindowMoves`]), is allowed, and gets its
//! own instruction pointer back at its exit stop. Nothing is ever executed
//! at the moved address.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::unistd::Pid;
use sproot_core::Errno as CoreErrno;
use sproot_core::cbpf::{self, Insn};
use sproot_core::ext::fake_xattr::FileKey;
use sproot_core::ext::kernel_release::Uname;
use sproot_core::shared::{MappedState, SharedState};

use super::{Tracee, Tracer, read_status_field};
use crate::arch::sys;
use crate::ptrace;

/// Where a thread's current syscall stands with the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Move {
    /// At its entry stop: to look at when it is resumed.
    Pending,
    /// Running from the window; its own instruction pointer.
    Moved(u64),
    /// It was an `execve` that succeeded: the registers are the new
    /// program's.
    Exec,
}

/// The calls of traced processes that run from the runtime's window.
pub struct WindowMoves {
    /// The runtime's code, `[lo, hi)`.
    window: (u64, u64),
    /// The runtime's filter, to tell the calls it traps.
    filter: Vec<Insn>,
    at: RefCell<HashMap<i32, Move>>,
}

/// Calls whose new task or restored frame takes the registers as they are
/// at the call: never moved (the runtime's filter does not trap them).
const NEVER_MOVED: &[i64] = &[
    sys::SYS_clone,
    sys::SYS_clone3,
    libc::SYS_rt_sigreturn,
    libc::SYS_exit,
    libc::SYS_exit_group,
    #[cfg(target_arch = "x86_64")]
    sys::SYS_fork,
    #[cfg(target_arch = "x86_64")]
    sys::SYS_vfork,
];

impl WindowMoves {
    pub fn new(window: (u64, u64), filter: Vec<Insn>) -> Self {
        WindowMoves {
            window,
            filter,
            at: RefCell::default(),
        }
    }

    /// Whether `pc` is in the runtime's code (a call the runtime makes).
    pub fn in_window(&self, pc: u64) -> bool {
        (self.window.0..self.window.1).contains(&pc)
    }

    /// A syscall stop of `tid`: its entry (`entering`) or its exit. At the
    /// exit of a moved call, its instruction pointer goes back.
    pub fn on_syscall_stop(&self, tid: i32, entering: bool) -> Result<(), Errno> {
        let mut at = self.at.borrow_mut();
        if entering {
            at.insert(tid, Move::Pending);
            return Ok(());
        }
        match at.remove(&tid) {
            Some(Move::Moved(pc)) => {
                let pid = Pid::from_raw(tid);
                let mut regs = ptrace::get_regs(pid)?;
                regs.set_pc(pc);
                ptrace::set_regs(pid, &regs)
            }
            _ => Ok(()),
        }
    }

    /// `tid` is resumed: from its entry stop, a call the runtime's filter
    /// would trap runs from the window.
    pub fn before_resume(&self, tid: i32) {
        let mut at = self.at.borrow_mut();
        if at.get(&tid) != Some(&Move::Pending) {
            return;
        }
        at.remove(&tid);
        let pid = Pid::from_raw(tid);
        // The number the kernel will run (a guest tracer may have changed
        // it at this stop: aarch64's `NT_ARM_SYSTEM_CALL`).
        let Ok(mut regs) = ptrace::get_regs_as_run(pid) else {
            return;
        };
        let nr = regs.sysno();
        if nr < 0 || NEVER_MOVED.contains(&nr) || self.in_window(regs.pc()) {
            return;
        }
        let data = super::guest::filter_hooks::seccomp_data(&regs);
        let action = cbpf::run(&self.filter, &data).unwrap_or(cbpf::RET_ALLOW);
        if action & cbpf::RET_ACTION_FULL != cbpf::RET_TRAP {
            return;
        }
        let pc = regs.pc();
        regs.set_pc(self.window.0);
        match ptrace::set_regs(pid, &regs) {
            Ok(()) => {
                at.insert(tid, Move::Moved(pc));
            }
            Err(e) => log::debug!("{tid}: move a call into the runtime's window: {e}"),
        }
    }

    /// An exec stop of `tid` (formerly `former`): its call does not come
    /// back to the old program.
    pub fn on_exec(&self, tid: i32, former: Option<i32>) {
        let mut at = self.at.borrow_mut();
        if let Some(f) = former {
            at.remove(&f);
        }
        at.insert(tid, Move::Exec);
    }

    pub fn forget(&self, tid: i32) {
        self.at.borrow_mut().remove(&tid);
    }
}

/// The run's shared state (`sproot_core::shared::MappedState`), mapped
/// in the launcher.
pub struct SharedMap {
    addr: *mut libc::c_void,
}

impl SharedMap {
    /// Map the run's shared state at `path`.
    pub fn open(path: &Path) -> Result<SharedMap> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("open {}", path.display()))?;
        // SAFETY: a new shared mapping of the whole file, unmapped on drop.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                sproot_core::shared::mapped::BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&f),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            bail!("map {}: {}", path.display(), Errno::last());
        }
        Ok(SharedMap { addr })
    }

    pub fn state(&self) -> MappedState<'_> {
        let len = sproot_core::shared::mapped::BYTES / 8;
        // SAFETY: the mapping is `BYTES` bytes, 8-aligned, alive as long as
        // `self`; its words are only reached atomically.
        let words = unsafe { std::slice::from_raw_parts(self.addr as *const AtomicU64, len) };
        MappedState::new(words).expect("the mapping has the state's size")
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, no longer used.
        unsafe { libc::munmap(self.addr, sproot_core::shared::mapped::BYTES) };
    }
}

/// The tracer's handlers share the runtimes' state: fake owners and
/// attributes, `uname`'s names, `-n`'s ports.
impl SharedState for SharedMap {
    fn owner(&self, file: FileKey) -> Option<(u32, u32)> {
        self.state().owner(file)
    }
    fn set_owner(&self, file: FileKey, owner: (u32, u32)) {
        self.state().set_owner(file, owner)
    }
    fn xattr_set(
        &self,
        file: FileKey,
        name: &[u8],
        value: &[u8],
        flags: u32,
    ) -> Result<(), CoreErrno> {
        self.state().xattr_set(file, name, value, flags)
    }
    fn xattr_get(&self, file: FileKey, name: &[u8]) -> Result<Vec<u8>, CoreErrno> {
        self.state().xattr_get(file, name)
    }
    fn xattr_remove(&self, file: FileKey, name: &[u8]) -> Result<(), CoreErrno> {
        self.state().xattr_remove(file, name)
    }
    fn xattr_has_any(&self, file: FileKey) -> bool {
        self.state().xattr_has_any(file)
    }
    fn xattr_list(&self, file: FileKey, kernel: &[u8]) -> Result<Vec<u8>, CoreErrno> {
        self.state().xattr_list(file, kernel)
    }
    fn uname(&self) -> Uname {
        self.state().uname()
    }
    fn set_nodename(&self, name: &[u8]) -> Result<(), CoreErrno> {
        self.state().set_nodename(name)
    }
    fn set_domainname(&self, name: &[u8]) -> Result<(), CoreErrno> {
        self.state().set_domainname(name)
    }
    fn port_target(&self, port: u16) -> u16 {
        self.state().port_target(port)
    }
    fn port_moved(&self, asked: u16, got: u16) {
        self.state().port_moved(asked, got)
    }
}

/// The launcher's side of the requests.
pub struct Requests {
    map: SharedMap,
    /// The shared file's path: the mark of the run's guest processes.
    path: Vec<u8>,
}

impl Requests {
    /// Map the run's shared state at `path` and say this process serves
    /// requests; `SIGURG` interrupts its waits from now on.
    pub fn serve(path: &Path) -> Result<Requests> {
        let r = Requests {
            map: SharedMap::open(path)?,
            path: path.as_os_str().as_bytes().to_vec(),
        };
        extern "C" fn wake(_: libc::c_int) {}
        // SAFETY: a handler that does nothing, installed without
        // SA_RESTART so that a blocking waitpid returns EINTR.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = wake as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut());
        }
        r.state().set_launcher(std::process::id() as i32);
        Ok(r)
    }

    fn state(&self) -> MappedState<'_> {
        self.map.state()
    }

    /// The run's shared state, mapped again, for the tracer's handlers.
    pub fn shared(&self) -> Result<SharedMap> {
        SharedMap::open(Path::new(std::ffi::OsStr::from_bytes(&self.path)))
    }

    /// Whether a request waits.
    pub fn pending(&self) -> bool {
        self.state().has_tracer_requests()
    }

    /// Whether `pid` is a process of this run (it maps the shared state).
    fn is_run_guest(&self, pid: i32) -> bool {
        std::fs::read(format!("/proc/{pid}/maps")).is_ok_and(|m| {
            m.windows(self.path.len())
                .any(|w| w == self.path.as_slice())
        })
    }

    /// The host path of the program process `pid` runs, as its runtime
    /// recorded it.
    fn exe_of(&self, pid: i32) -> Option<Vec<u8>> {
        self.state().exe(pid, start_time(pid)?)
    }
}

impl Drop for Requests {
    fn drop(&mut self) {
        self.state().set_launcher(0);
    }
}

/// The kernel's start time of process `pid` (`/proc/<pid>/stat` field 22).
fn start_time(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

impl Tracer<'_> {
    /// Answer the requests that wait: each asking process traced from
    /// now on, or refused.
    pub(super) fn serve_requests(&mut self) {
        let Some(f) = &self.fallback else { return };
        let taken = f.state().take_tracer_requests();
        for (slot, tid, data) in taken {
            let creds = read_creds(tid, data);
            let ok = match read_status_field(tid, "Tgid:") {
                Some(tgid) => match self.adopt(tgid, creds) {
                    Ok(()) => true,
                    Err(e) => {
                        log::warn!("cannot trace guest process {tgid} for its ptrace: {e:#}");
                        false
                    }
                },
                None => false,
            };
            if let Some(f) = &self.fallback {
                f.state().answer_tracer(slot, ok);
            }
        }
    }

    /// A guest `ptrace` call of a traced thread: the process it names
    /// (the tracer-to-be of `PTRACE_TRACEME`, the target of
    /// `PTRACE_ATTACH`/`PTRACE_SEIZE`) is traced too, if it is one of the
    /// run's untraced processes.
    pub(super) fn adopt_named(&mut self, tid: i32, req: u64, target: i32) {
        use super::guest::tracing as gp;
        let Some(f) = &self.fallback else { return };
        let named = match req {
            gp::PTRACE_TRACEME => {
                read_status_field(tid, "Tgid:").and_then(|tgid| read_status_field(tgid, "PPid:"))
            }
            gp::PTRACE_ATTACH | gp::PTRACE_SEIZE => read_status_field(target, "Tgid:"),
            _ => None,
        };
        // Not sproot itself (the first process's parent, which maps the
        // shared state too).
        let me = std::process::id() as i32;
        let Some(pid) = named.filter(|p| *p > 0 && *p != me) else {
            return;
        };
        if self.tasks.contains(pid) || !f.is_run_guest(pid) {
            return;
        }
        let creds = self
            .cfg
            .ext
            .fake_id
            .map(|(uid, gid)| crate::ext::fake_id::Creds::new(uid, gid));
        if let Err(e) = self.adopt(pid, creds) {
            log::warn!("cannot trace guest process {pid} for a guest tracer: {e:#}");
        }
    }

    /// Seize every thread of process `tgid` and interrupt it; its first
    /// stop resumes it under this tracer.
    fn adopt(&mut self, tgid: i32, creds: Option<crate::ext::fake_id::Creds>) -> Result<()> {
        let exe = self
            .fallback
            .as_ref()
            .and_then(|f| f.exe_of(tgid))
            .map(|p| std::path::PathBuf::from(std::ffi::OsString::from_vec(p)));
        let mut seized = 0;
        // Threads the process starts meanwhile: until a listing brings no
        // new one (a seized thread's new threads are traced from birth).
        loop {
            let dir = std::fs::read_dir(format!("/proc/{tgid}/task"))
                .with_context(|| format!("list the threads of {tgid}"))?;
            let new: Vec<i32> = dir
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter(|t| !self.tasks.contains(*t))
                .collect();
            if new.is_empty() {
                break;
            }
            for tid in new {
                let pid = Pid::from_raw(tid);
                match nix::sys::ptrace::seize(pid, super::spawn::ptrace_options()) {
                    Ok(()) => {}
                    // Gone meanwhile: its exit is the kernel's.
                    Err(Errno::ESRCH) if seized > 0 => continue,
                    Err(e) => return Err(e).with_context(|| format!("PTRACE_SEIZE {tid}")),
                }
                seized += 1;
                let data = Tracee {
                    exe_host: exe.clone(),
                    creds: RefCell::new(creds.clone()),
                    ..Tracee::default()
                };
                self.tasks.adopt(tid, data);
                if let Err(e) = nix::sys::ptrace::interrupt(pid) {
                    log::debug!("{tid}: PTRACE_INTERRUPT: {e}");
                }
            }
        }
        log::info!("guest process {tgid} uses ptrace: traced by sproot from now on");
        Ok(())
    }

    /// The first process ended (`first_gone`) or another untraced one did:
    /// with `--kill-on-exit`, the untraced processes go too.
    pub(super) fn fallback_gone(&self) {
        if self.fallback.is_some() && self.cfg.kill_on_exit && self.tasks.first_status().is_some() {
            crate::inproc::kill_children();
        }
    }
}

/// The fake credentials a request carries at `data` in thread `tid`'s
/// memory: a flag, then the eight ids.
fn read_creds(tid: i32, data: u64) -> Option<crate::ext::fake_id::Creds> {
    let mut b = [0u8; 36];
    ptrace::read_into(Pid::from_raw(tid), data, &mut b).ok()?;
    let w = |i: usize| u32::from_ne_bytes(b[4 * i..4 * i + 4].try_into().unwrap_or_default());
    if w(0) != 1 {
        return None;
    }
    let mut c = crate::ext::fake_id::Creds::new(w(1), w(5));
    c.euid = w(2);
    c.suid = w(3);
    c.fsuid = w(4);
    c.egid = w(6);
    c.sgid = w(7);
    c.fsgid = w(8);
    Some(c)
}
