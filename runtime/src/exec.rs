//! A guest's `execve`, planned with the core in the guest's view, run as a
//! real `execve` of the runtime with the plan in the hand-off: argv and
//! the environment reach the new program as the kernel lays them out.

use alloc::boxed::Box;
use alloc::vec::Vec;

use sproot_core::exec::{plan_exec, ExecError, ExecFile, ExecHost};
use sproot_core::fs::ProcContext;
use sproot_core::handler::exec::{read_call, read_ptrs};
use sproot_core::handler::Ctx;
use sproot_core::inproc::env_value;
use sproot_core::Errno;

use crate::host::{self, sc, CPath, TrapRegs};
use crate::nr;

const X_OK: usize = 1;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

/// A host file opened for exec.
struct HostFile(i32);

impl ExecFile for HostFile {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        host::pread(self.0, off, buf)
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        host::close(self.0);
    }
}

/// Exec paths resolved in the guest's view, from `base`.
struct Paths<'a> {
    view: &'a sproot_core::fs::GuestView,
    proc: &'a dyn ProcContext,
    base: Vec<u8>,
    /// `fexecve`: the program's (name, host path), already known.
    pinned: Option<(Vec<u8>, Vec<u8>)>,
}

impl ExecHost for Paths<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Errno> {
        if let Some((name, h)) = &self.pinned {
            if name == guest_path {
                return Ok((name.clone(), h.clone()));
            }
        }
        let base: &[u8] = if guest_path.first() == Some(&b'/') {
            b"/"
        } else {
            &self.base
        };
        let r = self.view.resolve(self.proc, base, guest_path, true)?;
        Ok((r.guest, r.host))
    }

    fn open_exec(&self, path: &[u8]) -> Result<Box<dyn ExecFile + '_>, Errno> {
        let st = host::stat_raw(path, true)?;
        let mode = host::mode_of(&st);
        if mode & S_IFMT != S_IFREG || mode & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        host::access(path, X_OK).map_err(|_| Errno::EACCES)?;
        Ok(Box::new(HostFile(host::open_read(path)?)))
    }
}

/// The name the process used for its working directory, where its host
/// path has several.
fn cwd_name(ctx: &Ctx<TrapRegs>) -> Option<(Vec<u8>, Vec<u8>)> {
    if !ctx.view.has_aliases() {
        return None;
    }
    let host = sproot_core::fs::HostFs::read_magic(&host::RtHost, b"/proc/self/cwd").ok()?;
    if !ctx.view.is_ambiguous(&host) {
        return None;
    }
    let pid = ctx.proc.pid();
    let guest = ctx
        .view
        .to_guest_for(pid, sproot_core::fs::NameUse::Cwd, &host)?;
    Some((guest, host))
}

/// The new program starts with `guest_mask`, the guest's signal mask (the
/// handler runs with every signal held).
pub fn exec(ctx: &mut Ctx<TrapRegs>, at: bool, guest_mask: u64) -> Result<i64, Errno> {
    let mut held = None;
    let call = read_call(ctx, at, |fd| {
        let (name, host, h) = program_of_fd(ctx, fd)?;
        held = h;
        Ok((name, host))
    });
    let r = call.and_then(|call| exec_call(ctx, call, guest_mask));
    // The exec failed: the held descriptor is not needed.
    if let Some(h) = held {
        host::close(h);
    }
    r
}

/// `fexecve` (`execveat(fd, "", AT_EMPTY_PATH)`): the (guest name, host
/// path) of the program the descriptor `fd` refers to, and the descriptor
/// held for it. A file the guest can name is run by its path; one that
/// has none (a memfd, an unlinked file) through a copy of the descriptor
/// above the guest's numbers, without close-on-exec (the guest's may have
/// it), which the next runtime maps the program from and keeps for its
/// `/proc/self/exe` (start.rs).
fn program_of_fd(ctx: &Ctx<TrapRegs>, fd: i32) -> Result<(Vec<u8>, Vec<u8>, Held), Errno> {
    const F_DUPFD: usize = 0;
    let link = alloc::format!("/proc/self/fd/{fd}").into_bytes();
    let target =
        sproot_core::fs::HostFs::readlink(&host::RtHost, &link).map_err(|_| Errno::EBADF)?;
    let guest = ctx.view.to_guest(&target);
    let regular =
        host::stat_raw(&target, true).is_ok_and(|st| host::mode_of(&st) & S_IFMT == S_IFREG);
    if let Some(g) = guest
        .clone()
        .filter(|_| regular && !target.ends_with(b" (deleted)"))
    {
        return Ok((g, target, None));
    }
    let copy = host::res(sc(nr::FCNTL, [fd as usize, F_DUPFD, HELD_FD_MIN, 0, 0, 0]))? as i32;
    let path = alloc::format!("/proc/{}/fd/{copy}", host::getpid()).into_bytes();
    Ok((guest.unwrap_or(target), path, Some(copy)))
}

/// A descriptor the runtime holds for a program run through one.
type Held = Option<i32>;

/// Where a descriptor held for a program run through a descriptor goes.
pub const HELD_FD_MIN: usize = 512;

fn exec_call(
    ctx: &mut Ctx<TrapRegs>,
    call: sproot_core::handler::exec::ExecCall,
    guest_mask: u64,
) -> Result<i64, Errno> {
    let (filename, argv) = (call.filename, call.argv);
    let paths = Paths {
        view: ctx.view,
        proc: ctx.proc,
        base: call.base,
        pinned: call.pinned,
    };
    let plan = plan_exec(&paths, &filename, argv).map_err(|e: ExecError| {
        if let Some(m) = &e.message {
            host::say(&[m.as_bytes()]);
        }
        e.errno
    })?;

    // This program again, run through the runtime's copy of a
    // descriptor: the copy must reach the next runtime.
    let again = held_fd_of(&plan.exe_host);
    if let Some(fd) = again {
        set_cloexec(fd, false);
    }
    let r = run_exec(ctx, (call.argv_arg, call.envp_arg), plan, guest_mask);
    if let Some(fd) = again {
        set_cloexec(fd, true);
    }
    r
}

/// The runtime's copy of a descriptor that `exe` names
/// (`/proc/<this process>/fd/<n>`, `n` above the guest's numbers).
pub fn held_fd_of(exe: &[u8]) -> Option<i32> {
    let link = sproot_core::fs::parse_magic_link(exe)?;
    match link.kind {
        sproot_core::fs::MagicKind::Fd(fd)
            if link.pid == host::getpid() && fd as usize >= HELD_FD_MIN =>
        {
            Some(fd)
        }
        _ => None,
    }
}

/// Set or clear descriptor `fd`'s close-on-exec flag.
pub fn set_cloexec(fd: i32, on: bool) {
    const F_SETFD: usize = 2;
    sc(nr::FCNTL, [fd as usize, F_SETFD, usize::from(on), 0, 0, 0]);
}

fn run_exec(
    ctx: &mut Ctx<TrapRegs>,
    (argv_arg, envp_arg): (usize, usize),
    plan: sproot_core::exec::ExecPlan,
    guest_mask: u64,
) -> Result<i64, Errno> {
    let mut handoff = host::state().handoff.clone();
    handoff.exe_guest = plan.exe_guest.clone();
    handoff.exe_host = plan.exe_host.clone();
    handoff.script = plan.script(0);
    handoff.filter = Vec::new();
    handoff.ext.creds = host::with_creds(|c| c.clone());
    handoff.cwd_name = cwd_name(ctx);
    handoff.guest_filters = crate::guest_filters::encoded(host::gettid());
    let ours = handoff.env_string();

    // The guest's environment, without a hand-off of its own, then ours.
    let mut envp: Vec<u64> = Vec::new();
    for p in read_ptrs(ctx, ctx.arg(envp_arg))? {
        let s = ctx.read_cstring(p, 1 << 20)?;
        if env_value(&s).is_none() {
            envp.push(p);
        }
    }
    envp.push(ours.as_ptr() as u64);
    envp.push(0);

    let strings: Vec<Vec<u8>>;
    let mut argv_ptrs_new: Vec<u64> = Vec::new();
    let argv_at = if plan.argv_changed {
        strings = plan
            .argv
            .iter()
            .map(|a| {
                let mut v = a.clone();
                v.push(0);
                v
            })
            .collect();
        argv_ptrs_new.extend(strings.iter().map(|s| s.as_ptr() as u64));
        argv_ptrs_new.push(0);
        argv_ptrs_new.as_ptr() as u64
    } else {
        ctx.arg(argv_arg)
    };
    let runtime = CPath::new(&handoff.runtime)?;
    // A vfork child's execve leaves this slot taken in its parent's
    // memory: the parent takes it back (heap::exec_from).
    let slot = crate::heap::running_slot();
    if let Some(i) = slot {
        crate::heap::exec_from(i, host::gettid());
    }
    // A signal arriving now runs the guest's handler on this stack, as
    // one arriving during a native execve would run it first.
    crate::trap::with_guest_mask(guest_mask);
    let r = sc(
        nr::EXECVE,
        [
            runtime.ptr(),
            argv_at as usize,
            envp.as_ptr() as usize,
            0,
            0,
            0,
        ],
    );
    crate::trap::set_mask(u64::MAX);
    if let Some(i) = slot {
        crate::heap::exec_from(i, 0);
    }
    Ok(r as i64)
}
