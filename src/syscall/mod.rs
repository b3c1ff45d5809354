//! Syscall handlers: what happens at a trapped syscall's entry.
//!
//! The table in [`table`] says what each syscall needs; [`enter`] reads the
//! tracee's arguments, translates guest paths to host paths (writing new
//! strings below the stack pointer), or emulates the syscall entirely.

mod ctx;
pub mod dirents;
pub mod exit_hook;
pub mod extension;
pub mod extension_list;
pub mod ids;
pub mod l2s;
pub mod net;
pub mod restart;
pub mod stat_rewrite;
pub mod table;
pub mod trapped;
mod userns;

pub use ctx::{Ctx, Memory, Named, TraceeMemory};

use crate::arch::sys;
use crate::exec::{ExecError, ExecFile, ExecHost, ExecPlan, plan_exec};
use crate::fs::{AsHostPath, GuestView, ProcContext};
use nix::errno::Errno;
use sproot_core::handler::dispatch;
use sproot_core::handler::paths;
use sproot_core::shared::{LocalState, SharedState};
use std::cell::RefCell;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use table::{Entry, Kind};

/// What the tracer must do after a handler ran at a syscall's entry: the
/// core's decision, with this backend's exit work (`ExitHook`, given back to
/// [`exit`] at the exit stop) and exec plan (kept until the exec event, or
/// the exit stop if the exec fails).
pub type Outcome = sproot_core::decision::Decision<exit_hook::ExitHook, Box<ExecPlan>>;

/// The configuration handlers read and the run's state they share, built
/// once by the tracer.
pub struct Env<'a> {
    pub view: &'a GuestView,
    /// The host, as the core's handlers reach it.
    pub host: &'a dyn sproot_core::handler::Host,
    /// Host path of the extracted exec loader.
    pub loader: PathBuf,
    /// The PRoot extensions in use.
    pub ext: &'a crate::config::Ext,
    /// The state every guest process shares: fake owners and extended
    /// attributes, `uname`'s names, moved ports (`sproot_core::shared`).
    pub shared: Box<dyn SharedState>,
    /// Modes lifted for an `open` by fake root, to put back at its exit.
    pub restore: RefCell<ids::Restores>,
    /// `-k`: the fake `uname`.
    pub kernel_release: Option<&'a crate::ext::kernel_release::KernelRelease>,
    /// The real ids of the user running sproot.
    pub real_ids: (u32, u32),
    /// `-l`: where intermediates and final files go (`PROOT_L2S_DIR`).
    pub l2s_dir: Option<&'a Path>,
    /// The extensions in use, in order.
    pub extensions: extension_list::Extensions,
}

impl<'a> Env<'a> {
    pub fn new(
        view: &'a GuestView,
        ext: &'a crate::config::Ext,
        loader: PathBuf,
        l2s_dir: Option<&'a Path>,
    ) -> Self {
        let kernel_release = ext.kernel_release.as_ref();
        Env {
            view,
            host: &crate::fs::TracerHost,
            loader,
            ext,
            shared: Box::new(LocalState::new(
                kernel_release.map(|k| k.uname.clone()).unwrap_or_default(),
            )),
            restore: Default::default(),
            kernel_release,
            real_ids: (
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            ),
            l2s_dir,
            extensions: extension_list::Extensions::new(ext, view),
        }
    }
}

/// Handle the entry of a trapped syscall.
pub fn enter(ctx: &mut Ctx) -> Outcome {
    if ctx.creds.as_ref().is_some_and(|c| c.is_fs_root()) {
        // Fake root: the real user's own modes must not stop it.
        ids::with_lifted_modes(ctx, handle)
    } else {
        handle(ctx)
    }
}

/// Handle the exit stop of a syscall whose entry asked for one: the
/// extensions' exit hooks, then the table's. Whether the registers changed.
pub fn exit(ctx: &mut Ctx, hook: exit_hook::ExitHook) -> bool {
    let env = ctx.env;
    let changed = env.extensions.exit(ctx, &hook);
    match hook {
        exit_hook::ExitHook::Core(hook) => sproot_core::handler::exit(ctx.core(), hook) || changed,
        _ => changed,
    }
}

/// The handlers, and the one conversion of their errors.
fn handle(ctx: &mut Ctx) -> Outcome {
    enter_handlers(ctx).unwrap_or_else(Outcome::err)
}

/// The handlers, in order: extensions first, then the table.
fn enter_handlers(ctx: &mut Ctx) -> Result<Outcome, Errno> {
    let env = ctx.env;
    let nr = ctx.sysno();
    if paths::changes_namespace(nr) {
        // Cached directories and resolutions may stop being true.
        env.view.invalidate_cache();
    }
    if !env.extensions.is_empty()
        && let Some(o) = env.extensions.enter(ctx)?
    {
        return Ok(o);
    }
    let entry = match ctx.entry() {
        Some(e) => e,
        // Not a syscall that needs the tracer (seen only without seccomp).
        None if (0..=crate::seccomp::LAST_KNOWN_SYSNO as i64).contains(&nr) => {
            return Ok(Outcome::Pass);
        }
        // Trapped by the filter for unknown numbers (a newer kernel's
        // syscalls, x32): refuse rather than run it on host paths.
        None => return Err(Errno::ENOSYS),
    };
    run_table(ctx, entry)
}

/// The table's handler for a syscall of this kind: the core's
/// (`sproot_core::handler::dispatch`), but for exec, the clone flags and
/// `-n`'s binds.
fn run_table(ctx: &mut Ctx, entry: Entry) -> Result<Outcome, Errno> {
    match entry.kind {
        Kind::Exec { at } => return exec(ctx, at),
        Kind::CloneFlags { clone } => return userns::enter(ctx, clone),
        Kind::SockAddr { addr, len, bind } => {
            if let Some(r) = netcoop_bind(ctx, addr, len, bind) {
                return r.map(Outcome::Emulated);
            }
        }
        _ => {}
    }
    let ports = &ctx.env.ext.ports;
    let euid = ctx.euid();
    match dispatch::run(ctx.core(), entry.kind, ports, || euid) {
        Some(r) => from_core(r),
        None => Err(Errno::ENOSYS),
    }
}

/// A core handler's result, as this backend's.
fn from_core(
    r: Result<sproot_core::handler::Outcome, sproot_core::Errno>,
) -> Result<Outcome, Errno> {
    Ok(outcome_of(r?))
}

/// A core handler's decision, as this backend's [`Outcome`].
fn outcome_of(o: sproot_core::handler::Outcome) -> Outcome {
    o.map(exit_hook::ExitHook::Core, |never| match never {})
}

/// Resolves exec paths inside the guest for the exec planner.
struct ExecPaths<'a> {
    env: &'a Env<'a>,
    proc: &'a dyn ProcContext,
    /// Guest directory relative paths start from.
    base: Vec<u8>,
    /// `fexecve`: the program's (name, host path), already known.
    pinned: Option<(Vec<u8>, PathBuf)>,
}

impl ExecHost for ExecPaths<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, Vec<u8>), sproot_core::Errno> {
        let (guest, host) = self.resolve_host(guest_path)?;
        Ok((guest, host.into_os_string().into_vec()))
    }

    fn open_exec(&self, host: &[u8]) -> Result<Box<dyn ExecFile + '_>, sproot_core::Errno> {
        Ok(crate::exec::open_exec(Path::new(
            std::ffi::OsStr::from_bytes(host),
        ))?)
    }

    fn runs_foreign(&self, head: &[u8]) -> bool {
        self.env.ext.qemu.as_ref().is_some_and(|q| q.runs(head))
    }

    fn plan_foreign(
        &self,
        guest: Vec<u8>,
        host: Vec<u8>,
        execfn: &[u8],
        argv: Vec<Vec<u8>>,
    ) -> Result<ExecPlan, ExecError> {
        let runner = self.env.ext.qemu.as_ref();
        crate::exec::plan_foreign(runner, guest, host, execfn, argv)
    }
}

impl ExecPaths<'_> {
    fn resolve_host(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        if guest_path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let base: &[u8] = if guest_path[0] == b'/' {
            b"/"
        } else {
            &self.base
        };
        if let Some((name, host)) = &self.pinned
            && name == guest_path
        {
            return Ok((name.clone(), host.clone()));
        }
        let r = self.env.view.resolve(self.proc, base, guest_path, true)?;
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "exec: {} -> {}",
                String::from_utf8_lossy(guest_path),
                r.host.as_path().display()
            );
        }
        if let Some(m) = crate::fs::parse_magic_link(&r.host)
            && matches!(m.kind, crate::fs::MagicKind::Fd(_))
        {
            // execve("/proc/self/fd/N"): the program is the fd's file.
            return program_of_fd_link(self.env.view, r.host.as_path());
        }
        Ok((r.guest, crate::fs::bytes_to_path(r.host)))
    }
}

thread_local! {
    /// The tracer's descriptors of programs run through a descriptor whose
    /// file has no path (a memfd, an unlinked file): the loader opens them
    /// as /proc/<tracer>/fd/<n>. The oldest are closed past a few.
    static HELD_PROGRAMS: std::cell::RefCell<std::collections::VecDeque<std::fs::File>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}
const HELD_PROGRAMS_MAX: usize = 16;

/// The (guest name, host path) of the program a descriptor link
/// (`/proc/<pid>/fd/<n>`, a host path) refers to: its file when it has a
/// guest path, else a descriptor of it that the tracer holds.
fn program_of_fd_link(view: &GuestView, link: &Path) -> Result<(Vec<u8>, PathBuf), Errno> {
    let target = std::fs::read_link(link).map_err(|_| Errno::EBADF)?;
    let target = target.as_os_str().as_bytes().to_vec();
    let guest = view.to_guest(&target);
    if let Some(g) = &guest
        && !target.ends_with(b" (deleted)")
        && std::path::Path::new(std::ffi::OsStr::from_bytes(&target)).is_file()
    {
        return Ok((
            g.clone(),
            PathBuf::from(std::ffi::OsString::from_vec(target)),
        ));
    }
    let file = std::fs::File::open(link).map_err(|_| Errno::EACCES)?;
    let held = format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        std::os::fd::AsRawFd::as_raw_fd(&file)
    );
    HELD_PROGRAMS.with(|h| {
        let mut h = h.borrow_mut();
        if h.len() >= HELD_PROGRAMS_MAX {
            h.pop_front();
        }
        h.push_back(file);
    });
    Ok((guest.unwrap_or(target), PathBuf::from(held)))
}

fn exec(ctx: &mut Ctx, at: bool) -> Result<Outcome, Errno> {
    let env = ctx.env;
    let pid = ctx.pid.as_raw();
    let call = sproot_core::handler::exec::read_call(ctx.core(), at, |fd| {
        // fexecve: the program is the fd's file.
        let link = format!("/proc/{pid}/fd/{fd}");
        let (name, host) = program_of_fd_link(env.view, Path::new(&link))?;
        Ok((name, host.into_os_string().into_vec()))
    })?;
    let (argv_arg, envp_arg) = (call.argv_arg, call.envp_arg);
    let resolver = ExecPaths {
        env,
        proc: ctx.proc,
        base: call.base,
        pinned: call
            .pinned
            .map(|(name, host)| (name, crate::fs::bytes_to_path(host))),
    };
    let (filename, argv) = (call.filename, call.argv);
    let plan = match plan_exec(&resolver, &filename, argv) {
        Ok(p) => p,
        Err(e) => {
            if let Some(msg) = &e.message {
                eprintln!("{msg}");
            }
            return Err(e.errno.into());
        }
    };
    let loader = ctx.push_cstr(env.loader.as_os_str().as_bytes())?;
    let envp = ctx.arg(envp_arg);
    let argv_ptr = if plan.argv_changed {
        let mut ptrs: Vec<u64> = Vec::with_capacity(plan.argv.len() + 1);
        for a in &plan.argv {
            ptrs.push(ctx.push_cstr(a)?);
        }
        ptrs.push(0);
        let bytes: Vec<u8> = ptrs.iter().flat_map(|p| p.to_ne_bytes()).collect();
        ctx.push(&bytes)?
    } else {
        ctx.arg(argv_arg)
    };
    ctx.regs.set_sysno(sys::SYS_execve);
    ctx.regs.set_arg(0, loader);
    ctx.regs.set_arg(1, argv_ptr);
    ctx.regs.set_arg(2, envp);
    Ok(Outcome::Exec(Box::new(plan)))
}

/// `-n`'s bind (the core's `handler::net::netcoop_bind`).
fn netcoop_bind(
    ctx: &mut Ctx,
    addr_arg: usize,
    len_arg: usize,
    bind: bool,
) -> Option<Result<i64, Errno>> {
    if !(bind && ctx.env.ext.ports.netcoop) {
        return None;
    }
    let ports = &ctx.env.ext.ports;
    sproot_core::handler::net::netcoop_bind(ctx.core(), ports, addr_arg, len_arg)
        .map(|r| r.map_err(Errno::from))
}

#[cfg(test)]
mod tests;
